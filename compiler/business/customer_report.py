"""`clawtex customer-report ID --period 2026-10`: the report a customer receives
for a month (or quarter), from the fleet's Prometheus and, for the security
section, the Wazuh/OpenVAS result files.

What each tier gets follows the founding document's promises (Bronze monthly
usage report, Silver monthly performance report, Gold quarterly security audit,
Platinum quarterly business review); see SECTIONS. Every number comes from a
PromQL query over the series clawtex's Prometheus collects (names imported
from compiler.targets.prometheus, the one place they are defined):

- uptime: mean of `probe_success` (job openclaw-probe) over the period, the
  same SLI as the SLO rules (`1 - avg_over_time(probe_success)`).
- incidents: maximal runs of failed probes at 5-minute resolution.
- channels: mean of `openclaw_channel_connected` per channel; disconnections
  as runs of 0. OpenClaw exports no message counts, so message volume is not
  reported (said so on the page).
- backups: `changes()` of `clawtex_backup_last_success_timestamp_seconds`
  (successful runs), and the time the newest backup was older than the tier's
  interval plus the BackupStale grace.
- 30-day SLO: attainment over the 30 days ending with the period; error budget
  = 1 - target; spent = (1 - attainment) / budget.
- regions (multi-region tiers): a region is up while any of its node
  exporters is (`max by (region) (up{job="node"})`); a failover event is a
  region going down while another stays up.
"""
from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from ..money import ZERO, exact, json_number, to_cents
from ..escape import promql_string
from ..plan import CustomerPlan, FleetPlan
from ..targets.prometheus import BACKUP_GRACE_SECONDS, BACKUP_METRIC, CHANNEL_METRIC, NODE_JOB, PROBE_JOB
from . import plots
from .metrics import Period, Prometheus, step_for
from .security_data import OPENVAS_THREATS, SEVERITIES, Security, read_security
from .sla import credit_percent

STEP = 300            # incident resolution (seconds); the probe interval is 15 s
TREND_STEP = 3600     # resource trends
SLO_DAYS = 30
# Section sets by tier rank (founding document: what each tier's reports promise).
SECTIONS = {
    1: ("uptime", "channels", "incidents"),
    2: ("uptime", "channels", "incidents", "resources", "backups", "slo"),
    3: ("uptime", "channels", "incidents", "resources", "backups", "slo", "security", "credits"),
    4: ("uptime", "channels", "incidents", "resources", "backups", "slo", "security", "credits", "regions",
        "compliance"),
}
from .supportterms import VENDOR  # noqa: E402  (one name for us)


def sections_for(c: CustomerPlan) -> tuple[str, ...]:
    return SECTIONS[min(max(c.tier.spec.rank, 1), max(SECTIONS))]


# Quarterly documents (founding document): Gold security audits, Platinum business reviews.
QUARTERLY_FROM_RANK = 3


def reports_due(plan: FleetPlan, cadence: str) -> list[tuple[str, str, str]]:
    """(customer, tier, recipient) for the monthly run (every active customer) or
    the quarterly one (Gold and up). The recipient is the primary contact."""
    out = []
    for c in sorted(plan.customers, key=lambda c: c.id):
        if not c.active or (cadence == "quarterly" and c.tier.spec.rank < QUARTERLY_FROM_RANK):
            continue
        primary = next((p for p in c.contacts if p.role == "primary"), c.contacts[0] if c.contacts else None)
        out.append((c.id, c.tier_name, primary.email if primary else ""))
    return out


class NoDataError(ValueError):
    """The period has no series for this customer: there is nothing to report,
    and a document without data is refused rather than rendered as results."""


class FuturePeriodError(ValueError):
    """The period has not started yet."""


def effective_period(period: Period, now: datetime) -> tuple[Period, bool]:
    """The part of `period` that has happened by `now` (minute-aligned), and
    whether the period is still in progress. A period that has not started is
    refused: nothing in it has been measured."""
    if period.start >= now:
        raise FuturePeriodError(f"period {period.label} starts {period.start:%Y-%m-%d} and has not begun yet "
                                f"(now {now:%Y-%m-%d %H:%M} UTC): nothing to report")
    if period.end <= now:
        return period, False
    until = now.replace(second=0, microsecond=0)
    return Period(period.label, period.start, until), True


def check_security_dir(security_dir: Path | None) -> None:
    """`--security DIR` must be a directory: a mistyped path must not turn into
    "no findings"."""
    if security_dir is not None and not security_dir.is_dir():
        raise ValueError(f"--security {security_dir}: no such directory (give the directory holding "
                         "wazuh-alerts.json, wazuh-agents.json and openvas/*.xml, or leave --security out "
                         "and the report says the security data is missing)")


@dataclass
class Incident:
    start: str
    end: str
    minutes: int


@dataclass
class CustomerReport:
    customer: str
    display_name: str
    tier: str
    period: str
    brand: str
    white_label: bool
    sections: tuple[str, ...]
    uptime_percent: float | None
    target_percent: float
    incidents: list[Incident]
    downtime_minutes: int
    channels: dict[str, float]                        # channel -> connected %
    channel_disconnections: dict[str, list[Incident]]
    resources: dict[str, float] = field(default_factory=dict)      # cpu/memory/disk mean %
    backups: dict | None = None
    slo: dict | None = None
    credit: dict | None = None
    security: Security | None = None
    regions: dict | None = None
    compliance: list[dict] | None = None
    figures: dict[str, str] = field(default_factory=dict)
    in_progress: bool = False            # the period has not ended: numbers so far
    measured_until: str = ""             # YYYY-MM-DD HH:MM (UTC) the numbers run to
    missing: list[str] = field(default_factory=list)      # sections without data, said plainly on the page


def _sel(*matchers: str, **labels: str) -> str:
    """A PromQL selector: label values escaped as PromQL strings (compiler/escape.py), then any
    further fixed matchers."""
    return "{" + ",".join([f'{k}="{promql_string(v)}"' for k, v in labels.items()] + list(matchers)) + "}"


def runs_of_zero(points: list[tuple[float, float]], step: int) -> list[Incident]:
    """Maximal runs of samples below 1 (a failed probe / a disconnected channel)."""
    out, start = [], None
    for t, v in points:
        if v < 1 and start is None:
            start = t
        if v >= 1 and start is not None:
            out.append((start, t))
            start = None
    if start is not None:
        out.append((start, points[-1][0] + step))
    return [Incident(_iso(a), _iso(b), int(round((b - a) / 60))) for a, b in out]


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M")


def _ratio(prom: Prometheus, query: str, at) -> float | None:
    return prom.scalar(query, at)


def build_customer_report(plan: FleetPlan, cid: str, period: Period, prom: Prometheus,
                          security_dir: Path | None = None, figures: bool = True,
                          now: datetime | None = None) -> CustomerReport:
    c = plan.customer(cid)
    sections = sections_for(c)
    check_security_dir(security_dir)
    period, in_progress = effective_period(period, now or datetime.now(timezone.utc))
    at = period.end - timedelta(milliseconds=1)   # the window ends just before the next period starts
    probe = _sel(job=PROBE_JOB, customer=c.id)
    uptime = _ratio(prom, f"avg by (customer) (avg_over_time(probe_success{probe}[{period.window}]))", at)
    step = step_for(period, STEP)
    probe_series = prom.range(f"min by (customer) (probe_success{probe})", period, step)
    if uptime is None or not probe_series:
        raise NoDataError(f"{c.id}: no health-probe samples (probe_success{probe}) in {period.label} "
                          f"({period.start:%Y-%m-%d} to {period.end:%Y-%m-%d %H:%M} UTC) at {prom_url(prom)}; "
                          "refusing to write a report without data")
    incidents = runs_of_zero(probe_series[0][1], step)
    chan = _sel(customer=c.id)
    channels = {m.get("channel", "?"): round(v * 100, 3) for m, v in prom.instant(
        f"avg by (channel) (avg_over_time({CHANNEL_METRIC}{chan}[{period.window}]))", at)}
    channel_series = {m.get("channel", "?"): pts for m, pts in
                      prom.range(f"min by (channel) ({CHANNEL_METRIC}{chan})", period, step)}
    r = CustomerReport(
        customer=c.id, display_name=c.display_name, tier=c.tier_name, period=period.label,
        brand=c.display_name if c.white_label else VENDOR, white_label=c.white_label, sections=sections,
        uptime_percent=None if uptime is None else round(uptime * 100, 4), target_percent=c.sla_target_percent,
        incidents=incidents, downtime_minutes=sum(i.minutes for i in incidents), channels=dict(sorted(channels.items())),
        channel_disconnections={ch: runs_of_zero(pts, step) for ch, pts in sorted(channel_series.items())},
        in_progress=in_progress, measured_until=f"{period.end:%Y-%m-%d %H:%M}")
    if not channels:
        r.missing.append("channels")
    if figures and probe_series:
        r.figures["uptime"] = plots.lines("Health probe (share of checks passing, 5-minute resolution)",
                                          {"uptime": probe_series[0][1]}, "%", percent=True, ylim=(-5, 105))
    if figures and channel_series:
        r.figures["channels"] = plots.lines("Channels connected (1 = connected)",
                                            dict(sorted(channel_series.items())), "", ylim=(-0.1, 1.1))
    if "resources" in sections:
        node = _sel(job=NODE_JOB, customer=c.id)
        disk = _sel('fstype!~"tmpfs|overlay|squashfs"', job=NODE_JOB, customer=c.id)
        cpu = _sel('mode="idle"', job=NODE_JOB, customer=c.id)
        queries = {
            "CPU busy": f"1 - avg by (customer) (rate(node_cpu_seconds_total{cpu}[1h]))",
            "memory used": f"1 - sum by (customer) (node_memory_MemAvailable_bytes{node}) / sum by (customer) (node_memory_MemTotal_bytes{node})",
            "disk used": (f"1 - sum by (customer) (node_filesystem_avail_bytes{disk})"
                          f" / sum by (customer) (node_filesystem_size_bytes{disk})"),
        }
        trend_step = step_for(period, TREND_STEP)
        trends = {}
        for name, q in queries.items():
            got = prom.range(q, period, trend_step)
            if got:
                trends[name] = got[0][1]
                r.resources[name] = round(100 * sum(v for _, v in got[0][1]) / len(got[0][1]), 2)
        if not trends:
            r.missing.append("resources")
        if figures and trends:
            r.figures["resources"] = plots.lines("CPU, memory and disk use (hourly)", trends, "%", percent=True,
                                                 ylim=(0, 100))
    if "backups" in sections and c.tier.spec.backups:
        interval = c.tier.spec.backups.interval_hours * 3600
        max_age = interval + BACKUP_GRACE_SECONDS
        b = f"max by (customer) ({BACKUP_METRIC}{_sel(customer=c.id)})"
        done = _ratio(prom, f"max by (customer) (changes({BACKUP_METRIC}{_sel(customer=c.id)}[{period.window}]))", at)
        stale = _ratio(prom, f"sum_over_time(((time() - {b}) > bool {max_age})[{period.window}:{step}s])", at)
        expected = period.seconds // interval
        if done is None:
            r.missing.append("backups")
        r.backups = {"measured": done is not None, "successful": int(done or 0), "expected": expected,
                     "successPercent": round(100 * min(done or 0, expected) / expected, 2) if expected else None,
                     "staleMinutes": int((stale or 0) * step / 60), "maxAgeHours": round(max_age / 3600, 2),
                     "retentionDays": c.tier.spec.backups.retention_days,
                     "crossRegion": c.tier.spec.backups.cross_region}
        if figures:
            # the worst age in each hour (the 5-minute sawtooth of an hourly schedule is unreadable)
            hour = step_for(period, TREND_STEP)
            age = prom.range(f"max_over_time(((time() - {b}) / 3600)[{hour}s:{step}s])", period, hour)
            if age:
                r.figures["backups"] = plots.lines("Age of the newest successful backup, worst per hour (hours)",
                                                   {"age": age[0][1]}, "hours", hline=max_age / 3600)
    if "slo" in sections:
        att = _ratio(prom, f"avg by (customer) (avg_over_time(probe_success{probe}[{SLO_DAYS}d]))", at)
        budget = 1 - c.sla_target_percent / 100
        r.slo = {"windowDays": SLO_DAYS, "attainmentPercent": None if att is None else round(att * 100, 4),
                 "targetPercent": c.sla_target_percent, "errorBudgetMinutes": round(budget * SLO_DAYS * 1440, 1),
                 "budgetSpentPercent": None if att is None or not budget else round(100 * (1 - att) / budget, 1)}
    if "credits" in sections and r.uptime_percent is not None:
        pct = credit_percent(c, r.uptime_percent)
        r.credit = {"breached": r.uptime_percent < c.sla_target_percent, "creditPercent": pct,
                    "creditAmount": json_number(to_cents(c.monthly_price * exact(pct) / 100)), "currency": c.tier.spec.price.currency}
    if "security" in sections:
        r.security = read_security(security_dir, period)
        if figures and r.security.alerts_by_group:
            top = list(r.security.alerts_by_group.items())[:8]
            r.figures["wazuh"] = plots.bars("Wazuh alerts by rule group and severity", [g for g, _ in top],
                                            {s: [float(v[s]) for _, v in top] for s in SEVERITIES}, "alerts",
                                            stacked=True, colors=SEVERITY_COLORS, counts=True)
        if figures and r.security.scans:
            r.figures["openvas"] = plots.bars("OpenVAS findings per scan", [s["date"] for s in r.security.scans],
                                              {t: [float(s[t]) for s in r.security.scans] for t in OPENVAS_THREATS[:3]},
                                              "findings", stacked=True, counts=True,
                                              colors={"High": "#dc2626", "Medium": "#d97706", "Low": "#2563eb"})
    if "regions" in sections:
        node = f'{{job="{NODE_JOB}",customer="{c.id}",role!="wazuh_manager"}}'
        per_region = {m.get("region", "?"): pts for m, pts in prom.range(f"max by (region) (up{node})", period, step)}
        if not per_region:
            r.missing.append("regions")
        avail = {reg: round(100 * sum(v for _, v in pts) / len(pts), 4) for reg, pts in sorted(per_region.items())}
        r.regions = {"availability": avail, "failovers": failovers(per_region, step)}
        if figures and per_region:
            r.figures["regions"] = plots.lines("Region up (any node answering)", dict(sorted(per_region.items())),
                                               "", ylim=(-0.1, 1.1))
    if "compliance" in sections:
        siem = c.tier.spec.siem
        rows = [{"framework": "security logs (Wazuh)", "retentionDays": siem.log_retention_days}]
        rows += [{"framework": f, "retentionDays": (siem.compliance_retention_days or {}).get(f, siem.log_retention_days)}
                 for f in c.compliance]
        if c.tier.spec.backups:
            rows.append({"framework": "backups (restic)", "retentionDays": c.tier.spec.backups.retention_days})
        r.compliance = rows
    return r


SEVERITY_COLORS = {"critical": "#7f1d1d", "high": "#dc2626", "medium": "#d97706", "low": "#2563eb"}


def prom_url(prom) -> str:
    return getattr(prom, "url", "the Prometheus given")


def failovers(per_region: dict[str, list[tuple[float, float]]], step: int) -> list[dict]:
    """A region going down (1 -> 0) while at least one other region is up."""
    events = []
    for region, pts in sorted(per_region.items()):
        others = [dict(p) for r, p in per_region.items() if r != region]
        prev = None
        for t, v in pts:
            if prev == 1 and v < 1 and any(o.get(t, 0) >= 1 for o in others):
                events.append({"region": region, "at": _iso(t)})
            prev = v
    return sorted(events, key=lambda e: e["at"])


# ---------------------------------------------------------------- rendering

_ENV = Environment(loader=PackageLoader("compiler", "templates/reports"), autoescape=select_autoescape(["html", "j2"]),
                   trim_blocks=True, lstrip_blocks=True)


def render_html(r: CustomerReport) -> str:
    return _ENV.get_template("customer.html.j2").render(r=r, severities=SEVERITIES, threats=OPENVAS_THREATS)


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium(args: list[str], html: str, chromium_bin: str = "chromium", timeout: int = 90) -> None:
    """Run headless Chromium on `html` (a temp file) with a throwaway profile."""
    with tempfile.TemporaryDirectory(prefix="clawtex-chromium-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html, encoding="utf-8")
        cmd = [chromium_bin, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile", *args, page.as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")


def render_pdf(html: str, out: Path, chromium_bin: str = "chromium") -> None:
    """PDF by Chromium's own print path (`--print-to-pdf`), the renderer a person's browser uses."""
    chromium([f"--print-to-pdf={out}", "--no-pdf-header-footer"], html, chromium_bin)
    if not out.is_file() or not out.read_bytes().startswith(b"%PDF-"):
        raise RuntimeError(f"chromium wrote no PDF to {out}")


def screenshot(html: str, out: Path, size: str = "1000,1400", chromium_bin: str = "chromium") -> None:
    chromium([f"--screenshot={out}", f"--window-size={size}", "--hide-scrollbars"], html, chromium_bin)
    if not out.is_file() or not out.read_bytes().startswith(b"\x89PNG"):
        raise RuntimeError(f"chromium wrote no screenshot to {out}")
