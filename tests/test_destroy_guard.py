"""Issue 25 "Bad input": a destroy that would leave half a stack behind is refused
before anything is destroyed.

Facts (hcloud v1.68.0, read 2026-12-03): internal/zone/resource.go Delete (l.392-414)
calls Zone.Delete without lifting delete protection, like the server and volume deletes
(tiers/provider-facts.md row 21); a fleet-last destroy of fleet-hetzner would delete the
ops SSH key and then stop at the protected zone."""
from __future__ import annotations

import json
import subprocess
import sys

from compiler.gitops.protection import destroy_refusals, lift
from conftest import REPO


def _change(address: str, actions: list[str], before: dict | None) -> dict:
    rtype, name = address.split(".")
    return {"address": address, "type": rtype, "name": name, "change": {"actions": actions, "before": before, "after": None}}


def test_a_protected_zone_still_set_refuses_the_destroy():
    plan = {"resource_changes": [_change("hcloud_ssh_key.ops", ["delete"], {"name": "clawtex-ops"}),
                                 _change("hcloud_zone.fleet", ["delete"], {"name": "hz.clawtex.example", "delete_protection": True})]}
    (problem,) = destroy_refusals(plan)
    assert problem.startswith("hcloud_zone.fleet: delete_protection is still set")


def test_a_protected_server_or_a_backup_store_refuses_the_destroy():
    plan = {"resource_changes": [_change("hcloud_server.oc_1", ["delete"], {"delete_protection": True, "rebuild_protection": True}),
                                 _change("hcloud_storage_box.backup", ["delete"], {"name": "x-backup"})]}
    problems = destroy_refusals(plan)
    assert len(problems) == 2 and "hcloud_storage_box.backup: a backup store" in problems[1]


def test_lifted_or_unprotected_deletes_pass():
    plan = {"resource_changes": [_change("hcloud_server.oc_1", ["delete"], {"delete_protection": False, "rebuild_protection": False}),
                                 _change("hcloud_rdns.oc_1_rdns", ["delete"], {}),
                                 _change("hcloud_zone.fleet", ["update"], {"delete_protection": True})]}
    assert destroy_refusals(plan) == []


def test_the_cli_exits_1_and_names_the_resource(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"resource_changes": [_change("hcloud_zone.fleet", ["delete"], {"delete_protection": True})]}))
    done = subprocess.run([sys.executable, "-m", "compiler.gitops.protection", "check-destroy", str(path)],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 1 and "refusing the destroy before anything is destroyed: hcloud_zone.fleet" in done.stderr


def test_a_fleet_last_destroy_lifts_the_zone_protection_first():
    base = json.loads((REPO / "generated" / "terraform" / "fleet-hetzner" / "cdk.tf.json").read_text())
    assert base["resource"]["hcloud_zone"]["fleet"]["delete_protection"] is True
    config, targets, _ = lift(base, None)
    assert "hcloud_zone.fleet" in targets
    assert config["resource"]["hcloud_zone"]["fleet"]["delete_protection"] is False


def test_the_destroy_step_plans_checks_then_applies():
    script = (REPO / "scripts" / "gitops" / "apply-stack.sh").read_text()
    start = script.index('if [ "$action" = destroy ]; then\n  cp "$tmp/lift.tf.json"')
    destroy = script[start:script.index("exit 0", start)]
    steps = [line.strip() for line in destroy.splitlines() if line.strip().startswith(("terraform", "python"))]
    assert [s.split()[:3] for s in steps[-4:]] == [
        ["terraform", '-chdir="$dir"', "plan"], ["terraform", '-chdir="$dir"', "show"],
        ["python", "-m", "compiler.gitops.protection"], ["terraform", '-chdir="$dir"', "apply"]]
    assert "-destroy" in steps[-4] and "check-destroy" in steps[-2]
    assert "terraform -chdir=\"$dir\" destroy" not in destroy
