"""SLA credits at their edges (issue 28, mutation survivors of compiler/business/sla.py).

Expected values by hand from tiers/gold.yaml (target 99.5; below 99.5 -> 10 %, below 99.0 -> 25 %,
below 95.0 -> 50 %), tiers/platinum.yaml, tiers/silver.yaml (98.0, no credits) and the customers'
monthlyPrice (helios-energy Gold 1299, acme-logistics Gold 999, orbital-health Platinum 3000 with a
negotiated 99.95, mapleleaf-dental Silver 249). In-process and fast, so mutation testing can use it."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from compiler.business.sla import credit_percent, sla_report, to_json
from compiler.pipeline import plan_repo
from conftest import REPO

D = Decimal


@pytest.fixture(scope="module")
def plan():
    return plan_repo(REPO, use_cache=False)


def _one(plan, cid, ratio):
    (line,) = sla_report(plan, {cid: ratio})
    return line


def test_uptime_exactly_at_the_target_is_no_breach_and_no_credit(plan):
    line = _one(plan, "helios-energy", 0.995)
    assert (line.uptimePercent, line.targetPercent, line.breached, line.creditPercent, line.creditUsd) == \
        (99.5, 99.5, False, 0.0, D("0"))


def test_a_step_boundary_belongs_to_the_milder_step(plan):
    # 99.0 is not below 99.0: only "below 99.5" applies -> 10 % of 1299 = 129.90
    line = _one(plan, "helios-energy", 0.99)
    assert (line.breached, line.creditPercent, line.creditUsd) == (True, 10, D("129.90"))
    # 98.9999 is below 99.0 -> 25 % of 1299 = 324.75
    line = _one(plan, "helios-energy", 0.989999)
    assert (line.uptimePercent, line.creditPercent, line.creditUsd) == (98.9999, 25, D("324.75"))


def test_every_field_of_a_line(plan):
    line = _one(plan, "acme-logistics", 0.94)
    assert (line.id, line.tier, line.uptimePercent, line.targetPercent, line.breached, line.creditPercent,
            line.creditUsd) == ("acme-logistics", "gold", 94.0, 99.5, True, 50, D("499.50"))
    line = _one(plan, "orbital-health", 0.9994)      # negotiated 99.95 missed above every step: first step
    assert (line.tier, line.targetPercent, line.breached, line.creditPercent, line.creditUsd) == \
        ("platinum", 99.95, True, 10, D("300.00"))
    line = _one(plan, "mapleleaf-dental", 0.5)       # Silver: breached, no credits
    assert (line.tier, line.targetPercent, line.breached, line.creditPercent, line.creditUsd) == \
        ("silver", 98.0, True, 0.0, D("0"))


def test_uptime_is_rounded_to_four_decimals_of_a_percent(plan):
    assert _one(plan, "helios-energy", 0.99123456).uptimePercent == 99.1235


def test_zero_and_one_are_valid_ratios(plan):
    assert (_one(plan, "helios-energy", 0.0).uptimePercent, _one(plan, "helios-energy", 0.0).creditPercent) == (0.0, 50)
    top = _one(plan, "helios-energy", 1.0)
    assert (top.uptimePercent, top.breached, top.creditUsd) == (100.0, False, D("0"))


@pytest.mark.parametrize("ratio", [1.5, -0.1, 1.0000001])
def test_a_ratio_outside_0_to_1_is_refused(plan, ratio):
    with pytest.raises(ValueError) as e:
        sla_report(plan, {"helios-energy": ratio})
    assert str(e.value) == f"helios-energy: uptime must be a ratio between 0 and 1, got {ratio}"


def test_unknown_customers_are_named(plan):
    with pytest.raises(ValueError) as e:
        sla_report(plan, {"zz-nobody": 0.9, "aa-nobody": 0.9, "helios-energy": 0.9})
    assert str(e.value) == "uptime given for unknown customers: aa-nobody, zz-nobody"


def _customer(credits, schedule, target=99.5):
    steps = [SimpleNamespace(below_percent=b, credit_percent=c) for b, c in schedule]
    return SimpleNamespace(tier=SimpleNamespace(spec=SimpleNamespace(sla=SimpleNamespace(
        credits=credits, credit_schedule=steps))), sla_target_percent=target)


def test_credit_percent_needs_credits_a_breach_and_a_schedule():
    gold = [(99.5, 10), (99.0, 25), (95.0, 50)]
    assert credit_percent(_customer(True, gold), 98.0) == 25
    assert credit_percent(_customer(False, gold), 98.0) == 0.0        # credits off: nothing, schedule or not
    assert credit_percent(_customer(True, []), 98.0) == 0.0           # credits on, no schedule: nothing
    assert credit_percent(_customer(True, gold), 99.5) == 0.0         # at the target: no breach


def test_to_json(plan):
    lines = sla_report(plan, {"helios-energy": 0.94, "pixel-bakery": 0.99, "acme-logistics": 0.99})
    assert to_json(lines) == {
        "customers": [
            {"id": "acme-logistics", "tier": "gold", "uptimePercent": 99.0, "targetPercent": 99.5, "breached": True,
             "creditPercent": 10, "creditUsd": 99.9},
            {"id": "helios-energy", "tier": "gold", "uptimePercent": 94.0, "targetPercent": 99.5, "breached": True,
             "creditPercent": 50, "creditUsd": 649.5},
            {"id": "pixel-bakery", "tier": "bronze", "uptimePercent": 99.0, "targetPercent": 95.0, "breached": False,
             "creditPercent": 0.0, "creditUsd": 0},
        ],
        "breaches": ["acme-logistics", "helios-energy"],
        "totalCreditUsd": 749.4,           # 99.90 + 649.50
    }
    assert to_json([]) == {"customers": [], "breaches": [], "totalCreditUsd": 0}
