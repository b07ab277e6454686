"""Tier rules and customer-file rules, reported as file:line:col: path: message."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler.diagnostics import CompileError
from compiler.load import load_document
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
      linked: false
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
    assert re.search(r"tiers/gold\.yaml:\d+:\d+: spec\.openvasSchedule: 'FREQ=MONTHLY;BYMONTHDAY=1' is not valid here: "
                     r"expected a schedule the scan timer can run", result.stdout + result.stderr)


# A token in a YAML comment is not in the parsed data, but it is in the file and so in
# git history. The token strings below are made up in the shapes SECRET_PATTERNS knows.
TELEGRAM = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


def test_a_bot_token_in_a_comment_of_a_customer_file_is_refused_at_its_line(repo):
    text = BRONZE.format(id="chatty").replace(
        "      botToken: {source: env, id: T_TOKEN}",
        f"      botToken: {{source: env, id: T_TOKEN}}   # was {TELEGRAM}")
    line = next(n for n, l in enumerate(text.splitlines(), 1) if TELEGRAM in l)
    write(repo, "chatty.yaml", text)
    result = validate(repo, "customers/chatty.yaml")
    assert result.returncode == 1, result.stdout
    assert f"customers/chatty.yaml:{line}:" in result.stderr and "Telegram bot token in a comment" in result.stderr, result.stderr


def test_a_comment_on_its_own_line_and_a_file_that_does_not_parse_are_scanned_too(repo):
    text = f"# old token: {TELEGRAM}\n" + BRONZE.format(id="broken").replace("  tier: bronze", "   tier: bronze")
    write(repo, "broken.yaml", text)
    result = validate(repo, "customers/broken.yaml")
    assert "customers/broken.yaml:1:14: looks like a plaintext Telegram bot token in a comment" in result.stderr, result.stderr


@pytest.mark.parametrize("name", ["clawtex.yaml", "tiers/bronze.yaml"])
def test_settings_and_tier_files_are_scanned_for_secrets(repo, name):
    path = repo / name
    path.write_text(path.read_text() + "# slack: xoxb-1234567890-abcdefghijkl\n")
    line = len(path.read_text().splitlines())
    result = validate(repo)
    assert result.returncode == 1
    assert f"{name}:{line}:10: looks like a plaintext Slack token in a comment" in result.stderr, result.stderr


# Each key line of the minimal customer file indented one space too far or too little:
# the error says "indentation" and names that line (the mutation's own line number,
# not one the parser picked), including the first key of a block, which the YAML
# parser reports one line late.
KEY_LINES = [n for n, l in enumerate(BRONZE.splitlines(), 1) if l.startswith("  ") and ":" in l and "- {" not in l]


@pytest.mark.parametrize("shift", [1, -1], ids=["deeper", "shallower"])
@pytest.mark.parametrize("line", KEY_LINES)
def test_a_misindented_line_is_named_in_plain_words(tmp_path, line, shift):
    lines = BRONZE.format(id="indent").splitlines()
    lines[line - 1] = lines[line - 1][1:] if shift < 0 else " " + lines[line - 1]
    path = tmp_path / "indent.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CompileError) as caught:
        load_document(path, "customers/indent.yaml")
    assert re.search(rf"customers/indent\.yaml:{line}:\d+: indentation: this line is indented", str(caught.value)), str(caught.value)
    assert "<block" not in str(caught.value)


def test_the_indentation_message_reaches_the_user(repo):
    """The issue's case: the first key of a block one space too deep (the parser blamed the next line)."""
    text = BRONZE.format(id="indent").replace("  tier: bronze", "   tier: bronze")
    write(repo, "indent.yaml", text)
    result = validate(repo, "customers/indent.yaml")
    assert "customers/indent.yaml:9:4: indentation: this line is indented 3 spaces where its block uses 2" in result.stderr, result.stderr
