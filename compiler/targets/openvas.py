"""OpenVAS / Greenbone scan targets and schedules for tiers that include them.

Generated as data (generated/openvas/targets.json) that the Ansible `openvas`
role feeds to the scanner (gvm-cli): one target per customer with its hosts
and custom domain, the port list, the scan config and an iCalendar schedule.
The schedule comes from the plan (plan.scan_schedule), which gives the systemd
timer that starts the scan the same times.
"""
from __future__ import annotations

from ..formats import dump_json
from ..plan import CustomerPlan, FleetPlan

PORT_LIST = "All IANA assigned TCP and UDP"
SCAN_CONFIG = "Full and fast"


def target(c: CustomerPlan, plan: FleetPlan) -> dict:
    hosts = sorted({*plan.server_names(c), *([c.wazuh_manager] if c.wazuh_manager else []), *([c.custom_domain] if c.custom_domain else [])})
    return {
        "customer": c.id,
        "name": f"clawtex-{c.id}",
        "tier": c.tier_name,
        "hosts": hosts,
        "portList": PORT_LIST,
        "scanConfig": SCAN_CONFIG,
        "aliveTest": "ICMP, TCP-ACK Service & ARP Ping",
        "schedule": {"rrule": c.vulnerability_scan.rrule, "timezone": "UTC"},
        "alertEmail": next((ct.email for ct in c.contacts if ct.role == "security"), plan.settings.spec.ops.alert_email),
    }


def render(plan: FleetPlan) -> dict[str, bytes]:
    targets = [target(c, plan) for c in plan.customers if c.vulnerability_scan and c.active]
    if not targets:
        return {}
    return {"openvas/targets.json": dump_json({"targets": targets})}
