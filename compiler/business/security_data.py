"""Security sources for Gold+ reports, read from the files the tools write.

- Wazuh alerts: `alerts.json` of the customer's manager
  (/var/ossec/logs/alerts/alerts.json, one JSON alert per line with
  `timestamp`, `rule.level`, `rule.groups`, `agent.name`). Rule levels run
  0..16 (Wazuh docs, "Rules classification":
  https://documentation.wazuh.com/current/user-manual/ruleset/rules/rules-classification.html);
  the buckets below follow the Wazuh dashboard's low/medium/high/critical.
- Wazuh agents: the server API's `GET /agents` answer
  (`data.affected_items[]` with `name`, `status`: active | disconnected |
  pending | never_connected; Wazuh server API reference).
- OpenVAS: Greenbone `get_reports` XML exports (GMP), one per scan:
  `report/scan_start` and `report/results/result/{host,threat,severity}`
  (GMP reference, "get_reports"). threat is High | Medium | Low | Log.

A missing file is reported as missing, never as "no findings".
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .metrics import Period

WAZUH_ALERTS = "wazuh-alerts.json"
WAZUH_AGENTS = "wazuh-agents.json"
OPENVAS_DIR = "openvas"
SEVERITIES = ("critical", "high", "medium", "low")
OPENVAS_THREATS = ("High", "Medium", "Low", "Log")


def wazuh_severity(level: int) -> str:
    if level >= 15:
        return "critical"
    if level >= 12:
        return "high"
    if level >= 7:
        return "medium"
    return "low"


def _when(text: str) -> datetime:
    # Wazuh writes 2026-10-03T12:00:00.123+0000 (no colon in the offset).
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z") if "." in text else datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")


@dataclass
class Security:
    missing: list[str] = field(default_factory=list)
    alerts_by_severity: dict[str, int] = field(default_factory=dict)
    alerts_by_group: dict[str, dict[str, int]] = field(default_factory=dict)   # group -> severity -> n
    alerts_total: int = 0
    agents: dict[str, int] = field(default_factory=dict)                       # status -> n
    agents_not_active: list[str] = field(default_factory=list)
    scans: list[dict] = field(default_factory=list)                            # [{date, High, Medium, Low, Log}]


def read_security(directory: Path | None, period: Period) -> Security:
    sec = Security()
    if directory is None:
        sec.missing = [WAZUH_ALERTS, WAZUH_AGENTS, f"{OPENVAS_DIR}/*.xml"]
        return sec
    alerts = directory / WAZUH_ALERTS
    if alerts.is_file():
        by_sev: Counter = Counter()
        by_group: dict[str, Counter] = {}
        for lineno, line in enumerate(alerts.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                alert = json.loads(line)
                when = _when(alert["timestamp"])
                level = int(alert["rule"]["level"])
                groups = list(alert["rule"].get("groups") or ["(none)"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{alerts}:{lineno}: not a Wazuh alert ({exc})") from None
            if not period.start <= when < period.end:
                continue
            sev = wazuh_severity(level)
            by_sev[sev] += 1
            for g in groups:
                by_group.setdefault(str(g), Counter())[sev] += 1
        sec.alerts_total = sum(by_sev.values())
        sec.alerts_by_severity = {s: by_sev.get(s, 0) for s in SEVERITIES}
        sec.alerts_by_group = {g: {s: c.get(s, 0) for s in SEVERITIES}
                               for g, c in sorted(by_group.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))}
    else:
        sec.missing.append(WAZUH_ALERTS)
    agents = directory / WAZUH_AGENTS
    if agents.is_file():
        items = json.loads(agents.read_text(encoding="utf-8"))["data"]["affected_items"]
        sec.agents = dict(sorted(Counter(str(a["status"]) for a in items).items()))
        sec.agents_not_active = sorted(str(a["name"]) for a in items if a["status"] != "active")
    else:
        sec.missing.append(WAZUH_AGENTS)
    reports = sorted((directory / OPENVAS_DIR).glob("*.xml")) if (directory / OPENVAS_DIR).is_dir() else []
    for path in reports:
        root = ET.parse(path).getroot()
        # get_reports_response/report/report: the outer report is the envelope, the inner one has the data
        report = next((r for r in root.iter("report") if r.find("scan_start") is not None), None)
        if report is None:
            raise ValueError(f"{path}: not a Greenbone report export (no report/scan_start)")
        start = datetime.fromisoformat(report.findtext("scan_start").replace("Z", "+00:00"))
        if not period.start <= start < period.end:
            continue
        threats = Counter(r.findtext("threat") for r in report.iter("result"))
        sec.scans.append({"date": start.date().isoformat(), **{t: threats.get(t, 0) for t in OPENVAS_THREATS}})
    sec.scans.sort(key=lambda s: s["date"])
    if not reports:
        sec.missing.append(f"{OPENVAS_DIR}/*.xml")
    return sec
