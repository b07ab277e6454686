"""Stage 3b, between plan and render: the decommission guard. A compile may not
drop a customer that the committed generated/ tree still runs, unless the
customer file says so explicitly (status: decommissioned plus
decommission.approvedBy and .date). Dropping a customer's output is what makes
the apply destroy its servers and volumes, so the approval has to be
reviewable in the same PR.

Deleting the file is the second step: once a decommissioned customer's
outputs are gone from the committed tree, there is nothing left to drop.

Pure: the committed tree was read once by the load stage (compiler/previous.py).
The same rule across a change whose generated/ was edited by hand is
compiler/gitops/decommission.py."""
from __future__ import annotations

from .diagnostics import CompileError, Diagnostic
from .plan import FleetPlan
from .previous import FleetIndex
from .validate import Inputs, LoadedCustomer
from .write import GENERATED

HOW_TO = ("to decommission, first merge customers/{id}.yaml with `status: decommissioned` and "
          "`decommission: {{approvedBy: <name>, date: YYYY-MM-DD}}` (the apply takes a final backup, then destroys), "
          "and delete the file only in a later change")


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
    if spec.status == "decommissioned" and spec.decommission is not None:
        return None
    return loaded.doc.diagnostic(("spec", "status"),
                                 f"customer {cid} would be dropped from {GENERATED}/ (stack {stacks}) without "
                                 f"an approval; {how}")
