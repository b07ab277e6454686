"""The scheduled DR drill's scratch server and its due list (.github/workflows/dr-drill.yml).

    clawtex dr-drill-stack <customer> --out DIR    # DIR/cdk.tf.json, and a JSON line: host, scratch, provider
    clawtex dr-drill-due [--records DIR] [--json]   # customers whose tier's drill cadence has come round

The scratch stack is read from the customer's own generated stack (generated/terraform/<stack>/
cdk.tf.json, which the terraform target renders with CDKTF; nothing here builds Terraform itself):
the gateway server's resource is copied, so provider, server type/plan/size, image/os_id and
region/location are production's, and so is its firewall (same rules, a name of its own). What
the copy leaves out, on purpose:
- delete and rebuild protection and the lifecycle block: the drill destroys the server after
  every run (`terraform destroy`), which a protected server refuses (the plug-ins'
  `unlifted_protection`, tiers/provider-facts.md);
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
from ..providers import plugin

# Attributes of the server copy that are production's alone besides the plug-in's private-network
# ones (ProviderPlugin.server_private_attrs): protection and lifecycle (the scratch is destroyed
# after every drill), provider-side backups.
DROPPED = {"//", "delete_protection", "rebuild_protection", "lifecycle", "backups", "backups_schedule"}
SCRATCH_KEY = "dr_drill"          # the scratch server's resource name: never production's `oc_1` in a plan
REF = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)")


class StackError(RuntimeError):
    pass


def scratch_name(host: str) -> str:
    return host + drill.LOCK_HOSTNAME_SUFFIX


def _refs(body) -> set[tuple[str, str]]:
    return {(t, n) for d, t, n in REF.findall(json.dumps(body)) if not d and t not in ("var", "module")}


def _relabel(value, host: str, scratch: str, customer_stack: str):
    if isinstance(value, dict):        # labels (a map); otherwise tags ("key:value" strings)
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
                         "its drill is a Job in a scratch namespace of the other region's cluster (`clawtex dr-drill-k8s`)")
    inv = yaml.load((root / "generated/ansible/inventory/hosts.yml").read_text().replace("!unsafe ", ""), yaml.SafeLoader)
    stack, provider_name = next((h["clawtex_stack"], h["clawtex_provider"]) for g in inv["all"]["children"].values()
                                for name, h in ((g or {}).get("hosts") or {}).items() if name == t.host and h)
    cfg = json.loads((root / "generated" / "terraform" / stack / "cdk.tf.json").read_text())
    resources = cfg.get("resource") or {}
    p = plugin(provider_name)
    rtype = p.server_type
    found = [(key, body) for key, body in (resources.get(rtype) or {}).items()
             if all(body.get(n) == t.host for n in p.server_name_attrs)]
    if len(found) != 1:
        raise StackError(f"{customer}: expected one server named {t.host} in generated/terraform/{stack}, found {len(found)}")
    key, body = found[0]
    scratch = scratch_name(t.host)
    provider = p.terraform_provider

    def rename_refs(value):
        return json.loads(json.dumps(value).replace(f"${{{rtype}.{key}.", f"${{{rtype}.{SCRATCH_KEY}."))

    server = {k: v for k, v in body.items() if k not in DROPPED and k not in p.server_private_attrs}
    for n in p.server_name_attrs:
        server[n] = scratch
    for labels in ("labels", "tags"):
        if labels in server:
            server[labels] = _relabel(server[labels], t.host, scratch, stack)
    out_resources: dict[str, dict] = {rtype: {SCRATCH_KEY: server}}
    for ftype, fkey in sorted(_refs(server)):
        if ftype not in p.firewall_name_attrs:
            raise StackError(f"{customer}: the server references {ftype}.{fkey}, which the scratch stack does not model")
        fw = {k: v for k, v in resources[ftype][fkey].items() if k != "//"}
        fw[p.firewall_name_attrs[ftype]] = f"{scratch}-fw"
        out_resources.setdefault(ftype, {})[fkey] = fw
    # Rules attached to a copied firewall, and a firewall that attaches itself to the server.
    for rrtype, named in resources.items():
        for rkey, rbody in named.items():
            refs = _refs(rbody)
            if rrtype in p.firewall_rule_types and any((ft, fk) in refs for ft, named_fw in out_resources.items()
                                                      if ft in p.firewall_name_attrs for fk in named_fw):
                out_resources.setdefault(rrtype, {})[rkey] = {k: v for k, v in rbody.items() if k != "//"}
            elif rrtype in p.firewall_server_lists and (rtype, key) in refs:
                fw = {k: v for k, v in rbody.items() if k != "//"}
                fw[p.firewall_server_lists[rrtype]] = [f"${{{rtype}.{key}.id}}"]
                fw[p.firewall_name_attrs[rrtype]] = f"{scratch}-fw"
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
        "output": {"ipv4": {"description": f"public IPv4 of {scratch}",
                            "value": f"${{{rtype}.{SCRATCH_KEY}.{p.server_ipv4_attr}}}"}},
    }
    (out / "cdk.tf.json").write_text(json.dumps(rendered, indent=2, sort_keys=True) + "\n")
    return {"customer": customer, "tier": t.tier, "host": t.host, "scratch": scratch, "stack": stack, "provider": provider}


def due(root: Path, records: Path | None, now: datetime | None = None) -> list[dict]:
    """Customers whose tier has a drill cadence (tiers/*.yaml spec.backups.drillEveryDays) and whose
    last SUCCESSFUL drill (drill.last_success: the last healthy line of records/<customer>.jsonl) is at
    least that old, or who never had one. A failed attempt does not restart the cadence: the customer
    stays due, so the daily schedule retries it every day until a drill succeeds.
    Each: {customer, tier, every_days, last_drill (the last successful drill's drill_at, or None),
    last_failed (the last attempt's "<drill_at> at <step>" when it failed, else None), path}; path
    "server" (a scratch server), "cluster" (Platinum: a scratch namespace in the other region's
    cluster, compiler/gitops/drill_k8s.py) or "none" (no scratch path is built for it)."""
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
        good = drill.last_success(records, path.stem) if records else None
        if good:
            next_at = datetime.fromisoformat(good["drill_at"].replace("Z", "+00:00")) + timedelta(days=every)
            if next_at > now:
                continue
        last = drill.last_drill_status(records, path.stem) if records else None
        try:
            target = drill.target(root, path.stem)
        except drill.DrillError:
            continue        # not compiled yet (no backed-up host in the inventory): nothing to restore
        out.append({"customer": path.stem, "tier": tier, "every_days": every,
                    "last_drill": good["drill_at"] if good else None,
                    "last_failed": f"{last['drill_at']} at {last['failed_step']}" if last and not last["healthy"] else None,
                    "path": ("server" if target.hostvars.get("openclaw_mode") == "service"
                             else "cluster" if target.from_copy else "none")})
    return out
