"""Alertmanager routing checked by amtool, Grafana dashboards checked against
the series the rules record and the exporters export."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
from ruamel.yaml import YAML

from compiler.targets.grafana import EXPORTER_METRICS
from conftest import REPO

GEN = REPO / "generated"
AM = GEN / "alertmanager" / "alertmanager.yml"
PROMQL_WORDS = {"by", "on", "and", "or", "unless", "group_left", "group_right", "bool", "offset", "ignoring",
                "without", "time", "inf", "nan"}


def amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["amtool", *args], capture_output=True, text=True)


def receivers_for(*labels: str) -> set[str]:
    result = amtool("config", "routes", "test", f"--config.file={AM}", *labels)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.strip().split(","))


def test_alertmanager_config_passes_amtool():
    result = amtool("check-config", str(AM))
    assert result.returncode == 0, result.stdout + result.stderr


def test_gold_page_reaches_pager_and_bronze_does_not():
    am = YAML(typ="safe").load(AM.read_text())
    pagers = {r["name"] for r in am["receivers"] if "pagerduty_configs" in r or "opsgenie_configs" in r}
    gold_pd = receivers_for("alertname=OpenClawErrorBudgetBurnFast", "severity=page", "tier=gold", "customer=acme-logistics")
    gold_og = receivers_for("alertname=HostDown", "severity=page", "tier=gold", "customer=helios-energy")
    bronze = receivers_for("alertname=OpenClawErrorBudgetBurnFast", "severity=page", "tier=bronze", "customer=pixel-bakery")
    assert "page-acme-logistics" in gold_pd and "slack-acme-logistics" in gold_pd
    assert "page-helios-energy" in gold_og
    assert bronze == {"ops"} and not bronze & pagers
    receiver = {r["name"]: r for r in am["receivers"]}
    assert receiver["page-acme-logistics"]["pagerduty_configs"][0]["routing_key_file"].endswith("pagerduty/acme-logistics.key")
    assert receiver["page-helios-energy"]["opsgenie_configs"][0]["api_key_file"].endswith("opsgenie/helios-energy.key")


def test_tickets_do_not_page_platinum():
    got = receivers_for("alertname=DiskSpaceHigh", "severity=ticket", "tier=platinum", "customer=orbital-health")
    assert "page-orbital-health" not in got and "slack-orbital-health" in got


def test_no_inline_secrets_in_alertmanager_config():
    text = AM.read_text()
    for key in ("routing_key:", "api_key:", "api_url:", "webhook_url:", "service_key:"):
        assert key not in text


def test_host_down_inhibits_symptoms():
    am = YAML(typ="safe").load(AM.read_text())
    rules = am["inhibit_rules"]
    assert any("host" in r["equal"] and any("DiskSpaceHigh" in m for m in r["target_matchers"]) for r in rules)


# ------------------------------------------------------------------ grafana

def recorded_series() -> set[str]:
    rules = YAML(typ="safe").load((GEN / "prometheus" / "rules" / "slo.yml").read_text())
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers outside label matchers,
    grouping clauses and ranges that are not functions or keywords."""
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", expr)
    expr = re.sub(r"\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?", expr)
    return {n for n, call in names if not call and n.lower() not in PROMQL_WORDS}


def dashboards() -> dict[str, dict]:
    root = GEN / "grafana" / "dashboards"
    return {str(p.relative_to(root)): json.loads(p.read_text()) for p in sorted(root.rglob("*.json"))}


def test_metric_name_parser_sees_unknown_metrics():
    assert metric_names('1 - avg by (host) (rate(foo_total{a="b"}[5m])) / on (x) bar') == {"foo_total", "bar"}


def test_dashboards_parse_with_stable_uids():
    boards = dashboards()
    customers = {n.removeprefix("customers/").removesuffix(".json") for n in boards if n.startswith("customers/")}
    assert {b["uid"] for b in boards.values()} == {"clawtex-fleet", "clawtex-kpis"} | customers
    assert "acme-logistics" in customers                  # one per customer: tests/test_dashboards.py


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_every_panel_query_uses_known_metrics(name):
    known = recorded_series() | {m for names in EXPORTER_METRICS.values() for m in names}
    exprs = [t["expr"] for p in dashboards()[name]["panels"] for t in p.get("targets", [])]
    assert exprs
    for expr in exprs:
        unknown = metric_names(expr) - known
        assert not unknown, f"{name}: {expr} uses {unknown}"


def test_fleet_overview_has_a_row_per_tier():
    rows = [p["title"] for p in dashboards()["fleet-overview.json"]["panels"] if p["type"] == "row"]
    assert [r.split(" ")[0] for r in rows] == ["Bronze", "Silver", "Gold", "Platinum"]


def test_slack_webhook_must_be_a_file_reference(repo):
    from conftest import run_clawtex
    path = repo / "customers" / "acme-logistics.yaml"
    path.write_text(path.read_text().replace("webhookRef: {source: file, provider: ops, id: slack/acme-logistics.url}",
                                             "webhookRef: {source: env, id: ACME_SLACK_WEBHOOK}"))
    result = run_clawtex(repo, "validate", str(path))
    assert result.returncode == 1
    assert "customers/acme-logistics.yaml:" in result.stderr and "api_url_file" in result.stderr, result.stderr


def test_rule_expressions_use_only_recorded_and_exporter_metrics():
    rules = YAML(typ="safe").load((GEN / "prometheus" / "rules" / "slo.yml").read_text())
    known = recorded_series() | {m for names in EXPORTER_METRICS.values() for m in names}
    for group in rules["groups"]:
        for rule in group["rules"]:
            unknown = metric_names(rule["expr"]) - known
            assert not unknown, f"{rule.get('alert') or rule.get('record')}: {unknown}"


# ------------------------------------------------------------------ alertmanager x prometheus

def _matchers(am: dict) -> list[str]:
    out = []
    def walk(route):
        out.extend(route.get("matchers", []))
        for child in route.get("routes", []):
            walk(child)
    walk(am["route"])
    for rule in am["inhibit_rules"]:
        out += rule["source_matchers"] + rule["target_matchers"]
    return out


def test_alertmanager_matches_only_what_the_rules_and_targets_emit():
    """Every alertname, severity and role Alertmanager routes or inhibits on is one the
    generated rules (or the node targets' labels) produce; every `equal` label is on them."""
    am = YAML(typ="safe").load(AM.read_text())
    rules = YAML(typ="safe").load((GEN / "prometheus" / "rules" / "slo.yml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    emitted = {"alertname": {a["alert"] for a in alerts},
               "severity": {a["labels"]["severity"] for a in alerts},
               "role": {g["labels"]["role"] for g in json.loads((GEN / "prometheus" / "targets" / "node.json").read_text())}}
    checked = set()
    for m in _matchers(am):
        name, op, value = re.fullmatch(r'(\w+)(=~|=|!=)"(.*)"', m).groups()
        if name in emitted:
            values = set(value.split("|")) if op == "=~" else {value}
            assert values <= emitted[name], f"{m}: {sorted(values - emitted[name])} never emitted"
            checked.add(name)
    assert checked == set(emitted)
    target_labels = {k for f in ("node.json", "openclaw-probes.json")
                     for g in json.loads((GEN / "prometheus" / "targets" / f).read_text()) for k in g["labels"]}
    for rule in am["inhibit_rules"]:
        assert set(rule["equal"]) <= target_labels, rule["equal"]
    assert set(am["route"]["group_by"]) <= target_labels | {"alertname"}
