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


# ------------------------------------------------- the rule itself, in-process


@pytest.mark.parametrize("decommission,problem", [
    (None, "no decommission approval"),
    ({}, "decommission.approvedBy and decommission.date are both required"),
    ({"approvedBy": "Dana Whitfield"}, "decommission.approvedBy and decommission.date are both required"),
    ({"date": "2025-11-26"}, "decommission.approvedBy and decommission.date are both required"),
    ({"requestedBy": "stripe", "event": "evt_Delete0001", "requestedOn": "2025-11-25"},
     "the decommission was requested by stripe but no person approved it "
     "(decommission.approvedBy: <your name>, decommission.date: YYYY-MM-DD)"),
    ({"approvedBy": "pending review of Stripe evt_Delete0001", "date": "2025-11-25"},
     "decommission.approvedBy 'pending review of Stripe evt_Delete0001' is not a person's approval "
     "(it reads as written by the software); a person writes their own name"),
    ({"approvedBy": 42, "date": "2025-11-25"}, "decommission.approvedBy 42 is not a person's approval "
     "(it reads as written by the software); a person writes their own name"),
])
def test_human_approval_problem_names_what_is_missing(decommission, problem):
    from compiler.guard import human_approval_problem
    assert human_approval_problem(decommission) == problem


@pytest.mark.parametrize("approver", ["Dana Whitfield", "Ops Lead", "Автор Иванов", "Robert Botham", "Stripes Kim"])
def test_a_persons_name_is_an_approval(approver):
    from compiler.guard import human_approval_problem
    from compiler.models import Decommission
    assert human_approval_problem({"approvedBy": approver, "date": "2025-11-26"}) is None
    model = Decommission.model_validate({"approvedBy": approver, "date": "2025-11-26", "requestedBy": "stripe"})
    assert human_approval_problem(model) is None


@pytest.mark.parametrize("approver", ["Stripe", "stripe webhook", "PENDING", "clawtex bot", "evt_Delete0001",
                                      "automation", "auto", "system", "GitHub Actions", "CI", "needs review"])
def test_machine_words_are_not_an_approval(approver):
    from compiler.guard import human_approval_problem
    assert "is not a person's approval" in human_approval_problem({"approvedBy": approver, "date": "2025-11-26"})


def test_the_guard_stage_holds_a_requested_decommission_in_process():
    """check_decommissions itself (no subprocess): pixel-bakery is decommissioned by a
    request only, so dropping it from the committed fleet is refused at its file."""
    from dataclasses import replace as dc_replace

    from compiler.diagnostics import CompileError
    from compiler.guard import check_decommissions
    from compiler.models import Decommission
    from compiler.pipeline import load_inputs
    from compiler.plan import build_plan

    inputs = load_inputs(REPO, use_cache=False)
    def with_decommission(decommission, status="decommissioned"):
        customers = []
        for lc in inputs.customers:
            if lc.model.metadata.id == CID:
                spec = lc.model.spec.model_copy(update={"status": status, "decommission": decommission})
                lc = dc_replace(lc, model=lc.model.model_copy(update={"spec": spec}))
            customers.append(lc)
        return dc_replace(inputs, customers=customers)
    requested = with_decommission(Decommission.model_validate(
        {"requestedBy": "stripe", "event": "evt_Delete0001", "requestedOn": "2025-11-25"}))
    with pytest.raises(CompileError) as err:
        check_decommissions(requested, build_plan(requested))
    text = str(err.value)
    assert f"customers/{CID}.yaml" in text and "stack shared-hetzner-fsn1-01" in text
    assert "without an approval from a person (the decommission was requested by stripe" in text
    assert "refusing" not in text                                 # the file is there: not the deleted-file message
    approved = with_decommission(Decommission.model_validate(
        {"requestedBy": "stripe", "event": "evt_Delete0001", "requestedOn": "2025-11-25",
         "approvedBy": "Dana Whitfield", "date": "2025-11-26"}))
    check_decommissions(approved, build_plan(approved))          # released: no error
    active = with_decommission(None, status="active")
    check_decommissions(active, build_plan(active))              # still active: nothing is dropped
    suspended = with_decommission(None, status="suspended")
    check_decommissions(suspended, build_plan(suspended))        # suspended stays in generated/: nothing dropped
    unapproved = with_decommission(None)
    with pytest.raises(CompileError, match="without an approval from a person \\(no decommission approval\\)"):
        check_decommissions(unapproved, build_plan(unapproved))
    assert [d.path for d in pytest.raises(CompileError, check_decommissions, unapproved,
                                          build_plan(unapproved)).value.diagnostics] == ["spec.status"]
    assert [d.path for d in pytest.raises(CompileError, check_decommissions, requested,
                                          build_plan(requested)).value.diagnostics] == ["spec.decommission"]


def test_a_deleted_file_is_refused_naming_the_stack():
    from dataclasses import replace as dc_replace

    from compiler.diagnostics import CompileError
    from compiler.guard import check_decommissions
    from compiler.pipeline import load_inputs
    from compiler.plan import build_plan

    inputs = load_inputs(REPO, use_cache=False)
    gone = dc_replace(inputs, customers=[lc for lc in inputs.customers if lc.model.metadata.id != "acme-logistics"])
    with pytest.raises(CompileError) as err:
        check_decommissions(gone, build_plan(gone))
    diagnostic = err.value.diagnostics[0]
    assert (diagnostic.file, diagnostic.line, diagnostic.column) == ("customers/acme-logistics.yaml", 0, 0)
    assert diagnostic.message.startswith("customer acme-logistics was deleted while it is still active in generated/ "
                                         "(stack acme-logistics); refusing to drop its infrastructure: to decommission, "
                                         "first merge customers/acme-logistics.yaml with `status: decommissioned`")


def test_the_refusal_names_every_stack_or_the_shared_slot():
    from dataclasses import replace as dc_replace

    from compiler.diagnostics import CompileError
    from compiler.guard import check_decommissions
    from compiler.pipeline import load_inputs
    from compiler.plan import build_plan
    from compiler.previous import FleetIndex, PreviousState

    inputs = load_inputs(REPO, use_cache=False)
    committed = FleetIndex(frozenset({"ghost-co", "ghost-two"}),
                           {"ghost-co": frozenset({"ghost-co-fra1", "ghost-co-ams3"})})   # ghost-two: no stack recorded
    inputs = dc_replace(inputs, previous=PreviousState(inputs.previous.placement, inputs.previous.wazuh_blocks, committed))
    with pytest.raises(CompileError) as err:
        check_decommissions(inputs, build_plan(inputs))
    by_file = {d.file: d for d in err.value.diagnostics}
    assert set(by_file) == {"customers/ghost-co.yaml", "customers/ghost-two.yaml"}
    assert "(stack ghost-co-ams3, ghost-co-fra1)" in by_file["customers/ghost-co.yaml"].message
    assert "(stack its shared-host slot)" in by_file["customers/ghost-two.yaml"].message
    assert [d.path for d in err.value.diagnostics] == ["", ""]          # a deleted file has no YAML path
