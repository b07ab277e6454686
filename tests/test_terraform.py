"""Terraform JSON checked without a terraform binary: every body against its
provider's resource schema (reference/terraform-providers/, read from the
providers' source at the versions we pin), every reference resolvable, and
checkov's terraform_json checks."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import yaml
import pytest

from conftest import REFERENCE, REPO, missing, own_secret_ids
from artifact_checks import strings

GENERATED = REPO / "generated" / "terraform"
SCHEMAS = REFERENCE / "terraform-providers"
STACKS = sorted(GENERATED.glob("*/cdk.tf.json"))
META_ARGUMENTS = {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection", "//"}
PROVIDER_FILES = {"hcloud": "hcloud.json", "digitalocean": "digitalocean.json", "vultr": "vultr.json", "random": "random.json", "tls": "tls.json"}
REFERENCE = re.compile(r"(?<!\$)\$\{([^}]*)\}")
MODULES = REPO / "modules" / "terraform"
MODULE_FILES = sorted(MODULES.rglob("*.tf"))


@pytest.fixture(scope="module")
def schemas() -> dict:
    return {name: json.loads((SCHEMAS / file).read_text()) for name, file in PROVIDER_FILES.items()}


def body_problems(address: str, body: dict, schema: dict) -> list[str]:
    """What the provider would reject in `body`: unknown, read-only, missing, mis-shaped."""
    problems = []
    attributes, blocks = schema.get("attributes", {}), schema.get("blocks", {})
    for key, value in body.items():
        if key in META_ARGUMENTS:
            continue
        if key in attributes:
            spec = attributes[key]
            if spec.get("computed") and not (spec.get("optional") or spec.get("required")):
                problems.append(f"{address}: {key} is read-only")
        elif key in blocks:
            block = blocks[key]
            items = value if isinstance(value, list) else [value]
            if block.get("nesting") in ("list", "set") and not isinstance(value, list):
                problems.append(f"{address}: {key} must be a list of blocks")
            if block.get("max_items") and len(items) > block["max_items"]:
                problems.append(f"{address}: {key} allows {block['max_items']} block(s)")
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    problems.append(f"{address}: {key}[{index}] must be a block (object)")
                else:
                    problems += body_problems(f"{address}.{key}[{index}]", item, block)
        else:
            problems.append(f"{address}: unknown attribute {key}")
    for key, spec in attributes.items():
        if spec.get("required") and key not in body:
            problems.append(f"{address}: required attribute {key} is missing")
    for key, block in blocks.items():
        if block.get("min_items") and key not in body:
            problems.append(f"{address}: required block {key} is missing")
    return problems



def reference_problems(stack: dict) -> list[str]:
    resources = {f"{t}.{n}" for t, named in stack.get("resource", {}).items() for n in named}
    variables = {f"var.{v}" for v in stack.get("variable", {})}
    modules = {f"module.{m}" for m in stack.get("module", {})}
    locals_ = {f"local.{name}" for name in stack.get("locals", {})}
    data = {f"data.{t}.{n}" for t, named in stack.get("data", {}).items() for n in named}
    known = resources | variables | modules | locals_ | data
    problems = []
    for text in strings({k: v for k, v in stack.items() if k != "//"}):
        for expression in REFERENCE.findall(text):
            # A one-argument function call (e.g. trimspace(x.y.z)): its argument is the reference.
            call = re.fullmatch(r"\s*[a-z]+\((.*)\)\s*", expression)
            parts = (call.group(1) if call else expression).strip().split(".")
            head = ".".join(parts[:3] if parts[0] == "data" else parts[:2])
            if head not in known and parts[0] != "self":     # self: a condition's own object
                problems.append(f"unresolved reference ${{{expression}}}")
    return problems


def hcl_label(name: str) -> str:
    """python-hcl2 8 keeps the quotes around block labels (`"user_data"`); older releases drop them."""
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == '"' else name


def module_interface(directory: Path) -> dict[str, set[str]]:
    """Variables (required / all) and outputs of an HCL module, as python-hcl2 reads them."""
    required, declared, outputs = set(), set(), set()
    for path in sorted(directory.glob("*.tf")):
        parsed = hcl2.loads(path.read_text(encoding="utf-8"))
        for block in parsed.get("variable", []):
            for name, body in block.items():
                declared.add(hcl_label(name))
                if "default" not in body:
                    required.add(hcl_label(name))
        for block in parsed.get("output", []):
            outputs.update(hcl_label(name) for name in block)
    return {"required": required, "declared": declared, "outputs": outputs}


def module_problems(stack: dict, stack_dir: Path) -> list[str]:
    """Each module call: a local source under modules/terraform/, exactly the required
    variables and no unknown ones, and only outputs the module declares are read."""
    problems = []
    for name, call in stack.get("module", {}).items():
        source = (stack_dir / call.get("source", "")).resolve()
        if MODULES.resolve() not in source.parents or not any(source.glob("*.tf")):
            problems.append(f"module.{name}: source {call.get('source')} is not a module under modules/terraform/")
            continue
        interface = module_interface(source)
        passed = set(call) - {"source", "version", "providers", "depends_on", "count", "for_each", "//"}
        problems += [f"module.{name}: required variable {v} is missing" for v in sorted(interface["required"] - passed)]
        problems += [f"module.{name}: unknown variable {v}" for v in sorted(passed - interface["declared"])]
        for text in strings({k: v for k, v in stack.items() if k != "//"}):
            for expression in REFERENCE.findall(text):
                parts = expression.strip().split(".")
                if parts[:2] == ["module", name] and (len(parts) < 3 or parts[2] not in interface["outputs"]):
                    problems.append(f"module.{name} has no output {'.'.join(parts[2:])}")
    return problems


def stack_problems(stack: dict, schemas: dict, stack_dir: Path = GENERATED / "any") -> list[str]:
    problems = reference_problems(stack) + module_problems(stack, stack_dir)
    declared = stack.get("terraform", {}).get("required_providers", {})
    for name, req in declared.items():
        schema = schemas[name]
        if req.get("version") != schema["version"]:
            problems.append(f"provider {name} pinned to {req.get('version')}, schemas are {schema['version']}")
        if req.get("source", "").lower() != schema["source"].lower() and not req.get("source", "").endswith(schema["source"].split("/")[-1]):
            problems.append(f"provider {name} source {req.get('source')}")
    for rtype, named in stack.get("resource", {}).items():
        provider = rtype.split("_", 1)[0]
        if provider not in declared:
            problems.append(f"{rtype}: provider {provider} is not declared in this stack")
            continue
        schema = schemas[provider]["resources"].get(rtype)
        if schema is None:
            problems.append(f"{rtype}: not a resource of {provider} {schemas[provider]['version']}")
            continue
        for name, body in named.items():
            problems += body_problems(f"{rtype}.{name}", body, schema)
    return problems


@pytest.mark.parametrize("path", STACKS, ids=[p.parent.name for p in STACKS])
def test_stack_matches_provider_schemas_and_references_resolve(path, schemas):
    stack = json.loads(path.read_text())
    assert stack["terraform"]["backend"]["s3"]["key"].endswith(f"/{path.parent.name}/terraform.tfstate")
    assert stack_problems(stack, schemas, path.parent) == []


def test_checker_catches_what_terraform_would_reject(schemas):
    stack = {
        "terraform": {"required_providers": {"hcloud": {"source": "hetznercloud/hcloud", "version": "0.1"}}},
        "resource": {
            "hcloud_server": {"s": {"name": "x", "colour": "red", "ipv4_address": "1.2.3.4", "public_net": {"ipv4_enabled": True}}},
            "hcloud_firewall": {"f": {"name": "${hcloud_server.missing.id}", "rule": [{"direction": "in"}]}},
            "vultr_instance": {"v": {"plan": "p", "region": "r"}},
            "hcloud_teapot": {"t": {}},
        },
        "module": {
            "cloud_init": {"source": "../../../modules/terraform/cloud-init", "ansible_user": "x", "colour": "red"},
            "elsewhere": {"source": "../../../../etc"},
        },
        "output": {"o": {"value": "${module.cloud_init.password}"}},
    }
    problems = "\n".join(stack_problems(stack, schemas))
    for expected in ("unknown attribute colour", "server_type is missing", "ipv4_address is read-only", "public_net must be a list",
                     "unresolved reference ${hcloud_server.missing.id}", "rule[0]: required attribute protocol",
                     "vultr_instance: provider vultr is not declared", "hcloud_teapot: not a resource",
                     "pinned to 0.1", "module.cloud_init: required variable ssh_public_key is missing",
                     "module.cloud_init: unknown variable colour", "module.cloud_init has no output password",
                     "module.elsewhere: source ../../../../etc is not a module"):
        assert expected in problems, (expected, problems)


def test_modules_parse_with_python_hcl2_and_every_stack_calls_cloud_init():
    assert MODULE_FILES, "modules/terraform/ holds no .tf file"
    for path in MODULE_FILES:
        hcl2.loads(path.read_text(encoding="utf-8"))
    assert module_interface(MODULES / "cloud-init")["outputs"] == {"user_data"}
    for path in STACKS:
        stack = json.loads(path.read_text())
        servers = [body for rtype in ("hcloud_server", "digitalocean_droplet", "vultr_instance")
                   for body in stack.get("resource", {}).get(rtype, {}).values()]
        assert all(body["user_data"] == "${module.cloud_init.user_data}" for body in servers), path


def resources(name: str) -> dict:
    return json.loads((GENERATED / name / "cdk.tf.json").read_text())["resource"]


def test_every_stack_has_its_tiers_infrastructure():
    hz, vu, do = resources("acme-logistics"), resources("helios-energy"), resources("orbital-health")
    for gold, server, volume, dns, backup in ((hz, "hcloud_server", "hcloud_volume", "hcloud_zone_rrset", "hcloud_storage_box"),
                                              (vu, "vultr_instance", "vultr_block_storage", "vultr_dns_record", "vultr_object_storage_bucket")):
        assert {"oc_1", "wazuh"} <= set(gold[server]) and gold[volume] and gold[dns] and gold[backup]
    assert "backup" in resources("mapleleaf-dental")["digitalocean_spaces_bucket"]
    assert "backup" in resources("brightpath-tutors")["vultr_object_storage_bucket"]
    assert set(do["digitalocean_kubernetes_cluster"]) == {"k8s_fra1", "k8s_ams3"}
    assert set(do["digitalocean_loadbalancer"]) == {"global", "lb_fra1", "lb_ams3"}, "regional LBs: Terraform's, adopted by the Service"
    assert set(do["digitalocean_spaces_bucket"]) == {"backup", "backup_ams3"}, "cross-region backup copy"
    shared = resources("shared-hetzner-fsn1-01")
    assert shared["hcloud_server"] and shared["hcloud_volume"] and shared["hcloud_firewall"]
    assert "hcloud_storage_box" not in shared, "Bronze has no backups"


def test_firewalls_open_only_ssh_from_ops_and_web():
    ops = {"198.51.100.0/24"}
    prometheus = {"203.0.113.10/32", "2001:db8:10::10/128"}     # clawtex.yaml ops.prometheus (issue 25)
    for path in STACKS:
        for name, fw in json.loads(path.read_text())["resource"].get("hcloud_firewall", {}).items():
            for rule in fw["rule"]:
                if rule["port"] == "22":
                    assert set(rule["source_ips"]) == ops
                elif rule["port"] == "9100":
                    assert set(rule["source_ips"]) == prometheus
                elif rule["port"] in ("80", "443"):
                    assert name == "fw"
                else:
                    assert name == "wazuh_fw" and rule["port"] == "1514-1515"
                    assert all(s.startswith("${hcloud_server.") for s in rule["source_ips"])


def test_data_is_protected_from_destroy():
    for path in STACKS:
        for rtype, named in json.loads(path.read_text())["resource"].items():
            if rtype.endswith(("_volume", "_block_storage", "_spaces_bucket", "_storage_box", "_object_storage_bucket")):
                for name, body in named.items():
                    assert body.get("lifecycle", {}).get("prevent_destroy") is True, f"{path.parent.name}: {rtype}.{name}"


def test_suspended_customer_keeps_data_but_loses_compute(repo):
    path = repo / "customers" / "acme-logistics.yaml"
    path.write_text(path.read_text().replace("  onboardedOn:", "  status: suspended\n  onboardedOn:"))
    result = subprocess.run([os.sys.executable, "-m", "compiler.cli", "--root", str(repo), "compile"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    stack = json.loads((repo / "generated" / "terraform" / "acme-logistics" / "cdk.tf.json").read_text())["resource"]
    assert "hcloud_server" not in stack
    assert stack["hcloud_volume"]["oc_1_data"]["lifecycle"]["prevent_destroy"] is True
    assert "server_id" not in stack["hcloud_volume"]["oc_1_data"]
    assert "backup" in stack["hcloud_storage_box"]


def checkov() -> str | None:
    local = REPO / ".tools" / "checkov" / "bin" / "checkov"
    return str(local) if local.exists() else shutil.which("checkov")


def checkov_copy(dest: Path) -> Path:
    """The stacks as checkov 3.3's terraform_json parser can read them.

    Its parser crashes on a plain string inside the `terraform` block
    (`required_version`) and on CDKTF's `//` metadata; neither affects a
    resource check, so the copy drops just those two keys."""
    for path in STACKS:
        stack = json.loads(path.read_text())
        stack.pop("//", None)
        stack["terraform"].pop("required_version", None)
        target = dest / path.parent.name / "cdk.tf.json"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(stack))
    return dest


def test_checkov_terraform_json(tmp_path):
    binary = checkov()
    if binary is None:
        missing("checkov")          # a failure under CI=true
    result = subprocess.run([binary, "-d", str(checkov_copy(tmp_path)), "--framework", "terraform_json", "--compact",
                             "--quiet", "-o", "json"], capture_output=True, text=True, timeout=600)
    report = json.loads(result.stdout)
    summary = report["summary"]
    # checkov ships policies for DigitalOcean only in this framework (none for hcloud or vultr).
    assert summary["parsing_errors"] == 0, result.stdout[-3000:]
    assert summary["passed"] >= 10, summary
    assert summary["failed"] == 0, [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]


def test_parallel_synthesis_gives_the_same_bytes(monkeypatch):
    """Large fleets synthesize in worker processes; the result must not depend on it."""
    from compiler.pipeline import plan_repo
    from compiler.targets import terraform
    plan = plan_repo(REPO, use_cache=False)
    serial = terraform._synthesize_here(plan, list(plan.stacks), terraform.fleet_stacks(plan))
    monkeypatch.setattr(terraform, "PARALLEL_MIN_STACKS", 2)
    monkeypatch.setenv("CLAWTEX_JOBS", "2")
    spawned = []
    real_pool = terraform.concurrent.futures.ProcessPoolExecutor
    monkeypatch.setattr(terraform.concurrent.futures, "ProcessPoolExecutor",
                        lambda *a, **k: spawned.append(a) or real_pool(*a, **k))
    parallel = terraform.synthesize(plan)
    assert spawned == [(2,)]
    assert parallel == serial
    assert list(parallel) == sorted(parallel)


# ------------------------------------------------------------------ provider facts (issue 16)
# Each fact names its source; tiers/provider-facts.md lists them with the date read
# and how to refresh them.

# Hetzner changelog (deprecated 2025-10-16, removed from the API end of 2025), as cited
# by issue 16; hcloud v1.68.0 docs/resources/server.md uses their successor cx23.
HETZNER_REMOVED_TYPES = {"cx22", "cx32", "cx42"}
# Locations selling CX (cost-optimized) types: EU only, not ash/hil (Hetzner server-type
# locations API; hcloud v1.53.0 CHANGELOG "Server Types now depend on Locations").
HETZNER_CX_LOCATIONS = {"fsn1", "nbg1", "hel1"}
# Dedicated-vCPU families: Hetzner CCX (docs.hetzner.com cloud FAQ "dedicated vCPU");
# DigitalOcean CPU-Optimized c-* / General Purpose g-* (docs.digitalocean.com choosing-a-plan);
# Vultr Optimized Cloud voc-* and dedicated vdc-* (vultr.com/products/optimized-cloud-compute).
DEDICATED_PREFIXES = {"hetzner": ("ccx",), "digitalocean": ("c-", "g-", "gd-", "m-"), "vultr": ("voc-", "vdc-")}
SERVER_TYPES = {"hcloud_server": "server_type", "digitalocean_droplet": "size", "vultr_instance": "plan"}
# Account-wide objects the API refuses twice (DigitalOcean: `422 SSH Key is already in use
# on your account`; hcloud: ssh key fingerprint uniqueness_error; Vultr keys are per account too).
ACCOUNT_WIDE = {"hcloud_ssh_key", "digitalocean_ssh_key", "vultr_ssh_key"}
# Rotating the key or editing cloud-init must not touch a server: these arguments are
# force_new in the schemas (read from the providers' source, see SCHEMAS).
ROUTINE_ARGUMENTS = {"ssh_keys", "ssh_key_ids", "user_data"}


def all_stacks() -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in STACKS}


def customer_stacks() -> dict[str, dict]:
    return {name: s for name, s in all_stacks().items() if not name.startswith("fleet-")}


def test_hetzner_plans_exist_where_they_are_ordered(schemas):
    for name, stack in all_stacks().items():
        for body in stack.get("resource", {}).get("hcloud_server", {}).values():
            assert body["server_type"] not in HETZNER_REMOVED_TYPES, (name, body["server_type"])
            if body["server_type"].startswith("cx"):
                assert body["location"] in HETZNER_CX_LOCATIONS, (name, body["server_type"], body["location"])


def test_dedicated_tiers_get_dedicated_vcpu_plans():
    tiers = {t: yaml_load(REPO / "tiers" / f"{t}.yaml") for t in ("bronze", "silver", "gold", "platinum")}
    for name, stack in customer_stacks().items():
        for rtype, attr in SERVER_TYPES.items():
            for rid, body in stack.get("resource", {}).get(rtype, {}).items():
                tier = dict(tag.split(":", 1) for tag in body["tags"])["tier"] if "tags" in body else body["labels"]["tier"]
                if rid != "wazuh" and not tiers[tier]["spec"]["resources"]["vcpuShared"]:
                    provider = {"hcloud_server": "hetzner", "digitalocean_droplet": "digitalocean", "vultr_instance": "vultr"}[rtype]
                    assert body[attr].startswith(DEDICATED_PREFIXES[provider]), (name, rid, body[attr])
        for cluster in stack.get("resource", {}).get("digitalocean_kubernetes_cluster", {}).values():
            assert cluster["node_pool"][0]["size"].startswith(DEDICATED_PREFIXES["digitalocean"]), name


def yaml_load(path: Path) -> dict:
    import yaml
    return yaml.safe_load(path.read_text())


CUSTOMER = """apiVersion: clawtex/v1
kind: Customer
metadata:
  id: {id}
  displayName: Test {id}
  contacts: [{{name: Ops, email: ops@example.com, role: technical}}]
spec:
  tier: {tier}
  provider: {provider}
  regions: [{regions}]
"""


def _variant(repo: Path, template: str, cid: str, provider: str, regions: str, extra: str = "") -> Path:
    """An example customer moved to another provider/regions (same tier and channels)."""
    import re as _re
    text = (repo / "customers" / f"{template}.yaml").read_text()
    text = text.replace(template, cid).replace(template.upper().replace("-", "_"), cid.upper().replace("-", "_"))
    text = _re.sub(r"(?m)^  provider: .*$", f"  provider: {provider}", text, count=1)
    text = _re.sub(r"(?m)^  regions: .*$", f"  regions: [{regions}]", text, count=1)
    text = _re.sub(r"(?m)^(\s*(stripeCustomerId|stripeSubscriptionId): \S{4}).*$", r"\g<1>Variant0001", text)
    path = repo / "customers" / f"{cid}.yaml"
    path.write_text(own_secret_ids(text, cid) + extra)
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_plan_not_sold_in_a_location_is_a_compile_error_at_file_line(repo):
    from conftest import run_clawtex
    bronze = _variant(repo, "pixel-bakery", "ash-bakery", "hetzner", "ash")
    gold = _variant(repo, "acme-logistics", "ash-logistics", "hetzner", "ash")
    result = run_clawtex(repo, "compile")
    assert result.returncode != 0
    # Bronze's shared host is a CX type: not sold in ash (HETZNER_CX_LOCATIONS).
    assert f"customers/ash-bakery.yaml:{_line_of(bronze, 'regions:')}" in result.stderr, result.stderr
    assert "hetzner has no cx43 in ash" in result.stderr, result.stderr
    # Gold runs on CCX, and its Wazuh VM on a CCX in ash: nothing to say about it.
    assert "ash-logistics" not in result.stderr, result.stderr


def test_backups_need_object_storage_in_the_region_unless_the_provider_uses_a_storage_box(repo):
    """Vultr object storage exists in ewr, ams and sgp only (tiers/providers.yaml
    backupStorage.endpoints, fact 13): a Silver customer in lax is refused at its
    regions line; Hetzner backs up to a Storage Box, so ash is fine for backups."""
    from conftest import run_clawtex
    lax = _variant(repo, "brightpath-tutors", "brightpath-lax", "vultr", "lax")
    _variant(repo, "brightpath-tutors", "brightpath-ash", "hetzner", "ash")
    result = run_clawtex(repo, "compile")
    assert result.returncode != 0
    assert f"customers/brightpath-lax.yaml:{_line_of(lax, 'regions:')}" in result.stderr, result.stderr
    assert "vultr has no object storage in lax (backups need one)" in result.stderr
    assert "brightpath-ash" not in result.stderr, result.stderr


def test_platinum_is_refused_where_failover_is_not_real(repo):
    from conftest import run_clawtex
    path = _variant(repo, "orbital-health", "orbital-vultr", "vultr", "ewr, ams")
    result = run_clawtex(repo, "compile")
    assert result.returncode != 0
    assert f"customers/orbital-vultr.yaml:{_line_of(path, 'provider:')}" in result.stderr, result.stderr
    assert "vultr cannot run platinum" in result.stderr


def test_account_wide_resources_exist_once_in_the_fleet_stack():
    seen: dict[str, list[str]] = {}
    for name, stack in all_stacks().items():
        for rtype in ACCOUNT_WIDE & set(stack.get("resource", {})):
            seen.setdefault(rtype, []).append(name)
    assert seen == {"hcloud_ssh_key": ["fleet-hetzner"], "digitalocean_ssh_key": ["fleet-digitalocean"],
                    "vultr_ssh_key": ["fleet-vultr"]}
    for name, stack in customer_stacks().items():
        looked_up = {t for t in stack.get("data", {}) if t in ACCOUNT_WIDE}
        assert len(looked_up) == 1, name


def test_routine_changes_never_replace_a_server(schemas):
    providers = {"hcloud_server": "hcloud", "digitalocean_droplet": "digitalocean", "vultr_instance": "vultr"}
    for name, stack in all_stacks().items():
        for rtype, provider in providers.items():
            schema = schemas[provider]["resources"][rtype]["attributes"]
            force_new = {a for a, spec in schema.items() if spec.get("force_new")} & ROUTINE_ARGUMENTS
            assert force_new, (rtype, "the schema no longer marks them force_new: re-check this fact")
            for rid, body in stack.get("resource", {}).get(rtype, {}).items():
                ignored = set(body.get("lifecycle", {}).get("ignore_changes", []))
                assert force_new & set(body) <= ignored, (name, rid, force_new & set(body) - ignored)
                if rtype == "hcloud_server":
                    # delete and rebuild protection, equal (hcloud v1.68.0 docs/resources/server.md)
                    assert body["delete_protection"] is True and body["rebuild_protection"] is True, (name, rid)


def test_doks_version_comes_from_the_provider_and_upgrades_do_not_replace():
    for name, stack in customer_stacks().items():
        for rid, cluster in stack.get("resource", {}).get("digitalocean_kubernetes_cluster", {}).items():
            # DOKS 1.33.1-do.0 is past end of life (issue 16); data.digitalocean_kubernetes_versions
            # (v2.99.1 docs/data-sources/kubernetes_versions.md) gives latest_version for a prefix.
            assert cluster["version"].startswith("${data.digitalocean_kubernetes_versions."), (name, cluster["version"])
            assert cluster["auto_upgrade"] is True and "version" in cluster["lifecycle"]["ignore_changes"], (name, rid)
            prefix = stack["data"]["digitalocean_kubernetes_versions"]["doks"]["version_prefix"]
            assert re.fullmatch(r"1\.\d+\.", prefix) and prefix != "1.33.", prefix


def test_platinum_node_pools_autoscale_between_the_tier_bounds():
    """Issue 20: DOKS node pools autoscale between tiers/platinum.yaml's bounds
    (node_pool.auto_scale/min_nodes/max_nodes, digitalocean v2.99.1
    docs/resources/kubernetes_cluster.md) and carry no node_count, which would reset
    the pool to that size on every apply; the inventory holds the floor."""
    import yaml
    bounds = yaml.safe_load((REPO / "tiers" / "platinum.yaml").read_text())["spec"]["hosting"]["autoscaling"]
    assert 1 <= bounds["minNodes"] < bounds["maxNodes"]
    host_vars = REPO / "generated" / "ansible" / "inventory" / "host_vars"
    clusters = 0
    for name, stack in customer_stacks().items():
        for rid, cluster in stack.get("resource", {}).get("digitalocean_kubernetes_cluster", {}).items():
            clusters += 1
            region = rid[len("k8s_"):]
            # The tier's bounds are the workload pool's, a digitalocean_kubernetes_node_pool apart
            # from the cluster's fixed default pool (issue 24: node_pool.size is ForceNew on the cluster).
            pool = stack["resource"]["digitalocean_kubernetes_node_pool"][f"pool_{region}"]
            assert pool["cluster_id"] == f"${{digitalocean_kubernetes_cluster.{rid}.id}}", (name, rid)
            assert (pool.get("auto_scale"), pool.get("min_nodes"), pool.get("max_nodes")) == \
                (True, bounds["minNodes"], bounds["maxNodes"]), (name, rid)
            assert "node_count" not in pool and "node_count" not in cluster["node_pool"][0], (name, rid)
            # The cluster is one control target named like it (no per-node host the autoscaler would not keep).
            assert cluster["name"] == f"{name}-{region}" and (host_vars / f"{name}-{region}.yml").exists(), (name, region)
            assert not list(host_vars.glob(f"{name}-{region}-k8s-*.yml")), (name, region)
    assert clusters >= 2, "the Platinum example has a cluster per region"


def test_autoscaling_bounds_are_checked():
    from pydantic import ValidationError
    from compiler.models import Hosting
    base = {"model": "multi-region", "regionsMin": 2, "regionsMax": 3, "haModes": ["active-active"]}
    assert Hosting.model_validate({**base, "autoscaling": {"minNodes": 2, "maxNodes": 4}}).region_nodes == 2
    assert Hosting.model_validate({**base, "nodesPerRegion": 3}).region_nodes == 3
    with pytest.raises(ValidationError, match="below minNodes"):
        Hosting.model_validate({**base, "autoscaling": {"minNodes": 4, "maxNodes": 2}})
    with pytest.raises(ValidationError, match="both set"):
        Hosting.model_validate({**base, "nodesPerRegion": 3, "autoscaling": {"minNodes": 2, "maxNodes": 4}})


def test_global_lb_owns_its_records_and_targets_what_kubernetes_creates():
    for name, stack in customer_stacks().items():
        res = stack.get("resource", {})
        lbs = res.get("digitalocean_loadbalancer", {})
        managed = {d["name"] for lb in lbs.values() for d in lb.get("domains", []) if d.get("is_managed")}
        # white-label customers' entry names live in a zone naming no operator (issue 27)
        customer = yaml.safe_load((REPO / "customers" / f"{name}.yaml").read_text()) \
            if (REPO / "customers" / f"{name}.yaml").exists() else {}
        zone = "do.assistant-gateway.example" if (customer.get("spec") or {}).get("whiteLabel") else "do.clawtex.example"
        records = {f"{r['name']}.{r['domain']}" for r in res.get("digitalocean_record", {}).values()}
        assert not managed & records, (name, managed & records)
        if "digitalocean_kubernetes_cluster" in res:
            # The regional load balancers are Terraform's (the gateway Service adopts them through
            # kubernetes.digitalocean.com/load-balancer-id: digitalocean-cloud-controller-manager
            # docs/getting-started.md); nothing is looked up that only Ansible would create.
            assert "digitalocean_loadbalancer" not in stack.get("data", {}), name
            assert "30080" not in json.dumps(stack) and "30443" not in json.dumps(stack)
            glb = lbs["global"]
            assert glb["type"] == "GLOBAL"
            for ref in glb["target_load_balancer_ids"]:
                regional = ref[2:-4]
                assert ref.startswith("${digitalocean_loadbalancer.lb_") and ref.endswith(".id}"), ref
                lb = lbs[regional.split(".")[1]]
                assert lb["lifecycle"]["ignore_changes"] == "all", "the cloud controller owns its rules"
                assert lb["vpc_uuid"] == f"${{digitalocean_kubernetes_cluster.k8s_{lb['region']}.vpc_uuid}}", "same VPC as the cluster"
            # plus the customer's own name, delegated to DigitalOcean's DNS (issue 25, test_custom_domain_tls.py)
            own = {customer["spec"]["customDomain"]} if (customer.get("spec") or {}).get("customDomain") else set()
            assert managed == {f"{name}.{zone}"} | own


def test_backup_storage_never_expires_live_restic_data():
    for name, stack in customer_stacks().items():
        for rid, bucket in stack.get("resource", {}).get("digitalocean_spaces_bucket", {}).items():
            for rule in bucket.get("lifecycle_rule", []):
                assert "expiration" not in rule, (name, rid, "restic's config, keys/ and packs are never rewritten")
                assert rule["noncurrent_version_expiration"], (name, rid)
        for rid, bucket in stack.get("resource", {}).get("vultr_object_storage_bucket", {}).items():
            # Versioned; old versions expire by the S3 lifecycle rule the apply step sets (no current
            # object ever expires: compiler/gitops/bucket_history.py, tests/test_fresh_account.py).
            assert bucket["enable_versioning"] is True, (name, rid)
    from compiler.gitops.bucket_history import lifecycle
    rule = lifecycle(7)["Rules"][0]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}
    assert rule["Expiration"] == {"ExpiredObjectDeleteMarker": True}, "never an expiry of current objects (Days/Date)"


def test_vultr_bucket_history_needs_what_the_pinned_provider_lacks():
    """Issue 25 / provider-facts row 35: the pinned provider (schema read from vultr v2.32.0 source)
    offers only the create-time switches. clawtex turns versioning on for new buckets (never
    replacing an existing one: ignore_changes) and sets the expiry of old versions through the S3
    API from the apply step (compiler/gitops/bucket_history.py); object lock stays off (row 35).
    When the pin moves and the bucket gains retention or lifecycle, this fails: revisit row 35."""
    schema = json.loads((REPO / "reference" / "terraform-providers" / "vultr.json").read_text())
    bucket = schema["resources"]["vultr_object_storage_bucket"]["attributes"]
    assert set(bucket) == {"id", "object_storage_id", "name", "enable_versioning", "enable_lock", "date_created"}, sorted(bucket)
    assert all(bucket[a].get("force_new") for a in ("enable_versioning", "enable_lock"))
    # no other object-storage resource (a lock configuration, a lifecycle policy) and none anywhere by name
    assert {r for r in schema["resources"] if r.startswith("vultr_object_storage")} == {"vultr_object_storage", "vultr_object_storage_bucket"}
    assert not [r for r in schema["resources"] if "lifecycle" in r or "object_lock" in r or "retention" in r]
    found = 0
    for name, stack in customer_stacks().items():
        for rid, b in stack.get("resource", {}).get("vultr_object_storage_bucket", {}).items():
            found += 1
            assert not b.get("enable_lock") and b["enable_versioning"] is True, (name, rid)
            # force_new: a bucket created before (unversioned) is never replaced for it
            assert {"enable_versioning", "enable_lock"} & set(b["lifecycle"]["ignore_changes"]) == {"enable_versioning"}, (name, rid)
    assert found


def test_storage_box_speaks_ssh_and_survives_key_rotation():
    boxes = [(n, b) for n, s in customer_stacks().items() for b in s.get("resource", {}).get("hcloud_storage_box", {}).values()]
    assert boxes
    for name, box in boxes:
        # hcloud v1.68.0 internal/storagebox/resource.go: access_settings default all false
        assert box["access_settings"]["ssh_enabled"] is True and box["access_settings"]["reachable_externally"] is True, name
        assert "ssh_keys" in box["lifecycle"]["ignore_changes"] and box["lifecycle"]["prevent_destroy"] is True, name
        assert "retention-days" not in box.get("labels", {}), name


def test_vultr_object_storage_uses_the_cluster_of_its_endpoint_and_a_looked_up_tier():
    found = 0
    endpoints = {"ewr": "ewr1.vultrobjects.com", "ams": "ams1.vultrobjects.com"}     # Vultr's hostnames (issue 16)
    for name, stack in customer_stacks().items():
        for rid, store in stack.get("resource", {}).get("vultr_object_storage", {}).items():
            found += 1
            ref = REFERENCE.fullmatch(store["cluster_id"])
            assert ref and ref.group(1).startswith("data.vultr_object_storage_cluster."), (name, store["cluster_id"])
            data_name = ref.group(1).split(".")[2]
            # by hostname: unique, where a region may hold several clusters (issue 25)
            (flt,) = stack["data"]["vultr_object_storage_cluster"][data_name]["filter"]
            instances = stack["resource"]["vultr_instance"]
            assert flt == {"name": "hostname", "values": [endpoints[next(iter(instances.values()))["region"]]]}, (name, flt)
            # no hard-coded tier id; tier_id is force_new (v2.32.0), so a later change is ignored
            assert store["tier_id"].startswith("${data.vultr_object_storage_tier."), (name, store["tier_id"])
            assert "tier_id" in store["lifecycle"]["ignore_changes"]
    assert found


def _terraform_backup_destinations(name: str, stack: dict) -> set[tuple[str, str, str]]:
    """(kind, name, region) of every backup destination a customer stack creates."""
    res, data = stack.get("resource", {}), stack.get("data", {})
    out = {("s3", b["name"], b["region"]) for b in res.get("digitalocean_spaces_bucket", {}).values()}
    out |= {("sftp", b["name"], b["location"]) for b in res.get("hcloud_storage_box", {}).values()}
    for bucket in res.get("vultr_object_storage_bucket", {}).values():
        store = REFERENCE.fullmatch(bucket["object_storage_id"]).group(1).split(".")[1]
        cluster = REFERENCE.fullmatch(res["vultr_object_storage"][store]["cluster_id"]).group(1).split(".")[2]
        host = data["vultr_object_storage_cluster"][cluster]["filter"][0]["values"][0]      # ams1.vultrobjects.com
        out.add(("s3", bucket["name"], host.split(".")[0].rstrip("0123456789")))
    return out


def _ansible_backup_destinations(customer: str) -> set[tuple[str, str, str]]:
    out = set()
    for path in sorted((REPO / "generated" / "ansible" / "inventory" / "host_vars").glob(f"{customer}-*.yml")):
        backup = yaml_load(path).get("backup")
        if not backup:
            continue
        kind = backup.get("kind", "s3")
        out.add((kind, backup["bucket"], backup.get("region") or path.stem.split(f"{customer}-")[1].split("-")[0]))
        if backup.get("copy_bucket"):
            out.add((kind, backup["copy_bucket"], backup["copy_region"]))
    return out


def _ansible_backup_endpoints_problems(customer: str) -> list[str]:
    """The S3 endpoint the role writes to must be in the bucket's own region."""
    problems = []
    for path in sorted((REPO / "generated" / "ansible" / "inventory" / "host_vars").glob(f"{customer}-*.yml")):
        backup = yaml_load(path).get("backup") or {}
        pairs = [(backup.get("endpoint"), backup.get("region"))]
        if backup.get("copy_bucket"):
            pairs.append((backup.get("copy_endpoint"), backup.get("copy_region")))
        if backup and backup.get("kind", "s3") == "s3":
            problems += [f"{path.name}: {e} for {r}" for e, r in pairs if not str(e).startswith(f"https://{r}")]
    return problems


def test_backup_destinations_agree_across_terraform_ansible_and_costs():
    """Issue 16 item 9: every backup destination is on all three sides, and nowhere else."""
    from compiler.costs import stack_cost_items
    from compiler.pipeline import plan_repo
    plan = plan_repo(REPO, use_cache=False)
    checked = 0
    for name, stack in customer_stacks().items():
        if stack["//"]["clawtex"]["kind"] == "shared":
            continue
        terraform = _terraform_backup_destinations(name, stack)
        ansible = _ansible_backup_destinations(name)
        assert terraform == ansible, (name, terraform, ansible)
        if plan.customer(name).kubernetes:
            # Platinum: each regional cluster's CronJob backs up its gateway's volume (its own repository),
            # and the Wazuh VM its own; by hand: the two clusters and the VM.
            host_vars = {p.stem: yaml_load(p) for p in (REPO / "generated" / "ansible" / "inventory" / "host_vars").glob("*.yml")}
            assert {h for h, v in host_vars.items() if h.startswith(f"{name}-") and "backup" in v} == \
                {f"{name}-wazuh", f"{name}-fra1", f"{name}-ams3"}
        assert _ansible_backup_endpoints_problems(name) == []
        sp = next(s for s in plan.stacks if s.name == name)
        prices = plan.catalog.spec[sp.provider]
        backups = plan.customer(name).tier.spec.backups
        data_gb = sum(h.volume_gb for h in sp.hosts)
        # a subscription billed per account (DigitalOcean Spaces) is fleet overhead, not the target's
        per_target = 0.0 if prices.object_storage_per_account else float(prices.object_storage_monthly_usd)
        # per GB beyond what each target's own subscription includes (Vultr: 1000 GB)
        included = 0.0 if prices.object_storage_per_account else float(prices.object_storage_included_gb)
        billed_gb = max(0.0, data_gb * backups.retained_size_factor - included)
        expected = (len(terraform) * (billed_gb * float(prices.object_storage_usd_per_gb) + per_target)) if backups else 0.0
        assert float(stack_cost_items(plan, sp)["backups"]) == round(expected, 2), (name, terraform)
        checked += bool(terraform)
    assert checked >= 5
    # The SFTP host is known after apply only: the Ansible side names the stack output holding it.
    hv = yaml_load(REPO / "generated" / "ansible" / "inventory" / "host_vars" / "acme-logistics-oc-1.yml")["backup"]
    stack_name, output = hv["endpoint_output"].split(".")
    assert "hcloud_storage_box." in all_stacks()[stack_name]["output"][output]["value"]


def test_minor_provider_facts():
    for name, stack in all_stacks().items():
        backend = stack["terraform"]["backend"]["s3"]
        # `endpoint` is deprecated in the S3 backend (Terraform 1.6+ docs): endpoints.s3
        assert "endpoint" not in backend and backend["endpoints"]["s3"].startswith("https://"), name
        res = stack.get("resource", {})
        # every PTR name resolves forward (an A record of the same name in the fleet zone)
        ptrs = {r["dns_ptr"] for r in res.get("hcloud_rdns", {}).values()} | {r["reverse"] for r in res.get("vultr_reverse_ipv4", {}).values()}
        forward = {f"{r['name']}.{r['zone']}" for r in res.get("hcloud_zone_rrset", {}).values()}
        forward |= {f"{r['name']}.{r['domain']}" for r in res.get("vultr_dns_record", {}).values()}
        assert ptrs <= forward, (name, ptrs - forward)
        for fw in res.get("digitalocean_firewall", {}).values():
            assert any(rule["protocol"] == "icmp" for rule in fw["outbound_rule"]), name


def test_every_server_sits_on_a_private_network_ansible_trusts():
    """Issue 16 item 13: internal traffic (Wazuh 1514-1515, Kubernetes) has a private path.
    Ansible's firewall trusts 10.0.0.0/8 as `private` (roles/hardening/defaults/main.yml)."""
    import ipaddress
    trusted = ipaddress.ip_network(yaml_load(REPO / "modules" / "ansible" / "roles" / "hardening" / "defaults" / "main.yml")
                                   ["hardening_private_cidrs"][0])
    checked = 0
    for name, stack in customer_stacks().items():
        res = stack.get("resource", {})
        attached = {REFERENCE.fullmatch(n["server_id"]).group(1).split(".")[1] for n in res.get("hcloud_server_network", {}).values()}
        for rid in res.get("hcloud_server", {}):
            assert rid in attached, (name, rid)
            checked += 1
        for net in [*res.get("hcloud_network", {}).values(), *res.get("hcloud_network_subnet", {}).values()]:
            assert ipaddress.ip_network(net["ip_range"]).subnet_of(trusted), (name, net["ip_range"])
        for rid, body in res.get("vultr_instance", {}).items():
            vpc = REFERENCE.fullmatch(body["vpc_ids"][0]).group(1).split(".")[1]
            assert res["vultr_vpc"][vpc]["region"] == body["region"], (name, rid)
            checked += 1
        for rid, body in res.get("digitalocean_droplet", {}).items():
            # the region's default VPC (DigitalOcean VPC docs); vpc_uuid is force_new (v2.99.1 schema)
            assert "vpc_uuid" not in body, (name, rid)
    assert checked >= 5
