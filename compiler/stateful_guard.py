"""Stage 4b, after the Terraform target rendered: no routine change silently
replaces, destroys or shrinks a stateful resource (a server's disk, a volume, a
cluster, a bucket, a storage box).

The committed generated/terraform (read once by compiler/previous.py) and the
new compile are compared under the providers' rules (compiler/replacement.py,
tiers/replacement-facts.yaml). Each stateful prediction is refused unless the
stack's customer file lists it under `replacementApprovals` with a human
approver (compiler/approvals.py). Whole stacks that leave are the decommission
guard's (compiler/guard.py). Pure: no gitops import."""
from __future__ import annotations

import hashlib
import json
from typing import Mapping, Optional

from .approvals import is_human_approver
from .diagnostics import CompileError, Diagnostic
from .plan import FleetPlan
from .providers import PLUGINS
from .replacement import Prediction, predict_fleet, stack_resources
from .validate import Inputs, LoadedCustomer

GUARDED_ACTIONS = ("replace", "shrink")
# A server leaving its stack is a suspension (its data lives on the volume, which stays);
# these kinds are never destroyed by a routine change.
GUARDED_DESTROY = ("volume", "cluster", "bucket", "storage_box", "database")
HOW_TO = ("if this is intended, add to customers/{id}.yaml `replacementApprovals: [{{resource: {address}, "
          "approvedBy: <your name>, date: YYYY-MM-DD}}]` after a final backup (docs/replacement.md)")

def disk_lookup(plan: FleetPlan):
    """(terraform provider, plan slug) -> disk GB, from tiers/providers.yaml."""
    disks: dict[tuple[str, str], float] = {}
    for name, info in plan.catalog.spec.items():
        tf = PLUGINS[name].terraform_provider if name in PLUGINS else name
        for p in list(info.plans.values()) + [p for roles in info.location_plans.values() for p in roles.values()]:
            disks[(tf, p.slug)] = p.disk_gb
    return lambda provider, slug: disks.get((provider, slug))


def guarded(prediction: Prediction) -> bool:
    if not prediction.stateful:
        return False
    if prediction.action == "destroy":
        return prediction.stateful in GUARDED_DESTROY
    return prediction.action in GUARDED_ACTIONS


def predictions(inputs: Inputs, plan: FleetPlan, files: Mapping[str, bytes]) -> list[Prediction]:
    """A stack whose new bytes are the committed bytes (same SHA-256) has the same resources
    and predicts nothing (replacement.predict of equal resources is empty), so it is
    neither parsed nor compared: at 1,000 customers a one-change compile has ~480 of them."""
    committed = inputs.previous.terraform_digests
    new = {}
    for path, data in files.items():
        if path.startswith("terraform/") and path.endswith("/cdk.tf.json"):
            stack = path.split("/")[1]
            if stack in committed and committed[stack] == hashlib.sha256(data).digest():
                continue
            new[stack] = stack_resources(json.loads(data))
    return predict_fleet(inputs.previous.terraform, new, inputs.replacement_facts, disk_lookup(plan))


def check_replacements(inputs: Inputs, plan: FleetPlan, files: Mapping[str, bytes]) -> None:
    owners = {s.name: (s.customers if s.kind != "shared" else ()) for s in plan.stacks}
    loaded = {lc.model.metadata.id: lc for lc in inputs.customers}
    errors = []
    for p in predictions(inputs, plan, files):
        if not guarded(p):
            continue
        customers = owners.get(p.stack, ())
        owner = loaded.get(customers[0]) if len(customers) == 1 else None
        if owner is not None and _approved(owner, p):
            continue
        errors.append(_refusal(p, owner))
    if errors:
        raise CompileError(errors)


def _approved(owner: LoadedCustomer, p: Prediction) -> bool:
    return any(a.resource in (p.address, f"{p.stack}/{p.address}") and is_human_approver(a.approved_by)
               for a in owner.model.spec.replacement_approvals)


def _refusal(p: Prediction, owner: Optional[LoadedCustomer]) -> Diagnostic:
    what = f"refusing a routine change that loses data: the {p.stateful.replace('_', ' ')} {p.describe()}"
    if owner is None:
        return Diagnostic(f"generated/terraform/{p.stack}/cdk.tf.json", 0, 0, p.address,
                          f"{what}; stack {p.stack} is shared, so no single customer can approve it: "
                          "move its tenants first (docs/replacement.md)")
    cid = owner.model.metadata.id
    return owner.doc.diagnostic(("spec", "tier"), f"{what}; {HOW_TO.format(id=cid, address=p.address)}")
