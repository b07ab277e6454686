#!/usr/bin/env python3
"""Renders the README's example pictures (docs/report-*.png) from the synthetic
October 2026 the live tests use (tests/live/synthetic_month.py, served by a
real Prometheus) and a small synthetic customers/ history for the KPI page.
Needs promtool, prometheus and chromium (scripts/deps). Usage:
    python3 scripts/report-examples.py [OUT_DIR]   (default docs/)"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "live")]

from compiler.business.customer_report import build_customer_report, render_html, screenshot  # noqa: E402
from compiler.business.kpis import build_kpis, render_kpis_html  # noqa: E402
from compiler.business.metrics import Prometheus, parse_period  # noqa: E402
from compiler.pipeline import plan_repo  # noqa: E402
import synthetic_month as sm  # noqa: E402

HISTORY = [  # (date, customer, tier, price, status or None to delete)
    ("2025-11-03", "orbital-health", "platinum", 3000, "active"), ("2026-01-12", "acme-logistics", "gold", 999, "active"),
    ("2026-02-10", "mapleleaf-dental", "silver", 249, "active"), ("2026-03-02", "pixel-bakery", "bronze", 49, "active"),
    ("2026-03-20", "old-bistro", "bronze", 59, "active"), ("2026-04-15", "nordic-yoga", "bronze", 79, "active"),
    ("2026-05-20", "tiny-legal", "bronze", 99, "active"), ("2026-06-01", "corner-garage", "bronze", 59, "active"),
    ("2026-06-18", "old-bistro", "bronze", 59, "decommissioned"), ("2026-07-08", "brightpath-tutors", "silver", 199, "active"),
    ("2026-08-19", "helios-energy", "gold", 1299, "active"), ("2026-09-02", "quick-print", "silver", 199, "active"),
    ("2026-10-14", "quick-print", "silver", 199, None),
]


def history_repo(path: Path) -> Path:
    def git(*args, date=None):
        env = {"GIT_AUTHOR_NAME": "ops", "GIT_AUTHOR_EMAIL": "ops@example.com", "GIT_COMMITTER_NAME": "ops",
               "GIT_COMMITTER_EMAIL": "ops@example.com", "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
        if date:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{date}T12:00:00+00:00"
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)
    (path / "customers").mkdir(parents=True)
    git("init", "-q", "-b", "main")
    for date, cid, tier, price, status in HISTORY:
        f = path / "customers" / f"{cid}.yaml"
        if status is None:
            f.unlink()
        else:
            f.write_text(f"metadata: {{id: {cid}}}\nspec: {{tier: {tier}, status: {status}, billing: {{monthlyPrice: {price}}}}}\n")
        git("add", "-A")
        git("commit", "-q", "-m", f"{cid}: {status or 'removed'}", date=date)
    return path


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs"
    out.mkdir(parents=True, exist_ok=True)
    period = parse_period("2026-10")
    plan = plan_repo(REPO)
    with tempfile.TemporaryDirectory() as tmp:
        text, _ = sm.openmetrics()
        server = sm.PrometheusServer(Path(tmp)).start(text)
        try:
            prom = Prometheus(server.url)
            gold = build_customer_report(plan, "acme-logistics", period, prom)
            screenshot(render_html(gold), out / "report-customer-gold.png", size="900,1900")
            kpis = build_kpis(history_repo(Path(tmp) / "history"), plan, period, prom)
            screenshot(render_kpis_html(kpis), out / "report-kpis.png", size="1000,1500")
        finally:
            server.stop()
    for p in sorted(out.glob("report-*.png")):
        print(f"{p.relative_to(REPO) if p.is_relative_to(REPO) else p}: {p.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
