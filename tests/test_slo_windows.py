"""SLO windows are data (tiers/slo-windows.yaml): the burn factors, the recorded
windows and the dashboards' period come from that file. Expectations are
computed here by hand from the Google SRE workbook's rule
    factor = budget share spent / (long window / SLO period)
not by compiler code."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from compiler.diagnostics import CompileError
from compiler.pipeline import compile_repo
from conftest import REPO, copy_repo, require_tool

WINDOWS = REPO / "tiers" / "slo-windows.yaml"
BUDGET = "clawtex:customer_error_budget:ratio"
SLI = "clawtex:probe_error:ratio_rate"


def rules(files: dict[str, bytes]) -> list[dict]:
    doc = yaml.safe_load(files["prometheus/rules/slo.yml"])
    return [r for g in doc["groups"] for r in g["rules"]]


def burn_pairs(expr: str) -> list[tuple[str, str, str]]:
    """(long, short, factor) of each `(long > factor*budget and short > factor*budget)` term."""
    term = re.compile(rf"\({SLI}(\w+) > on \(customer, tier\) \(([0-9.]+) \* {BUDGET}\) and on \(customer, tier\) "
                      rf"{SLI}(\w+) > on \(customer, tier\) \(([0-9.]+) \* {BUDGET}\)\)")
    found = term.findall(expr)
    assert found and all(f1 == f2 for _, f1, _, f2 in found), expr
    return [(long, short, f1) for long, f1, short, _ in found]


def test_the_bundled_windows_are_the_workbook_table():
    files = compile_repo(REPO, only=["prometheus", "grafana"], use_cache=False)
    alerts = {r["alert"]: r for r in rules(files) if "alert" in r}
    # 30 days = 720 h. 2% in 1 h: 0.02*720/1 = 14.4; 5% in 6 h: 0.05*720/6 = 6;
    # 10% in 1 d: 0.10*720/24 = 3; 10% in 3 d: 0.10*720/72 = 1.
    assert burn_pairs(alerts["OpenClawErrorBudgetBurnFast"]["expr"]) == [("1h", "5m", "14.4"), ("6h", "30m", "6")]
    assert alerts["OpenClawErrorBudgetBurnFast"]["labels"]["severity"] == "page"
    assert burn_pairs(alerts["OpenClawErrorBudgetBurnSlow"]["expr"]) == [("1d", "2h", "3"), ("3d", "6h", "1")]
    assert alerts["OpenClawErrorBudgetBurnSlow"]["labels"]["severity"] == "ticket"
    recorded = [r["record"].removeprefix(SLI) for r in rules(files) if r.get("record", "").startswith(SLI)]
    assert recorded == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    kpis = files["grafana/dashboards/kpis.json"].decode()
    assert f"{SLI}30d" in kpis and "[30d]" in kpis and "30 days" in kpis


def test_a_changed_windows_file_changes_rules_and_dashboards(tmp_path):
    root = copy_repo(tmp_path / "repo", with_generated=False)
    (root / "tiers" / "slo-windows.yaml").write_text("""\
apiVersion: clawtex/v1
kind: SloWindows
metadata: {name: test-28d}
spec:
  sloPeriod: 28d
  page:
    quick: {errorBudgetPercent: 2, shortWindow: 5m, longWindow: 1h}
    slow: {errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h}
  ticket:
    quick: {errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d}
    slow: {errorBudgetPercent: 12.5, shortWindow: 12h, longWindow: 4d}
""")
    files = compile_repo(root, only=["prometheus", "grafana"], use_cache=False)
    alerts = {r["alert"]: r for r in rules(files) if "alert" in r}
    # 28 days = 672 h. 0.02*672 = 13.44; 0.05*672/6 = 5.6; 0.10*672/24 = 2.8; 0.125*672/96 = 0.875.
    assert burn_pairs(alerts["OpenClawErrorBudgetBurnFast"]["expr"]) == [("1h", "5m", "13.44"), ("6h", "30m", "5.6")]
    assert burn_pairs(alerts["OpenClawErrorBudgetBurnSlow"]["expr"]) == [("1d", "2h", "2.8"), ("4d", "12h", "0.875")]
    recorded = [r["record"].removeprefix(SLI) for r in rules(files) if r.get("record", "").startswith(SLI)]
    assert recorded == ["5m", "30m", "1h", "2h", "6h", "12h", "1d", "4d", "28d"]
    for name in ("fleet-overview", "customers/acme-logistics", "kpis"):
        text = files[f"grafana/dashboards/{name}.json"].decode()
        assert "30d" not in text and "30 days" not in text and "30-day" not in text, name
        assert f"{SLI}28d" in text, name
    burn = next(p for p in json.loads(files["grafana/dashboards/customers/acme-logistics.json"])["panels"]
                if p["title"].startswith("Error budget burn rate"))
    assert [t["legendFormat"] for t in burn["targets"]] == ["5m", "1h", "6h", "1d", "4d"]
    promtool = require_tool("promtool")           # the real consumer reads the new rules
    (tmp_path / "slo.yml").write_bytes(files["prometheus/rules/slo.yml"])
    check = subprocess.run([promtool, "check", "rules", str(tmp_path / "slo.yml")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("bad,message", [
    ("shortWindow: 5m, longWindow: 1h}", "shortWindow: 2h, longWindow: 1h}"),
    ("sloPeriod: 30d", "sloPeriod: 2d"),
])
def test_inconsistent_windows_are_refused(tmp_path, bad, message):
    root = copy_repo(tmp_path / "repo", with_generated=False)
    path = root / "tiers" / "slo-windows.yaml"
    path.write_text(path.read_text().replace(bad, message))
    with pytest.raises(CompileError) as err:
        compile_repo(root, only=["prometheus"], use_cache=False)
    text = str(err.value)
    assert "tiers/slo-windows.yaml" in text
    assert "shorter than longWindow" in text or "longer than sloPeriod" in text
