#!/usr/bin/env python3
"""A cloud account that starts empty, and the commands the workflows run against it.

No terraform binary exists here (BRIEF: do not fake one). This is not Terraform: it
is a MODEL of the account and of the few Terraform/provider behaviours a fresh
account meets, each written down below with its source, so that the workflows'
own steps (.github/workflows/*.yml run:, scripts/gitops/*.sh) can be replayed
over it by tests/test_fresh_account.py. The shims `terraform`, `ansible-playbook`,
`gh` and `aws` on the replay's PATH all call this file; it records every call and
every refusal in the account file ($SIM_ACCOUNT) and exits non-zero where the real
tool would fail. It never decides what the generated stacks contain: it reads
generated/terraform/<stack>/cdk.tf.json as Terraform would.

Behaviour modelled (the oracle is this table, written by hand, not the compiler):
- init: the S3 backend needs AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and an existing
  state bucket (only the bootstrap script creates it: Terraform cannot create its own
  backend). `required_version` must admit the version the job's setup-terraform step
  installs; `use_lockfile` is GA only from 1.11.0 (hashicorp/terraform CHANGELOG v1.11.0).
- plan: every variable without a default has TF_VAR_<name> (Terraform: "No value for
  required variable" with -input=false); each provider's credentials are in the
  environment (CREDENTIALS, from each provider's index docs); every data source finds
  its object in the account (DATA_SOURCES); every DNS record's zone exists (the
  providers' record APIs refuse records of an unknown zone); prevent_destroy refuses
  a plan that destroys the resource (Terraform lifecycle docs).
- apply: deletes first, dependents before what they depend on (Terraform's graph);
  a delete of a resource whose provider does not lift its protection fails AFTER the
  deletes before it (UNLIFTED: hcloud v1.68.0 internal/server/resource.go
  resourceServerDelete, internal/volume/resource.go resourceVolumeDelete); creates
  refuse a name the account already holds where the provider keeps names unique (UNIQUE).
- ansible-playbook: a Platinum gateway Service (host_vars openclaw_k8s_service) makes
  DigitalOcean's cloud controller adopt the load balancer whose id the
  `kubernetes.digitalocean.com/load-balancer-id` annotation names, or create a new one
  under `do-loadbalancer-name` (digitalocean-cloud-controller-manager docs/getting-started.md).
- ansible-playbook: every secret a role reads on the controller (ROLE_SECRET_LOOKUPS, each
  `lookup('ansible.builtin.env', ...)` of modules/ansible/roles, resolved by hand below) is in
  the play's environment, and every file SecretRef under its CLAWTEX_SECRETS_DIR; else the
  role's own assert (or lookup) would stop the run on the host.
- aws s3 cp from the secret store (the customers' credentials ops put there; the replay seeds
  it): the object must exist and the store's own key must be in the call's environment.
- aws s3api on a Vultr backup bucket (compiler/gitops/bucket_history.py, run by apply-stack.sh):
  the bucket Terraform created, its subscription's key in the environment, versioned iff created
  with enable_versioning, keeping the lifecycle rule put on it (_vultr_bucket_call).
- DR drills (.github/workflows/dr-drill.yml): a DNS record created where another stack already
  holds the same (zone, name, type) would overwrite production's record (the providers' record
  APIs replace or duplicate it) and is refused; the converge against a scratch server
  (`-e ansible_host`, clawtex_running=false) must address a live scratch server (a `*-dr-drill`
  server of the account), never production; `ssh` reaches only servers of the account, and the
  drill's commands only a scratch server that was converged first. On a scratch server, `ssh`
  answers what `clawtex dr-drill` asks (compiler/business/drill.py): the latest snapshot (30
  minutes old) and the gateway's liveness answer; every other command succeeds. This models the
  wiring, not restic or the gateway (the live suite proves the drill itself, docs/backups.md).
- every shim: a secret value (the replay's secrets are SIMSECRET-*) on a command line
  is refused (issue 24 item 2: secrets never on a process command line).
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from compiler.secrets import WAZUH_PLACEHOLDER

REF = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)")
SECRET_MARK = "SIMSECRET-"

# Provider -> environment its Terraform provider reads (provider index docs: hcloud v1.68.0
# docs/index.md HCLOUD_TOKEN; docs.digitalocean.com/reference/terraform/reference DIGITALOCEAN_TOKEN,
# SPACES_ACCESS_KEY_ID/SPACES_SECRET_ACCESS_KEY for Spaces; vultr v2.32.0 index VULTR_API_KEY).
CREDENTIALS = {"hcloud": ("HCLOUD_TOKEN",), "digitalocean": ("DIGITALOCEAN_TOKEN",), "vultr": ("VULTR_API_KEY",), "random": (), "tls": ()}
SPACES = ("SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY")
# Delete protection the provider's delete does not lift (hcloud v1.68.0, see above); the
# Storage Box's delete lifts its own (internal/storagebox/resource.go).
UNLIFTED = {"hcloud_server": "delete_protection", "hcloud_volume": "delete_protection",
            "hcloud_zone": "delete_protection"}      # internal/zone/resource.go Delete (l.392-414)
# Names the provider keeps unique in an account (a second create is refused):
# hcloud: names unique per project (docs.hetzner.cloud API reference, "name ... unique per Project");
# DigitalOcean: an SSH key's public key once per account (422 "SSH Key is already in use");
# DNS zones/domains exist once; S3 bucket names once per endpoint; DOKS cluster names per account.
UNIQUE = {"hcloud_ssh_key": "name", "hcloud_server": "name", "hcloud_firewall": "name", "hcloud_network": "name",
          "hcloud_storage_box": "name", "hcloud_zone": "name", "hcloud_volume": "name",
          "digitalocean_ssh_key": "public_key", "digitalocean_domain": "name", "digitalocean_spaces_bucket": "name",
          "digitalocean_kubernetes_cluster": "name", "digitalocean_loadbalancer": "name",
          # "there cannot be multiple certificates with the same name in an account" (digitalocean
          # v2.99.1 docs/resources/loadbalancer.md, on create_before_destroy)
          "digitalocean_certificate": "name",
          "vultr_dns_domain": "domain", "vultr_object_storage_bucket": "name"}
ZONES = {"hcloud_zone": "name", "digitalocean_domain": "name", "vultr_dns_domain": "domain"}
RECORDS = {"hcloud_zone_rrset": "zone", "digitalocean_record": "domain", "vultr_dns_record": "domain"}
# Every controller-side lookup of the roles (modules/ansible/roles/*: lookup('ansible.builtin.env', X)),
# by role and expression X, and what it names: tests/test_fresh_account.py checks this table against
# the roles' files, so a role that starts reading a new secret fails until it is modelled here.
ROLE_SECRET_LOOKUPS = {
    ("backup", "item"): "backup.secret_env names (the presence assert)",
    ("backup", "backup_env.restic_password"): "backup.secret_env.restic_password",
    ("backup", "backup_env.sftp_known_hosts"): "backup.secret_env.sftp_known_hosts",
    ("openclaw", "item"): "each gateway's gateway_token_env and secret_env (the presence assert)",
    ("openclaw", "openclaw_secrets_names.gateway_token_env"): "each gateway's token",
    ("openclaw", "name"): "each gateway's env SecretRefs",
    ("openclaw", "'CLAWTEX_SECRETS_DIR'"): "each gateway's file SecretRefs, <dir>/<provider>/<id>",
    ("wazuh_manager", "'CLAWTEX_SECRETS_DIR'"): "file placeholders of the manager block",
    ("wazuh_manager", "item.split(':')[3]"): "env placeholders of the manager block",
    ("wazuh_manager", "wazuh_registration_password_env"): "the enrollment password (authd.pass)",
    ("wazuh_agent", "wazuh_agent_password_env"): "the enrollment password the agent presents",
    ("openvas", "openvas_admin_password_env"): "the scanner's admin password",
    ("smoke_test", "'CLAWTEX_REPORT_DIR'"): None,       # where reports land, with a default: no secret
}
LB_ADOPT = "kubernetes.digitalocean.com/load-balancer-id"
LB_NAME = "service.beta.kubernetes.io/do-loadbalancer-name"
LB_TYPE = "service.beta.kubernetes.io/do-loadbalancer-type"


# ----------------------------------------------------------------- the account file
class Account:
    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> "Account":
        self._fd = open(self.path, "a+")
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._fd.seek(0)
        text = self._fd.read()
        self.d = json.loads(text) if text.strip() else {"resources": [], "states": {}, "buckets": [], "log": [], "errors": []}
        return self

    def __exit__(self, *exc: Any) -> None:
        self._fd.seek(0)
        self._fd.truncate()
        self._fd.write(json.dumps(self.d, indent=1, sort_keys=True))
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._fd.close()

    def log(self, line: str) -> None:
        self.d["log"].append(line)

    def refuse(self, what: str, why: str) -> None:
        self.d["errors"].append(f"{what}: {why}")
        self.d["log"].append(f"  REFUSED {what}: {why}")

    def find(self, rtype: str, attr: str, value: Any) -> list[dict]:
        return [r for r in self.d["resources"] if r["type"] == rtype and r["attrs"].get(attr) == value]


def account() -> Account:
    return Account(Path(os.environ["SIM_ACCOUNT"]))


def secrets_on_command_line(tool: str, argv: list[str]) -> list[str]:
    return [f"{tool}: a secret value on the command line" for a in argv if SECRET_MARK in a]


def refused_for_secrets(acc: Account, what: str, tool: str, argv: list[str]) -> bool:
    """Refuse `what` (in the account's log) when a secret value is on `tool`'s command line."""
    for problem in secrets_on_command_line(tool, argv):
        acc.refuse(what, problem)
        return True
    return False


# ----------------------------------------------------------------- terraform
def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def _resources(cfg: dict) -> dict[str, dict]:
    return {f"{t}.{n}": b for t, named in (cfg.get("resource") or {}).items() for n, b in named.items()}


def _deps(body: Any, known: set[str]) -> set[str]:
    text = json.dumps(body)
    return {f"{t}.{n}" for t, n in REF.findall(text) if f"{t}.{n}" in known}


def _closure(targets: list[str], res: dict[str, dict]) -> set[str]:
    out, todo = set(), list(targets)
    while todo:
        a = todo.pop()
        if a in out or a not in res:
            continue
        out.add(a)
        todo += list(_deps(res[a], set(res)))
    return out


def _literal(value: Any) -> bool:
    return not (isinstance(value, str) and "${" in value)


def _check_config(acc: Account, stack: str, cfg: dict, env: dict, targets: set[str] | None) -> bool:
    ok = True
    where = f"terraform plan {stack}"
    for name, var in (cfg.get("variable") or {}).items():
        if "default" not in var and not env.get(f"TF_VAR_{name}"):
            acc.refuse(where, f"No value for required variable {name} (TF_VAR_{name} is not set in the step)")
            ok = False
    res = _resources(cfg)
    providers = (cfg.get("terraform") or {}).get("required_providers") or {}
    for provider in providers:
        wanted = CREDENTIALS.get(provider)
        if wanted is None:
            acc.refuse(where, f"the simulation does not know provider {provider}: model its credentials")
            ok = False
            continue
        needed = list(wanted) + (list(SPACES) if any(a.startswith("digitalocean_spaces_bucket.") for a in res) else [])
        for var in needed:
            if not env.get(var):
                acc.refuse(where, f"provider {provider} needs {var}, which the step does not pass")
                ok = False
    for dtype, named in (cfg.get("data") or {}).items():
        for dname, body in named.items():
            why = _data_missing(acc, dtype, body)
            if why:
                acc.refuse(where, f"data.{dtype}.{dname}: {why}")
                ok = False
    zones_here = {b.get(attr) for a, b in res.items() for t, attr in ZONES.items() if a.startswith(t + ".")}
    for address, body in res.items():
        if targets is not None and address not in targets:
            continue
        rtype = address.split(".")[0]
        zones = []
        if rtype in RECORDS:
            zones.append(body.get(RECORDS[rtype]))
        if rtype == "digitalocean_loadbalancer":
            # A managed domain lives in the DigitalOcean domain of that name or of its parent
            # (a delegated customer name is a domain of its own: provider-facts row 33).
            zones += [d["name"] if d["name"] in zones_here else d["name"].split(".", 1)[1]
                      for d in body.get("domains", []) if d.get("is_managed")]
        for zone in zones:
            if zone in zones_here or any(acc.find(t, attr, zone) for t, attr in ZONES.items()):
                continue
            acc.refuse(where, f"{address}: DNS zone {zone} does not exist in the account (no stack or bootstrap creates it)")
            ok = False
    return ok


def _data_missing(acc: Account, dtype: str, body: dict) -> str | None:
    filters = {f["name"]: f["values"] for f in body.get("filter", [])}
    if dtype in ("hcloud_ssh_key", "digitalocean_ssh_key"):
        return None if acc.find(dtype, "name", body.get("name")) else f"no {dtype} named {body.get('name')} in the account yet"
    if dtype == "vultr_ssh_key":
        (name,) = filters.get("name", [None])
        return None if acc.find(dtype, "name", name) else f"no vultr_ssh_key named {name} in the account yet"
    if dtype == "digitalocean_loadbalancer":
        return None if acc.find(dtype, "name", body.get("name")) else \
            f"no load balancer named {body.get('name')} in the account (only the gateway Service would create it, after this apply)"
    if dtype in ("digitalocean_kubernetes_versions", "vultr_object_storage_cluster", "vultr_object_storage_tier"):
        return None          # the provider's own catalogue (its contents: tiers/provider-facts.md)
    return f"the simulation does not know data source {dtype}: model where its object comes from"


def _plan(acc: Account, stack: str, cfg: dict, targets: list[str] | None, destroy: bool) -> dict | None:
    state = acc.d["states"].setdefault(stack, {})
    res = {} if destroy else _resources(cfg)
    chosen = _closure(targets, res) if targets else None
    changes = []
    for address, attrs in state.items():
        if address not in res and (targets is None or address in targets):
            lifecycle = (_resources(cfg).get(address) or {}).get("lifecycle") or {}
            if lifecycle.get("prevent_destroy"):
                acc.refuse(f"terraform plan {stack}", f"{address} has lifecycle.prevent_destroy, but the plan calls for destroying it")
                return None
            changes.append({"address": address, "actions": ["delete"], "after": None})
    for address, body in res.items():
        if chosen is not None and address not in chosen:
            continue
        after = {k: v for k, v in body.items() if k not in ("//", "lifecycle", "depends_on")}
        if address not in state:
            changes.append({"address": address, "actions": ["create"], "after": after})
        else:
            ignored = (body.get("lifecycle") or {}).get("ignore_changes") or []
            diff = {k: v for k, v in after.items() if _literal(v) and ignored != "all" and k not in ignored and state[address].get(k) != v}
            if diff:
                changes.append({"address": address, "actions": ["update"], "after": {**state[address], **diff}})
    return {"stack": stack, "changes": changes, "outputs": cfg.get("output") or {}}


def _apply(acc: Account, stack: str, plan: dict) -> bool:
    state = acc.d["states"].setdefault(stack, {})
    deletes = [c for c in plan["changes"] if c["actions"] == ["delete"]]
    # dependents first: a resource goes only once nothing left to delete references it
    order, left = [], list(deletes)
    while left:
        ready = [c for c in left if not any(c["address"] in _deps(state.get(d["address"]), {c["address"]}) for d in left if d is not c)]
        order += ready or left[:1]
        left = [c for c in left if c not in (ready or left[:1])]
    for change in order:
        address = change["address"]
        rtype = address.split(".")[0]
        if state[address].get(UNLIFTED.get(rtype, "-")):
            done = [c["address"] for c in order[:order.index(change)]]
            acc.refuse(f"terraform apply {stack}", f"{address}: the API refuses to delete a protected resource "
                       f"(protection not lifted); already destroyed: {', '.join(done) or 'nothing'}")
            return False
        acc.d["resources"] = [r for r in acc.d["resources"] if not (r["stack"] == stack and r["address"] == address)]
        del state[address]
        acc.log(f"  destroyed {stack}/{address}")
    for change in plan["changes"]:
        if change["actions"] == ["delete"]:
            continue
        address, attrs = change["address"], change["after"]
        rtype = address.split(".")[0]
        if change["actions"] == ["create"] and rtype in RECORDS:
            key = lambda a: (a.get(RECORDS[rtype]), a.get("name"), a.get("type"))
            taken = [r for r in acc.d["resources"] if r["type"] == rtype and r["stack"] != stack and key(r["attrs"]) == key(attrs)]
            if taken:
                acc.refuse(f"terraform apply {stack}", f"{address}: writes DNS record {key(attrs)} that stack "
                           f"{taken[0]['stack']} holds: it would overwrite production's DNS")
                return False
        if change["actions"] == ["create"]:
            attr = UNIQUE.get(rtype)
            if attr and _literal(attrs.get(attr)) and acc.find(rtype, attr, attrs.get(attr)):
                acc.refuse(f"terraform apply {stack}", f"{address}: {attr} {attrs.get(attr)!r} already exists in the account")
                return False
            acc.d["resources"].append({"type": rtype, "stack": stack, "address": address, "attrs": attrs, "id": f"id:{stack}:{address}"})
            acc.log(f"  created {stack}/{address}")
        else:
            for r in acc.d["resources"]:
                if r["stack"] == stack and r["address"] == address:
                    r["attrs"] = attrs
            acc.log(f"  updated {stack}/{address}")
        state[address] = attrs
    acc.d.setdefault("outputs", {})[stack] = {
        # A sensitive output's value is a secret: marked, so a command line carrying it is refused.
        name: {"value": (f"{SECRET_MARK}output-{stack}-{name}" if o.get("sensitive") else _output_value(stack, o.get("value", ""))),
               "sensitive": bool(o.get("sensitive"))}
        for name, o in plan["outputs"].items()}
    return True


def _output_value(stack: str, value: str) -> str:
    m = re.fullmatch(r"\$\{([a-z0-9_]+\.[A-Za-z0-9_-]+)\.id\}", value)
    if m:
        return f"id:{stack}:{m.group(1)}"
    return value if _literal(value) else f"sim({value})"


def terraform(argv: list[str]) -> int:
    env = os.environ
    # SIM_KEEP_GOING=1: a refusal at init/plan time is recorded and the command goes on as if it
    # had been fixed by hand, so ONE replay lists every finding (the tests judge the list); an
    # apply-time refusal (a taken name, a protected delete) still stops the command.
    keep = env.get("SIM_KEEP_GOING") == "1"
    chdir = "."
    args = []
    for a in argv:
        if a.startswith("-chdir="):
            chdir = a.split("=", 1)[1]
        else:
            args.append(a)
    cmd, flags = args[0], args[1:]
    stack = Path(chdir).resolve().name
    cfg_path = Path(chdir, "cdk.tf.json")
    with account() as acc:
        acc.log(f"terraform {cmd} {stack} {' '.join(f for f in flags if not f.startswith('-input'))}".rstrip())
        if refused_for_secrets(acc, f"terraform {cmd} {stack}", "terraform", argv):
            return 1
        cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
        if cmd == "init":
            version = _version(env.get("SIM_TERRAFORM_VERSION", "0"))
            tf = cfg.get("terraform") or {}
            required = tf.get("required_version", "")
            if required.startswith(">=") and version < _version(required):
                acc.refuse(f"terraform init {stack}", f"Terraform {env.get('SIM_TERRAFORM_VERSION')} does not satisfy required_version {required}")
                return 1
            backend = (tf.get("backend") or {}).get("s3") or {}
            if backend.get("use_lockfile") and version < (1, 11, 0):
                acc.refuse(f"terraform init {stack}", f"use_lockfile is experimental before Terraform 1.11.0 (job installs {env.get('SIM_TERRAFORM_VERSION')})")
                if not keep:
                    return 1
            if not (env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY")):
                acc.refuse(f"terraform init {stack}", "the S3 state backend needs AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the step")
                if not keep:
                    return 1
            if backend.get("bucket") not in acc.d["buckets"]:
                acc.refuse(f"terraform init {stack}", f"state bucket {backend.get('bucket')} does not exist (no bootstrap step creates it)")
                if not keep:
                    return 1
            return 0
        if cmd == "state" and flags[:1] == ["rm"]:
            for address in flags[1:]:
                acc.d["states"].get(stack, {}).pop(address, None)
                acc.log(f"  forgotten (kept in the account) {stack}/{address}")
            return 0
        if cmd == "output":
            print(json.dumps(acc.d.get("outputs", {}).get(stack, {})))
            return 0
        if cmd == "show":
            plan = json.loads(Path(chdir, flags[-1]).read_text())
            print(json.dumps({"format_version": "1.2", "resource_changes": [
                {"address": c["address"], "type": c["address"].split(".")[0], "name": c["address"].split(".")[1],
                 "change": {"actions": c["actions"], "before": acc.d["states"].get(stack, {}).get(c["address"]),
                            "after": c["after"]}} for c in plan["changes"]]}))
            return 0
        targets = [f.split("=", 1)[1] for f in flags if f.startswith("-target=")] or None
        planfile = [f for f in flags if not f.startswith("-")]
        if cmd == "apply" and planfile:
            plan = json.loads(Path(chdir, planfile[0]).read_text())
            return 0 if _apply(acc, stack, plan) else 1
        if cmd not in ("plan", "apply", "destroy"):
            acc.refuse(f"terraform {cmd}", "the simulation does not model this command")
            return 1
        if not _check_config(acc, stack, cfg, dict(env), set(targets) if targets else None) and not keep:
            return 1
        plan = _plan(acc, stack, cfg, targets, destroy=cmd == "destroy" or "-destroy" in flags)
        if plan is None:
            return 1
        if cmd == "plan":
            for f in flags:
                if f.startswith("-out="):
                    Path(chdir, f.split("=", 1)[1]).write_text(json.dumps(plan))
            acc.log(f"  plan: {sum(1 for c in plan['changes'] if c['actions'] == ['create'])} to add, "
                    f"{sum(1 for c in plan['changes'] if c['actions'] == ['update'])} to change, "
                    f"{sum(1 for c in plan['changes'] if c['actions'] == ['delete'])} to destroy")
            return 2 if "-detailed-exitcode" in flags and plan["changes"] else 0
        return 0 if _apply(acc, stack, plan) else 1


# ----------------------------------------------------------------- ansible, gh, aws
def ansible_playbook(argv: list[str]) -> int:
    import yaml
    with account() as acc:
        acc.log("ansible-playbook " + " ".join(a for a in argv if not a.startswith("-i")))
        if refused_for_secrets(acc, "ansible-playbook", "ansible-playbook", argv):
            return 1
        limit = argv[argv.index("--limit") + 1].split(",") if "--limit" in argv else []
        if any(a.endswith("modules/ansible/dr-drill-k8s.yml") for a in argv):
            # The Platinum drill's Job, rendered on the runner from the role variables: the real ansible-playbook.
            acc.log(f"  {','.join(limit)}: DR drill Job rendered (modules/ansible/dr-drill-k8s.yml)")
            real = next(str(Path(d, "ansible-playbook")) for d in os.environ["PATH"].split(os.pathsep)
                        if Path(d, "ansible-playbook").is_file() and "account_sim" not in Path(d, "ansible-playbook").read_text(errors="replace")[:400])
            done = subprocess.run([real, *argv], capture_output=True, text=True)
            if done.returncode != 0:
                acc.refuse("ansible-playbook dr-drill-k8s.yml", (done.stdout + done.stderr)[-800:])
            return done.returncode
        extra: dict = {}
        for i, a in enumerate(argv):
            if a == "-e" and argv[i + 1].startswith("@"):
                extra.update(json.loads(Path(argv[i + 1][1:]).read_text()))
        scratch_run = "ansible_host" in extra or extra.get("clawtex_running") is False or extra.get("clawtex_offline") is True
        if scratch_run:
            address = str(extra.get("ansible_host", ""))
            server = _server_at(acc, address)
            name = _server_name(server) if server else None
            if not (name and name.endswith(SCRATCH_SUFFIX)) or len(limit) != 1:
                acc.refuse(f"ansible-playbook {','.join(limit)}", f"a DR drill converge (clawtex_running=false) would reach "
                           f"{name or address or 'the production address'}, not a scratch server")
                return 1
            acc.d.setdefault("converged", {})[address] = limit[0]
            acc.log(f"  {limit[0]}: host vars converged on scratch server {name}")
        inventory = Path(argv[argv.index("-i") + 1]) if "-i" in argv else None
        if inventory and inventory.is_dir():
            inventory = inventory / "hosts.yml"
        running, customer_of, host_entries = {}, {}, {}
        if inventory and inventory.exists():
            def walk(node):
                if isinstance(node, dict):
                    for key, value in node.items():
                        if key == "hosts" and isinstance(value, dict):
                            running.update({h: v.get("clawtex_running", "true") for h, v in value.items() if isinstance(v, dict)})
                            customer_of.update({h: v.get("clawtex_customer", "") for h, v in value.items() if isinstance(v, dict)})
                            host_entries.update({h: v for h, v in value.items() if isinstance(v, dict) and v.get("openclaw_containers")})
                        else:
                            walk(value)
            walk(yaml.load(inventory.read_text(), Loader=yaml.BaseLoader))
        for host in limit:
            if str(running.get(host, "true")).lower() != "true":
                acc.refuse(f"ansible-playbook {host}", "unreachable: the host does not run (a suspended customer's server is gone)")
                return 1
        for host in limit:
            inv_dir = inventory.parent if inventory else Path("generated/ansible/inventory")
            path = inv_dir / "host_vars" / f"{host}.yml"
            hv = yaml.safe_load(path.read_text()) if path.exists() else {}
            problem = _backup_credentials_missing(hv, customer_of.get(host, ""), extra)
            if problem:
                acc.refuse(f"ansible-playbook {host}", problem)
                return 1
        if "--tags" in argv:
            return 0
        for host in limit:
            inv_dir = inventory.parent if inventory else Path("generated/ansible/inventory")
            path = inv_dir / "host_vars" / f"{host}.yml"
            hv = yaml.safe_load(path.read_text()) if path.exists() else {}
            problem = _role_secrets_missing(hv, host_entries.get(host) or {}, customer_of.get(host, ""),
                                            inv_dir.parent.parent)
            if problem:
                acc.refuse(f"ansible-playbook {host}", problem)
                return 1
        for host in limit:
            path = Path("generated/ansible/inventory/host_vars", f"{host}.yml")
            hv = yaml.safe_load(path.read_text()) if path.exists() else {}
            if hv.get("wazuh_manager_host"):
                # Wazuh agent -> manager over the stack's private network (issue 25): the address
                # must be a stack output the apply step hands over, not the public inventory name.
                private = hv.get("wazuh_manager_private") or {}
                address = ((extra.get("clawtex_tf_outputs") or {}).get(private.get("stack")) or {}).get(private.get("output"))
                if not address:
                    acc.refuse(f"ansible-playbook {host}", "the Wazuh agent would reach its manager over the public address "
                               "(no private address output handed to the play)")
                    return 1
                acc.log(f"  {host}: Wazuh agent -> manager at {address}")
            kube = hv.get("openclaw_k8s_kubeconfig")
            if kube:
                # A cluster's control target runs on the apply runner and reaches the cluster's API only
                # with the kubeconfig output (sensitive: never on a command line, never in generated/).
                value = ((extra.get("clawtex_tf_outputs") or {}).get(kube.get("stack")) or {}).get(kube.get("output"))
                if not value:
                    acc.refuse(f"ansible-playbook {host}", f"no kubeconfig for the cluster: output {kube.get('stack')}.{kube.get('output')} "
                               "not handed to the play")
                    return 1
                if not str(value).startswith(SECRET_MARK):
                    acc.refuse(f"ansible-playbook {host}", f"kubeconfig output {kube.get('output')} is not sensitive")
                    return 1
                acc.log(f"  {host}: cluster API through the kubeconfig output {kube['output']}")
                # What the roles apply there (roles/openclaw tasks/kubernetes.yml, roles/backup tasks/kubernetes.yml):
                # the production namespace's Secrets, by name (kubectl below reads them).
                cluster = acc.d.setdefault("k8s", {}).setdefault(str(value), {"host": host, "namespaces": {}})
                cluster["namespaces"][K8S_PRODUCTION_NAMESPACE] = {
                    "secrets": {n: {"KEY": f"{SECRET_MARK}k8s-{host}-{n}"} for n in K8S_PRODUCTION_SECRETS},
                    "configmaps": {}, "jobs": {}}
            svc = hv.get("openclaw_k8s_service")
            if not (svc and hv.get("openclaw_k8s_apply")):
                continue
            adopt = svc.get("adopt")
            if adopt:
                lb_id = ((extra.get("clawtex_tf_outputs") or {}).get(adopt["stack"]) or {}).get(adopt["output"])
                found = [r for r in acc.d["resources"] if r["id"] == lb_id]
                if not lb_id or not found:
                    acc.refuse(f"ansible-playbook {host}", f"the Service adopts load balancer {lb_id!r}, which does not exist")
                    return 1
                # The type the controller builds the adopted load balancer's requests for: the Service's
                # annotation, else the controller's default REGIONAL_NETWORK (digitalocean-cloud-controller-
                # manager @70d527e do/cloud.go defaultLBType, do/loadbalancers.go getType); the resource's
                # own type defaults to REGIONAL (digitalocean v2.99.1 docs/resources/loadbalancer.md `type`).
                want = found[0]["attrs"].get("type") or "REGIONAL"
                got = svc["annotations"].get(LB_TYPE) or "REGIONAL_NETWORK"
                if want != got:
                    acc.refuse(f"ansible-playbook {host}", f"the Service would turn adopted {want} load balancer {lb_id!r} "
                               f"into {got} (no {LB_TYPE} annotation of its type)")
                    return 1
                acc.log(f"  {host}: gateway Service adopted {lb_id}")
            else:
                name = svc["annotations"].get(LB_NAME)
                acc.d["resources"].append({"type": "digitalocean_loadbalancer", "stack": "(cloud controller)", "address": name,
                                           "attrs": {"name": name}, "id": f"id:ccm:{name}"})
                acc.log(f"  {host}: the cloud controller created load balancer {name}")
        return 0


def _backup_credentials_missing(hv: dict, customer: str, extra: dict) -> str | None:
    """What the backup role (modules/ansible/roles/backup) needs and the run does not supply: the
    outputs host_vars `backup` names, in the play's clawtex_tf_outputs; the secret-store values, in
    the play's environment (names by hand from the role's defaults: backup_env)."""
    b = hv.get("backup")
    if not b or "backup" not in (hv.get("clawtex_roles") or []):
        return None
    outputs = ((extra.get("clawtex_tf_outputs") or {}).get(b.get("outputs_stack")) or {})
    for name in [*(b.get("outputs") or {}).values(), *(b.get("copy_outputs") or {}).values()]:
        if not outputs.get(name):
            return f"backup credential output {b.get('outputs_stack')}.{name} not handed to the play"
    prefix = "CLAWTEX_" + customer.upper().replace("-", "_")
    needs = [f"{prefix}_RESTIC_PASSWORD"] + ([f"{prefix}_BACKUP_SFTP_KNOWN_HOSTS"] if b.get("kind") == "sftp" else [])
    missing = [n for n in needs if not os.environ.get(n)]
    return f"backup secret(s) {', '.join(missing)} not in the play's environment" if missing else None


def _role_secrets_missing(hv: dict, entry: dict, customer: str, generated: Path) -> str | None:
    """What the roles of a full run read on the controller (ROLE_SECRET_LOOKUPS) and the play's
    environment does not have. Names from host_vars where the compiler publishes them; where it
    did not (before host_vars carried them), the role defaults' own CLAWTEX_<ID>_<NAME> rule."""
    roles = hv.get("clawtex_roles") or []
    prefix = "CLAWTEX_" + customer.upper().replace("-", "_")
    env_needed: list[str] = []
    files_needed: list[str] = []
    if "openclaw" in roles:
        gateways = []
        if hv.get("openclaw_mode") == "containers":
            gateways = [{"gateway_token_env": t.get("gateway_token_env"), "secret_env": t.get("secret_env") or [],
                         "secret_files": t.get("secret_files") or []} for t in entry.get("openclaw_containers") or []]
        elif hv.get("openclaw_mode") == "service" or hv.get("openclaw_k8s_apply") in (True, "true"):
            gateways = [{"gateway_token_env": hv.get("openclaw_gateway_token_env"), "secret_env": hv.get("openclaw_secret_env") or [],
                         "secret_files": hv.get("openclaw_secret_files") or []}]
        for g in gateways:
            env_needed += [g["gateway_token_env"], *g["secret_env"]]
            files_needed += [f"{f['provider']}/{f['id']}" for f in g["secret_files"]]
    if "wazuh_agent" in roles:
        env_needed.append(hv.get("wazuh_registration_password_env") or f"{prefix}_WAZUH_REGISTRATION_PASSWORD")
    if "wazuh_manager" in roles:
        if hv.get("wazuh_registration_password_env"):
            env_needed.append(hv["wazuh_registration_password_env"])
        conf = generated / "wazuh" / "managers" / customer / "ossec-manager.conf"
        for source, provider, ident in WAZUH_PLACEHOLDER.findall(conf.read_text() if conf.exists() else ""):
            (env_needed if source == "env" else files_needed).append(ident if source == "env" else f"{provider}/{ident}")
    if "openvas" in roles:
        env_needed.append(hv.get("openvas_admin_password_env") or f"{prefix}_OPENVAS_PASSWORD")
    missing = [n for n in env_needed if not os.environ.get(n)]
    secrets_dir = os.environ.get("CLAWTEX_SECRETS_DIR")
    missing += [f"file {f} (CLAWTEX_SECRETS_DIR {'unset' if not secrets_dir else 'lacks it'})"
                for f in files_needed if not (secrets_dir and Path(secrets_dir, f).is_file())]
    return f"role secret(s) not supplied to the play: {', '.join(missing)}" if missing else None


def gh(argv: list[str]) -> int:
    with account() as acc:
        acc.log("gh " + " ".join(argv[:2]))
        if refused_for_secrets(acc, "gh", "gh", argv):
            return 1
    return 0


def _vultr_bucket_call(acc: "Account", argv: list[str]) -> int:
    """A Vultr backup bucket's own S3 API, as compiler/gitops/bucket_history.py calls it: the bucket
    exists once Terraform created it (vultr_object_storage_bucket `name`), answers only its
    subscription's key (Vultr keys are per subscription: the stack's `*_s3_access_key` output, in the
    environment), is versioned iff it was created with `enable_versioning` (create-time only, force_new:
    vultr v2.32.0), and keeps the lifecycle rule it is given (Vultr's S3 lifecycle policies:
    docs.vultr.com products/storage/object-storage/archival-storage/manage-lifecycle-policies)."""
    bucket = argv[argv.index("--bucket") + 1]
    found = [r for r in acc.d["resources"] if r["type"] == "vultr_object_storage_bucket" and r["attrs"].get("name") == bucket]
    if not found:
        acc.refuse(f"aws {argv[1]}", f"{bucket}: NoSuchBucket")
        return 1
    r = found[0]
    keys = {o["value"] for name, o in acc.d.get("outputs", {}).get(r["stack"], {}).items() if name.endswith("_s3_access_key")}
    if os.environ.get("AWS_ACCESS_KEY_ID") not in keys or not os.environ.get("AWS_SECRET_ACCESS_KEY"):
        acc.refuse(f"aws {argv[1]}", f"{bucket}: AccessDenied (not its subscription's key)")
        return 1
    lifecycles = acc.d.setdefault("lifecycles", {})
    if argv[1] == "get-bucket-versioning":
        if r["attrs"].get("enable_versioning") is True:
            print(json.dumps({"Status": "Enabled"}))
    elif argv[1] == "put-bucket-lifecycle-configuration":
        lifecycles[bucket] = json.loads(argv[argv.index("--lifecycle-configuration") + 1])
    elif argv[1] == "get-bucket-lifecycle-configuration":
        if bucket not in lifecycles:
            acc.refuse("aws get-bucket-lifecycle-configuration", f"{bucket}: NoSuchLifecycleConfiguration")
            return 1
        print(json.dumps(lifecycles[bucket]))
    return 0


def aws(argv: list[str]) -> int:
    """The bootstrap script's S3 calls (create-bucket / put-bucket-versioning), the secret store's
    objects, and the Vultr backup buckets' versioning and lifecycle (_vultr_bucket_call)."""
    with account() as acc:
        acc.log("aws " + " ".join(argv))
        if refused_for_secrets(acc, "aws", "aws", argv):
            return 1
        if argv[:1] == ["s3api"] and argv[1:2] and argv[1] in (
                "get-bucket-versioning", "put-bucket-lifecycle-configuration", "get-bucket-lifecycle-configuration"):
            return _vultr_bucket_call(acc, argv)
        if argv[:2] == ["s3api", "create-bucket"]:
            bucket = argv[argv.index("--bucket") + 1]
            if bucket in acc.d["buckets"]:
                acc.refuse("aws s3api create-bucket", f"bucket {bucket} already exists")
                return 1
            acc.d["buckets"].append(bucket)
        if argv[:2] == ["s3api", "head-bucket"]:
            return 0 if argv[argv.index("--bucket") + 1] in acc.d["buckets"] else 254
        if argv[:2] == ["s3", "cp"] and argv[-1] == "-":
            # The secret store: s3://<bucket>/<prefix>/<object>, readable with its own key only.
            url = argv[-2]
            if not os.environ.get("AWS_ACCESS_KEY_ID", "").endswith("CLAWTEX_SECRET_STORE_ACCESS_KEY_ID"):
                acc.refuse("aws s3 cp", f"{url}: AccessDenied (not the secret store's key)")
                return 1
            obj = url.removeprefix("s3://").split("/", 1)[-1]
            store = acc.d.get("secret_store", {})
            key = next((k for k in store if obj == k or obj.endswith("/" + k)), None)
            if key is None:
                acc.refuse("aws s3 cp", f"{url}: the secret store has no such object")
                return 1
            sys.stdout.write(store[key])
    return 0


def ssh_keyscan(argv: list[str]) -> int:
    """A Storage Box's SSH server on port 23 (hcloud_storage_box `server`): its host key line."""
    with account() as acc:
        acc.log("ssh-keyscan " + " ".join(argv))
        if refused_for_secrets(acc, "ssh-keyscan", "ssh-keyscan", argv):
            return 1
        host = argv[-1]
        if "hcloud_storage_box" not in host or argv[argv.index("-p") + 1] != "23":
            acc.refuse("ssh-keyscan", f"{host}: no Storage Box SSH server there")
            return 1
        print(f"[{host}]:23 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIsimulatedboxhostkey")
    return 0


SCRATCH_SUFFIX = "-dr-drill"          # compiler/business/drill.py LOCK_HOSTNAME_SUFFIX: the scratch server's name
SERVER_NAME = {"hcloud_server": "name", "digitalocean_droplet": "name", "vultr_instance": "label"}


def _server_at(acc: "Account", address: str) -> dict | None:
    """The live server whose public address a stack output gave: the replay's addresses are the
    outputs' expressions, `sim(${<type>.<name>.<attribute>})`."""
    m = re.fullmatch(r"sim\(\$\{([a-z_]+)\.([A-Za-z0-9_-]+)\.[a-z0-9_]+\}\)", address)
    if not m or m.group(1) not in SERVER_NAME:
        return None
    found = [r for r in acc.d["resources"] if r["type"] == m.group(1) and r["address"] == f"{m.group(1)}.{m.group(2)}"]
    return found[-1] if found else None


def _server_name(server: dict) -> str:
    return server["attrs"].get(SERVER_NAME[server["type"]], "")


def ssh(argv: list[str]) -> int:
    """`ssh [-o ...] user@address [command]`, as dr-drill.sh and `clawtex dr-drill --runner` call it."""
    from datetime import datetime, timedelta, timezone
    with account() as acc:
        if refused_for_secrets(acc, "ssh", "ssh", argv):
            return 1
        i = 0
        while i < len(argv) and argv[i].startswith("-"):
            i += 2 if argv[i] in ("-o", "-i", "-p", "-l") else 1
        user, _, address = argv[i].rpartition("@")
        command = " ".join(argv[i + 1:])
        server = _server_at(acc, address)
        if server is None:
            acc.refuse(f"ssh {address}", "no server of the account has that address")
            return 1        # refused (recorded); not ssh's 255, which dr-drill.sh's boot wait retries for minutes
        name = _server_name(server)
        acc.log(f"ssh {user}@{name}: {command.split(chr(10))[0][:60]}")
        if not name.endswith(SCRATCH_SUFFIX):
            acc.refuse(f"ssh {name}", "the DR drill reached a production server")
            return 1
        if command != "true" and address not in acc.d.get("converged", {}):
            acc.refuse(f"ssh {name}", "the drill ran on a scratch server that was never converged")
            return 1
    if "snapshots --json" in command:
        at = datetime.now(timezone.utc) - timedelta(minutes=30)
        print(json.dumps([{"id": "5e" * 32, "time": at.strftime("%Y-%m-%dT%H:%M:%S.123456789Z")}]))
    elif "urllib.request" in command:
        print('200 {"ok": true, "status": "live"}')
    return 0


# ----------------------------------------------------------------- kubectl (a Platinum DR drill)
K8S_PRODUCTION_NAMESPACE = "openclaw"        # roles/openclaw defaults openclaw_k8s_namespace, by hand
K8S_PRODUCTION_SECRETS = ("clawtex-backup", "openclaw-env", "openclaw-secret-files")   # the roles' Secrets, by hand


def kubectl(argv: list[str]) -> int:
    """kubectl as dr-drill.sh's cluster path calls it, against the clusters the apply's plays reached (the
    cluster is the one KUBECONFIG's file names: the sensitive output's value). Refused: a cluster no play
    reached, the cluster of the region whose loss the drill stands for (the first one: the host's
    backup.region), any write into the production namespace. A Job applied to a namespace holding the
    Secrets and the ConfigMap it mounts completes; its gateway log holds one result line."""
    from datetime import datetime, timedelta, timezone
    # `apply -f -` reads its object before taking the account's lock: the writer of that pipe (`kubectl get`)
    # takes the lock too.
    stdin = sys.stdin.read() if "apply" in argv and "-" in argv else ""
    with account() as acc:
        if refused_for_secrets(acc, "kubectl", "kubectl", argv):
            return 1
        kubeconfig = Path(os.environ.get("KUBECONFIG", "")).read_text().strip() if os.environ.get("KUBECONFIG") else ""
        cluster = acc.d.get("k8s", {}).get(kubeconfig)
        if cluster is None:
            acc.refuse("kubectl " + " ".join(argv[:3]), "no cluster of the account answers KUBECONFIG")
            return 1
        hv = yaml_load(Path("generated/ansible/inventory/host_vars", cluster["host"] + ".yml"))
        inventory = yaml_load(Path("generated/ansible/inventory/hosts.yml"), unsafe_tag=True)["all"]["children"]
        region = next(g["hosts"][cluster["host"]]["clawtex_region"] for g in inventory.values()
                      if cluster["host"] in ((g or {}).get("hosts") or {}))
        if region == (hv.get("backup") or {}).get("region"):
            acc.refuse(f"kubectl {cluster['host']}", "the DR drill reached the primary cluster (the region it stands for as lost)")
            return 1
        args = list(argv)
        ns = None
        if "-n" in args:
            i = args.index("-n")
            ns = args[i + 1]
            del args[i:i + 2]
        nss = cluster["namespaces"]
        line = " ".join(args)
        acc.log(f"kubectl {cluster['host']}{' -n ' + ns if ns else ''}: {line[:90]}")
        writes = args[:1] in (["apply"], ["create"], ["delete"])
        target = args[2] if args[:2] in (["create", "namespace"], ["delete", "namespace"]) else ns
        if writes and target == K8S_PRODUCTION_NAMESPACE:
            acc.refuse(f"kubectl {cluster['host']}", "the DR drill wrote into the production namespace")
            return 1
        if args[:2] == ["delete", "namespace"]:
            if nss.pop(args[2], None) is not None:
                acc.log(f"  deleted namespace {args[2]} of {cluster['host']}")
            elif "--ignore-not-found" not in args:
                return 1
            return 0
        if args[:2] == ["create", "namespace"]:
            if args[2] in nss:
                print(f'Error from server (AlreadyExists): namespaces "{args[2]}" already exists', file=sys.stderr)
                return 1
            nss[args[2]] = {"secrets": {}, "configmaps": {}, "jobs": {}}
            acc.log(f"  created namespace {args[2]} in {cluster['host']}")
            return 0
        if ns is not None and ns not in nss:
            print(f'Error from server (NotFound): namespaces "{ns}" not found', file=sys.stderr)
            return 1
        if args[:2] == ["get", "secret"]:
            data = nss[ns]["secrets"].get(args[2])
            if data is None:
                return 1
            print(json.dumps({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                              "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
                              "metadata": {"name": args[2], "namespace": ns, "uid": "u-1", "resourceVersion": "7"}}))
            return 0
        if args[:2] == ["create", "configmap"]:
            keys = {}
            for a in args[3:]:
                if a.startswith("--from-file="):
                    key, _, path = a.split("=", 1)[1].partition("=")
                    keys[key] = Path(path).read_text()
            nss[ns]["configmaps"][args[2]] = keys
            return 0
        if args[:1] == ["apply"]:
            src = args[args.index("-f") + 1]
            doc = json.loads(stdin) if src == "-" else yaml_load(Path(src))
            where = doc["metadata"].get("namespace") or ns
            if where not in nss:
                print(f'Error from server (NotFound): namespaces "{where}" not found', file=sys.stderr)
                return 1
            if where == K8S_PRODUCTION_NAMESPACE:
                acc.refuse(f"kubectl {cluster['host']}", "the DR drill wrote into the production namespace")
                return 1
            if doc["kind"] == "Secret":
                nss[where]["secrets"][doc["metadata"]["name"]] = {
                    k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}
            elif doc["kind"] == "Job":
                pod = doc["spec"]["template"]["spec"]
                wanted = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v} | {
                    e["valueFrom"]["secretKeyRef"]["name"] for c in pod["initContainers"] + pod["containers"]
                    for e in c.get("env", []) if "valueFrom" in e} | {
                    e["secretRef"]["name"] for c in pod["containers"] for e in c.get("envFrom", [])}
                maps = {v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
                missing = sorted((wanted - set(nss[where]["secrets"])) | (maps - set(nss[where]["configmaps"])))
                nss[where]["jobs"][doc["metadata"]["name"]] = "Failed" if missing else "Complete"
                acc.log(f"  job {doc['metadata']['name']} in {where}: " + (f"missing {missing}" if missing else "complete"))
                if missing:
                    acc.refuse(f"kubectl {cluster['host']}", f"the drill Job mounts what its namespace lacks: {missing}")
            else:
                acc.refuse(f"kubectl {cluster['host']}", f"the drill applied a {doc['kind']}")
                return 1
            return 0
        if args[:2] == ["get", "job"]:
            state = nss[ns]["jobs"].get(args[2])
            if state is None:
                return 1
            print("SuccessCriteriaMet Complete " if state == "Complete" else "FailureTarget Failed ", end="")
            return 0
        if args[:1] == ["logs"]:
            if "gateway" in args:
                at = datetime.now(timezone.utc) - timedelta(minutes=30)
                now = datetime.now(timezone.utc).timestamp()
                snap = {"id": "7a" * 32, "time": at.strftime("%Y-%m-%dT%H:%M:%S.123456789Z")}
                print("gateway booted\nCLAWTEX_DR_DRILL_RESULT " + json.dumps({"healthy_at": now, "restore": {
                    "snapshots": [snap], "snapshot_id": snap["id"], "drill_started": now - 120, "restore_started": now - 100}}))
            else:
                print("restored snapshot " + "7a" * 32)
            return 0
        acc.refuse(f"kubectl {line[:60]}", "the simulation does not model this invocation")
        return 1


def yaml_load(path: Path, unsafe_tag: bool = False):
    import yaml
    text = path.read_text()
    return yaml.safe_load(text.replace("!unsafe ", "") if unsafe_tag else text)


TOOLS = {"terraform": terraform, "ansible-playbook": ansible_playbook, "gh": gh, "aws": aws, "ssh-keyscan": ssh_keyscan,
         "ssh": ssh, "kubectl": kubectl}

if __name__ == "__main__":
    sys.exit(TOOLS[sys.argv[1]](sys.argv[2:]))
