"""The scheduled DR drill's scratch server and its due list (.github/workflows/dr-drill.yml).

    clawtex dr-drill-stack <customer> --out DIR    # DIR/cdk.tf.json, and a JSON line: host, scratch, provider
    clawtex dr-drill-due [--records DIR] [--json]   # customers whose tier's drill cadence has come round

The scratch stack is read from the customer's own generated stack (generated/terraform/<stack>/
cdk.tf.json, which the terraform target renders with CDKTF; nothing here builds Terraform itself):
the gateway server's resource is copied, so provider, server type/plan/size, image/os_id and
region/location are production's, and so is its firewall (same rules, a name of its own). What
the copy leaves out, on purpose:
- delete and rebuild protection and the lifecycle block: the drill destroys the server after
  every run (`terraform destroy`), which a protected hcloud server refuses (tiers/provider-facts.md);
- DNS records and reverse DNS: production's names keep pointing at production;
- the data volume, private network/VPC attachments, backup stores and every other resource: the
  drill restores into the root disk, and the backup store it reads is the customer's own, reached
  with the customer's credentials by the converge (the same restic.env);
- production's name: the server, its firewall, labels/tags and state key carry `<host>-dr-drill`,
  the name the drill's restic locks carry too (compiler/business/drill.py LOCK_HOSTNAME_SUFFIX),
  so nothing in the account, the state bucket or the repository's locks is shared with production.
The state lives under its own key (`dr-drills/<scratch>/terraform.tfstate`) in the fleet's state
bucket, beside `stacks/`, so a scratch server left behind by a dead runner is destroyed by the next
run of the same customer's drill (same key).
"""
from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from ..business import drill

# The gateway server resource of each provider, the attributes that carry its name (provider docs:
# hcloud v1.68.0 docs/resources/server.md `name`; digitalocean v2.99.1 docs/resources/droplet.md
# `name`; vultr v2.32.0 docs/resources/instance.md `label`, `hostname`), and its public IPv4
# attribute (server.md `ipv4_address`, droplet.md `ipv4_address`, instance.md `main_ip`).
SERVERS = {"hcloud_server": (("name",), "ipv4_address"),
           "digitalocean_droplet": (("name",), "ipv4_address"),
           "vultr_instance": (("label", "hostname"), "main_ip")}
# Attributes of the server copy that are production's alone: protection and lifecycle (the scratch
# is destroyed after every drill), private network/VPC attachments, provider-side backups.
DROPPED = {"//", "delete_protection", "rebuild_protection", "lifecycle", "vpc_ids", "vpc_uuid", "backups",
           "backups_schedule", "network"}
# The firewall the server references (copied, renamed) and the resources that attach rules to it.
FIREWALLS = {"hcloud_firewall": "name", "vultr_firewall_group": "description", "digitalocean_firewall": "name"}
FIREWALL_RULES = {"vultr_firewall_rule"}
SCRATCH_KEY = "dr_drill"          # the scratch server's resource name: never production's `oc_1` in a plan
REF = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)")


class StackError(RuntimeError):
    pass


def scratch_name(host: str) -> str:
    return host + drill.LOCK_HOSTNAME_SUFFIX


def _refs(body) -> set[tuple[str, str]]:
    return {(t, n) for d, t, n in REF.findall(json.dumps(body)) if not d and t not in ("var", "module")}


def _relabel(value, host: str, scratch: str, customer_stack: str):
    if isinstance(value, dict):        # hcloud labels
        out = dict(value)
        if "role" in out:
            out["role"] = "dr-drill"
        if "stack" in out:
            out["stack"] = scratch
        return out
    return [("role:dr-drill" if v.startswith("role:") else f"stack:{scratch}" if v == f"stack:{customer_stack}" else v)
            for v in value]


def render(root: Path, customer: str, out: Path) -> dict:
    """Write the scratch stack to out/cdk.tf.json; return what the workflow needs to know."""
    t = drill.target(root, customer)
    if t.hostvars.get("openclaw_mode") != "service":
        raise StackError(f"{customer}: a {t.tier} drill restores a cluster ({t.host}), not a server: "
                         "no scratch server path is built for it (docs/backups.md \"DR drill\")")
    inv = yaml.load((root / "generated/ansible/inventory/hosts.yml").read_text().replace("!unsafe ", ""), yaml.SafeLoader)
    stack = next(h["clawtex_stack"] for g in inv["all"]["children"].values() for name, h in ((g or {}).get("hosts") or {}).items()
                 if name == t.host and h)
    cfg = json.loads((root / "generated" / "terraform" / stack / "cdk.tf.json").read_text())
    resources = cfg.get("resource") or {}
    found = [(rtype, key, body) for rtype, (names, _) in SERVERS.items() for key, body in (resources.get(rtype) or {}).items()
             if all(body.get(n) == t.host for n in names)]
    if len(found) != 1:
        raise StackError(f"{customer}: expected one server named {t.host} in generated/terraform/{stack}, found {len(found)}")
    rtype, key, body = found[0]
    scratch = scratch_name(t.host)
    names, ipv4 = SERVERS[rtype]
    provider = rtype.split("_", 1)[0]

    def rename_refs(value):
        return json.loads(json.dumps(value).replace(f"${{{rtype}.{key}.", f"${{{rtype}.{SCRATCH_KEY}."))

    server = {k: v for k, v in body.items() if k not in DROPPED}
    for n in names:
        server[n] = scratch
    for labels in ("labels", "tags"):
        if labels in server:
            server[labels] = _relabel(server[labels], t.host, scratch, stack)
    out_resources: dict[str, dict] = {rtype: {SCRATCH_KEY: server}}
    for ftype, fkey in sorted(_refs(server)):
        if ftype not in FIREWALLS:
            raise StackError(f"{customer}: the server references {ftype}.{fkey}, which the scratch stack does not model")
        fw = {k: v for k, v in resources[ftype][fkey].items() if k != "//"}
        fw[FIREWALLS[ftype]] = f"{scratch}-fw"
        out_resources.setdefault(ftype, {})[fkey] = fw
    # Rules attached to a copied firewall, and a firewall that attaches itself to the server (DigitalOcean).
    for rrtype, named in resources.items():
        for rkey, rbody in named.items():
            refs = _refs(rbody)
            if rrtype in FIREWALL_RULES and any((ft, fk) in refs for ft, named_fw in out_resources.items()
                                               if ft in FIREWALLS for fk in named_fw):
                out_resources.setdefault(rrtype, {})[rkey] = {k: v for k, v in rbody.items() if k != "//"}
            elif rrtype == "digitalocean_firewall" and (rtype, key) in refs:
                fw = {k: v for k, v in rbody.items() if k != "//"}
                fw["droplet_ids"] = [f"${{{rtype}.{key}.id}}"]
                fw["name"] = f"{scratch}-fw"
                out_resources.setdefault(rrtype, {})[rkey] = fw
    out_resources = rename_refs(out_resources)
    data = {dtype: named for dtype, named in (cfg.get("data") or {}).items() if dtype.startswith(provider + "_") and dtype.endswith("ssh_key")}
    module = {name: {k: v for k, v in m.items() if k != "//"} for name, m in (cfg.get("module") or {}).items()}
    out.mkdir(parents=True, exist_ok=True)
    for m in module.values():
        # The module path as the production stack resolves it, relative to where this stack is written.
        src = (root / "generated" / "terraform" / stack / m["source"]).resolve()
        rel = os.path.relpath(src, out.resolve())
        m["source"] = rel if rel.startswith("../") else "./" + rel     # Terraform: a local path starts ./ or ../
    tf = cfg["terraform"]
    backend = dict(tf["backend"]["s3"])
    backend["key"] = f"dr-drills/{scratch}/terraform.tfstate"
    rendered = {
        "//": {"clawtex": f"DR drill scratch server for {customer} ({t.host}), rendered at run time by "
                          "`clawtex dr-drill-stack` from generated/terraform/" + stack + "; destroyed after the drill"},
        "terraform": {"backend": {"s3": backend}, "required_version": tf["required_version"],
                      "required_providers": {provider: tf["required_providers"][provider]}},
        "provider": {provider: (cfg.get("provider") or {}).get(provider, [{}])},
        "variable": {k: v for k, v in (cfg.get("variable") or {}).items() if f"var.{k}" in json.dumps(module)},
        "module": module,
        "data": data,
        "resource": out_resources,
        "output": {"ipv4": {"description": f"public IPv4 of {scratch}", "value": f"${{{rtype}.{SCRATCH_KEY}.{ipv4}}}"}},
    }
    (out / "cdk.tf.json").write_text(json.dumps(rendered, indent=2, sort_keys=True) + "\n")
    return {"customer": customer, "tier": t.tier, "host": t.host, "scratch": scratch, "stack": stack, "provider": provider}


def due(root: Path, records: Path | None, now: datetime | None = None) -> list[dict]:
    """Customers whose tier has a drill cadence (tiers/*.yaml spec.backups.drillEveryDays) and whose
    last recorded drill (records/<customer>.json) is at least that old, or who never had one.
    Each: {customer, tier, due_since, path}; path "server" (a scratch server) or "none" (Platinum:
    a cluster; no scratch path is built)."""
    now = now or datetime.now(timezone.utc)
    out = []
    for path in sorted((root / "customers").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        spec = doc.get("spec") or {}
        if spec.get("status") == "decommissioned":
            continue        # a suspended customer's backups are still there to restore
        tier = spec["tier"]
        backups = (yaml.safe_load((root / "tiers" / f"{tier}.yaml").read_text())["spec"].get("backups") or {})
        every = backups.get("drillEveryDays")
        if not every:
            continue
        last = drill.last_drill(records, path.stem) if records else None
        if last:
            next_at = datetime.fromisoformat(last["drill_at"].replace("Z", "+00:00")) + timedelta(days=every)
            if next_at > now:
                continue
        try:
            target = drill.target(root, path.stem)
        except drill.DrillError:
            continue        # not compiled yet (no backed-up host in the inventory): nothing to restore
        out.append({"customer": path.stem, "tier": tier, "every_days": every,
                    "last_drill": last["drill_at"] if last else None,
                    "path": "server" if target.hostvars.get("openclaw_mode") == "service" else "none"})
    return out
