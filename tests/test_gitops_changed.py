"""`clawtex changed` on real temporary git repos: exact for customer, tier,
module and deletion changes; deletions are never silent; the decommission
guard refuses to drop an active customer."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import run_clawtex
from gitops_helpers import (add_gold_customer, commit, compile_and_commit, decommission, edit, edit_json, git,
                            init_repo)
from compiler.diagnostics import CompileError
from compiler.gitops.changed import changed
from compiler.pipeline import compile_repo

CUSTOMERS = "customers"


@pytest.fixture
def gitrepo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo")


def affected(root: Path, base: str = "HEAD~1", head: str | None = "HEAD") -> tuple[set, set, dict]:
    data = changed(root, base, head).as_dict()
    return ({s["stack"] for s in data["stacks"]}, {c["customer"] for c in data["customers"]}, data)


def test_customer_change_affects_only_its_stack(gitrepo):
    edit(gitrepo / CUSTOMERS / "brightpath-tutors.yaml", 'dmPolicy: allowlist', 'dmPolicy: pairing')
    compile_and_commit(gitrepo, "brightpath: signal pairing")
    stacks, customers, data = affected(gitrepo)
    assert (stacks, customers) == ({"brightpath-tutors"}, {"brightpath-tutors"})
    assert data["stacks"][0]["action"] == "update"
    assert {k: data["stacks"][0][k] for k in ("stack", "action", "environment", "limit", "tier", "removed", "batch")} == \
        {"stack": "brightpath-tutors", "action": "update", "environment": "fleet",
         "limit": "brightpath-tutors-oc-1", "tier": "silver", "removed": "", "batch": "fleet-001"}
    assert data["matrix"]["include"] == [{"batch": "fleet-001", "environment": "fleet", "count": 1}]
    assert data["batches"] == [{"batch": "fleet-001", "environment": "fleet", "count": 1, "stacks": ["brightpath-tutors"]}]


def test_bronze_customer_change_affects_its_shared_host_only(gitrepo):
    edit(gitrepo / CUSTOMERS / "pixel-bakery.yaml", "dmPolicy: pairing", "dmPolicy: allowlist\n      allowFrom: [\"4242\"]")
    compile_and_commit(gitrepo, "pixel-bakery allowlist")
    stacks, customers, _ = affected(gitrepo)
    assert (stacks, customers) == ({"shared-hetzner-fsn1-01"}, {"pixel-bakery"})


def test_comment_only_tier_edit_affects_nothing(gitrepo):
    edit(gitrepo / "tiers" / "gold.yaml", "spec:\n", "# reviewed 2026-11\nspec:\n")
    compile_and_commit(gitrepo, "comment")
    stacks, customers, data = affected(gitrepo)
    assert (stacks, customers, data["fleet"]) == (set(), set(), [])
    assert run_clawtex(gitrepo, "changed", "--base", "HEAD~1").stdout.strip() == "no stacks or customers affected"


def test_tier_price_change_reaches_no_stack(gitrepo):
    edit(gitrepo / "tiers" / "gold.yaml", "maxMonthly: 1499", "maxMonthly: 1599")
    compile_and_commit(gitrepo, "gold price band")
    stacks, customers, data = affected(gitrepo)
    assert (stacks, customers, data["fleet"]) == (set(), set(), [])
    assert git(gitrepo, "diff", "--name-only", "HEAD~1", "HEAD") == "tiers/gold.yaml"


def test_customer_tier_upgrade_affects_that_customer_only(gitrepo):
    path = gitrepo / CUSTOMERS / "brightpath-tutors.yaml"
    edit(path, "tier: silver", "tier: gold")
    edit(path, "monthlyPrice: 199", "monthlyPrice: 899")
    edit(path, "  skills:\n", "  paging:\n    provider: pagerduty\n    keyRef: {source: file, provider: ops, id: pd/bp.key}\n"
                             "  skills:\n")
    compile_and_commit(gitrepo, "brightpath to gold")
    stacks, customers, data = affected(gitrepo)
    assert (stacks, customers) == ({"brightpath-tutors"}, {"brightpath-tutors"})
    stack = data["stacks"][0]
    assert (stack["tier"], stack["environment"]) == ("gold", "fleet-protected")
    assert stack["hosts"] == ["brightpath-tutors-oc-1", "brightpath-tutors-wazuh"]


def test_new_gold_customer_is_a_create(gitrepo):
    add_gold_customer(gitrepo)
    compile_and_commit(gitrepo, "zenith")
    stacks, customers, data = affected(gitrepo)
    assert (stacks, customers) == ({"zenith-robotics"}, {"zenith-robotics"})
    assert data["stacks"][0]["action"] == "create"
    assert data["customers"][0]["change"] == "added"


def _reference_module(root: Path, stack: str, module: str) -> None:
    def add(doc):
        doc["module"] = {"backup": {"source": f"../../../modules/terraform/{module}"}}
    edit_json(root / "generated" / "terraform" / stack / "cdk.tf.json", add)


def test_terraform_module_change_affects_the_stacks_using_it(gitrepo):
    (gitrepo / "modules" / "terraform" / "backup").mkdir(parents=True)
    (gitrepo / "modules" / "terraform" / "backup" / "main.tf").write_text("# v1\n")
    (gitrepo / "modules" / "terraform" / "dns").mkdir(parents=True)
    (gitrepo / "modules" / "terraform" / "dns" / "main.tf").write_text("# v1\n")
    _reference_module(gitrepo, "helios-energy", "backup")
    _reference_module(gitrepo, "mapleleaf-dental", "dns")
    commit(gitrepo, "modules")
    (gitrepo / "modules" / "terraform" / "backup" / "main.tf").write_text("# v2\n")
    commit(gitrepo, "backup module v2")
    stacks, customers, _ = affected(gitrepo)
    assert (stacks, customers) == ({"helios-energy"}, set())


def _ansible_role_change(root: Path) -> None:
    role = root / "modules" / "ansible" / "roles" / "wazuh_agent" / "tasks"
    role.mkdir(parents=True, exist_ok=True)   # the repo copy may already hold the role
    (role / "main.yml").write_text("---\n[]\n")
    commit(root, "role")
    (role / "main.yml").write_text("---\n- ansible.builtin.debug: {msg: v2}\n")
    commit(root, "role v2")


def test_ansible_role_change_without_role_lists_reaches_every_host(gitrepo):
    _ansible_role_change(gitrepo)
    stacks, _, _ = affected(gitrepo)
    # every stack with hosts; fleet-<provider> stacks hold account-wide resources only
    assert stacks == {p.name for p in (gitrepo / "generated" / "terraform").iterdir() if not p.name.startswith("fleet-")}


def test_ansible_role_change_reaches_the_hosts_listing_it(gitrepo):
    inventory = gitrepo / "generated" / "ansible" / "inventory" / "hosts.yml"
    text = inventory.read_text()
    for host in ("acme-logistics-wazuh", "helios-energy-wazuh", "brightpath-tutors-oc-1"):
        role = "wazuh_agent" if host.endswith("oc-1") else "wazuh_manager"
        text = text.replace(f"        {host}:\n          clawtex_role:",
                            f"        {host}:\n          clawtex_roles: [{role}]\n          clawtex_role:")
    inventory.write_text(text)
    commit(gitrepo, "roles listed")
    _ansible_role_change(gitrepo)
    stacks, _, _ = affected(gitrepo)
    assert stacks == {"brightpath-tutors"}


def test_decommission_destroys_the_stack_and_reports_a_removal(gitrepo):
    decommission(gitrepo, "helios-energy")
    compile_and_commit(gitrepo, "decommission helios")
    stacks, customers, data = affected(gitrepo)
    assert (stacks, customers) == ({"helios-energy"}, {"helios-energy"})
    assert data["removed_customers"] == ["helios-energy"]
    assert {k: data["stacks"][0][k] for k in ("stack", "action", "environment", "limit", "tier", "removed")} == \
        {"stack": "helios-energy", "action": "destroy", "environment": "fleet-protected",
         "limit": "helios-energy-oc-1,helios-energy-wazuh", "tier": "gold", "removed": "helios-energy"}
    assert data["matrix"]["include"] == [{"batch": "fleet-protected-001", "environment": "fleet-protected", "count": 1}]
    # Deleting the file afterwards changes no infrastructure but is still reported.
    (gitrepo / CUSTOMERS / "helios-energy.yaml").unlink()
    compile_and_commit(gitrepo, "delete helios file")
    stacks, customers, data = affected(gitrepo)
    assert (stacks, data["removed_customers"]) == (set(), ["helios-energy"])
    assert "customers/helios-energy.yaml deleted" in data["customers"][0]["reasons"]


def test_bronze_decommission_changes_the_shared_host(gitrepo):
    decommission(gitrepo, "tiny-legal")
    compile_and_commit(gitrepo, "decommission tiny-legal")
    stacks, customers, data = affected(gitrepo)
    assert (stacks, customers) == ({"shared-hetzner-fsn1-01"}, {"tiny-legal"})
    assert data["stacks"][0]["action"] == "update" and data["removed_customers"] == ["tiny-legal"]
    # the shared host stays, but the tenant's data needs its final backup, behind a reviewer
    [entry] = data["stacks"]
    assert (entry["removed"], entry["environment"]) == ("tiny-legal", "fleet-protected")
    assert data["matrix"]["include"] == [{"batch": "fleet-protected-001", "environment": "fleet-protected", "count": 1}]


def test_check_removals_accepts_the_two_step_decommission(gitrepo):
    decommission(gitrepo, "helios-energy")
    compile_and_commit(gitrepo, "decommission helios")
    assert run_clawtex(gitrepo, "check-removals", "--base", "HEAD~1", "--head", "HEAD").returncode == 0
    (gitrepo / CUSTOMERS / "helios-energy.yaml").unlink()
    compile_and_commit(gitrepo, "delete helios file")
    result = run_clawtex(gitrepo, "check-removals", "--base", "HEAD~1", "--head", "HEAD")
    assert result.returncode == 0, result.stderr


def test_check_removals_catches_a_hand_edited_generated_tree(gitrepo):
    """compile cannot see a drop the committed tree already lacks; the change can."""
    (gitrepo / CUSTOMERS / "acme-logistics.yaml").unlink()
    for path in sorted(gitrepo.glob("generated/**/*acme-logistics*"), reverse=True):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    commit(gitrepo, "sneaky delete")
    result = run_clawtex(gitrepo, "check-removals", "--base", "HEAD~1", "--head", "HEAD")
    assert result.returncode == 1
    assert "customers/acme-logistics.yaml: customer acme-logistics is removed without a decommission approval" in result.stderr


def test_cli_json_against_the_working_tree(gitrepo):
    edit(gitrepo / CUSTOMERS / "brightpath-tutors.yaml", 'dmPolicy: allowlist', 'dmPolicy: pairing')
    write = run_clawtex(gitrepo, "compile")
    assert write.returncode == 0, write.stderr
    result = run_clawtex(gitrepo, "changed", "--base", "HEAD", "--json")
    assert result.returncode == 0, result.stderr
    assert [s["stack"] for s in json.loads(result.stdout)["stacks"]] == ["brightpath-tutors"]
    assert run_clawtex(gitrepo, "changed", "--base", "no-such-ref").returncode != 0


def test_deleting_an_active_customer_file_fails_the_compile(gitrepo):
    (gitrepo / CUSTOMERS / "acme-logistics.yaml").unlink()
    result = run_clawtex(gitrepo, "compile")
    assert result.returncode == 1
    assert "customer acme-logistics was deleted while it is still active" in result.stderr
    assert "status: decommissioned" in result.stderr and "approvedBy" in result.stderr
    assert not git(gitrepo, "status", "--porcelain", "generated"), "nothing written"


def test_decommissioned_without_approval_fails_the_compile(gitrepo):
    edit(gitrepo / CUSTOMERS / "pixel-bakery.yaml", "\nspec:\n", "\nspec:\n  status: decommissioned\n")
    with pytest.raises(CompileError) as err:
        compile_repo(gitrepo)
    [diagnostic] = err.value.diagnostics
    assert diagnostic.file == "customers/pixel-bakery.yaml" and diagnostic.path == "spec.status"
    assert "without an approval" in diagnostic.message and "shared-hetzner-fsn1-01" in diagnostic.message


def test_stable_openclaw_upgrade_reaches_every_stack_on_stable(gitrepo):
    edit(gitrepo / "clawtex.yaml", 'version: "2026.9.6"', 'version: "2026.9.7"')
    compile_and_commit(gitrepo, "openclaw upgrade")
    stacks, _, _ = affected(gitrepo)
    # every stack with hosts (fleet-<provider> stacks hold account-wide resources only), except the
    # dedicated stacks of customers whose file chooses releaseChannel: lts
    lts = {p.stem for p in (gitrepo / "customers").glob("*.yaml") if "\n  releaseChannel: lts" in p.read_text()}
    assert lts
    assert stacks == {p.name for p in (gitrepo / "generated" / "terraform").iterdir()
                      if not p.name.startswith("fleet-") and p.name not in lts}


def _stack_files(*names: str) -> dict[str, bytes]:
    from conftest import REPO
    return {f"generated/terraform/{n}/cdk.tf.json": (REPO / "generated" / "terraform" / n / "cdk.tf.json").read_bytes()
            for n in names}


@pytest.mark.parametrize("direction", ["create", "destroy"])
def test_fleet_stack_applies_before_the_stacks_that_use_it_and_goes_last(direction):
    """Customer stacks look up the fleet stack's ops key by name: a new provider's
    fleet stack is created before its first customer stack, and destroyed only
    after its last one (apply.yml runs fleet-first, the matrix, then fleet-last)."""
    from compiler.gitops.changed import detect
    files = _stack_files("fleet-vultr", "helios-energy")
    base, head = ({}, files) if direction == "create" else (files, {})
    data = detect(base, head).as_dict()
    by_name = {s["stack"]: s for s in data["stacks"]}
    assert by_name["fleet-vultr"]["action"] == by_name["helios-energy"]["action"] == direction
    in_batches = [s for job in data["batches"] for s in job["stacks"]]
    assert in_batches == ["helios-energy"], "fleet stacks never run in the parallel matrix"
    first, last = (["fleet-vultr"], []) if direction == "create" else ([], ["fleet-vultr"])
    assert (data["fleet-first"], data["fleet-last"]) == (first, last)
    assert by_name["fleet-vultr"]["environment"] == "fleet-protected", "account-wide resources wait for a reviewer"


def test_provider_bump_applies_its_fleet_stack_first(gitrepo):
    edit(gitrepo / "tiers" / "providers.yaml", 'terraformVersion: "2.32.0"', 'terraformVersion: "2.32.1"')
    compile_and_commit(gitrepo, "vultr provider 2.32.1")
    _, _, data = affected(gitrepo)
    vultr = {s["stack"] for s in data["stacks"]} - {"fleet-vultr"}
    assert data["fleet-first"] == ["fleet-vultr"] and data["fleet-last"] == []
    assert vultr and {s for job in data["batches"] for s in job["stacks"]} == vultr
