"""Issue 27, item 1: a customer report never shows missing data as a result.

A stub Prometheus speaks the real HTTP API shape (`/api/v1/query`,
`/api/v1/query_range`, compiler/business/metrics.py) with either no series at
all or a steady, fully healthy series, and the CLI is run as ops runs it. The
expected words are written here by hand (what a customer must read), not taken
from the code under test."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from html import unescape
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import REPO
from http_stub import QuietHandler, serve


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", re.sub(r'src="[^"]*"', "", html))))


class Empty(QuietHandler):
    def do_GET(self):
        kind = "matrix" if "query_range" in self.path else "vector"
        self.reply_json(200, {"status": "success", "data": {"resultType": kind, "result": []}})


class Healthy(QuietHandler):
    """Every query answers one series of 1.0 (probe up, channel connected, ...);
    backup timestamp changes answer 1 per hour of the window."""

    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        query = q["query"][0]
        if "query_range" in self.path:
            start, end, step = float(q["start"][0]), float(q["end"][0]), float(q["step"][0])
            values, t = [], start
            while t <= end:
                values.append([t, "1"])
                t += step
            self.reply_json(200, {"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {"channel": "slack", "region": "r1"}, "values": values}]}})
            return
        value = "1"
        if query.startswith("sum_over_time"):
            value = "0"
        elif "changes(" in query:
            value = "10000"
        self.reply_json(200, {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"channel": "slack"}, "value": [0, value]}]}})


def _report(args, tmp_path):
    from compiler.cli import main
    out = tmp_path / "r.html"
    rc = main(["--root", str(REPO), "customer-report", *args, "--out", str(out)])
    return rc, (out.read_text() if out.exists() else "")


def test_a_period_without_series_is_refused_with_exit_3(tmp_path, capsys):
    with serve(Empty) as url:
        rc, html = _report(["mapleleaf-dental", "--period", "2026-10", "--prometheus", url], tmp_path)
    err = capsys.readouterr().err
    assert rc == 3 and html == ""
    assert "no health-probe samples" in err and "mapleleaf-dental" in err and "2026-10" in err


def test_a_future_period_is_refused(tmp_path, capsys):
    year = datetime.now(timezone.utc).year + 1
    with serve(Healthy) as url:
        rc, html = _report(["mapleleaf-dental", "--period", f"{year}-03", "--prometheus", url], tmp_path)
    assert rc == 2 and html == ""
    assert "has not begun" in capsys.readouterr().err


def test_a_missing_security_directory_is_refused(tmp_path, capsys):
    with serve(Healthy) as url:
        rc, _ = _report(["acme-logistics", "--period", "2026-10", "--prometheus", url,
                         "--security", str(tmp_path / "nope")], tmp_path)
    assert rc == 1
    assert "no such directory" in capsys.readouterr().err


def test_gold_without_security_data_says_it_is_missing_not_zero(tmp_path):
    with serve(Healthy) as url:
        rc, html = _report(["acme-logistics", "--period", "2026-10", "--prometheus", url], tmp_path)
    assert rc == 0
    text = _text(html)
    assert "Security data for this period is missing" in text
    assert 'id="wazuh-critical"' not in html          # no "critical 0" tile
    assert "No scan in this period" not in text
    assert "No disaster-recovery drill result is recorded" in text


def test_a_quarter_in_progress_is_marked_and_never_says_none():
    from compiler.business.customer_report import build_customer_report, render_html
    from compiler.business.metrics import Prometheus, parse_period
    from compiler.pipeline import plan_repo
    plan = plan_repo(REPO)
    now = datetime(2026, 11, 15, 12, 30, tzinfo=timezone.utc)
    with serve(Healthy) as url:
        r = build_customer_report(plan, "acme-logistics", parse_period("2026-Q4"), Prometheus(url), figures=False,
                                  now=now)
    assert r.in_progress and r.measured_until == "2026-11-15 12:30"
    text = _text(render_html(r))
    assert "still in progress" in text and "up to 2026-11-15 12:30 UTC" in text
    assert "None" not in text and "no data %" not in text


def test_slo_without_budget_data_is_not_measured_rather_than_none():
    from compiler.business.customer_report import render_html
    r = _fake_report()
    r.slo = {"windowDays": 30, "attainmentPercent": None, "targetPercent": 99.5, "errorBudgetMinutes": 216.0,
             "budgetSpentPercent": None}
    text = _text(render_html(r))
    assert "None" not in text and "Error budget spent not measured" in text


def _fake_report():
    from compiler.business.customer_report import CustomerReport
    return CustomerReport(customer="x", display_name="X", tier="gold", period="2026-10", brand="B", white_label=False,
                          sections=("uptime", "channels", "incidents", "slo"), uptime_percent=99.9,
                          target_percent=99.5, incidents=[], downtime_minutes=0, channels={},
                          channel_disconnections={}, missing=["channels"])


def test_channels_without_data_say_so():
    from compiler.business.customer_report import render_html
    assert "No channel connection data was recorded" in _text(render_html(_fake_report()))


def test_backups_without_records_are_not_zero_of_n(tmp_path):
    from compiler.business.customer_report import build_customer_report, render_html
    from compiler.business.metrics import Prometheus, parse_period
    from compiler.pipeline import plan_repo

    class NoBackups(Healthy):
        def do_GET(self):
            if "clawtex_backup" in unescape(self.path) or "backup" in self.path:
                return Empty.do_GET(self)
            return Healthy.do_GET(self)

    with serve(NoBackups) as url:
        r = build_customer_report(plan_repo(REPO), "acme-logistics", parse_period("2026-10"), Prometheus(url),
                                  figures=False)
    text = _text(render_html(r))
    assert "No backup records were found" in text and "of " + str(r.backups["expected"]) + " scheduled" not in text


def test_the_mailing_workflow_mails_only_reports_with_data_and_lists_what_it_held(tmp_path):
    """The two steps of reports.yml run by bash with `clawtex` and `curl` stubs:
    a customer without data (exit 3) is held back and named in the summary; only
    the report with data is mailed."""
    import os
    import subprocess
    from ruamel.yaml import YAML
    wf = YAML(typ="safe", pure=True).load((REPO / ".github/workflows/reports.yml").read_text())
    steps = {s.get("name"): s for s in wf["jobs"]["reports"]["steps"]}
    render = steps["Render the reports (PDF by headless Chrome)"]["run"]
    mail = steps["Mail each report to the customer's primary contact"]["run"]
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "clawtex").write_text(
        "#!/bin/bash\n"
        'if [ "$1" = reports-due ]; then printf "has-data\\tsilver\\ta@example.com\\nno-data\\tbronze\\tb@example.com\\n"; exit 0; fi\n'
        'if [ "$2" = no-data ]; then echo "no-data: no health-probe samples" >&2; exit 3; fi\n'
        'for a in "$@"; do [ "$prev" = --pdf ] && printf "%%PDF-1.4" > "$a"; prev="$a"; done\n')
    (bin_ / "curl").write_text('#!/bin/bash\necho "$@" >> "$CURL_LOG"\n')
    for f in bin_.iterdir():
        f.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}", "CADENCE": "monthly", "PERIOD": "2026-10",
           "PROMETHEUS_URL": "http://prom", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
           "GITHUB_ENV": str(tmp_path / "env"), "CURL_LOG": str(tmp_path / "curl.log"), "SMTP_URL": "smtps://x",
           "SMTP_USER": "u", "SMTP_PASSWORD": "p", "MAIL_FROM": "r@example.com"}
    for script in (render, mail):
        done = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    summary = (tmp_path / "summary.md").read_text()
    assert "Will be mailed (1)" in summary and "- has-data (silver) -> a@example.com" in summary
    assert "Held back, not mailed (1)" in summary and "- no-data (bronze): no data for 2026-10" in summary
    curl = (tmp_path / "curl.log").read_text().splitlines()
    assert len(curl) == 1 and "a@example.com" in curl[0] and "b@example.com" not in curl[0]
    assert "FAILED_REPORTS=0" in (tmp_path / "env").read_text()
