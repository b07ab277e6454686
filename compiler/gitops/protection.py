"""Lift the provider-side delete protection a change would run into, before anything
is destroyed (issue 25 blocker 3).

Some providers delete a server or volume without lifting its protection (each
plug-in's `unlifted_protection`, with the provider source it was read from), so
the API refuses the delete only after Terraform has already destroyed what
depends on it (rDNS, records, network attachments): half a stack. The apply
step (scripts/gitops/apply-stack.sh) therefore first applies the stack's last
configuration with `delete_protection`/`rebuild_protection` false on exactly
the resources that are going away, targeted at them (an in-place update that
destroys nothing), and only then plans the change.

A decommission (the stack leaves generated/): the final backup has run, so the
volumes go too, but the backup stores stay for the retention the tier promised
(issue 24 item 5): they are dropped from state (`terraform state rm`), never
destroyed. The configuration the destroy runs with drops prevent_destroy.

    python -m compiler.gitops.protection BASE.json [HEAD.json] --out LIFT.json --forget FORGET.txt
prints the addresses to target (one per line); none: nothing to lift.
    python -m compiler.gitops.protection check-destroy PLAN.json
refuses (exit 1) a destroy plan that would stop half-way (destroy_refusals), before it runs."""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any, Optional

from ..providers import PLUGINS

# Resource types with a provider-side delete protection that their delete does not lift.
PROTECTED = {t: flags for p in PLUGINS.values() for t, flags in p.unlifted_protection.items()}
# Backup stores: kept at a decommission (state rm), never destroyed by it.
BACKUP_STORES = {t for p in PLUGINS.values() for t in p.backup_resource_types}


def _resources(config: Optional[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    if not config:
        return {}
    return {f"{t}.{n}": body for t, named in (config.get("resource") or {}).items() for n, body in named.items()}


def lift(base: dict[str, Any], head: Optional[dict[str, Any]]) -> tuple[dict[str, Any], list[str], list[str]]:
    """(configuration to apply first, addresses to target, addresses to forget). head None: a destroy."""
    out = copy.deepcopy(base)
    kept = _resources(head)
    targets, forget = [], []
    for address, body in sorted(_resources(out).items()):
        rtype = address.split(".", 1)[0]
        if head is None and rtype in BACKUP_STORES:
            forget.append(address)
            continue
        leaving = address not in kept
        if leaving and head is None:
            # A decommission: prevent_destroy of the last configuration would refuse it.
            (body.get("lifecycle") or {}).pop("prevent_destroy", None)
        if leaving and rtype in PROTECTED and any(body.get(flag) for flag in PROTECTED[rtype]):
            for flag in PROTECTED[rtype]:
                if flag in body:
                    body[flag] = False
            targets.append(address)
    return out, targets, forget


def destroy_refusals(plan: dict[str, Any]) -> list[str]:
    """Why a planned destroy would stop half-way, from `terraform show -json` of the plan
    (resource_changes[].change.before: the object as it exists now). Checked before anything
    is destroyed: a delete the API refuses (a protection flag still set, PROTECTED) and a
    backup store (kept for the tier's retention, never destroyed by a workflow)."""
    out = []
    for rc in plan.get("resource_changes") or []:
        change = rc.get("change") or {}
        if "delete" not in (change.get("actions") or []):
            continue
        rtype, before = rc.get("type") or rc["address"].split(".")[0], change.get("before") or {}
        flags = [f for f in PROTECTED.get(rtype, ()) if before.get(f)]
        if flags:
            out.append(f"{rc['address']}: {', '.join(flags)} is still set; the API would refuse the delete after "
                       "the resources planned before it are gone")
        if rtype in BACKUP_STORES and (change.get("actions") or []) == ["delete"]:
            out.append(f"{rc['address']}: a backup store is kept for the tier's retention (state rm), never destroyed here")
    return out


def check_destroy(argv: list[str]) -> int:
    """python -m compiler.gitops.protection check-destroy PLAN.json: exit 1 (and say why) if the
    destroy would leave half a stack behind."""
    problems = destroy_refusals(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    for problem in problems:
        sys.stderr.write(f"refusing the destroy before anything is destroyed: {problem}\n")
    return 1 if problems else 0


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["check-destroy"]:
        return check_destroy(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m compiler.gitops.protection")
    ap.add_argument("base")
    ap.add_argument("head", nargs="?")
    ap.add_argument("--out", required=True)
    ap.add_argument("--forget", required=True)
    args = ap.parse_args(argv)
    base = json.loads(Path(args.base).read_text(encoding="utf-8"))
    head = json.loads(Path(args.head).read_text(encoding="utf-8")) if args.head else None
    config, targets, forget = lift(base, head)
    Path(args.out).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    Path(args.forget).write_text("".join(f"{a}\n" for a in forget), encoding="utf-8")
    sys.stdout.write("".join(f"{a}\n" for a in targets))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
