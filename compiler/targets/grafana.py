"""Grafana provisioned dashboards: a fleet overview (SLO attainment and error
budget per customer, one row per tier) and one per-customer dashboard
per customer with a dashboard tier, that customer fixed in every query
(customers/<id>.json, uid = the customer id). Stable uids, so links and
provisioning survive recompiles.

Panels query only the series the Prometheus rules record and the exporter
metrics listed in EXPORTER_METRICS (the test suite enforces both).
"""
from __future__ import annotations

from typing import Any

from ..formats import _dump_json, dump_json
from ..incremental import fingerprint, serialize_keyed
from ..escape import promql_string
from ..plan import (FLEET_DASHBOARD_UIDS, SERIES_CUSTOMER_BUDGET, SERIES_SLI, CustomerPlan, FleetPlan, SloPlan,
                    customer_dashboard_uid)

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Exporter metrics the dashboards use, by source. openclaw_channel_connected is
# clawtex's own (1/0 per channel, textfile collector); OpenClaw exports none.
EXPORTER_METRICS = {
    "node_exporter": ("node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
                      "node_filesystem_avail_bytes", "node_filesystem_size_bytes", "up"),
    "blackbox": ("probe_success", "probe_duration_seconds", "probe_ssl_earliest_cert_expiry"),
    "backup role (textfile)": ("clawtex_backup_last_success_timestamp_seconds",),
    "clawtex channel status (textfile)": ("openclaw_channel_connected",),
    "prometheus (alert state)": ("ALERTS",),
}


def attainment(slo: SloPlan, selector: str) -> str:
    return f"1 - {SERIES_SLI}{slo.period}{selector}"


def budget_left(slo: SloPlan, selector: str) -> str:
    """Share of the SLO period's error budget not yet spent (negative: overspent)."""
    return f"1 - {SERIES_SLI}{slo.period}{selector} / on (customer, tier) {SERIES_CUSTOMER_BUDGET}"


def _target(expr: str, legend: str, fmt: str = "time_series") -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": "A", "format": fmt,
            "instant": fmt == "table"}


def thresholds(base: str, *steps: tuple[str, float]) -> dict[str, Any]:
    """Grafana absolute thresholds: `base` below the first step, each (color, value) from its value up."""
    return {"mode": "absolute", "steps": [{"color": base, "value": None},
                                          *({"color": color, "value": value} for color, value in steps)]}


def panel(pid: int, title: str, kind: str, exprs: list[tuple[str, str]], x: int, y: int, w: int = 12,
          h: int = 8, unit: str = "short", steps: dict[str, Any] | None = None,
          bounds: tuple[float, float] | None = None) -> dict[str, Any]:
    """One panel; `steps` (thresholds()) colour a stat/table and draw lines on a time series."""
    targets = [_target(e, legend, "table" if kind == "table" else "time_series") for e, legend in exprs]
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    defaults: dict[str, Any] = {"unit": unit}
    if steps is not None:
        defaults["thresholds"] = steps
        defaults["color"] = {"mode": "thresholds"} if kind != "timeseries" else {"mode": "palette-classic"}
        if kind == "timeseries":
            defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    if bounds is not None:
        defaults["min"], defaults["max"] = bounds
    return {"id": pid, "title": title, "type": kind, "datasource": DATASOURCE, "targets": targets,
            "gridPos": {"x": x, "y": y, "w": w, "h": h}, "fieldConfig": {"defaults": defaults, "overrides": []}}


def _datasource_var() -> dict[str, Any]:
    return {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}


def dashboard(uid: str, title: str, panels: list[dict[str, Any]], variables: list[dict[str, Any]]) -> dict[str, Any]:
    return {"uid": uid, "title": title, "tags": ["clawtex"], "timezone": "utc", "schemaVersion": 39,
            "version": 1, "editable": False, "time": {"from": "now-7d", "to": "now"},
            "templating": {"list": [_datasource_var(), *variables]}, "panels": panels}


def fleet_overview(plan: FleetPlan) -> dict[str, Any]:
    panels, y, pid = [], 0, 1
    for tier in plan.tiers_by_rank():
        sel = f'{{tier="{tier.name}"}}'
        panels.append({"id": pid, "type": "row", "title": f"{tier.metadata.display_name or tier.name} "
                       f"(SLA {tier.spec.sla.target_percent}%)", "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
                       "collapsed": False, "panels": []})
        panels.append(panel(pid + 1, f"{tier.name}: {plan.slo.period_days}-day SLO attainment", "table",
                            [(attainment(plan.slo, sel), "{{customer}}")],
                            0, y + 1, unit="percentunit",
                            steps=thresholds("red", ("green", round(tier.spec.sla.target_percent / 100, 6)))))
        panels.append(panel(pid + 2, f"{tier.name}: error budget remaining", "bargauge",
                            [(budget_left(plan.slo, sel), "{{customer}}")],
                            12, y + 1, unit="percentunit", steps=thresholds("red", ("green", 0))))
        y, pid = y + 9, pid + 3
    return dashboard(FLEET_DASHBOARD_UIDS[0], "Clawtex fleet SLOs", panels, [])


def customer_dashboard(plan: FleetPlan, c: CustomerPlan) -> dict[str, Any]:
    return _customer_dashboard(plan.slo, c.tier, c.id, c.sla_target_percent, bool(c.custom_domain))


def _customer_dashboard(slo: SloPlan, tier: Any, cid: str, sla_target_percent: float,
                        custom_domain: bool) -> dict[str, Any]:
    """One customer's own dashboard (issue 27): the customer is fixed in every query, no
    variable lists or selects another. Thresholds are the customer's promises and the alert
    limits: the SLA target (its override, else the tier's), the error budget, the burn
    factors of tiers/slo-windows.yaml, the tier's backup schedule, and the disk, memory and
    TLS limits the alerts use."""
    from .prometheus import (CHANNEL_METRIC, DISK_FULL_RATIO, MEMORY_AVAILABLE_MIN_RATIO, PROBE_JOB,
                             TLS_EXPIRY_DAYS, backup_last_success, backup_max_age_seconds)
    c_sel = f'customer="{promql_string(_label_safe(cid))}"'
    probe = f'{{job="{PROBE_JOB}",{c_sel}}}'
    fs = f'{{{c_sel},fstype!~"tmpfs|overlay|squashfs"}}'
    sla = round(sla_target_percent / 100, 6)
    page, *tickets = slo.burn_alerts
    page_factor = min(f for _, _, f in page.windows)
    ticket_factor = min((f for a in tickets for _, _, f in a.windows), default=page_factor)
    panels = [
        panel(1, f"Uptime, last {slo.period_days} days (target {sla_target_percent:g}%)", "stat",
              [(attainment(slo, f"{{{c_sel}}}"), "uptime")], 0, 0, w=6, unit="percentunit",
              steps=thresholds("red", ("green", sla))),
        panel(2, "Error budget remaining", "stat", [(budget_left(slo, f"{{{c_sel}}}"), "budget")],
              6, 0, w=6, unit="percentunit", steps=thresholds("red", ("green", 0))),
        panel(3, "Health check success (5-minute average)", "timeseries",
              [(f"avg_over_time(probe_success{probe}[5m])", "{{instance}}")], 12, 0, unit="percentunit",
              steps=thresholds("red", ("green", sla)), bounds=(0, 1)),
        panel(4, "Health check response time", "timeseries",
              [(f"probe_duration_seconds{probe}", "{{instance}}")], 0, 8, unit="s"),
        panel(5, "Error budget burn rate (times the sustainable rate; 1 = budget spent exactly in the period)",
              "timeseries",
              [(f"{SERIES_SLI}{w}{{{c_sel}}} / on (customer, tier) {SERIES_CUSTOMER_BUDGET}", w)
               for w in slo.burn_windows], 12, 8, unit="none",
              steps=thresholds("green", ("yellow", ticket_factor), ("red", page_factor))),
        panel(6, "CPU busy", "timeseries",
              [(f'1 - avg by (host) (rate(node_cpu_seconds_total{{{c_sel},mode="idle"}}[$__rate_interval]))', "{{host}}")], 0, 16,
              unit="percentunit", bounds=(0, 1)),
        panel(7, "Memory available", "timeseries",
              [(f"node_memory_MemAvailable_bytes{{{c_sel}}} / node_memory_MemTotal_bytes{{{c_sel}}}", "{{host}}")],
              12, 16, unit="percentunit", steps=thresholds("red", ("green", MEMORY_AVAILABLE_MIN_RATIO)),
              bounds=(0, 1)),
        panel(8, "Disk used", "timeseries",
              [(f"1 - node_filesystem_avail_bytes{fs} / node_filesystem_size_bytes{fs}", "{{host}} {{mountpoint}}")],
              0, 24, unit="percentunit", steps=thresholds("green", ("red", DISK_FULL_RATIO)), bounds=(0, 1)),
        panel(9, "Channels connected (1 = connected)", "timeseries",
              [(f"{CHANNEL_METRIC}{{{c_sel}}}", "{{channel}}")], 12, 24, unit="bool_yes_no",
              steps=thresholds("red", ("green", 1)), bounds=(0, 1)),
    ]
    if tier.spec.backups:
        max_age = backup_max_age_seconds(tier)
        panels.append(panel(10, f"Time since last successful backup (limit {max_age // 3600} h "
                                f"{max_age % 3600 // 60} min)", "stat",
                            [(f"time() - {backup_last_success(f'{{{c_sel}}}')}", "{{host}}")], 0, 32, w=6, unit="s",
                            steps=thresholds("green", ("red", max_age))))
    if custom_domain:
        panels.append(panel(11, "TLS certificate expires in", "stat",
                            [(f"probe_ssl_earliest_cert_expiry{probe} - time()", "{{instance}}")], 6, 32, w=6,
                            unit="s", steps=thresholds("red", ("green", TLS_EXPIRY_DAYS * 86400))))
    return dashboard(customer_dashboard_uid(cid), f"Assistant status: {cid}", panels, [])


def _label_safe(value: str) -> str:
    from .prometheus import _label_safe as check
    return check(value)


def dashboard_customers(plan: FleetPlan) -> list[CustomerPlan]:
    """Customers given a dashboard: active, on a tier with customer dashboards."""
    return sorted((c for c in plan.customers if c.active and c.tier.spec.monitoring.customer_dashboards),
                  key=lambda c: c.id)


def kpi_dashboard(plan: FleetPlan) -> dict[str, Any]:
    """The live company KPIs (issue 21): uptime per tier against its SLA, channel
    uptime, backup freshness and alert counts. The monthly figures (churn, MRR,
    margins) are `clawtex report --html`; they come from git, not Prometheus."""
    from .prometheus import BACKUP_MAX_AGE, CHANNEL_METRIC, SLI, backup_last_success
    panels: list[dict[str, Any]] = []
    period, days = plan.slo.period, plan.slo.period_days
    for i, tier in enumerate(plan.tiers_by_rank()):
        panels.append(panel(1 + i, f"{tier.name}: uptime, {days} days (SLA {tier.spec.sla.target_percent}%)", "stat",
                            [(f'1 - avg({SLI}{period}{{tier="{tier.name}"}})', tier.name)],
                            6 * i, 0, w=6, h=5, unit="percentunit",
                            steps=thresholds("red", ("green", round(tier.spec.sla.target_percent / 100, 6)))))
    n = len(panels)
    panels += [
        panel(n + 1, f"Uptime per tier ({days}-day SLI, mean of customers)", "timeseries",
              [(f"1 - avg by (tier) ({SLI}{period})", "{{tier}}")], 0, 5, unit="percentunit"),
        panel(n + 2, f"Customers under their SLA target ({days} days)", "timeseries",
              [(f"count by (tier) ({SLI}{period} > on (customer, tier) {SERIES_CUSTOMER_BUDGET})", "{{tier}}")],
              12, 5),
        panel(n + 3, f"Channel uptime per channel type ({days} days)", "bargauge",
              [(f"avg by (channel) (avg_over_time({CHANNEL_METRIC}[{period}]))", "{{channel}}")], 0, 13, unit="percentunit"),
        panel(n + 4, "Channels disconnected now", "stat", [(f"count({CHANNEL_METRIC} == 0) or vector(0)", "channels")],
              12, 13, w=6),
        panel(n + 5, "Backups overdue now", "stat",
              [(f"count((time() - {backup_last_success()}) > on (tier) group_left () {BACKUP_MAX_AGE}) or vector(0)", "customers")],
              18, 13, w=6),
        panel(n + 6, "Age of the newest backup, worst per tier", "timeseries",
              [(f"max by (tier) (time() - {backup_last_success()})", "{{tier}}")], 12, 18, h=8, unit="s"),
        panel(n + 7, "Firing alerts by name and severity", "table",
              [('count by (alertname, severity) (ALERTS{alertstate="firing"})', "{{alertname}}")], 0, 21, h=8),
    ]
    return dashboard(FLEET_DASHBOARD_UIDS[1], "Clawtex KPIs", panels, [])


def render(plan: FleetPlan) -> dict[str, bytes]:
    out = {
        "grafana/dashboards/fleet-overview.json": dump_json(fleet_overview(plan)),
        "grafana/dashboards/kpis.json": dump_json(kpi_dashboard(plan)),
    }
    # A customer's dashboard is built from the SLO windows, its tier and three facts of its
    # own (_customer_dashboard's arguments): memoized by exactly those, the fleet-wide two
    # by one fingerprint, so an unchanged customer's dashboard is not built again.
    fleet = fingerprint(plan.slo, sorted(plan.tiers.items()))
    for c in dashboard_customers(plan):
        # the fleet's own tier object is in `fleet` already; any other tier by its own value
        tier_key = c.tier.name if plan.tiers.get(c.tier.name) is c.tier else fingerprint(c.tier)
        facts = (c.id, c.sla_target_percent, bool(c.custom_domain))
        out[f"grafana/dashboards/customers/{c.id}.json"] = serialize_keyed(
            "grafana-customer", (fleet, tier_key, *facts),
            lambda tier=c.tier, facts=facts: _dump_json(_customer_dashboard(plan.slo, tier, *facts)))
    return out
