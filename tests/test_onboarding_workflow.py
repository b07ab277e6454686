"""apply.yml's onboarding steps: outputs saved after the smoke test, welcome only after every stack job."""
from __future__ import annotations

import yaml

from conftest import REPO


def test_welcome_follows_the_smoke_test_and_uses_the_saved_outputs():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "apply.yml").read_text())
    stack = workflow["jobs"]["stack"]
    # Each batch job runs scripts/gitops/apply-stack.sh per stack: the apply, the
    # apply time, Ansible (ending in the smoke test), then the smoke time, in that order.
    script = (REPO / "scripts" / "gitops" / "apply-stack.sh").read_text()
    order = [script.index(s) for s in ('terraform -chdir="$dir" apply', "apply_finished: $t",
                                       "ansible-playbook -i generated/ansible/inventory", "smoke_passed: $t")]
    assert order == sorted(order)
    assert "terraform -chdir=\"$dir\" output -json | jq 'with_entries(select(.value.sensitive | not))'" in script
    uploads = [s for s in stack["steps"] if "upload-artifact" in s.get("uses", "")]
    assert [u["with"]["name"] for u in uploads] == ["onboarding-${{ matrix.batch }}"]
    welcome = workflow["jobs"]["welcome"]
    assert welcome["needs"] == ["plan", "stack"] and welcome["permissions"] == {"contents": "write"}
    run = welcome["steps"][-1]["run"]
    order = [run.index(s) for s in ("deploytime merged", "deploytime smoke_passed", "clawtex welcome",
                                    "deploytime welcome_sent")]
    assert order == sorted(order)
    assert "--outputs onboarding/outputs --send" in run
    assert welcome["steps"][-1]["env"]["CLAWTEX_SMTP_PASSWORD"] == "${{ secrets.CLAWTEX_SMTP_PASSWORD }}"
