"""Who counts as a human approver. One helper for every approval a customer file
can carry (decommission, replacement of a stateful resource): text a program
writes while opening a PR (the Stripe webhook's `pending review of Stripe evt_…`,
compiler/business/onboard.py) is a placeholder, never an approval.

Hand-written because it is our own rule, not a library's. (The decommission
guard's recognition of machine-written approvals is being reworked in
parallel: merge the two into this one function.)"""
from __future__ import annotations

MACHINE_MARKERS = ("pending review", "stripe", "webhook")


def is_human_approver(approved_by: object) -> bool:
    text = str(approved_by or "").strip().lower()
    return bool(text) and not any(marker in text for marker in MACHINE_MARKERS)
