"""Only a person's approval releases a decommission (issue 28).

The Stripe webhook opens a decommission on customer.subscription.deleted by
writing a request (status: decommissioned, decommission.requestedBy: stripe,
event, requestedOn) and never an approval. The decommission guard
(compiler/guard.py, and check-removals in compiler/gitops/decommission.py)
holds the teardown until a person writes approvedBy + date. Expected values
here are literal text, not read from the code under test."""
from __future__ import annotations

import shutil

import pytest
import yaml

from business_events import subscription_event
from compiler.business.onboard import onboard
from compiler.gitops.decommission import unapproved_removals
from conftest import REPO, run_clawtex
from gitops_helpers import edit

CID = "pixel-bakery"


@pytest.fixture
def brepo(repo):
    shutil.copytree(REPO / "billing", repo / "billing")
    return repo


def delete_event():
    return subscription_event("deleted", "evt_Delete0001", customer="cus_PixelBakery01",
                              price="price_ClawtexBronzeMonthly", amount=7500, created=1764028800)


def test_subscription_deleted_marks_decommissioned_with_a_request_not_an_approval(brepo):
    result = onboard(brepo, delete_event())
    assert result.action == "decommissioned"
    spec = yaml.safe_load((brepo / "customers" / f"{CID}.yaml").read_text())["spec"]
    assert spec["status"] == "decommissioned"
    # 1764028800 = 2025-11-25T00:00:00Z
    assert spec["decommission"] == {"requestedBy": "stripe", "event": "evt_Delete0001", "requestedOn": "2025-11-25"}
    assert run_clawtex(brepo, "validate").returncode == 0


def test_a_webhook_opened_decommission_is_held_until_a_person_approves(brepo):
    before = (brepo / "generated" / "ansible" / "inventory" / "hosts.yml").read_text()
    assert CID in before
    onboard(brepo, delete_event())
    held = run_clawtex(brepo, "compile")
    assert held.returncode == 1
    assert f"customers/{CID}.yaml" in held.stderr and "requested by stripe but no person approved it" in held.stderr
    assert (brepo / "generated" / "ansible" / "inventory" / "hosts.yml").read_text() == before   # nothing dropped
    edit(brepo / "customers" / f"{CID}.yaml", "    requestedBy: stripe\n",
         "    requestedBy: stripe\n    approvedBy: Dana Whitfield\n    date: \"2025-11-26\"\n")
    released = run_clawtex(brepo, "compile")
    assert released.returncode == 0, released.stderr
    assert CID not in (brepo / "generated" / "ansible" / "inventory" / "hosts.yml").read_text()


@pytest.mark.parametrize("approver", ["pending review of Stripe evt_Delete0001", "stripe", "Stripe webhook",
                                      "clawtex-bot", "evt_Delete0001"])
def test_an_approval_the_software_could_have_written_does_not_count(brepo, approver):
    edit(brepo / "customers" / f"{CID}.yaml", "\nspec:\n",
         f"\nspec:\n  status: decommissioned\n  decommission: {{approvedBy: \"{approver}\", date: \"2025-11-26\"}}\n")
    held = run_clawtex(brepo, "compile")
    assert held.returncode == 1 and "is not a person's approval" in held.stderr, held.stderr


def test_check_removals_applies_the_same_rule():
    def customer(decommission: str) -> bytes:
        return f"spec:\n  status: decommissioned\n  decommission: {decommission}\n".encode()
    head = {
        "customers/a.yaml": customer('{approvedBy: "pending review of Stripe evt_Delete0001", date: "2025-11-25"}'),
        "customers/b.yaml": customer('{requestedBy: stripe, event: evt_Delete0002, requestedOn: "2025-11-25"}'),
        "customers/c.yaml": customer('{requestedBy: stripe, event: evt_Delete0003, requestedOn: "2025-11-25", '
                                     'approvedBy: Dana Whitfield, date: "2025-11-26"}'),
        "customers/d.yaml": customer('{approvedBy: Dana Whitfield}'),
    }
    refused = unapproved_removals(["a", "b", "c", "d"], {}, head)
    assert [line.split(":")[0] for line in refused] == ["customers/a.yaml", "customers/b.yaml", "customers/d.yaml"]


def test_approved_by_without_a_date_is_refused_at_validation(brepo):
    path = brepo / "customers" / f"{CID}.yaml"
    edit(path, "\nspec:\n", "\nspec:\n  status: decommissioned\n  decommission: {approvedBy: Dana Whitfield}\n")
    result = run_clawtex(brepo, "validate", str(path))
    assert result.returncode == 1 and "approvedBy and date go together" in result.stderr, result.stderr
