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
import pytest

from conftest import REFERENCE, REPO
from artifact_checks import strings

GENERATED = REPO / "generated" / "terraform"
SCHEMAS = REFERENCE / "terraform-providers"
STACKS = sorted(GENERATED.glob("*/cdk.tf.json"))
META_ARGUMENTS = {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection", "//"}
PROVIDER_FILES = {"hcloud": "hcloud.json", "digitalocean": "digitalocean.json", "vultr": "vultr.json"}
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
            parts = expression.strip().split(".")
            head = ".".join(parts[:3] if parts[0] == "data" else parts[:2])
            if head not in known:
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
    assert {"lb_fra1", "lb_ams3", "global"} <= set(do["digitalocean_loadbalancer"])
    assert set(do["digitalocean_spaces_bucket"]) == {"backup", "backup_ams3"}, "cross-region backup copy"
    shared = resources("shared-hetzner-fsn1-01")
    assert shared["hcloud_server"] and shared["hcloud_volume"] and shared["hcloud_firewall"]
    assert "hcloud_storage_box" not in shared, "Bronze has no backups"


def test_firewalls_open_only_ssh_from_ops_and_web():
    ops = {"198.51.100.0/24"}
    for path in STACKS:
        for name, fw in json.loads(path.read_text())["resource"].get("hcloud_firewall", {}).items():
            for rule in fw["rule"]:
                if rule["port"] == "22":
                    assert set(rule["source_ips"]) == ops
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
        if os.environ.get("CI"):
            pytest.fail("checkov is missing in CI (scripts/install-deps.sh installs it)")
        pytest.skip("checkov not installed")
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
    serial = terraform._synthesize_here(plan, list(plan.stacks))
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
