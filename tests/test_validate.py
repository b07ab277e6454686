"""Tier rules and customer-file rules, reported as file:line:col: path: message."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import CUSTOMER, run_clawtex

BRONZE = CUSTOMER.replace("{tier}", "bronze").replace("{price}", "75")


def write(repo: Path, name: str, text: str) -> Path:
    path = repo / "customers" / name
    path.write_text(text, encoding="utf-8")
    return path


def validate(repo: Path, *files: str):
    return run_clawtex(repo, "validate", *(str(repo / f) for f in files))


def test_examples_are_valid(repo):
    result = validate(repo)
    assert result.returncode == 0, result.stderr
    assert "customer file(s) valid" in result.stdout


def test_bronze_with_three_channels_names_file_line_and_rule(repo):
    text = BRONZE.format(id="three") + """\
    - type: discord
      token: {source: env, id: D_TOKEN}
    - type: signal
      account: "+15555550100"
"""
    write(repo, "three.yaml", text)
    result = validate(repo, "customers/three.yaml")
    assert result.returncode == 1
    assert "customers/three.yaml:16:3: spec.channels: bronze allows 1 channel, got 3" in result.stderr


CASES = [
    ("price", lambda t: t.replace("monthlyPrice: 75", "monthlyPrice: 500"), r":14:5: spec\.billing\.monthlyPrice: bronze is priced 49-99 USD/month, got 500"),
    ("domain", lambda t: t.replace("  regions: [fsn1]", "  regions: [fsn1]\n  customDomain: bot.example.com"), r"spec\.customDomain: bronze does not include a custom domain"),
    ("region", lambda t: t.replace("[fsn1]", "[fra1]"), r"spec\.regions\[0\]: hetzner has no region 'fra1'"),
    ("unknown-key", lambda t: t.replace("  tier: bronze", "  tier: bronze\n  colour: blue"), r":10:3: spec\.colour: unknown key"),
    ("tier", lambda t: t.replace("tier: bronze", "tier: diamond"), r"unknown tier 'diamond'"),
    ("slack", lambda t: t.replace("type: telegram\n      botToken: {source: env, id: T_TOKEN}", "type: slack\n      botToken: {source: env, id: A}\n      appToken: {source: env, id: B}"), r"bronze does not offer channel type 'slack'"),
    ("custom-skill", lambda t: t + "  skills:\n    - {name: x, kind: custom, source: 'https://github.com/a/b.git'}\n", r"spec\.skills\[0\]\.kind: bronze includes standard skills only"),
    ("missing-cred", lambda t: t.replace("      botToken: {source: env, id: T_TOKEN}\n", ""), r"spec\.channels\[0\]: telegram channel needs 'botToken'"),
    ("plaintext-secret", lambda t: t.replace("botToken: {source: env, id: T_TOKEN}", "botToken: {source: env, id: T_TOKEN}\n      allowFrom: ['123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1']"), r"looks like a plaintext Telegram bot token.*secret references"),
    ("literal-token", lambda t: t.replace("botToken: {source: env, id: T_TOKEN}", "botToken: '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1'"), r"plaintext Telegram bot token"),
    ("env-id", lambda t: t.replace("id: T_TOKEN", "id: t-token"), r"env secret id must match"),
    ("open-dm", lambda t: t.replace("      botToken: {source: env, id: T_TOKEN}", "      botToken: {source: env, id: T_TOKEN}\n      dmPolicy: open"), r"dmPolicy 'open' requires allowFrom"),
]


@pytest.mark.parametrize("name, mutate, pattern", CASES, ids=[c[0] for c in CASES])
def test_rule_violations(repo, name, mutate, pattern):
    write(repo, f"{name}.yaml", mutate(BRONZE.format(id=name)))
    result = validate(repo, f"customers/{name}.yaml")
    assert result.returncode == 1, result.stdout
    where = rf"customers/{name}\.yaml" if pattern.startswith(":") else rf"customers/{name}\.yaml:\d+:\d+: .*"
    assert re.search(where + pattern, result.stderr), result.stderr


def test_id_must_equal_file_name(repo):
    write(repo, "other-name.yaml", BRONZE.format(id="some-id"))
    result = validate(repo, "customers/other-name.yaml")
    assert "customers/other-name.yaml:4:3: metadata.id: id 'some-id' must equal the file name 'other-name'" in result.stderr


@pytest.mark.parametrize("bad_id", ["../etc", "a/b", "Upper", "shared-x", "default", "xn--\u0430cme", "\u0430cme", "a" * 41, "-lead"])
def test_bad_ids_refused(repo, bad_id):
    write(repo, "bad.yaml", BRONZE.format(id=f'"{bad_id}"'))
    result = validate(repo, "customers/bad.yaml")
    assert result.returncode == 1
    assert "metadata.id" in result.stderr


def test_platinum_needs_two_regions(repo):
    text = (repo / "customers" / "orbital-health.yaml").read_text()
    write(repo, "orbital-health.yaml", text.replace("regions: [fra1, ams3]", "regions: [fra1]"))
    result = validate(repo)
    assert re.search(r"customers/orbital-health\.yaml:\d+:3: spec\.regions: platinum needs 2-3 regions, got 1", result.stderr)


def test_all_errors_of_all_files_in_one_run(repo):
    write(repo, "a-one.yaml", BRONZE.format(id="a-one").replace("monthlyPrice: 75", "monthlyPrice: 5"))
    write(repo, "b-two.yaml", BRONZE.format(id="b-two").replace("tier: bronze", "tier: nope"))
    result = validate(repo)
    assert result.returncode == 1
    assert "customers/a-one.yaml" in result.stderr and "customers/b-two.yaml" in result.stderr
    assert "2 error(s)" in result.stderr


def test_duplicate_custom_domain(repo):
    text = (repo / "customers" / "helios-energy.yaml").read_text()
    write(repo, "helios-energy.yaml", text.replace("ai.helios-energy.example", "assistant.acme-logistics.example"))
    result = validate(repo)
    assert "custom domain 'assistant.acme-logistics.example' is also used by customers/acme-logistics.yaml" in result.stderr


def test_tier_scan_schedule_outside_what_the_timer_can_express_is_refused(repo):
    gold = repo / "tiers" / "gold.yaml"
    gold.write_text(gold.read_text().replace('openvasSchedule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2"',
                                             'openvasSchedule: "FREQ=MONTHLY;BYMONTHDAY=1"'))
    result = run_clawtex(repo, "validate")
    assert result.returncode == 1
    assert re.search(r"tiers/gold\.yaml:\d+:\d+: spec\.openvasSchedule: String should match pattern", result.stdout + result.stderr)
