"""Business KPIs from a hand-built customer history (issue 28: mutation testing of
compiler/business/kpis.py): live customers at a month's start, acquisitions and churn inside it,
churn percent, MRR by tier at its end, the twelve months ending at a period, deployment-time
medians. In-process and fast; the git-history path is tests/test_kpis.py."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from compiler.business.kpis import CustomerState, Event, History, deploy_time_by_tier, monthly, months_ending
from compiler.business.metrics import parse_period

D = Decimal


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


def st(tier, price, status="active", onboarded=None):
    return CustomerState(tier, D(price), status, onboarded)


def history() -> History:
    # Oct 1: a (silver 199) and b (gold 999) live. Oct 10: c (silver 249) acquired.
    # Nov 5: b churned (decommissioned). Nov 20: c suspended (live, no MRR).
    s_oct = {"a": st("silver", "199"), "b": st("gold", "999")}
    s_oct10 = {**s_oct, "c": st("silver", "249")}
    s_nov5 = {**s_oct10, "b": st("gold", "999", "decommissioned")}
    s_nov20 = {**s_nov5, "c": st("silver", "249", "suspended")}
    return History(
        events=[Event("a", "acquired", "2026-09-15", "c1"), Event("b", "acquired", "2026-09-20", "c2"),
                Event("c", "acquired", "2026-10-10", "c3"), Event("b", "churned", "2026-11-05", "c4")],
        snapshots=[(at("2026-09-20T12:00:00"), s_oct), (at("2026-10-10T12:00:00"), s_oct10),
                   (at("2026-11-05T12:00:00"), s_nov5), (at("2026-11-20T12:00:00"), s_nov20)])


def test_months_by_hand():
    rows = monthly(history(), [parse_period("2026-09"), parse_period("2026-10"), parse_period("2026-11"),
                               parse_period("2026-12")])
    as_tuples = [(m.month, m.liveAtStart, m.acquired, m.churned, m.churnPercent, m.mrrByTier) for m in rows]
    assert as_tuples == [
        ("2026-09", 0, 2, 0, None, {"gold": D("999"), "silver": D("199")}),          # nobody at the start: None
        ("2026-10", 2, 1, 0, 0.0, {"gold": D("999"), "silver": D("448")}),           # 199 + 249
        ("2026-11", 3, 0, 1, 33.33, {"silver": D("199")}),                          # 1 of 3; c suspended
        ("2026-12", 2, 0, 0, 0.0, {"silver": D("199")}),                            # b gone, c suspended (live)
    ]


def test_state_at_is_the_last_snapshot_before_the_moment():
    h = history()
    assert set(h.state_at(at("2026-10-10T12:00:00"))) == {"a", "b"}       # a snapshot at the moment is not before it
    assert set(h.state_at(at("2026-10-10T12:00:01"))) == {"a", "b", "c"}
    assert h.state_at(at("2026-01-01T00:00:00")) == {}


def test_a_customer_onboarded_before_its_file_counts_from_its_onboarding_day():
    h = History(first_seen={"late": (at("2026-10-15T00:00:00"), st("gold", "999", onboarded="2026-09-30")),
                            "gone": (at("2026-10-15T00:00:00"), st("gold", "999", "decommissioned", "2026-09-01")),
                            "plain": (at("2026-10-15T00:00:00"), st("gold", "999"))})
    assert set(h.state_at(at("2026-10-01T00:00:00"))) == {"late"}
    assert set(h.state_at(at("2026-09-30T00:00:00"))) == set()             # not before its onboarding day
    assert set(h.state_at(at("2026-10-16T00:00:00"))) == set()             # its file is in the snapshots by then


def test_the_twelve_months_ending_at_a_period():
    labels = [p.label for p in months_ending(parse_period("2026-03"))]
    assert labels == ["2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10", "2025-11",
                      "2025-12", "2026-01", "2026-02", "2026-03"]
    assert [p.label for p in months_ending(parse_period("2026-01"), 2)] == ["2025-12", "2026-01"]


def test_deploy_time_medians_by_hand():
    assert deploy_time_by_tier(None) is None
    rows = deploy_time_by_tier([{"customer": "a", "tier": "silver", "hours": 3}, {"customer": "b", "tier": "silver", "hours": 1},
                                {"customer": "c", "tier": "silver", "hours": 2.5}, {"customer": "d", "tier": "gold", "hours": 10},
                                {"customer": "e", "tier": "gold", "hours": 4}, {"customer": "f", "tier": "bronze", "hours": 0.123}])
    assert rows == [{"tier": "bronze", "deployments": 1, "medianHours": 0.12, "maxHours": 0.12},
                    {"tier": "gold", "deployments": 2, "medianHours": 7.0, "maxHours": 10.0},      # (4 + 10) / 2
                    {"tier": "silver", "deployments": 3, "medianHours": 2.5, "maxHours": 3.0}]     # 1, 2.5, 3


def test_month_edges_first_day_in_next_month_first_day_out():
    h = History(events=[Event("a", "acquired", "2026-10-01", "c1"), Event("b", "acquired", "2026-11-01", "c2"),
                        Event("c", "churned", "2026-10-31", "c3")])
    (oct_,) = monthly(h, [parse_period("2026-10")])
    assert (oct_.acquired, oct_.churned) == (1, 1)       # a (Oct 1) and c (Oct 31); b belongs to November


def test_onboarded_customer_state_at_the_moment_its_file_appears():
    first = st("gold", "999", onboarded="2026-09-30")
    h = History(first_seen={"late": (at("2026-10-15T00:00:00"), first)})
    assert h.state_at(at("2026-10-15T00:00:00")) == {"late": first}     # not yet in a snapshot before this moment
    assert h.state_at(at("2026-10-01T00:00:00"))["late"] == CustomerState("gold", D("999"), "active", "2026-09-30")


def test_deploy_time_median_of_five():
    rows = deploy_time_by_tier([{"tier": "gold", "hours": h} for h in (9, 1, 5, 3, 7)])
    assert rows == [{"tier": "gold", "deployments": 5, "medianHours": 5.0, "maxHours": 9.0}]    # 1 3 [5] 7 9
