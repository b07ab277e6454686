"""Grafana provisioned dashboards: a fleet overview (SLO attainment and error
budget per customer, one row per tier) and one per-customer dashboard
templated on $customer. Stable uids, so links and provisioning survive
recompiles.

Panels query only the series the Prometheus rules record and the exporter
metrics listed in EXPORTER_METRICS (the test suite enforces both).
"""
from __future__ import annotations

from typing import Any

from ..formats import dump_json
from ..plan import CUSTOMER_DASHBOARD_UID, SERIES_CUSTOMER_BUDGET, SERIES_SLI, FleetPlan, SloPlan

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


def panel(pid: int, title: str, kind: str, exprs: list[tuple[str, str]], x: int, y: int, w: int = 12,
          h: int = 8, unit: str = "short") -> dict[str, Any]:
    targets = [_target(e, legend, "table" if kind == "table" else "time_series") for e, legend in exprs]
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    return {"id": pid, "title": title, "type": kind, "datasource": DATASOURCE, "targets": targets,
            "gridPos": {"x": x, "y": y, "w": w, "h": h}, "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}}


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
                            0, y + 1, unit="percentunit"))
        panels.append(panel(pid + 2, f"{tier.name}: error budget remaining", "bargauge",
                            [(budget_left(plan.slo, sel), "{{customer}}")],
                            12, y + 1, unit="percentunit"))
        y, pid = y + 9, pid + 3
    return dashboard("clawtex-fleet", "Clawtex fleet SLOs", panels, [])


def customer_dashboard(slo: SloPlan) -> dict[str, Any]:
    c = 'customer="$customer"'
    variable = {"name": "customer", "type": "query", "label": "Customer", "datasource": DATASOURCE,
                "query": {"query": "label_values(probe_success, customer)", "refId": "customer"},
                "definition": "label_values(probe_success, customer)", "refresh": 2, "sort": 1}
    panels = [
        panel(1, f"Uptime ({slo.period_days} days)", "stat", [(attainment(slo, f"{{{c}}}"), "uptime")],
              0, 0, w=6, unit="percentunit"),
        panel(2, "Error budget remaining", "stat", [(budget_left(slo, f"{{{c}}}"), "budget")],
              6, 0, w=6, unit="percentunit"),
        panel(3, "Health probe", "timeseries", [(f"probe_success{{{c}}}", "{{instance}}"),
                                                (f"probe_duration_seconds{{{c}}}", "latency {{instance}}")], 12, 0),
        panel(4, "Burn rate (x budget)", "timeseries",
              [(f"{SERIES_SLI}{w}{{{c}}} / on (customer, tier) {SERIES_CUSTOMER_BUDGET}", w)
               for w in slo.burn_windows], 0, 8),
        panel(5, "CPU busy", "timeseries",
              [(f'1 - avg by (host) (rate(node_cpu_seconds_total{{{c},mode="idle"}}[5m]))', "{{host}}")], 12, 8,
              unit="percentunit"),
        panel(6, "Memory available", "timeseries",
              [(f"node_memory_MemAvailable_bytes{{{c}}} / node_memory_MemTotal_bytes{{{c}}}", "{{host}}")], 0, 16,
              unit="percentunit"),
        panel(7, "Disk used", "timeseries",
              [(f'1 - node_filesystem_avail_bytes{{{c},fstype!~"tmpfs|overlay|squashfs"}} / '
                f'node_filesystem_size_bytes{{{c},fstype!~"tmpfs|overlay|squashfs"}}', "{{host}} {{mountpoint}}")],
              12, 16, unit="percentunit"),
        panel(8, "Time since last successful backup", "stat",
              [(f"time() - clawtex_backup_last_success_timestamp_seconds{{{c}}}", "{{host}}")], 0, 24, w=6, unit="s"),
        panel(9, "TLS certificate expires in", "stat",
              [(f"probe_ssl_earliest_cert_expiry{{{c}}} - time()", "{{instance}}")], 6, 24, w=6, unit="s"),
        panel(10, "Channels connected", "timeseries", [(f"openclaw_channel_connected{{{c}}}", "{{channel}}")], 12, 24),
    ]
    return dashboard(CUSTOMER_DASHBOARD_UID, "Customer overview", panels, [variable])


def kpi_dashboard(plan: FleetPlan) -> dict[str, Any]:
    """The live company KPIs (issue 21): uptime per tier against its SLA, channel
    uptime, backup freshness and alert counts. The monthly figures (churn, MRR,
    margins) are `clawtex report --html`; they come from git, not Prometheus."""
    from .prometheus import BACKUP_MAX_AGE, BACKUP_METRIC, CHANNEL_METRIC, SLI
    panels: list[dict[str, Any]] = []
    period, days = plan.slo.period, plan.slo.period_days
    for i, tier in enumerate(plan.tiers_by_rank()):
        panels.append(panel(1 + i, f"{tier.name}: uptime, {days} days (SLA {tier.spec.sla.target_percent}%)", "stat",
                            [(f'1 - avg({SLI}{period}{{tier="{tier.name}"}})', tier.name)],
                            6 * i, 0, w=6, h=5, unit="percentunit"))
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
              [(f"count((time() - {BACKUP_METRIC}) > on (tier) group_left () {BACKUP_MAX_AGE}) or vector(0)", "customers")],
              18, 13, w=6),
        panel(n + 6, "Age of the newest backup, worst per tier", "timeseries",
              [(f"max by (tier) (time() - {BACKUP_METRIC})", "{{tier}}")], 12, 18, h=8, unit="s"),
        panel(n + 7, "Firing alerts by name and severity", "table",
              [('count by (alertname, severity) (ALERTS{alertstate="firing"})', "{{alertname}}")], 0, 21, h=8),
    ]
    return dashboard("clawtex-kpis", "Clawtex KPIs", panels, [])


def render(plan: FleetPlan) -> dict[str, bytes]:
    return {
        "grafana/dashboards/fleet-overview.json": dump_json(fleet_overview(plan)),
        "grafana/dashboards/customer.json": dump_json(customer_dashboard(plan.slo)),
        "grafana/dashboards/kpis.json": dump_json(kpi_dashboard(plan)),
    }
