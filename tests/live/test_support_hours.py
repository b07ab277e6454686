"""Support hours, live: Debian's Alertmanager runs generated/alertmanager/alertmanager.yml
(with the receiver overlay of test_monitoring: sinks instead of PagerDuty,
Opsgenie, Slack, SMTP; group_wait/group_interval 1s) at four Berlin instants,
and each tier's page reaches our staff only inside that tier's coverage.

How the instant is set (tests/live/clock.py): Alertmanager checks
`active_time_intervals`/`mute_time_intervals` at notify time with the real
clock in the interval's `location`. The config is not touched; the Alertmanager
process gets ZONEINFO=<dir> in which `Europe/Berlin` is a fixed offset making
*now* read as the instant under test. The real clock, the intervals, holidays
and routes stay as generated. Every instant has at least one tier notified and
one tier not (Platinum is always staffed), and Bronze is staffed at one instant
and not at the others, so a zoneinfo file Alertmanager ignored could not pass.

Expected receivers: tests/test_support_coverage.py STAFFED_AT (the founding
document's table written out by hand), not tiers/*.yaml.
"""
from __future__ import annotations

import json
import time
import urllib.request
from contextlib import ExitStack
from datetime import datetime, timezone

import pytest
import yaml

from live.clock import zoneinfo_at
from live.conftest import REPO, require_tool
from live.sinks import HttpSink, SmtpSink, free_port
from live.test_monitoring import INSTALL, TOOLS, alertmanager_overlay, process, wait_http
from test_support_coverage import CUSTOMERS, STAFFED_AT

GEN = REPO / "generated"
ALERT = "OpenClawErrorBudgetBurnFast"
# Wednesday morning, Wednesday evening, Saturday, a holiday on a Friday.
LIVE = [(i, s) for i, s in STAFFED_AT if (i.month, i.day, i.hour) in {(11, 25, 10), (11, 25, 18), (11, 28, 10),
                                                                      (12, 25, 10)}]
SETTLE = 5          # seconds after the expected deliveries in which nothing else may arrive (5 group_intervals)


def post_alerts(am_url: str) -> None:
    now = datetime.now(timezone.utc).isoformat()
    alerts = [{"labels": {"alertname": ALERT, "severity": "page", "tier": tier, "customer": customer},
               "annotations": {"summary": f"coverage probe for {customer}"}, "startsAt": now}
              for tier, (customer, _) in CUSTOMERS.items()]
    req = urllib.request.Request(f"{am_url}/api/v2/alerts", data=json.dumps(alerts).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200


def staff_deliveries(http: HttpSink, smtp: SmtpSink, ops_email: str) -> set[tuple[str, str]]:
    """(customer, receiver) for every notification to our staff: ops Discord/email and the pagers."""
    out = set()
    for d in http.deliveries:
        kind, name = d.path.split("/")[1:3]
        if kind == "slack" and name.startswith("slack-"):
            continue                       # the customer's own Slack: not staff
        for customer, _ in CUSTOMERS.values():
            if customer in json.dumps(d.body):
                out.add((customer, "ops-discord" if name == "ops" else name))
    for m in smtp.messages:
        for customer, _ in CUSTOMERS.values():
            if customer in m.data and ops_email in m.recipients:
                out.add((customer, "ops-email"))
    return out


@pytest.mark.parametrize("instant,staffed", LIVE, ids=[i.strftime("%a-%Y-%m-%d-%H%M") for i, _ in LIVE])
def test_real_alertmanager_notifies_staff_only_in_coverage(tmp_path, instant, staffed):
    require_tool(TOOLS["alertmanager"], INSTALL)
    assert len(LIVE) == 4
    ops_email = yaml.safe_load((REPO / "clawtex.yaml").read_text())["spec"]["ops"]["alertEmail"]
    want = set()
    for tier, (customer, pager) in CUSTOMERS.items():
        if tier in staffed:
            want |= {(customer, "ops-discord"), (customer, "ops-email")} | ({(customer, pager)} if pager else set())
    with ExitStack() as stack:
        http, smtp = HttpSink(), SmtpSink()
        stack.callback(http.close)
        stack.callback(smtp.close)
        alertmanager_overlay(GEN / "alertmanager" / "alertmanager.yml", tmp_path / "am.yml", tmp_path / "secrets",
                             http, smtp)
        zoneinfo = zoneinfo_at(tmp_path / "zoneinfo", instant.replace(tzinfo=None))
        port = free_port()
        am = stack.enter_context(process(
            [TOOLS["alertmanager"], f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'data'}",
             "--cluster.listen-address=", f"--web.listen-address=127.0.0.1:{port}"], tmp_path / "am.log",
            env={"PATH": "/usr/bin:/bin", "ZONEINFO": str(zoneinfo)}))
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", 60, am, tmp_path / "am.log")
        post_alerts(url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not want <= staff_deliveries(http, smtp, ops_email):
            time.sleep(0.5)
        time.sleep(SETTLE)
        got = staff_deliveries(http, smtp, ops_email)
        customer_slack = {d.path for d in http.deliveries if d.path.startswith("/slack/slack-")}
    print(f"\n{instant:%a %Y-%m-%d %H:%M} Berlin: staffed {sorted(staffed)}; staff notified for "
          f"{sorted({c for c, _ in got})}; customer Slack {sorted(customer_slack)}")
    assert got == want, {"missing": sorted(want - got), "unexpected": sorted(got - want)}
    # The customers' own Slack channels hear of it at any hour.
    assert customer_slack == {f"/slack/slack-{c}" for c in ("acme-logistics", "orbital-health")}
