"""Grafana dashboards (issue 27 item 6), checked against Grafana's own types and
against the data they promise.

- A customer's dashboard shows that customer alone: no template variable but the
  data source, the customer fixed in every metric selector.
- Thresholds are the customer's promises: read here from tiers/*.yaml,
  customers/*.yaml, tiers/slo-windows.yaml and the generated Prometheus rules,
  never from compiler/targets/grafana.py.
- Every panel has a unit Grafana knows, and no panel mixes units (probe success
  and latency on one axis was the bug).
- Grafana's types: every dashboard is parsed by PyPI `grafana-foundation-sdk`
  (Grafana's generated models; Dashboard.from_json builds each panel, its
  options and field config, and each Prometheus query with the typed classes)
  and written back: a key the types do not know is dropped, and every value of an
  enum-typed field (thresholds mode, query format, ...) must be a member, so a
  misspelled field or value fails. Units are checked against the SDK's
  `models.units` (Grafana's unit ids).
"""
from __future__ import annotations

import copy
import enum
import json
import re
import typing
from pathlib import Path

import pytest
import yaml

from conftest import REPO

GEN = REPO / "generated" / "grafana" / "dashboards"


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


TIERS = {d["metadata"]["name"]: d["spec"] for p in (REPO / "tiers").glob("*.yaml")
         if (d := _yaml(p)).get("kind") == "Tier"}
CUSTOMERS = {d["metadata"]["id"]: d["spec"] for p in (REPO / "customers").glob("*.yaml") if (d := _yaml(p))}


def boards() -> dict[str, dict]:
    return {str(p.relative_to(GEN)): json.loads(p.read_text()) for p in sorted(GEN.rglob("*.json"))}


def customer_boards() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((GEN / "customers").glob("*.json"))}


def panels(board: dict) -> list[dict]:
    out = []
    for p in board["panels"]:
        out.append(p)
        out += p.get("panels", [])
    return [p for p in out if p["type"] != "row"]


# ------------------------------------------------------------ Grafana's types

def _grafana_sdk():
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models import units
    from grafana_foundation_sdk.models.dashboard import Dashboard
    register_default_plugins()
    known_units = {v for k, v in vars(units).items() if not k.startswith("_") and isinstance(v, str)}
    return Dashboard, JSONEncoder, known_units


def _lost(original, parsed, path="") -> list[str]:
    """Keys or values of `original` that Grafana's types did not keep."""
    if isinstance(original, dict):
        if not isinstance(parsed, dict):
            return [f"{path}: not an object to Grafana"]
        return [m for k, v in original.items()
                for m in ([f"{path}.{k}: not a Grafana field"] if k not in parsed else _lost(v, parsed[k], f"{path}.{k}"))]
    if isinstance(original, list):
        if not isinstance(parsed, list) or len(parsed) != len(original):
            return [f"{path}: list changed"]
        return [m for i, (a, b) in enumerate(zip(original, parsed)) for m in _lost(a, b, f"{path}[{i}]")]
    return [] if original == parsed else [f"{path}: {original!r} read as {parsed!r}"]


def _enum_problems(obj, path: str = "") -> list[str]:
    """Values of the SDK's typed objects that are not a member of the field's enum type."""
    if isinstance(obj, list):
        return [m for i, v in enumerate(obj) for m in _enum_problems(v, f"{path}[{i}]")]
    if not type(obj).__module__.startswith("grafana_foundation_sdk") or not hasattr(obj, "__dict__"):
        return []
    hints = typing.get_type_hints(type(obj))
    out = []
    for attr, value in vars(obj).items():
        hint = hints.get(attr)
        kinds = [a for a in (typing.get_args(hint) or (hint,)) if isinstance(a, type) and issubclass(a, enum.Enum)]
        if kinds and value is not None and not any(value in {m.value for m in k} for k in kinds):
            out.append(f"{path}.{attr}: {value!r} is not one of {sorted(m.value for m in kinds[0])}")
        out += _enum_problems(value, f"{path}.{attr}")
    return out


def grafana_problems(board: dict) -> list[str]:
    Dashboard, JSONEncoder, known_units = _grafana_sdk()
    try:
        typed = Dashboard.from_json(copy.deepcopy(board))
        parsed = json.loads(json.dumps(typed, cls=JSONEncoder))
    except (ValueError, KeyError, TypeError) as e:          # a wrong shape
        return [f"Grafana's types refuse the dashboard: {e!r}"]
    problems = _lost(board, parsed) + _enum_problems(typed)
    for p in panels(board):
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if unit not in known_units:
            problems.append(f"panel {p['title']!r}: unit {unit!r} is not a Grafana unit")
    return problems


@pytest.mark.parametrize("name", sorted(boards()))
def test_dashboard_matches_grafanas_types(name):
    assert grafana_problems(boards()[name]) == []


@pytest.mark.parametrize("mutate, says", [
    (lambda p: p.__setitem__("fieldconfig", p.pop("fieldConfig")), ".fieldconfig: not a Grafana field"),
    (lambda p: p["fieldConfig"]["defaults"].__setitem__("unit", "percentunits"), "'percentunits' is not a Grafana unit"),
    (lambda p: p["fieldConfig"]["defaults"]["thresholds"].__setitem__("mode", "absolut"), "'absolut' is not one of ['absolute', 'percentage']"),
    (lambda p: p["targets"][0].__setitem__("format", "timeseries"), "'timeseries' is not one of"),
    (lambda p: p["fieldConfig"]["defaults"].__setitem__("threshold", {}), ".threshold: not a Grafana field"),
    (lambda p: p["targets"][0].__setitem__("legend", "x"), ".legend: not a Grafana field"),
    (lambda p: p["gridPos"].__setitem__("width", 3), ".width: not a Grafana field"),
])
def test_a_misspelled_field_or_unit_is_caught(mutate, says):
    """The check above can fail: one typo in a generated panel is reported."""
    board = copy.deepcopy(customer_boards()["acme-logistics"])
    mutate(board["panels"][0])
    problems = grafana_problems(board)
    assert any(says in m for m in problems), problems


# ------------------------------------------------------------ one customer each

def dashboard_customers() -> set[str]:
    return {cid for cid, s in CUSTOMERS.items()
            if TIERS[s["tier"]]["monitoring"]["customerDashboards"] and s.get("status", "active") == "active"}


def test_a_dashboard_per_customer_whose_tier_has_them():
    assert set(customer_boards()) == dashboard_customers()
    assert not (GEN / "customer.json").exists()             # the shared one with a customer picker is gone
    assert {b["uid"] for b in customer_boards().values()} == set(customer_boards())


SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?")
JOINED = {"clawtex:customer_error_budget:ratio"}        # joined `on (customer, tier)` to a fixed selection


@pytest.mark.parametrize("cid", sorted(dashboard_customers()))
def test_customer_dashboard_shows_that_customer_alone(cid):
    board = customer_boards()[cid]
    assert [v["type"] for v in board["templating"]["list"]] == ["datasource"]      # nothing to pick a customer with
    text = json.dumps(board)
    assert "$customer" not in text and "label_values" not in text
    others = set(CUSTOMERS) - {cid}
    assert not [o for o in others if re.search(rf"\b{re.escape(o)}\b", text)]
    for p in panels(board):
        for t in p["targets"]:
            expr = re.sub(r"\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)|\[[^\]]*\]", " ", t["expr"])
            for name, sel in SELECTOR.findall(expr):
                if not (name.startswith(("clawtex", "node_", "probe_", "openclaw_")) or name in ("up", "ALERTS")):
                    continue                               # functions, keywords
                if name in JOINED:
                    assert "on (customer, tier)" in t["expr"], t["expr"]
                    continue
                assert f'customer="{cid}"' in sel, (p["title"], t["expr"])


def test_white_label_dashboard_names_no_operator():
    for cid, spec in CUSTOMERS.items():
        if spec.get("whiteLabel") and cid in customer_boards():
            assert "clawtex" not in customer_boards()[cid]["title"].lower()


# ------------------------------------------------------------ thresholds from data

def _steps(p: dict) -> list[tuple[str, float | None]]:
    return [(s["color"], s["value"]) for s in p["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def _panel(board: dict, starts: str) -> dict:
    return next(p for p in panels(board) if p["title"].startswith(starts))


def _duration(text: str) -> int:
    return int(text[:-1]) * {"m": 60, "h": 3600, "d": 86400}[text[-1]]


@pytest.mark.parametrize("cid", sorted(dashboard_customers()))
def test_thresholds_are_the_customers_promises(cid):
    board, spec = customer_boards()[cid], CUSTOMERS[cid]
    tier = TIERS[spec["tier"]]
    target = spec.get("slaOverridePercent", tier["sla"]["targetPercent"]) / 100
    uptime = _panel(board, "Uptime")
    assert _steps(uptime) == [("red", None), ("green", pytest.approx(target))]
    assert f"target {target * 100:g}%" in uptime["title"]
    assert _steps(_panel(board, "Health check success")) == [("red", None), ("green", pytest.approx(target))]
    assert _steps(_panel(board, "Error budget remaining")) == [("red", None), ("green", 0)]
    # Burn factors: errorBudgetPercent/100 * sloPeriod / longWindow (tiers/slo-windows.yaml).
    w = _yaml(REPO / "tiers" / "slo-windows.yaml")["spec"]
    factor = {sev: min(w[sev][k]["errorBudgetPercent"] / 100 * _duration(w["sloPeriod"]) / _duration(w[sev][k]["longWindow"])
                       for k in ("quick", "slow")) for sev in ("page", "ticket")}
    assert _steps(_panel(board, "Error budget burn rate")) == [
        ("green", None), ("yellow", pytest.approx(factor["ticket"])), ("red", pytest.approx(factor["page"]))]
    # Backup age: the limit the BackupStale rule reads (generated rules, per tier).
    rules = _yaml(REPO / "generated" / "prometheus" / "rules" / "slo.yml")
    max_age = {r["labels"]["tier"]: float(r["expr"][len("vector("):-1]) for g in rules["groups"] for r in g["rules"]
               if r.get("record") == "clawtex:backup_max_age:seconds"}
    if tier.get("backups"):
        backup = _panel(board, "Time since last successful backup")
        assert _steps(backup) == [("green", None), ("red", max_age[spec["tier"]])]
        assert tier["backups"]["intervalHours"] * 3600 < max_age[spec["tier"]]
    else:
        assert not [p for p in panels(board) if "backup" in p["title"]]
    assert bool([p for p in panels(board) if p["title"].startswith("TLS")]) == bool(spec.get("customDomain"))


@pytest.mark.parametrize("name", sorted(boards()))
def test_every_panel_has_one_unit_and_probe_success_is_apart_from_latency(name):
    for p in panels(boards()[name]):
        assert p["fieldConfig"]["defaults"].get("unit"), p["title"]
        exprs = " ".join(t["expr"] for t in p["targets"])
        assert not ("probe_success" in exprs and "probe_duration_seconds" in exprs), p["title"]
        if "probe_duration_seconds" in exprs:
            assert p["fieldConfig"]["defaults"]["unit"] == "s"


def test_tier_rows_and_stats_are_coloured_at_the_tier_sla():
    fleet, kpis = boards()["fleet-overview.json"], boards()["kpis.json"]
    for tier, spec in TIERS.items():
        target = pytest.approx(spec["sla"]["targetPercent"] / 100)
        assert _steps(_panel(fleet, f"{tier}: ")) == [("red", None), ("green", target)]
        assert _steps(_panel(kpis, f"{tier}: uptime")) == [("red", None), ("green", target)]


def test_handoff_links_the_customers_own_dashboard():
    from compiler.business.handoff import monitoring_links
    from compiler.pipeline import plan_repo
    plan = plan_repo(REPO, use_cache=False)
    for c in plan.customers:
        links = dict(monitoring_links(plan, c))
        if c.id in dashboard_customers():
            assert links["Dashboard"].endswith(f"/d/{customer_boards()[c.id]['uid']}")
            assert "var-" not in links["Dashboard"]
        else:
            assert "Dashboard" not in links
