"""KPIs from the git history of customers/: a real temporary repository with
known onboarding/decommission commits (dates set by hand), checked against
counts worked out by hand below, not by the code under test."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from compiler.business.kpis import customer_history, deploy_time_by_tier, monthly
from compiler.business.metrics import parse_period, previous_period
from conftest import CUSTOMER


def customer(cid: str, tier: str, price: float, status: str = "active") -> str:
    """A valid customer file (the KPI page reads history through the validated loader)."""
    decommission = "  decommission: {approvedBy: Ops, date: 2026-06-01}\n" if status == "decommissioned" else ""
    return (CUSTOMER.format(id=cid, tier=tier, price=price)
            .replace("  provider:", f"  status: {status}\n{decommission}  provider:"))


class Repo:
    def __init__(self, path: Path):
        self.path = path
        self.git("init", "-q", "-b", "main")
        (path / "customers").mkdir()
        (path / "README").write_text("x\n")
        self.commit("2025-12-01", "initial")

    def git(self, *args: str, date: str | None = None) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
        if date:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{date}T12:00:00+00:00"
        return subprocess.run(["git", *args], cwd=self.path, env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    def write(self, cid: str, text: str) -> None:
        (self.path / "customers" / f"{cid}.yaml").write_text(text)

    def remove(self, cid: str) -> None:
        self.git("rm", "-q", f"customers/{cid}.yaml")

    def commit(self, date: str, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, date=date)


@pytest.fixture
def repo(tmp_path) -> Repo:
    r = Repo(tmp_path)
    r.write("a", customer("a", "bronze", 49)); r.write("b", customer("b", "silver", 199))
    r.commit("2026-01-10", "onboard a, b")
    r.write("c", customer("c", "gold", 999)); r.commit("2026-02-03", "onboard c")
    r.write("a", customer("a", "bronze", 59)); r.commit("2026-02-20", "a: price change (no event)")
    r.write("b", customer("b", "silver", 199, "decommissioned")); r.commit("2026-03-15", "decommission b")
    r.remove("a"); r.write("d", customer("d", "bronze", 79)); r.commit("2026-04-02", "remove a, onboard d")
    # e is onboarded on a branch in April and merged in May: it counts when it lands on main.
    r.git("checkout", "-q", "-b", "onboard-e")
    r.write("e", customer("e", "silver", 249)); r.commit("2026-04-10", "onboard e")
    r.git("checkout", "-q", "main")
    (r.path / "README").write_text("y\n"); r.commit("2026-04-20", "unrelated")
    r.git("merge", "-q", "--no-ff", "-m", "merge e", "onboard-e", date="2026-05-05")
    r.write("b", customer("b", "silver", 199)); r.commit("2026-05-20", "b comes back")
    (r.path / "customers" / "broken.yaml").write_text("spec: [unclosed\n"); r.commit("2026-05-25", "broken file")
    return r


def test_churn_and_acquisition_per_month(repo):
    months = monthly(customer_history(repo.path), [parse_period(f"2026-0{m}") for m in range(1, 6)])
    got = [(m.month, m.liveAtStart, m.acquired, m.churned, m.churnPercent, m.mrrByTier) for m in months]
    assert got == [
        ("2026-01", 0, 2, 0, None, {"bronze": 49.0, "silver": 199.0}),     # no customers at start: churn undefined
        ("2026-02", 2, 1, 0, 0.0, {"bronze": 59.0, "gold": 999.0, "silver": 199.0}),
        ("2026-03", 3, 0, 1, 33.33, {"bronze": 59.0, "gold": 999.0}),
        ("2026-04", 2, 1, 1, 50.0, {"bronze": 79.0, "gold": 999.0}),
        ("2026-05", 2, 2, 0, 0.0, {"bronze": 79.0, "gold": 999.0, "silver": 448.0}),
    ]


def test_events_name_the_commit_and_the_day_it_landed_on_main(repo):
    events = customer_history(repo.path).events
    assert [(e.customer, e.kind, e.date) for e in events] == [
        ("a", "acquired", "2026-01-10"), ("b", "acquired", "2026-01-10"), ("c", "acquired", "2026-02-03"),
        ("b", "churned", "2026-03-15"), ("a", "churned", "2026-04-02"), ("d", "acquired", "2026-04-02"),
        ("e", "acquired", "2026-05-05"), ("b", "acquired", "2026-05-20")]
    merge = repo.git("log", "-1", "--format=%H", "--merges")
    assert [e.commit for e in events if e.customer == "e"] == [merge[:12]]


def test_the_cli_reads_history_from_the_repository(tmp_path):
    import json
    from conftest import REPO
    from compiler.cli import main
    out = tmp_path / "kpis.json"
    assert main(["--root", str(REPO), "report", "--kpis", "--period", "2026-11", "--out", str(out)]) == 0
    k = json.loads(out.read_text())
    live = len(list((REPO / "customers").glob("*.yaml")))
    assert k["months"][0]["liveAtStart"] + sum(m["acquired"] - m["churned"] for m in k["months"]) == live
    assert k["sla"] is None and k["finance"]["mrr"] > 0


def test_periods():
    assert parse_period("2026-02").seconds == 28 * 86400
    q = parse_period("2026-Q4")
    assert (q.start.month, q.end.year, q.end.month) == (10, 2027, 1) and len(q.months()) == 3
    from datetime import datetime, timezone
    assert previous_period(datetime(2027, 1, 1, 6, tzinfo=timezone.utc)).label == "2026-12"
    assert previous_period(datetime(2027, 1, 1, 6, tzinfo=timezone.utc), quarter=True).label == "2026-Q4"
    with pytest.raises(ValueError):
        parse_period("2026-13")
    from compiler.business.metrics import MAX_POINTS, step_for
    assert step_for(parse_period("2026-10"), 300) == 300                       # 8,928 points
    assert step_for(q, 300) == 900 and q.seconds / 900 < MAX_POINTS            # 92 days at 300 s would be 26,496


def test_deploy_time_by_tier_from_records():
    records = [{"customer": "a", "tier": "gold", "hours": 5}, {"customer": "b", "tier": "gold", "hours": 9},
               {"customer": "c", "tier": "gold", "hours": 30}, {"customer": "d", "tier": "bronze", "hours": 0.5},
               {"customer": "e", "tier": "bronze", "hours": 1.5}]
    assert deploy_time_by_tier(records) == [{"tier": "bronze", "deployments": 2, "medianHours": 1.0, "maxHours": 1.5},
                                            {"tier": "gold", "deployments": 3, "medianHours": 9.0, "maxHours": 30.0}]
    assert deploy_time_by_tier(None) is None


def test_reports_due_monthly_everyone_quarterly_gold_and_up(tmp_path):
    from conftest import REPO
    from compiler.business.customer_report import reports_due
    from compiler.pipeline import plan_repo
    plan = plan_repo(REPO)
    assert [c for c, _, _ in reports_due(plan, "quarterly")] == ["acme-logistics", "helios-energy", "orbital-health"]
    monthly_ids = [c for c, _, _ in reports_due(plan, "monthly")]
    assert monthly_ids == sorted(p.stem for p in (REPO / "customers").glob("*.yaml"))
    assert dict((c, e) for c, _, e in reports_due(plan, "monthly"))["acme-logistics"] == "jonas.weber@acme-logistics.example"


def test_deploy_times_are_read_through_the_onboarding_module(tmp_path, monkeypatch):
    """The onboarding work's compiler.business.deploytime owns the record format
    (load(dir) -> records, summarize(records, targets) -> TierTimes); a stand-in
    load/summarize returning the real TierTimes shows the wiring: targets come from
    tiers/*.yaml deployment.targetHours, rows reach the page."""
    import sys
    import types
    from conftest import REPO
    from compiler.business.kpis import deploy_time_rows
    from compiler.pipeline import plan_repo
    import compiler.business as business
    from compiler.business.deploytime import TierTimes     # the real record type; load/summarize are faked

    seen = {}
    fake = types.ModuleType("compiler.business.deploytime")
    fake.load = lambda d: seen.setdefault("dir", d) and {"x": {}}
    fake.summarize = lambda records, targets: seen.setdefault("targets", targets) and [
        TierTimes("gold", targets["gold"], 2, 20.0, 30.0, [("late-co", 30.0)], ["new-co"])]
    monkeypatch.setitem(sys.modules, "compiler.business.deploytime", fake)
    monkeypatch.setattr(business, "deploytime", fake, raising=False)
    rows = deploy_time_rows(tmp_path, plan_repo(REPO))
    assert seen["dir"] == tmp_path and seen["targets"]["gold"] == 24.0      # tiers/gold.yaml deployment.targetHours
    assert rows == [{"tier": "gold", "deployments": 2, "targetHours": 24.0, "medianHours": 20.0, "maxHours": 30.0,
                     "overTarget": ["late-co"], "pending": ["new-co"]}]
    assert deploy_time_rows(None, plan_repo(REPO)) is None


def test_acquisition_is_dated_by_onboarded_on_when_the_file_came_later(tmp_path):
    """Issue 27: customers migrated into the repository in one commit were all
    shown "acquired" in that month. A customer file carrying spec.onboardedOn
    earlier than its commit is acquired (and live, at its first recorded price)
    from that day."""
    r = Repo(tmp_path)
    for cid, day in (("old", "2026-01-12"), ("mid", "2026-03-02")):
        r.write(cid, customer(cid, "silver", 100).replace('onboardedOn: "2026-09-01"', f'onboardedOn: "{day}"'))
    r.write("new", customer("new", "bronze", 50))
    r.commit("2026-05-20", "migrate customers into the repository")
    history = customer_history(r.path)
    assert [(e.customer, e.date) for e in history.events] == [("old", "2026-01-12"), ("mid", "2026-03-02"),
                                                              ("new", "2026-05-20")]
    months = monthly(history, [parse_period(f"2026-0{m}") for m in range(1, 6)])
    assert [(m.month, m.liveAtStart, m.acquired, m.churnPercent, sum(m.mrrByTier.values())) for m in months] == [
        ("2026-01", 0, 1, None, 100.0), ("2026-02", 1, 0, 0.0, 100.0), ("2026-03", 1, 1, 0.0, 200.0),
        ("2026-04", 2, 0, 0.0, 200.0), ("2026-05", 2, 1, 0.0, 250.0)]


def _page_text(html: str) -> str:
    import re
    from html import unescape
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", re.sub(r'src="[^"]*"', "", html))))


def test_kpi_page_says_n_a_for_churn_without_customers_and_shows_the_price_caveat(tmp_path):
    from conftest import REPO
    from compiler.business.kpis import build_kpis, render_kpis_html
    from compiler.pipeline import plan_repo
    r = Repo(tmp_path)
    r.write("a", customer("a", "bronze", 49)); r.commit("2026-03-10", "onboard a")
    html = render_kpis_html(build_kpis(tmp_path, plan_repo(REPO), parse_period("2026-03")))
    text = _page_text(html)
    assert "Churn 2026-03 n/a no customers at the month's start" in text
    assert 'class="ok">0.0 %' not in html
    assert "2026-02 0 0 0 n/a" in text                       # the table row: 0 at start -> n/a
    assert "provider list prices taken" in text and "plan prices unverified" in text
    assert "MRR end of 2026-03 $49.00" in text


def test_kpi_page_without_revenue_history_draws_no_empty_mrr_chart(tmp_path):
    from conftest import REPO
    from compiler.business.kpis import build_kpis, render_kpis_html
    from compiler.pipeline import plan_repo
    r = Repo(tmp_path)
    r.write("a", customer("a", "bronze", 49)); r.commit("2026-06-10", "onboard a")
    k = build_kpis(tmp_path, plan_repo(REPO), parse_period("2026-04"))
    assert "mrr" not in k.figures
    assert "No recurring revenue in customers/ history" in _page_text(render_kpis_html(k))


def test_kpi_page_refuses_a_future_period(tmp_path):
    from datetime import datetime, timezone
    from conftest import REPO
    from compiler.cli import main
    year = datetime.now(timezone.utc).year + 1
    assert main(["--root", str(REPO), "report", "--html", "--period", f"{year}-01", "--out", str(tmp_path / "k")]) == 1
    assert not (tmp_path / "k").exists()
