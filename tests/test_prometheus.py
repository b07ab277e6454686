"""Prometheus output checked by promtool: rules, config, and the generated
per-tier unit tests (page fires above the burn threshold, silent below)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, run_clawtex
from test_validate import BRONZE, validate, write

PROM = REPO / "generated" / "prometheus"
TIERS = ("bronze", "silver", "gold", "platinum")


def promtool(*args: str, cwd: Path = PROM) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=cwd)


def test_every_rule_file_passes_promtool_check_rules():
    files = sorted(str(p.relative_to(PROM)) for p in (PROM / "rules").glob("*.yml"))
    assert files
    result = promtool("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_yml_with_rules_and_file_sd_passes_check_config():
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


@pytest.mark.parametrize("tier", TIERS)
def test_generated_unit_tests_per_tier_pass(tier):
    result = promtool("test", "rules", f"tests/{tier}.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_unit_tests_can_fail(tmp_path):
    """Guard against vacuous unit tests: the same expectations fail when the
    synthetic outage is replaced by healthy probes."""
    text = (PROM / "tests" / "gold.yml").read_text().replace("../rules/slo.yml", str(PROM / "rules" / "slo.yml"))
    assert "1x20 0x300" in text
    (tmp_path / "t.yml").write_text(text.replace("1x20 0x300", "1x320"))
    assert promtool("test", "rules", "t.yml", cwd=tmp_path).returncode != 0


def test_targets_are_labelled_for_every_active_customer():
    for name in ("node.json", "openclaw-probes.json", "openclaw-tcp.json"):
        for group in json.loads((PROM / "targets" / name).read_text()):
            assert {"customer", "tier", "provider", "region"} <= set(group["labels"]), name
    probes = {g["labels"]["customer"]: g["targets"][0] for g in json.loads((PROM / "targets" / "openclaw-probes.json").read_text())}
    assert probes["acme-logistics"] == "https://assistant.acme-logistics.example/healthz"
    # The hosts without a domain of their own serve plain HTTP on :80 (nginx-openclaw.conf.j2);
    # tests/test_probe_join.py joins every target with what the proxy serves.
    assert probes["brightpath-tutors"] == "http://brightpath-tutors-oc-1/healthz"
    assert probes["corner-garage"] == "http://shared-digitalocean-fra1-01/corner-garage/healthz"


def test_rule_count_grows_with_tiers_and_overrides_not_customers():
    from bench.rule_count import count_for
    small, large = count_for(10), count_for(1000)
    assert small == large


@pytest.mark.parametrize("field, value", [("regions", '["fsn1\\"}"]'), ("customDomain", '"a.example\\"}"'),
                                          ("regions", '["fsn1\\nx"]')])
def test_label_breaking_value_is_rejected_with_file_line(repo, field, value):
    """Fields that become labels (region) or probe targets (customDomain) refuse quotes, `"}` and newlines."""
    text = BRONZE.format(id="breaker")
    text = (text.replace("regions: [fsn1]", f"regions: {value}") if field == "regions"
            else text + f"  {field}: {value}\n")
    write(repo, "breaker.yaml", text)
    result = validate(repo, "customers/breaker.yaml")
    assert result.returncode == 1
    line = next(l for l in result.stderr.splitlines() if l.startswith("customers/breaker.yaml:"))
    file, lineno, col, where = line.split(":")[:4]
    assert int(lineno) > 0 and where.strip().startswith(f"spec.{field}"), line


def test_readiness_is_probed_beside_liveness_with_a_non_paging_alert(tmp_path):
    """README "Live checks -> Gateway": probe both paths. Every liveness target has a readiness
    target with the same labels and route, ending in clawtex.yaml's readyPath; the alert fires
    only while the gateway is live but not ready, as a ticket (never a page)."""
    import yaml
    openclaw = yaml.safe_load((REPO / "clawtex.yaml").read_text())["spec"]["openclaw"]
    health, ready = openclaw["healthPath"], openclaw.get("readyPath", "/readyz")
    live = {g["labels"]["customer"]: g for g in json.loads((PROM / "targets" / "openclaw-probes.json").read_text())}
    readiness = {g["labels"]["customer"]: g for g in json.loads((PROM / "targets" / "openclaw-ready.json").read_text())}
    assert live and readiness.keys() == live.keys()
    for cid, group in live.items():
        assert readiness[cid]["labels"] == group["labels"]
        url = group["targets"][0]
        assert url.endswith(health) and readiness[cid]["targets"] == [url[: -len(health)] + ready]
    jobs = {j["job_name"]: j for j in yaml.safe_load((PROM / "prometheus.yml").read_text())["scrape_configs"]}
    assert jobs["openclaw-ready"]["file_sd_configs"] == [{"files": ["targets/openclaw-ready.json"]}]
    rules = [r for g in yaml.safe_load((PROM / "rules" / "slo.yml").read_text())["groups"] for r in g["rules"]
             if r.get("alert") == "OpenClawNotReady"]
    assert len(rules) == 1 and rules[0]["labels"]["severity"] == "ticket"
    # promtool: live + not ready for 20 min fires; not ready because not live stays silent.
    series = lambda job, values: {"series": f'probe_success{{job="{job}",customer="c1",tier="silver"}}', "values": values}
    test = {"rule_files": [str(PROM / "rules" / "slo.yml")], "evaluation_interval": "1m", "tests": [
        {"interval": "1m", "input_series": [series("openclaw-probe", "1x30"), series("openclaw-ready", "0x30")],
         "alert_rule_test": [{"eval_time": "20m", "alertname": "OpenClawNotReady", "exp_alerts": [
             {"exp_labels": {"severity": "ticket", "job": "openclaw-ready", "customer": "c1", "tier": "silver"},
              "exp_annotations": {"summary": rules[0]["annotations"]["summary"].replace("{{ $labels.customer }}", "c1")}}]}]},
        {"interval": "1m", "input_series": [series("openclaw-probe", "0x30"), series("openclaw-ready", "0x30")],
         "alert_rule_test": [{"eval_time": "20m", "alertname": "OpenClawNotReady", "exp_alerts": []}]},
    ]}
    (tmp_path / "t.yml").write_text(yaml.safe_dump(test))
    result = promtool("test", "rules", "t.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
