"""apply.yml's onboarding steps: outputs saved after the smoke test, welcome only after every stack job."""
from __future__ import annotations

import yaml

from conftest import REPO


def test_welcome_follows_the_smoke_test_and_uses_the_saved_outputs():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "apply.yml").read_text())
    stack = workflow["jobs"]["stack"]
    names = [s.get("name", s.get("uses", "")) for s in stack["steps"]]
    save = names.index("Save Terraform outputs and the smoke-test time (handoff, welcome, deployment time)")
    assert names.index("terraform apply") < names.index("Note when the apply finished") < \
        names.index("Ansible (this stack's hosts only)") < save
    assert "terraform -chdir=\"$STACK_DIR\" output -json" in stack["steps"][save]["run"]
    assert "select(.value.sensitive | not)" in stack["steps"][save]["run"]
    welcome = workflow["jobs"]["welcome"]
    assert welcome["needs"] == ["plan", "stack"] and welcome["permissions"] == {"contents": "write"}
    run = welcome["steps"][-1]["run"]
    order = [run.index(s) for s in ("deploytime merged", "deploytime smoke_passed", "clawtex welcome",
                                    "deploytime welcome_sent")]
    assert order == sorted(order)
    assert "--outputs onboarding/outputs --send" in run
    assert welcome["steps"][-1]["env"]["CLAWTEX_SMTP_PASSWORD"] == "${{ secrets.CLAWTEX_SMTP_PASSWORD }}"
