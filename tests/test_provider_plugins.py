"""Cloud providers are plug-ins (compiler/providers/): every registered plug-in
implements the interface, its data is in tiers/providers.yaml, every workflow
that runs Terraform passes exactly its credentials, and nothing outside
compiler/providers/ names a provider's Terraform resources.

Oracles: the provider catalog (tiers/providers.yaml), the workflow files, the
committed generated/ stacks and the settings' ops ranges - never the plug-in's
own answers compared with themselves."""
from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from compiler.providers import PLUGINS
from compiler.providers.base import ProviderPlugin

ABSTRACT = ("build_stack", "build_fleet", "inbound_rules", "backup_destination")
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
CATALOG = yaml.safe_load((REPO / "tiers" / "providers.yaml").read_text())["spec"]
SETTINGS = yaml.safe_load((REPO / "clawtex.yaml").read_text())["spec"]


def test_registry_matches_the_catalog():
    assert set(PLUGINS) == set(CATALOG), "a provider needs both its module and its tiers/providers.yaml entry"


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_plugin_implements_the_interface(name):
    p = PLUGINS[name]
    assert isinstance(p, ProviderPlugin) and p.name == name
    for method in ABSTRACT:
        assert getattr(type(p), method) is not getattr(ProviderPlugin, method), f"{name} does not implement {method}"
        assert inspect.signature(getattr(type(p), method)) == inspect.signature(getattr(ProviderPlugin, method))
    # The Terraform local name is the last part of the provider's registry source.
    assert p.terraform_provider == CATALOG[name]["terraformSource"].split("/")[-1]
    assert p.server_type.startswith(p.terraform_provider + "_")
    assert p.credential_env and all(re.fullmatch(r"[A-Z][A-Z0-9_]+", e) for e in p.credential_env)
    assert p.server_ignore_changes, "user_data/ssh keys force replacement on every provider (issue 16 item 8)"


def _terraform_steps():
    """Workflow steps that run terraform (directly or through scripts/gitops/apply-stack.sh, or
    dr-drill.sh up/down: the scratch server)."""
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        for job_id, job in workflow.get("jobs", {}).items():
            for step in job.get("steps", []):
                run = step.get("run", "")
                if re.search(r"^\s*(if !?\s*)?terraform -chdir|apply-stack\.sh|dr-drill\.sh (up|down)", run, re.M):
                    yield f"{path.name}:{job_id}:{step.get('name', '?')}", step.get("env", {}) or {}


CREDENTIAL_LIKE = re.compile(r"TOKEN|API_KEY|ACCESS_KEY|SECRET")
NOT_PROVIDER = {"GH_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",   # GitHub; Terraform state backend
                # the secret store the Ansible play's secrets come from (compiler/gitops/play_secrets.py)
                "CLAWTEX_SECRET_STORE", "CLAWTEX_SECRET_STORE_ENDPOINT",
                "CLAWTEX_SECRET_STORE_ACCESS_KEY_ID", "CLAWTEX_SECRET_STORE_SECRET_ACCESS_KEY"}


def test_terraform_steps_exist():
    assert len(list(_terraform_steps())) >= 3      # pr plan, apply, drift


@pytest.mark.parametrize("where,env", list(_terraform_steps()), ids=lambda v: v if isinstance(v, str) else "")
def test_workflow_passes_exactly_the_plugins_credentials(where, env):
    wanted = {e for p in PLUGINS.values() for e in p.credential_env}
    given = {k for k in env if CREDENTIAL_LIKE.search(k) and k not in NOT_PROVIDER and not k.startswith("TF_VAR_")}
    assert wanted - given == set(), f"{where} misses provider credentials"
    assert given - wanted == set(), f"{where} passes credentials no plug-in declares"
    for name in wanted:     # from a repository secret, never inline
        assert re.fullmatch(r"\$\{\{ secrets\.[A-Z0-9_]+ \}\}", str(env[name])), f"{where}: {name}"


def _stacks(provider: str):
    for path in sorted((REPO / "generated" / "terraform").glob("*/cdk.tf.json")):
        doc = json.loads(path.read_text())
        if doc.get("//", {}).get("clawtex", {}).get("kind") == "fleet":
            continue
        if any(k == PLUGINS[provider].terraform_provider for k in doc.get("provider", {})):
            yield path.parent.name, doc


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_inbound_rules_read_ssh_from_ops_in_every_stack(name):
    """The PR summary's firewall parser finds, in each generated stack of the
    provider, SSH open to exactly the ops ranges of clawtex.yaml."""
    ops = sorted(SETTINGS["ops"]["sshAllowedCidrs"])
    stacks = list(_stacks(name))
    assert stacks, f"no example stack for {name} in generated/ (customers/ should have one)"
    for stack, doc in stacks:
        rules = []
        for rtype, resources in doc.get("resource", {}).items():
            for attrs in resources.values():
                found = PLUGINS[name].inbound_rules(rtype, attrs)
                rules += found or []
        ssh = sorted(cidr for proto, port, sources in rules if port == "22" for cidr in sources)
        assert set(ssh) == set(ops), f"{stack}: ssh from {ssh}"


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_backup_destination_kind_matches_catalog_storage(name):
    class Info:       # the catalog entry as the plug-in reads it
        class backup_storage:
            kind = CATALOG[name]["backupStorage"]["kind"]
            location = CATALOG[name]["backupStorage"].get("location")
            endpoint = CATALOG[name]["backupStorage"].get("endpoint")
            endpoints = CATALOG[name]["backupStorage"].get("endpoints", {})
    regions = list(Info.backup_storage.endpoints) or CATALOG[name]["regions"]
    primary = PLUGINS[name].backup_destination(Info, "acme", regions[0], copy=False)
    copy = PLUGINS[name].backup_destination(Info, "acme", regions[1], copy=True)
    expected_kind = "sftp" if Info.backup_storage.kind == "storage-box" else "s3"
    assert primary.kind == copy.kind == expected_kind
    assert primary.name != copy.name and "acme" in primary.name
    assert (primary.endpoint is None) == (expected_kind == "sftp")


PROVIDER_WORDS = re.compile(r"\b(hcloud|hetzner|digitalocean|vultr)\w*", re.I)


def test_no_provider_names_outside_the_plugins():
    """Adding a provider touches only its module: no other compiler module names one."""
    offenders = []
    for path in sorted((REPO / "compiler").rglob("*.py")):
        if path.parent.name == "providers":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if PROVIDER_WORDS.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert offenders == []
