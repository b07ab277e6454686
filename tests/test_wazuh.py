"""Wazuh output checked against Wazuh's own ruleset and parser vocabulary.

No wazuh-logtest can be installed here. Instead every XML file parses, rule
ids are unique and in the custom range, every reference resolves (to our rules
or to Wazuh 4.14.7's built-ins, indexed in reference/wazuh/), every
element and attribute is one analysisd accepts, and sample log lines go
through our decoders. Decoder and rule patterns are type="pcre2", which
Python's `re` runs faithfully for the constructs used here (\\d \\w \\S, {n},
classes, groups, alternation, (?i)); what is approximated: Wazuh's JSON_Decoder
is emulated by json.loads with nested keys joined by dots, as Wazuh names them.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from compiler.plan import WAZUH_BLOCK_SIZE, WAZUH_CUSTOMER_RULES, WAZUH_FLEET_RULES, WAZUH_RULES_END
from conftest import REFERENCE, REPO, own_secret_ids, run_clawtex

WAZUH = REPO / "generated" / "wazuh"
INDEX_FILE = REFERENCE / "wazuh" / "wazuh-ruleset-index.json"
RULE_ATTRIBUTES = {"id", "level", "frequency", "timeframe", "ignore", "noalert", "maxsize", "overwrite"}
PATTERN_ATTRIBUTES = {"type", "name", "negate"}


@pytest.fixture(scope="module")
def index() -> dict:
    return json.loads(INDEX_FILE.read_text())


def parse_many(path: Path) -> list[ET.Element]:
    """Wazuh rule/decoder files hold several top-level elements: parse them wrapped."""
    return list(ET.fromstring(f"<root>{path.read_text()}</root>"))


def rules_in(paths) -> list[ET.Element]:
    return [rule for p in paths for group in parse_many(p) for rule in group.iter("rule")]


def manager_rule_files(customer: str) -> list[Path]:
    return [WAZUH / "rules" / "clawtex_rules.xml", *sorted((WAZUH / "managers" / customer / "rules").glob("*.xml"))]


def managers() -> list[str]:
    return sorted(p.name for p in (WAZUH / "managers").iterdir())


def ids_of(text: str | None) -> list[str]:
    return [part for part in re.split(r"[,\s]+", text or "") if part]


def ruleset_problems(rules: list[ET.Element], decoders: list[ET.Element], index: dict) -> list[str]:
    """Everything Wazuh's analysisd would refuse or silently never match."""
    problems = []
    ours = {r.get("id") for r in rules}
    known_rules = ours | set(index["rules"])
    our_groups = {g for r in rules for el in r.findall("group") for g in ids_of(el.text)}
    known_groups = our_groups | set(index["groups"])
    decoder_names = {d.get("name") for d in decoders} | set(index["decoder_names"]) | set(index["internal_decoders"])
    rule_vocabulary = set(index["schema_analysisd"]["rules_c_xml_names"])
    decoder_vocabulary = set(index["schema_analysisd"]["decoder_c_xml_names"])
    seen = set()
    for rule in rules:
        rid = rule.get("id")
        if rid in seen:
            problems.append(f"rule {rid}: duplicate id")
        seen.add(rid)
        if not (rid and rid.isdigit() and WAZUH_FLEET_RULES <= int(rid) < WAZUH_RULES_END):
            problems.append(f"rule {rid}: id outside the custom range")
        for attr in set(rule.attrib) - RULE_ATTRIBUTES:
            problems.append(f"rule {rid}: unknown attribute {attr}")
        for child in rule:
            if child.tag not in rule_vocabulary:
                problems.append(f"rule {rid}: <{child.tag}> is not a rule element Wazuh knows")
            for attr in set(child.attrib) - PATTERN_ATTRIBUTES:
                problems.append(f"rule {rid}: <{child.tag} {attr}=...> is not accepted")
            if child.tag in ("if_sid", "if_matched_sid"):
                problems += [f"rule {rid}: {child.tag} {ref} does not exist" for ref in ids_of(child.text) if ref not in known_rules]
            if child.tag in ("if_group", "if_matched_group") and child.text not in known_groups:
                problems.append(f"rule {rid}: {child.tag} {child.text} does not exist")
            if child.tag == "decoded_as" and child.text not in decoder_names:
                problems.append(f"rule {rid}: decoder {child.text} does not exist")
            if child.get("type") == "pcre2":
                try:
                    re.compile(child.text or "")
                except re.error as exc:
                    problems.append(f"rule {rid}: bad pattern in <{child.tag}>: {exc}")
        if rule.get("frequency") and not rule.findall("if_matched_sid") + rule.findall("if_matched_group"):
            problems.append(f"rule {rid}: frequency rule without if_matched_sid/group")
        if rule.find("description") is None:
            problems.append(f"rule {rid}: no description")
    for decoder in decoders:
        for child in decoder:
            if child.tag not in decoder_vocabulary:
                problems.append(f"decoder {decoder.get('name')}: <{child.tag}> is not a decoder element")
            if child.tag == "parent" and child.text not in decoder_names:
                problems.append(f"decoder {decoder.get('name')}: parent {child.text} does not exist")
    return problems


def decoders() -> list[ET.Element]:
    return parse_many(WAZUH / "decoders" / "clawtex_decoders.xml")


def test_every_wazuh_file_parses():
    files = sorted(WAZUH.rglob("*.xml")) + sorted(WAZUH.rglob("*.conf"))
    assert len(files) >= 8
    for path in files:
        assert parse_many(path), path


@pytest.mark.parametrize("customer", managers())
def test_each_managers_ruleset_is_sound(customer, index):
    rules = rules_in(manager_rule_files(customer))
    assert len(rules) >= 15
    assert ruleset_problems(rules, decoders(), index) == []


def test_rule_ids_never_collide_across_customers():
    all_rules = rules_in([WAZUH / "rules" / "clawtex_rules.xml", *sorted(WAZUH.glob("managers/*/rules/*.xml"))])
    ids = [int(r.get("id")) for r in all_rules]
    assert len(ids) == len(set(ids))
    blocks = json.loads((WAZUH / "rule-blocks.json").read_text())["blocks"]
    for customer, block in blocks.items():
        first = WAZUH_CUSTOMER_RULES + block * WAZUH_BLOCK_SIZE
        for path in (WAZUH / "managers" / customer / "rules").glob("*.xml"):
            assert all(first <= int(r.get("id")) < first + WAZUH_BLOCK_SIZE for r in rules_in([path])), path


def test_checker_catches_broken_rules(index):
    broken = ET.fromstring(
        '<group name="x,"><rule id="100001" level="3" bogus="1"><if_sid>99999999</if_sid><colour>red</colour>'
        '<decoded_as>no-such-decoder</decoded_as><description>d</description></rule>'
        '<rule id="100001" level="3"><if_group>no_such_group</if_group><description>d</description></rule>'
        '<rule id="5" level="3" frequency="4"><if_sid>5716</if_sid><description>d</description></rule></group>')
    problems = ruleset_problems(list(broken.iter("rule")), [], index)
    for expected in ("unknown attribute bogus", "99999999 does not exist", "<colour> is not a rule element",
                     "decoder no-such-decoder", "duplicate id", "if_group no_such_group", "id outside the custom range",
                     "frequency rule without"):
        assert any(expected in p for p in problems), (expected, problems)


def test_platinum_rules_carry_compliance_tags_from_wazuhs_own_vocabulary(index):
    overlay = rules_in(sorted((WAZUH / "managers" / "orbital-health" / "rules").glob("*.xml")))
    assert overlay
    tags = {g for r in overlay for g in ids_of(r.find("group").text)}
    assert {t.split("_")[0] for t in tags} == {"gdpr", "hipaa", "tsc"}
    assert tags <= set(index["groups"]), tags - set(index["groups"])


def test_siem_only_for_gold_and_platinum():
    customers = {p.stem: p.read_text() for p in (REPO / "customers").glob("*.yaml")}
    siem = {cid for cid, text in customers.items() if re.search(r"^  tier: (gold|platinum)$", text, re.M)}
    assert siem and set(managers()) == siem
    assert {p.name for p in (WAZUH / "groups").iterdir()} == siem
    targets = json.loads((REPO / "generated" / "openvas" / "targets.json").read_text())["targets"]
    assert {t["customer"] for t in targets} == siem
    for t in targets:
        assert re.fullmatch(r"FREQ=WEEKLY;BYDAY=[A-Z,]+;BYHOUR=\d+(,\d+)*", t["schedule"]["rrule"])


def test_scan_timer_fires_when_the_greenbone_schedule_says():
    """The systemd timer that starts each customer's scan and the RRULE in
    openvas/targets.json give the same next eight start times (dateutil reads
    the RRULE, systemd-analyze the OnCalendar expression)."""
    from dateutil.rrule import rrulestr
    base = datetime(2027, 1, 1, tzinfo=timezone.utc)
    targets = json.loads((REPO / "generated" / "openvas" / "targets.json").read_text())["targets"]
    assert targets
    for t in targets:
        host_vars = yaml.safe_load((REPO / "generated" / "ansible" / "inventory" / "host_vars" / f"{t['customer']}-wazuh.yml").read_text())
        rule = rrulestr(t["schedule"]["rrule"], dtstart=base)
        expected = [str(when.replace(tzinfo=None)) for when in rule.xafter(base, count=8)]
        out = subprocess.run(["systemd-analyze", "calendar", "--iterations=8", f"--base-time={base:%Y-%m-%d %H:%M:%S} UTC",
                              host_vars["openvas_on_calendar"]], capture_output=True, text=True, env={**os.environ, "TZ": "UTC"})
        assert out.returncode == 0, out.stderr
        fired = re.findall(r"(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", out.stdout)
        assert fired == expected, t["customer"]


def test_integrations_by_customer_setting_and_no_secret_values():
    acme = ET.fromstring((WAZUH / "managers" / "acme-logistics" / "ossec-manager.conf").read_text().split("-->", 1)[1])
    names = sorted(i.findtext("name") for i in acme.iter("integration"))
    assert names == ["pagerduty", "slack"]
    helios = ET.fromstring((WAZUH / "managers" / "helios-energy" / "ossec-manager.conf").read_text().split("-->", 1)[1])
    assert [i.findtext("name") for i in helios.iter("integration")] == ["custom-opsgenie"]
    placeholder = r"@@secret:file:[a-z0-9-]+:[\w./-]+@@"
    for conf in (acme, helios):
        for integration in conf.iter("integration"):
            secret_element = "hook_url" if integration.findtext("name") == "slack" else "api_key"
            assert re.fullmatch(placeholder, integration.findtext(secret_element)), integration.findtext("name")
        assert "firewall-drop" in conf.findtext("active-response/command")


# A gateway line as OpenClaw 2026.9.6's logger writes it (see README "OpenClaw").
GATEWAY_LINE = ('{"0":"{\\"subsystem\\":\\"gateway\\"}","1":{"channel":"telegram"},"2":"auth failed",'
                '"_meta":{"runtime":"node","hostname":"vm","date":"2026-11-25T03:30:47.798Z","logLevelId":4,'
                '"logLevelName":"WARN","name":"{\\"subsystem\\":\\"gateway\\"}","parentNames":["openclaw"]},'
                '"time":"2026-11-25T03:30:47.798+00:00","hostname":"vm","message":"auth failed","channel":"telegram"}')
FAIL2BAN_LINE = "2026-11-25 03:30:47,798 fail2ban.actions        [812]: NOTICE  [sshd] Ban 203.0.113.7"


def decoder(name: str) -> ET.Element:
    return next(d for d in decoders() if d.get("name") == name)


def flatten(data: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out


def test_gateway_decoder_and_rules_match_a_real_log_line():
    prematch = decoder("openclaw-gateway").findtext("prematch")
    assert re.search(prematch, GATEWAY_LINE)
    assert not re.search(prematch, FAIL2BAN_LINE)
    fields = flatten(json.loads(GATEWAY_LINE))
    rule = next(r for r in rules_in([WAZUH / "rules" / "clawtex_rules.xml"]) if r.get("id") == "100001")
    for cond in rule.findall("field"):
        assert re.search(cond.text, fields[cond.get("name")]), cond.get("name")
    fields["message"] = "connected"
    assert not all(re.search(c.text, fields[c.get("name")]) for c in rule.findall("field"))


def test_fail2ban_decoder_extracts_jail_action_and_ip():
    assert re.search(decoder("clawtex-fail2ban").findtext("prematch"), FAIL2BAN_LINE)
    child = decoder("clawtex-fail2ban-action")
    match = re.search(child.findtext("regex"), FAIL2BAN_LINE)
    order = [name.strip() for name in child.findtext("order").split(",")]
    assert dict(zip(order, match.groups())) == {"extra_data": "sshd", "action": "Ban", "srcip": "203.0.113.7"}


def test_fim_rules_watch_the_runtime_directories():
    rules = {r.get("id"): r for r in rules_in([WAZUH / "rules" / "clawtex_rules.xml"])}
    assert re.search(rules["100010"].find("field").text, "/etc/openclaw/openclaw.json")
    assert re.search(rules["100011"].find("field").text, "/var/lib/openclaw/skills/evil/index.js")
    assert not re.search(rules["100011"].find("field").text, "/var/lib/openclaw/skillsX/a")


def test_xml_breaking_display_name_is_escaped(repo):
    path = repo / "customers" / "acme-logistics.yaml"
    hostile = '</group><rule id="1"> & <!-- x --> "q"'
    path.write_text(path.read_text().replace("displayName: ACME Logistics GmbH", f"displayName: '{hostile}'"))
    result = run_clawtex(repo, "compile")
    assert result.returncode == 0, result.stderr
    conf = (repo / "generated" / "wazuh" / "groups" / "acme-logistics" / "agent.conf").read_text()
    root = ET.fromstring(f"<root>{conf}</root>")
    labels = {el.get("key"): el.text for el in root.iter("label")}
    assert labels["customer_name"] == hostile
    assert len(list(root.iter("rule"))) == 0


def test_adding_a_compliance_customer_keeps_everyone_elses_rule_ids(repo):
    before = json.loads((repo / "generated" / "wazuh" / "rule-blocks.json").read_text())["blocks"]
    assert before, "no example customer holds a rule-id block"
    src = (repo / "customers" / "orbital-health.yaml").read_text()
    new = (src.replace("orbital-health", "aardvark-health").replace('onboardedOn: "2025-11-03"', 'onboardedOn: "2020-01-01"'))
    (repo / "customers" / "aardvark-health.yaml").write_text(own_secret_ids(new, "aardvark-health"))
    result = run_clawtex(repo, "compile")
    assert result.returncode == 0, result.stderr
    after = json.loads((repo / "generated" / "wazuh" / "rule-blocks.json").read_text())["blocks"]
    assert {k: after[k] for k in before} == before
    assert after["aardvark-health"] not in before.values()
    # Gold customers without a compliance overlay have no rules of their own, so hold no block.
    assert "acme-logistics" not in after and "helios-energy" not in after


def test_rule_id_range_exhaustion_is_a_clear_error():
    from types import SimpleNamespace

    from compiler.diagnostics import CompileError
    from compiler.plan import _wazuh_rule_blocks
    customers = [SimpleNamespace(id=f"c{i:04d}", wazuh=True, compliance=("gdpr",), onboarded_on="2026-01-01")
                 for i in range(996)]
    with pytest.raises(CompileError) as error:
        _wazuh_rule_blocks(customers, {})
    assert "996 customers need a Wazuh rule-id block of 20" in str(error.value.diagnostics[0])
    assert len(_wazuh_rule_blocks(customers[:995], {})) == 995
