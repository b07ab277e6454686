"""Issue 24 item 4: no routine change silently replaces or shrinks a stateful resource.

The oracle is written here by hand from the providers' Go source at the pinned
versions (hcloud v1.68.0 @93291f4, digitalocean v2.99.1 @401992a, vultr v2.32.0
@603eeeb); it never comes from tiers/replacement-facts.yaml, which the code reads."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO, copy_repo
from gitops_helpers import commit, compile_and_commit, edit, init_repo

HC, DO, VU = "hcloud v1.68.0", "digitalocean v2.99.1", "vultr v2.32.0"

# (resource type, attributes before, attributes after, expected: None | "replace <attr>" | "shrink <attr>", source)
ORACLE = [
    ("digitalocean_kubernetes_cluster", {"node_pool": [{"name": "p", "size": "c-4"}]}, {"node_pool": [{"name": "p", "size": "c-8"}]},
     "replace node_pool.size", f"{DO} digitalocean/kubernetes/kubernetes.go nodePoolSchema: size ForceNew (provider issue #487)"),
    ("digitalocean_kubernetes_cluster", {"node_pool": [{"name": "p", "size": "c-4", "min_nodes": 3}]},
     {"node_pool": [{"name": "p", "size": "c-4", "min_nodes": 1}]}, None, f"{DO} kubernetes.go: min_nodes updatable"),
    ("digitalocean_kubernetes_node_pool", {"cluster_id": "x", "size": "c-4"}, {"cluster_id": "x", "size": "c-8"},
     "replace size", f"{DO} nodePoolSchema(true): the separate pool alone is replaced"),
    ("digitalocean_droplet", {"image": "ubuntu-24-04-x64"}, {"image": "ubuntu-26-04-x64"},
     "replace image", f"{DO} digitalocean/droplet/resource_droplet.go: image ForceNew"),
    ("digitalocean_droplet", {"image": "ubuntu-24-04-x64"}, {"image": "ubuntu-26-04-x64", "lifecycle": {"ignore_changes": ["image"]}},
     None, "Terraform lifecycle.ignore_changes"),
    ("digitalocean_droplet", {"size": "c-2"}, {"size": "c-4"}, None, f"{DO} resource_droplet.go: size resized in place"),
    ("digitalocean_droplet", {"size": "c-4"}, {"size": "c-2"}, "shrink size (disk)",
     f"{DO} resource_droplet.go: resize_disk true by default, disks never shrink"),
    ("digitalocean_volume", {"size": 80}, {"size": 40}, "shrink size", f"{DO} digitalocean/volume/resource_volume.go CustomizeDiff"),
    ("digitalocean_volume", {"size": 40}, {"size": 80}, None, f"{DO} resource_volume.go: StorageActions.Resize"),
    ("digitalocean_spaces_bucket", {"region": "fra1"}, {"region": "ams3"}, "replace region", f"{DO} spaces/resource_spaces_bucket.go"),
    # A Platinum customer's managed PostgreSQL: renaming the cluster or a database replaces it (data lost), a bigger
    # plan or a standby node does not (schema: only engine/name/private_network_uuid/project_id are ForceNew).
    ("digitalocean_database_cluster", {"name": "a-pg", "engine": "pg"}, {"name": "b-pg", "engine": "pg"}, "replace name",
     f"{DO} digitalocean/database/resource_database_cluster.go: name ForceNew"),
    ("digitalocean_database_cluster", {"size": "db-s-1vcpu-2gb", "node_count": 2}, {"size": "db-s-2vcpu-4gb", "node_count": 3}, None,
     f"{DO} resource_database_cluster.go: size and node_count resized in place"),
    ("digitalocean_database_db", {"cluster_id": "x", "name": "triage"}, {"cluster_id": "x", "name": "triage2"}, "replace name",
     f"{DO} digitalocean/database/resource_database_db.go: name ForceNew"),
    ("digitalocean_database_firewall", {"cluster_id": "x", "rule": [{"type": "k8s", "value": "a"}]},
     {"cluster_id": "x", "rule": [{"type": "k8s", "value": "b"}]}, None, f"{DO} resource_database_firewall.go: rules updated in place"),
    ("vultr_instance", {"os_id": 2284}, {"os_id": 2625}, "replace os_id", f"{VU} vultr/resource_vultr_instance.go: os_id ForceNew"),
    ("vultr_instance", {"hostname": "a"}, {"hostname": "b"}, "replace hostname",
     f"{VU} resource_vultr_instance.go: hostname ForceNew 'to prevent accidental reinstalls'"),
    ("vultr_instance", {"plan": "voc-c-2c-4gb-50s-amd"}, {"plan": "voc-c-4c-8gb-75s-amd"}, None, f"{VU} resource_vultr_instance.go: plan updatable"),
    ("vultr_instance", {"plan": "voc-c-4c-8gb-75s-amd"}, {"plan": "voc-c-2c-4gb-50s-amd"}, "shrink plan (disk)", "75 GB → 50 GB disk"),
    ("vultr_block_storage", {"size_gb": 80}, {"size_gb": 40}, "shrink size_gb", f"{VU} vultr/resource_vultr_block_storage.go"),
    ("vultr_object_storage_bucket", {"enable_versioning": False}, {"enable_versioning": True}, "replace enable_versioning",
     f"{VU} resource_vultr_object_storage_bucket.go"),
    ("hcloud_server", {"image": "ubuntu-24.04"}, {"image": "ubuntu-26.04"}, "replace image", f"{HC} internal/server/resource.go: image ForceNew"),
    ("hcloud_server", {"server_type": "ccx13"}, {"server_type": "ccx23"}, None, f"{HC} internal/server/resource.go: ChangeType"),
    ("hcloud_volume", {"size": 80}, {"size": 40}, "shrink size", f"{HC} internal/volume/resource.go: Volume.Resize grows only"),
    ("hcloud_volume", {"server_id": "x"}, {"server_id": "x", "location": "nbg1"}, None,
     f"{HC} internal/volume/resource.go: location Optional+Computed (the state has it)"),
    ("hcloud_volume", {"location": "fsn1"}, {"location": "nbg1"}, "replace location", f"{HC} internal/volume/resource.go: location ForceNew"),
    ("hcloud_storage_box", {"ssh_keys": ["a"]}, {"ssh_keys": ["b"]}, "replace ssh_keys",
     f"{HC} internal/storagebox/resource.go: ssh_keys RequiresReplace"),
    ("hcloud_storage_box", {"ssh_keys": ["a"]}, {"ssh_keys": ["b"], "lifecycle": {"ignore_changes": ["ssh_keys"]}}, None, "ignore_changes"),
]
DISKS = {("digitalocean", "c-2"): 25, ("digitalocean", "c-4"): 50,
         ("vultr", "voc-c-2c-4gb-50s-amd"): 50, ("vultr", "voc-c-4c-8gb-75s-amd"): 75}


@pytest.mark.parametrize("rtype, before, after, expected, source", ORACLE, ids=[f"{r[0]}-{i}" for i, r in enumerate(ORACLE)])
def test_prediction_agrees_with_the_hand_written_table(rtype, before, after, expected, source):
    from compiler.replacement import load_facts, predict
    facts = load_facts(REPO)
    got = predict("s", {f"{rtype}.x": before}, {f"{rtype}.x": after}, facts, lambda p, slug: DISKS.get((p, slug)))
    assert [f"{p.action} {p.attribute}" for p in got] == ([expected] if expected else []), source


def test_an_address_that_leaves_a_stack_is_a_destroy():
    from compiler.replacement import load_facts, predict
    [p] = predict("s", {"vultr_block_storage.d": {"size_gb": 80}}, {}, load_facts(REPO))
    assert (p.action, p.stateful) == ("destroy", "volume")


def test_facts_match_the_extracted_schemas_and_the_pins():
    """tiers/replacement-facts.yaml against reference/terraform-providers/*.json (extracted by a
    separate script from the same commits) and the provider pins every stack uses."""
    facts = yaml.safe_load((REPO / "tiers" / "replacement-facts.yaml").read_text())["providers"]
    catalog = yaml.safe_load((REPO / "tiers" / "providers.yaml").read_text())["spec"]
    pins = {v["terraformSource"].split("/")[1]: v["terraformVersion"] for v in catalog.values()}
    used = set()
    for path in (REPO / "generated" / "terraform").glob("*/cdk.tf.json"):
        stack = json.loads(path.read_text())
        used |= set(stack.get("resource", {}))
        for name, req in stack["terraform"]["required_providers"].items():
            assert req["version"] == facts[name]["version"] == pins.get(name, req["version"]), (path, name)

    def force_new(node, prefix=""):
        out = {prefix + a for a, spec in node.get("attributes", {}).items() if spec.get("force_new")}
        for b, block in node.get("blocks", {}).items():
            out |= force_new(block, f"{prefix}{b}.")
        return out
    for provider, entry in facts.items():
        schema = json.loads((REPO / "reference" / "terraform-providers" / f"{provider}.json").read_text())
        assert schema["version"] == entry["version"] and schema.get("commit") == entry["commit"], provider
        for rtype, spec in entry["resources"].items():
            assert set(spec["forceNew"]) == force_new(schema["resources"][rtype]), rtype
    known = {r for entry in facts.values() for r in entry["resources"]}
    assert used <= known, f"resource types generated without replacement facts: {sorted(used - known)}"


# ------------------------------------------------ the cases of issue 24, end to end

SILVER_HELIOS = """apiVersion: clawtex/v1
kind: Customer
metadata:
  id: helios-energy
  displayName: Helios Energy Co-op
  contacts:
    - {name: Dana Brooks, email: dana@helios-energy.example}
spec:
  tier: silver
  provider: vultr
  regions: [ewr]
  onboardedOn: "2026-08-19"
  billing:
    monthlyPrice: 249
    stripeCustomerId: cus_HeliosEnrg008
  channels:
    - type: whatsapp
      linked: false
      dmPolicy: pairing
    - type: discord
      token: {source: env, id: HELIOS_DISCORD_TOKEN}
  databases:
    - {engine: mongodb, name: telemetry}
"""
APPROVALS = """  replacementApprovals:
    - {resource: vultr_instance.oc_1, approvedBy: %s, date: "2026-12-03"}
    - {resource: vultr_block_storage.oc_1_data, approvedBy: %s, date: "2026-12-03"}
"""


def _stacks(files: dict) -> dict:
    return {p.split("/")[1]: json.loads(v) for p, v in files.items() if p.startswith("terraform/") and p.endswith("cdk.tf.json")}


def _committed() -> dict:
    return {p.parent.name: json.loads(p.read_text()) for p in (REPO / "generated" / "terraform").glob("*/cdk.tf.json")}


def _compile(root: Path) -> dict:
    from compiler.pipeline import compile_repo
    return compile_repo(root, use_cache=False)


@pytest.fixture
def repo(tmp_path):
    return copy_repo(tmp_path / "repo")


def test_platinum_plan_change_keeps_both_clusters(repo):
    """Issue 24: a Platinum plan change replaced both DOKS clusters (node_pool.size is ForceNew on
    digitalocean_kubernetes_cluster, v2.99.1 kubernetes.go). Now only the workload pools move."""
    edit(repo / "tiers" / "providers.yaml", "platinum: {slug: c-4, vcpu: 4, ramGb: 8, diskGb: 50, monthlyUsd: 84.0",
         "platinum: {slug: c-8, vcpu: 8, ramGb: 16, diskGb: 100, monthlyUsd: 168.0")
    new, old = _stacks(_compile(repo))["orbital-health"], _committed()["orbital-health"]
    clusters = old["resource"]["digitalocean_kubernetes_cluster"]
    assert len(clusters) == 2
    for rid, cluster in clusters.items():
        after = new["resource"]["digitalocean_kubernetes_cluster"][rid]
        # every ForceNew argument of the cluster (hand list, kubernetes.go + resource_kubernetes_cluster.go)
        for attr in ("region", "vpc_uuid", "cluster_subnet", "service_subnet"):
            assert after.get(attr) == cluster.get(attr), (rid, attr)
        assert [p["size"] for p in after["node_pool"]] == [p["size"] for p in cluster["node_pool"]], rid
    pools = new["resource"]["digitalocean_kubernetes_node_pool"]
    assert sorted(p["size"] for p in pools.values()) == ["c-8", "c-8"]
    assert all(p["lifecycle"]["create_before_destroy"] and p["size"] in p["name"] for p in pools.values())


@pytest.mark.parametrize("provider, old, new", [("digitalocean", "image: ubuntu-24-04-x64", "image: ubuntu-26-04-x64"),
                                                ("vultr", 'image: "2284"', 'image: "2625"'),
                                                ("hetzner", "image: ubuntu-24.04", "image: ubuntu-26.04")])
def test_os_image_bump_replaces_no_server(repo, provider, old, new):
    """Issue 24: bumping the image replaced every droplet and Vultr instance (shared Bronze hosts
    included): image (droplet, hcloud_server) and os_id, hostname (vultr_instance) are ForceNew."""
    force_new = {"digitalocean_droplet": ("image", "ssh_keys", "user_data", "region"),     # resource_droplet.go
                 "hcloud_server": ("image", "ssh_keys", "user_data", "location"),          # internal/server/resource.go
                 "vultr_instance": ("os_id", "hostname", "ssh_key_ids", "user_data", "region")}  # resource_vultr_instance.go
    edit(repo / "tiers" / "providers.yaml", old, new)
    new_stacks, old_stacks = _stacks(_compile(repo)), _committed()
    checked = 0
    for name, stack in old_stacks.items():
        for rtype, attrs in force_new.items():
            for rid, body in stack.get("resource", {}).get(rtype, {}).items():
                after = new_stacks[name]["resource"][rtype][rid]
                ignored = set(after.get("lifecycle", {}).get("ignore_changes", []))
                changed = {a for a in attrs if after.get(a) != body.get(a)} - ignored
                assert not changed, (name, rid, changed)
                checked += 1
    assert checked >= 3


# The finding's attributes, by hand (issue 24 "OS image bump": image, Vultr os_id and hostname ForceNew
# and not ignored; digitalocean v2.99.1 resource_droplet.go, hcloud v1.68.0 internal/server/resource.go,
# vultr v2.32.0 resource_vultr_instance.go).
ROUTINE_FORCE_NEW = {"digitalocean_droplet": ("image",), "hcloud_server": ("image",), "vultr_instance": ("os_id", "hostname")}


def test_no_server_of_the_committed_stacks_is_replaced_by_its_image_os_or_hostname():
    """Each committed server, with each of these attributes changed, is predicted kept (its
    `ignore_changes` covers it): a Vultr host renamed (hostname) included, which the image bump above
    never changes."""
    from compiler.replacement import load_facts, predict, stack_resources
    facts, seen = load_facts(REPO), set()
    for name, stack in _committed().items():
        for address, body in stack_resources(stack).items():
            for attr in ROUTINE_FORCE_NEW.get(address.split(".")[0], ()):
                changed = {**body, attr: f"{body.get(attr)}-changed"}
                assert predict(name, {address: body}, {address: changed}, facts) == [], (name, address, attr)
                seen.add(address.split(".")[0])
    assert seen == set(ROUTINE_FORCE_NEW)


def _silver_helios(root: Path, approver: str | None) -> None:
    text = SILVER_HELIOS + (APPROVALS % (approver, approver) if approver else "")
    (root / "customers" / "helios-energy.yaml").write_text(text)


def test_gold_to_silver_volume_shrink_is_refused_without_approval(repo):
    """Issue 24: Gold→Silver shrinks helios-energy's volume 80 → 40 GB (vultr_block_storage.size_gb
    only grows) and its server's disk 75 → 50 GB; the compile refuses, naming both."""
    from compiler.diagnostics import CompileError
    _silver_helios(repo, None)
    with pytest.raises(CompileError) as err:
        _compile(repo)
    text = str(err.value)
    assert "customers/helios-energy.yaml" in text
    assert "`vultr_block_storage.oc_1_data`" in text and "`size_gb` 80 → 40" in text
    assert "`vultr_instance.oc_1`" in text and "disk" in text
    assert "replacementApprovals" in text


def test_a_machine_written_approval_does_not_count(repo):
    from compiler.diagnostics import CompileError
    _silver_helios(repo, '"pending review of Stripe evt_Helios0001"')
    with pytest.raises(CompileError):
        _compile(repo)


def test_a_human_approval_lets_the_shrink_through(repo):
    _silver_helios(repo, "Ops Lead")
    stack = _stacks(_compile(repo))["helios-energy"]
    assert stack["resource"]["vultr_block_storage"]["oc_1_data"]["size_gb"] == 40


def test_pr_summary_flags_the_shrink_loudly(tmp_path):
    """Issue 27: 'A volume shrink is a plain changed line' (Vultr's size_gb was not seen at all)."""
    from compiler.gitops.pr_summary import summary
    root = init_repo(tmp_path / "repo")
    _silver_helios(root, "Ops Lead")
    compile_and_commit(root, "helios to silver")
    text = summary(root, "HEAD~1", "HEAD")
    flags = text[text.index("Red flags"):text.index("### Customers")]
    assert "**volume shrink**: `vultr_block_storage.oc_1_data` in stack `helios-energy` 80 GB → 40 GB" in flags
    assert "**disk shrink**: `vultr_instance.oc_1` in stack `helios-energy`" in flags
    resources = text[text.index("#### stack `helios-energy`"):]
    assert "- **shrinks** `vultr_block_storage.oc_1_data`: `size_gb` 80 → 40" in resources
    assert "- changed `vultr_block_storage.oc_1_data`" not in resources


def test_pr_summary_flags_a_replacement(tmp_path):
    """A hand-edited generated/ tree that changes a force-new attribute reads as a replacement."""
    from compiler.gitops.pr_summary import summary
    root = init_repo(tmp_path / "repo")
    path = root / "generated" / "terraform" / "mapleleaf-dental" / "cdk.tf.json"
    data = json.loads(path.read_text())
    [rid] = data["resource"]["digitalocean_volume"]
    data["resource"]["digitalocean_volume"][rid]["region"] = "ams3"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    commit(root, "move a volume by hand")
    text = summary(root, "HEAD~1", "HEAD")
    assert f"**replace**: `digitalocean_volume.{rid}` in stack `mapleleaf-dental` (volume: its data goes with it): `region`" in text
    assert f"- **replaced** `digitalocean_volume.{rid}`" in text


# ------------------------------------------------ churn (issue 24 item 5)


def test_decommission_record_says_until_when_backups_are_kept(repo):
    """Gold keeps backups 30 days, Bronze none (tiers/*.yaml backups.retentionDays): decommissioned on
    2026-11-01, helios-energy's backups stay until 2026-12-01 (counted by hand)."""
    for cid in ("helios-energy", "tiny-legal"):
        edit(repo / "customers" / f"{cid}.yaml", "\nspec:\n",
             '\nspec:\n  status: decommissioned\n  decommission: {approvedBy: Ops Lead, date: "2026-11-01"}\n')
    record = json.loads(_compile(repo)["decommissions.json"])["customers"]
    assert record["helios-energy"]["backupsKeptUntil"] == "2026-12-01"
    assert record["helios-energy"]["backupRetentionDays"] == 30
    assert record["helios-energy"]["backups"] == [{"kind": "s3", "name": "clawtex-helios-energy-backup", "region": "ewr"}]
    assert record["helios-energy"]["retainedResourceTypes"] == ["vultr_object_storage", "vultr_object_storage_bucket"]
    assert record["tiny-legal"]["backupsKeptUntil"] is None and record["tiny-legal"]["retainedResourceTypes"] == []
    assert json.loads((REPO / "generated" / "decommissions.json").read_text()) == {"customers": {}}


def test_the_destroy_keeps_the_backup_storage_and_passes_prevent_destroy(tmp_path):
    """scripts/gitops/apply-stack.sh, destroy branch: the backup storage leaves the state before
    `terraform destroy`, and the last configuration loses prevent_destroy (Terraform rejects any
    destroy of a resource that still carries it). compiler/gitops/protection.py computes both;
    it runs here on the real committed stack."""
    import subprocess
    import sys
    script = (REPO / "scripts" / "gitops" / "apply-stack.sh").read_text()
    branch = script[script.index('if [ "$action" = destroy ]; then'):]
    assert branch.index("state rm") < branch.index("destroy -input=false")
    stack = REPO / "generated" / "terraform" / "helios-energy" / "cdk.tf.json"
    assert "prevent_destroy" in stack.read_text()
    out, forget = tmp_path / "lift.json", tmp_path / "forget.txt"
    subprocess.run([sys.executable, "-m", "compiler.gitops.protection", str(stack), "--out", str(out), "--forget", str(forget)],
                   cwd=REPO, check=True, capture_output=True, text=True)
    # written by hand: helios-energy (Vultr Gold) keeps its object storage subscription and bucket
    kept = sorted(a.split(".")[0] for a in forget.read_text().split())
    assert kept and set(kept) <= {"vultr_object_storage", "vultr_object_storage_bucket"}, kept
    # prevent_destroy stays only on what left the state (nothing to destroy there)
    lifted = json.loads(out.read_text())["resource"]
    still = sorted(f"{t}.{n}" for t, body in lifted.items() for n, r in body.items()
                   if (r.get("lifecycle") or {}).get("prevent_destroy"))
    assert set(still) <= set(forget.read_text().split()), still


def stack_resources_count(stack: dict) -> int:
    return sum(len(v) for v in stack.get("resource", {}).values())


def test_the_stateful_guard_is_pure(monkeypatch):
    """Core stage: it reads the committed tree only through the load stage (compiler/previous.py)."""
    import builtins
    import os

    from compiler.pipeline import load_inputs
    from compiler.plan import build_plan
    from compiler.stateful_guard import check_replacements
    from compiler.targets import render_all

    inputs = load_inputs(REPO, use_cache=False)
    assert inputs.previous.terraform["orbital-health"] and inputs.replacement_facts
    plan = build_plan(inputs)
    files = render_all(plan, ["terraform"])

    def refuse(*args, **kwargs):
        raise AssertionError(f"I/O in the guard: {args[:1]}")
    for owner, name in ((builtins, "open"), (os, "open"), (os, "scandir"), (os, "listdir"), (os, "stat")):
        monkeypatch.setattr(owner, name, refuse)
    check_replacements(inputs, plan, files)     # the committed tree is what this compile writes: nothing to refuse


def test_a_stack_compiled_to_its_committed_bytes_is_not_compared():
    """The guard skips a stack whose new bytes hash to the committed ones: sound because
    equal resources predict nothing (checked here on every committed stack), and the
    skip must happen (a stack changed behind it is still compared)."""
    from dataclasses import replace as dc_replace

    from compiler import stateful_guard
    from compiler.pipeline import load_inputs
    from compiler.plan import build_plan
    from compiler.replacement import predict
    from compiler.targets import render_all

    inputs = load_inputs(REPO, use_cache=False)
    plan = build_plan(inputs)
    disk_of = stateful_guard.disk_lookup(plan)
    for stack, resources in inputs.previous.terraform.items():
        assert predict(stack, resources, resources, inputs.replacement_facts, disk_of) == [], stack
    files = render_all(plan, ["terraform"])
    parsed: list[str] = []
    original = stateful_guard.stack_resources

    def counting(tf_json):
        parsed.append(tf_json.get("//", {}).get("clawtex", {}).get("stack", "?"))
        return original(tf_json)
    stateful_guard.stack_resources = counting
    try:
        assert stateful_guard.predictions(inputs, plan, files) == []
        assert parsed == [], "every stack equals its committed bytes: none is parsed"
        # Had orbital-health's bucket been committed in another region, its bytes differ: it is compared.
        committed = json.loads(files["terraform/orbital-health/cdk.tf.json"])
        committed["resource"]["digitalocean_spaces_bucket"]["backup"]["region"] = "nyc3"
        moved = dc_replace(inputs, previous=dc_replace(inputs.previous, terraform={
            **inputs.previous.terraform, "orbital-health": original(committed)},
            terraform_digests={**inputs.previous.terraform_digests, "orbital-health": b"other bytes"}))
        found = stateful_guard.predictions(moved, plan, files)
        assert len(parsed) == 1
        assert [(p.address, p.action) for p in found] == [("digitalocean_spaces_bucket.backup", "replace")]
    finally:
        stateful_guard.stack_resources = original


def test_the_facts_file_reads_the_same_with_libyaml_as_with_the_pure_python_parser():
    """replacement.facts_from_text parses with libyaml (speed); the data is what yaml.safe_load
    (pure Python) makes of the committed facts file."""
    import yaml
    from compiler import replacement
    from conftest import REPO
    text = (REPO / replacement.FACTS_FILE).read_text(encoding="utf-8")
    assert yaml.__with_libyaml__ and replacement._SafeLoader is yaml.CSafeLoader
    assert yaml.load(text, Loader=replacement._SafeLoader) == yaml.safe_load(text)
    assert len(replacement.facts_from_text(text)) >= 10
