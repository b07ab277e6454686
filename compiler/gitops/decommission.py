"""The decommission rule across a change (base commit -> head commit): a
customer may leave the committed generated/ tree only with an approval in its
customer file. The compile-time guard is compiler/guard.py (its own stage);
this is the check for changes whose generated/ was edited by hand."""
from __future__ import annotations

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ..guard import HOW_TO, human_approval_problem


# ------------------------------------------------ the same rule across a change


def _approved(customer_file: bytes | None) -> bool:
    doc = _yaml_or_none(customer_file) if customer_file else None
    spec = doc.get("spec") if isinstance(doc, dict) else None
    if not isinstance(spec, dict) or spec.get("status") != "decommissioned":
        return False
    approval = spec.get("decommission")
    return isinstance(approval, dict) and human_approval_problem(approval) is None


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
