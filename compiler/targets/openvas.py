"""OpenVAS / Greenbone scan targets and schedules for tiers that include them.

Generated as data (generated/openvas/targets.json) that the Ansible `openvas`
role feeds to the scanner (gvm-cli): one target per customer with its hosts
and custom domain, the port list, the scan config and an iCalendar schedule.
Scans of different customers start at different hours (a stable offset from
the id), so the scanner is not asked to scan the whole fleet at once.
"""
from __future__ import annotations

import zlib

from ..formats import dump_json
from ..plan import CustomerPlan, FleetPlan

PORT_LIST = "All IANA assigned TCP and UDP"
SCAN_CONFIG = "Full and fast"
SPREAD_HOURS = 6


def schedule(c: CustomerPlan) -> str:
    rule = c.tier.spec.openvas_schedule or "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2"
    offset = zlib.crc32(c.id.encode()) % SPREAD_HOURS
    parts = dict(p.split("=", 1) for p in rule.split(";"))
    if "BYHOUR" in parts:
        parts["BYHOUR"] = ",".join(str((int(h) + offset) % 24) for h in parts["BYHOUR"].split(","))
    return ";".join(f"{k}={v}" for k, v in parts.items())


def target(c: CustomerPlan, plan: FleetPlan) -> dict:
    hosts = sorted({*c.hosts, *([c.wazuh_manager] if c.wazuh_manager else []), *([c.custom_domain] if c.custom_domain else [])})
    return {
        "customer": c.id,
        "name": f"clawtex-{c.id}",
        "tier": c.tier_name,
        "hosts": hosts,
        "portList": PORT_LIST,
        "scanConfig": SCAN_CONFIG,
        "aliveTest": "ICMP, TCP-ACK Service & ARP Ping",
        "schedule": {"rrule": schedule(c), "timezone": "UTC"},
        "alertEmail": next((ct.email for ct in c.contacts if ct.role == "security"), plan.settings.spec.ops.alert_email),
    }


def render(plan: FleetPlan) -> dict[str, bytes]:
    targets = [target(c, plan) for c in plan.customers if c.tier.spec.openvas and c.active]
    if not targets:
        return {}
    return {"openvas/targets.json": dump_json({"targets": targets})}
