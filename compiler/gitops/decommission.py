"""The decommission guard, part of the plan stage: a compile may not drop a
customer that the committed generated/ tree still runs, unless the customer
file says so explicitly (status: decommissioned plus decommission.approvedBy
and .date). Dropping a customer's output is what makes the apply destroy its
servers and volumes, so the approval has to be reviewable in the same PR.

Deleting the file is the second step: once a decommissioned customer's
outputs are gone from the committed tree, there is nothing left to drop."""
from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ..diagnostics import CompileError, Diagnostic
from ..plan import FleetPlan
from ..validate import Inputs, LoadedCustomer
from ..write import GENERATED, read_tree
from .artifacts import Fleet, read_fleet

HOW_TO = ("to decommission, first merge customers/{id}.yaml with `status: decommissioned` and "
          "`decommission: {{approvedBy: <name>, date: YYYY-MM-DD}}` (the apply takes a final backup, then destroys), "
          "and delete the file only in a later change")


def check_decommissions(root: Path, inputs: Inputs, plan: FleetPlan) -> None:
    committed = read_fleet(read_tree(root / GENERATED))
    kept = {c.id for c in plan.customers}
    files = {lc.model.metadata.id: lc for lc in inputs.customers}
    errors = [_refusal(cid, committed, files.get(cid))
              for cid in sorted(committed.customers - kept)]
    errors = [e for e in errors if e is not None]
    if errors:
        raise CompileError(errors)


def _refusal(cid: str, committed: Fleet, loaded: LoadedCustomer | None) -> Diagnostic | None:
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


# ------------------------------------------------ the same rule across a change


def _approved(customer_file: bytes | None) -> bool:
    doc = _yaml_or_none(customer_file) if customer_file else None
    spec = doc.get("spec") if isinstance(doc, dict) else None
    if not isinstance(spec, dict) or spec.get("status") != "decommissioned":
        return False
    approval = spec.get("decommission")
    return isinstance(approval, dict) and bool(approval.get("approvedBy")) and bool(approval.get("date"))


def _yaml_or_none(data: bytes):
    try:
        return YAML(typ="safe", pure=True).load(data)
    except YAMLError:
        return None


def unapproved_removals(removed: list[str], base_files: dict[str, bytes], head_files: dict[str, bytes]) -> list[str]:
    """Customers a change removes without an approval: the head file must carry
    one, or - when the file is deleted - the base (previously merged) file.

    This is the guard for changes whose generated/ was edited by hand, where
    compile cannot see the drop because the committed tree already lacks it."""
    out = []
    for cid in removed:
        path = f"customers/{cid}.yaml"
        evidence = head_files.get(path) if path in head_files else base_files.get(path)
        if not _approved(evidence):
            out.append(f"{path}: customer {cid} is removed without a decommission approval; {HOW_TO.format(id=cid)}")
    return out
