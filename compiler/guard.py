"""Stage 3b, between plan and render: the decommission guard. A compile may not
drop a customer that the committed generated/ tree still runs, unless the
customer file says so explicitly (status: decommissioned plus
decommission.approvedBy and .date written by a person: human_approval_problem). Dropping a customer's output is what makes
the apply destroy its servers and volumes, so the approval has to be
reviewable in the same PR.

Deleting the file is the second step: once a decommissioned customer's
outputs are gone from the committed tree, there is nothing left to drop.

Pure: the committed tree was read once by the load stage (compiler/previous.py).
The same rule across a change whose generated/ was edited by hand is
compiler/gitops/decommission.py."""
from __future__ import annotations

import re

from .diagnostics import CompileError, Diagnostic
from .plan import FleetPlan
from .previous import FleetIndex
from .validate import Inputs, LoadedCustomer
from .write import GENERATED

HOW_TO = ("to decommission, first merge customers/{id}.yaml with `status: decommissioned` and "
          "`decommission: {{approvedBy: <name>, date: YYYY-MM-DD}}` (the apply takes a final backup, then destroys), "
          "and delete the file only in a later change")


# What the software writes, never a person's name: the Stripe webhook records a
# request as `requestedBy: stripe, event: evt_…` (compiler/business/onboard.py),
# and older onboarding wrote `approvedBy: "pending review of Stripe evt_…"`.
# An approvedBy that names a system, an event or a pending state is not an
# approval (docs/approvals.md).
MACHINE_APPROVER = re.compile(
    r"evt_|\b(stripe|webhook|pending|review|clawtex|bot|automation|automatic|auto|system|github|ci)\b",
    re.IGNORECASE)


def human_approval_problem(decommission) -> str | None:
    """None when `decommission` (the spec.decommission mapping or model) carries a
    person's approval: approvedBy (a name) and date, where approvedBy does not
    read as something the software wrote. Otherwise what is missing."""
    if decommission is None:
        return "no decommission approval"
    if not isinstance(decommission, dict):         # the model: its fields under their YAML names
        decommission = decommission.model_dump(by_alias=True)
    get = decommission.get
    approver, date = get("approvedBy"), get("date")
    if not approver or not date:
        requested = get("requestedBy")
        return (f"the decommission was requested by {requested} but no person approved it "
                "(decommission.approvedBy: <your name>, decommission.date: YYYY-MM-DD)" if requested
                else "decommission.approvedBy and decommission.date are both required")
    if not isinstance(approver, str) or MACHINE_APPROVER.search(approver):
        return (f"decommission.approvedBy {approver!r} is not a person's approval (it reads as written by the "
                "software); a person writes their own name")
    return None


def check_decommissions(inputs: Inputs, plan: FleetPlan) -> None:
    committed = inputs.previous.fleet
    kept = {c.id for c in plan.customers}
    files = {lc.model.metadata.id: lc for lc in inputs.customers}
    errors = [_refusal(cid, committed, files.get(cid))
              for cid in sorted(committed.customers - kept)]
    errors = [e for e in errors if e is not None]
    if errors:
        raise CompileError(errors)


def _refusal(cid: str, committed: FleetIndex, loaded: LoadedCustomer | None) -> Diagnostic | None:
    stacks = ", ".join(sorted(committed.stacks_of(cid))) or "its shared-host slot"
    how = HOW_TO.format(id=cid)
    if loaded is None:
        return Diagnostic(f"customers/{cid}.yaml", 0, 0, "",
                          f"customer {cid} was deleted while it is still active in {GENERATED}/ "
                          f"(stack {stacks}); refusing to drop its infrastructure: {how}")
    spec = loaded.model.spec
    problem = human_approval_problem(spec.decommission)
    if spec.status == "decommissioned" and problem is None:
        return None
    where = ("spec", "decommission") if spec.decommission is not None else ("spec", "status")
    return loaded.doc.diagnostic(where,
                                 f"customer {cid} would be dropped from {GENERATED}/ (stack {stacks}) without "
                                 f"an approval from a person ({problem}); {how}")
