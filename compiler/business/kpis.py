"""Company KPIs for `clawtex report --html` / `--kpis`: churn and acquisition per
month from the git history of customers/ (the customer files are the source of
truth), MRR by tier over time from the same history, SLA attainment per tier
from Prometheus, cost and margin per customer (compiler.business.report) and
deployment time per tier from the onboarding record.

History rules (gitpython, first-parent history of the given revision, so a
merged branch counts once, on the day it landed; dates are committer dates,
UTC):
- a customer is *live* while its file exists and `spec.status` is not
  `decommissioned` (suspended customers are still customers);
- acquisition: a customer becomes live (file added, or re-activated). The
  first acquisition is dated by the customer file's `spec.onboardedOn` when it
  is earlier than the commit (customers onboarded before the repository held
  their file, e.g. a migration); such a customer counts as live, at the price
  and tier of its first recorded file, from that day;
- churn: a live customer stops being live (file removed or decommissioned);
- churn rate of a month = churned in the month / live at the month's start
  (the founding document's target: below 5 %); with no customers at the
  start it is undefined (None, shown "n/a"), not 0 %.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Iterable

import yaml

from ..load import load_bytes
from ..money import ZERO, json_number
from .metrics import Period, Prometheus, parse_period

CUSTOMERS_DIR = "customers"
CHURN_TARGET_PERCENT = 5.0


@dataclass(frozen=True)
class Event:
    customer: str
    kind: str            # acquired | churned
    date: str            # YYYY-MM-DD (UTC)
    commit: str


@dataclass(frozen=True)
class Month:
    month: str
    liveAtStart: int
    acquired: int
    churned: int
    churnPercent: float | None   # None: no customers at the month's start (undefined, not 0 %)
    mrrByTier: dict      # tier -> MRR at the month's end (live customers' monthlyPrice)


@dataclass(frozen=True)
class CustomerState:
    tier: str
    price: Decimal          # monthlyPrice as written (compiler/money.py)
    status: str
    onboarded: str | None = None     # spec.onboardedOn, YYYY-MM-DD

    @property
    def live(self) -> bool:
        return self.status != "decommissioned"


def _state(blob_bytes: bytes, stem: str) -> tuple[str, CustomerState] | None:
    """A customer file as committed, read by the validated loader (compiler.load: size, encoding,
    no anchors or tags) and the Customer model; a file either refuses is not a customer (validation
    refused it then too)."""
    from ..diagnostics import CompileError
    from ..models import Customer
    from ..validate import parse_model
    try:
        customer = parse_model(load_bytes(blob_bytes, f"customers/{stem}.yaml"), Customer, [])
    except CompileError:
        return None
    if customer is None:
        return None
    spec = customer.spec
    return customer.metadata.id, CustomerState(spec.tier, spec.billing.monthly_price, spec.status,
                                               spec.onboarded_on.isoformat() if spec.onboarded_on else None)


def _customer_files(tree) -> dict[str, object]:
    try:
        sub = tree / CUSTOMERS_DIR
    except KeyError:
        return {}
    return {b.path: b for b in sub.blobs if b.path.endswith((".yaml", ".yml"))}


@dataclass
class History:
    events: list[Event] = field(default_factory=list)
    snapshots: list[tuple[datetime, dict[str, CustomerState]]] = field(default_factory=list)
    first_seen: dict[str, tuple[datetime, CustomerState]] = field(default_factory=dict)

    def state_at(self, when: datetime) -> dict[str, CustomerState]:
        state: dict[str, CustomerState] = {}
        for t, snap in self.snapshots:
            if t >= when:
                break
            state = snap
        state = dict(state)
        day = when.date().isoformat()
        for cid, (t, first) in self.first_seen.items():   # onboarded before its file reached the repository
            if cid not in state and t >= when and first.live and first.onboarded and first.onboarded < day:
                state[cid] = first
        return state


def customer_history(root: Path, rev: str = "HEAD") -> History:
    import git
    repo = git.Repo(root, search_parent_directories=True)
    history = History()
    prev_blobs: dict[str, str] = {}
    prev: dict[str, CustomerState] = {}
    by_path: dict[str, tuple[str, CustomerState]] = {}
    for commit in repo.iter_commits(rev, paths=CUSTOMERS_DIR, first_parent=True, reverse=True):
        files = _customer_files(commit.tree)
        blobs = {p: b.hexsha for p, b in files.items()}
        for path in set(by_path) - set(files):
            del by_path[path]
        for path, blob in files.items():
            if prev_blobs.get(path) != blob.hexsha:
                parsed = _state(blob.data_stream.read(), PurePosixPath(path).stem)
                if parsed:
                    by_path[path] = parsed
                else:
                    by_path.pop(path, None)
        state = dict(by_path.values())
        when = commit.committed_datetime.astimezone(timezone.utc)
        for cid in sorted(set(prev) | set(state)):
            was = cid in prev and prev[cid].live
            now = cid in state and state[cid].live
            if cid in state and cid not in history.first_seen:
                history.first_seen[cid] = (when, state[cid])
            if was != now:
                day = when.date().isoformat()
                first = now and not any(e.customer == cid for e in history.events)
                if first and state[cid].onboarded and state[cid].onboarded < day:
                    day = state[cid].onboarded
                history.events.append(Event(cid, "acquired" if now else "churned", day, commit.hexsha[:12]))
        history.snapshots.append((when, state))
        prev, prev_blobs = state, blobs
    history.events.sort(key=lambda e: e.date)
    return history


def monthly(history: History, months: Iterable[Period]) -> list[Month]:
    out = []
    for m in months:
        start_state = history.state_at(m.start)
        end_state = history.state_at(m.end)
        live = sum(s.live for s in start_state.values())
        events = [e for e in history.events if m.start.date().isoformat() <= e.date < m.end.date().isoformat()]
        acquired = sum(e.kind == "acquired" for e in events)
        churned = sum(e.kind == "churned" for e in events)
        mrr: dict[str, Decimal] = {}
        for s in end_state.values():
            if s.live and s.status == "active":
                mrr[s.tier] = mrr.get(s.tier, ZERO) + s.price
        out.append(Month(m.label, live, acquired, churned, round(100 * churned / live, 2) if live else None,
                         dict(sorted(mrr.items()))))
    return out


def months_ending(period: Period, count: int = 12) -> list[Period]:
    labels, y, mo = [], period.start.year, period.start.month
    for _ in range(count):
        labels.append(f"{y:04d}-{mo:02d}")
        y, mo = (y, mo - 1) if mo > 1 else (y - 1, 12)
    return [parse_period(label) for label in reversed(labels)]


# ----------------------------------------------------------- SLA per tier


def sla_by_tier(plan, prom: Prometheus, period: Period) -> list[dict]:
    """Each active customer's availability over the period (mean probe_success,
    the SLO rules' SLI), grouped by tier against each customer's target."""
    from datetime import timedelta

    from ..targets.prometheus import PROBE_JOB
    at = period.end - timedelta(milliseconds=1)
    measured = {m["customer"]: v for m, v in prom.instant(
        f'avg by (customer) (avg_over_time(probe_success{{job="{PROBE_JOB}"}}[{period.window}]))', at)}
    rows = []
    for tier in plan.tiers_by_rank():
        cs = [c for c in plan.customers if c.active and c.tier_name == tier.name]
        got = [(c, measured[c.id]) for c in cs if c.id in measured]
        rows.append({"tier": tier.name, "targetPercent": tier.spec.sla.target_percent, "customers": len(cs),
                     "measured": len(got),
                     "meanAttainmentPercent": round(100 * sum(v for _, v in got) / len(got), 4) if got else None,
                     "worstAttainmentPercent": round(100 * min(v for _, v in got), 4) if got else None,
                     "met": sum(100 * v >= c.sla_target_percent for c, v in got),
                     "breached": sorted(c.id for c, v in got if 100 * v < c.sla_target_percent)})
    return rows


# ----------------------------------------------------------- deployment time

def deploy_time_rows(directory: Path | None, plan) -> list[dict] | None:
    """Deployment time per tier from the onboarding record (a checkout of the
    `deploy-times` branch: <customer>.jsonl files), read and summarized by
    compiler.business.deploytime, the module that owns that format (merged
    from the onboarding work; None while it is absent or no directory is given)."""
    if directory is None:
        return None
    try:
        from . import deploytime  # type: ignore[attr-defined]
    except ImportError:
        return None
    targets = {t.name: float(t.spec.deployment.target_hours) for t in plan.tiers_by_rank()}
    return [{"tier": r.tier, "deployments": r.done, "targetHours": r.target_hours,
             "medianHours": None if r.median_hours is None else round(r.median_hours, 2),
             "maxHours": None if r.worst_hours is None else round(r.worst_hours, 2),
             "overTarget": [c for c, _ in r.over_target], "pending": list(r.pending)}
            for r in deploytime.summarize(deploytime.load(Path(directory)), targets)]


def deploy_time_by_tier(records: Iterable[dict] | None) -> list[dict] | None:
    """records: {customer, tier, hours} each (hours from order to first healthy probe)."""
    if records is None:
        return None
    by: dict[str, list[float]] = {}
    for r in records:
        by.setdefault(str(r["tier"]), []).append(float(r["hours"]))
    return [{"tier": t, "deployments": len(v), "medianHours": round(sorted(v)[len(v) // 2] if len(v) % 2 else
                                                                      (sorted(v)[len(v) // 2 - 1] + sorted(v)[len(v) // 2]) / 2, 2),
             "maxHours": round(max(v), 2)} for t, v in sorted(by.items())]


# ----------------------------------------------------------- the page


@dataclass
class Kpis:
    period: str
    months: list[Month]
    events: list[Event]
    sla: list[dict] | None
    finance: dict
    deployTime: list[dict] | None
    # The last DR drill of each active Gold/Platinum customer (`clawtex dr-drill` records; None: no directory given).
    drills: list[dict] | None = None
    figures: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("figures")
        for month in d["months"]:
            month["mrrByTier"] = {t: json_number(v) for t, v in month["mrrByTier"].items()}
        return d


def build_kpis(root: Path, plan, period: Period, prom: Prometheus | None = None, rev: str = "HEAD",
               deploy_records: Iterable[dict] | None = None, deploy_dir: Path | None = None,
               figures: bool = True, drills_dir: Path | None = None) -> Kpis:
    from .report import build_report
    if period.start >= datetime.now(timezone.utc):
        raise ValueError(f"period {period.label} has not begun yet: no KPIs to show")
    history = customer_history(root, rev)
    months = monthly(history, months_ending(period))
    finance = build_report(plan).to_json()
    sla = sla_by_tier(plan, prom, period) if prom else None
    deploy = deploy_time_by_tier(deploy_records) if deploy_records is not None else deploy_time_rows(deploy_dir, plan)
    k = Kpis(period.label, months, [e for e in history.events if e.date < period.end.date().isoformat()],
             sla, finance, deploy, drill_rows(drills_dir, plan) if drills_dir is not None else None)
    if figures:
        from . import plots
        tiers = [t.name for t in plan.tiers_by_rank()]
        if any(v for m in months for v in m.mrrByTier.values()):     # no chart of zeros on a degenerate axis
            k.figures["mrr"] = plots.bars("MRR by tier at each month's end (USD)", [m.month for m in months],
                                          {t: [float(m.mrrByTier.get(t, ZERO)) for m in months] for t in tiers}, "USD",
                                          stacked=True)
        k.figures["churn"] = plots.bars(f"Customers acquired and churned per month (churn target < {CHURN_TARGET_PERCENT:g} %)",
                                        [m.month for m in months],
                                        {"acquired": [m.acquired for m in months], "churned": [m.churned for m in months]},
                                        "customers", colors={"acquired": "#16a34a", "churned": "#dc2626"}, counts=True)
        lines = [c for c in finance["customers"] if c["monthlyPrice"]]
        k.figures["margin"] = plots.bars("Gross margin per customer (%)", [c["id"] for c in lines],
                                         {"margin": [c["marginPercent"] for c in lines]}, "%")
        if sla:
            rows = [r for r in sla if r["meanAttainmentPercent"] is not None]
            k.figures["sla"] = plots.bars(f"Availability per tier, {period.label} (mean of customers)",
                                          [r["tier"] for r in rows],
                                          {"measured": [r["meanAttainmentPercent"] for r in rows],
                                           "target": [r["targetPercent"] for r in rows]}, "%",
                                          colors={"measured": "#2563eb", "target": "#9ca3af"}, ylim=(90, 100))
    return k


def drill_rows(records: Path, plan) -> list[dict]:
    """One row per active Gold/Platinum customer: its last drill's RPO/RTO against the promise, or that
    none is recorded (never a blank that reads as a pass). A failed last attempt is a row of its own
    shape: where and why it failed and when the last successful drill was; no RPO/RTO."""
    from .drill import last_drill_status
    rows = []
    for c in sorted((c for c in plan.customers if c.active and c.tier_name in ("gold", "platinum")), key=lambda c: c.id):
        d = last_drill_status(records, c.id)
        if d is None:
            rows.append({"customer": c.id, "tier": c.tier_name, "drillAt": None})
        elif not d["healthy"]:
            rows.append({"customer": c.id, "tier": c.tier_name, "drillAt": d["drill_at"], "healthy": False,
                         "failedStep": d["failed_step"], "failedStepText": d["failed_step_text"], "reason": d["reason"],
                         "lastSuccessAt": d["last_success"]})
        else:
            rows.append({"customer": c.id, "tier": c.tier_name, "drillAt": d["drill_at"], "rpoSeconds": d["rpo_seconds"],
                         "rpoPromiseSeconds": d["rpo_promise_seconds"], "rpoMet": d["rpo_met"], "rtoSeconds": d["rto_seconds"]})
    return rows


def render_kpis_html(k: Kpis) -> str:
    from .customer_report import _ENV
    from .report import Report, _price_note
    f = k.finance
    note = _price_note(Report((), (), 0, 0, 0, 0, (), f["pricesTakenOn"], f.get("pricesAgeDays"),
                              f.get("plansUnverified", 0), f.get("plansPriced", 0)))
    return _ENV.get_template("kpis.html.j2").render(k=k, target=CHURN_TARGET_PERCENT, price_note=note)
