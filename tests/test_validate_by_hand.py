"""The validator's rules called in-process, each expected diagnostic written by hand.

tests/test_validate.py runs `clawtex validate` in a subprocess (the user's view: exit
code, file:line:col on stderr); mutation testing (scripts/mutation.py, issue 28) traces
only the test process, so these tests call compiler/validate.py's functions directly.
The tiers, the provider catalog and the settings are read here with pydantic from the
repository's YAML (not through compiler/validate.py); every expected message below is
written out from those files' numbers (tiers/*.yaml, tiers/providers.yaml)."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from compiler.diagnostics import CompileError, Diagnostic
from compiler.load import Document, load_bytes
from compiler.models import Customer, ProviderCatalog, SecretRef, Settings, Tier
from compiler import validate as v
from conftest import CUSTOMER, REPO

TELEGRAM = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"       # made up, in the shapes SECRET_PATTERNS knows
SLACK = "xoxb-1234567890-abcdefghijkl"
PAGING = {"provider": "pagerduty", "keyRef": {"source": "file", "provider": "ops", "id": "pd/x.key"}}


def _read(path: Path, model):
    return model.model_validate(yaml.safe_load(path.read_text()))


TIERS = {name: _read(REPO / "tiers" / f"{name}.yaml", Tier) for name in ("bronze", "silver", "gold", "platinum")}
CATALOG = _read(REPO / "tiers" / "providers.yaml", ProviderCatalog)
SETTINGS = _read(REPO / "clawtex.yaml", Settings)


def bronze(**changes) -> dict:
    data = yaml.safe_load(CUSTOMER.format(id="x", tier="bronze", price=75))
    data["spec"].update(changes)
    return data


def platinum(**changes) -> dict:
    data = yaml.safe_load((REPO / "customers" / "orbital-health.yaml").read_text())
    data["spec"].update(changes)
    return data


def tier_of(data: dict, tier: str, price: int) -> dict:
    data = copy.deepcopy(data)
    data["spec"]["tier"], data["spec"]["billing"]["monthlyPrice"] = tier, price
    return data


def rules(data: dict, catalog=CATALOG, tiers=TIERS) -> list[tuple[str, str]]:
    doc = Document("customers/x.yaml", data)
    return [(d.path, d.message) for d in v.tier_rule_errors(Customer.model_validate(data), doc, tiers, catalog)]


def tg(i: str) -> dict:
    return {"type": "telegram", "botToken": {"source": "env", "id": i}}


def dc(i: str) -> dict:
    return {"type": "discord", "token": {"source": "env", "id": i}}


# --- tier rules -------------------------------------------------------------------------

def test_the_example_shapes_pass():
    assert rules(bronze()) == []
    assert rules(platinum()) == []


def test_unknown_tier_lists_the_known_ones_and_a_close_match():
    assert rules(bronze(tier="diamond")) == [("spec.tier", "unknown tier 'diamond' (known: bronze, gold, platinum, silver)")]
    assert rules(bronze(tier="golde")) == [
        ("spec.tier", "unknown tier 'golde'; did you mean 'gold'? (known: bronze, gold, platinum, silver)")]
    # nothing else is checked for a tier that does not exist (three channels would be too many for bronze)
    assert rules(bronze(tier="nope", channels=[tg("A"), dc("B"), tg("C")])) == [
        ("spec.tier", "unknown tier 'nope' (known: bronze, gold, platinum, silver)")]


def test_channel_count_against_the_tier_maximum():
    assert rules(bronze(channels=[tg("A"), dc("B"), {"type": "signal", "account": "+15555550100", "linked": False}])) == [
        ("spec.channels", "bronze allows 1 channel, got 3")]
    silver = tier_of(bronze(channels=[tg("A"), dc("B"), {"type": "signal", "account": "+15555550100", "linked": False}]), "silver", 250)
    assert rules(silver) == [("spec.channels", "silver allows 2 channels, got 3")]
    assert rules(tier_of(bronze(channels=[tg("A"), dc("B")]), "silver", 250)) == []          # exactly the maximum


def test_channel_types_the_tier_does_not_offer_and_duplicates():
    slack = {"type": "slack", "botToken": {"source": "env", "id": "A"}, "appToken": {"source": "env", "id": "B"}}
    assert rules(bronze(channels=[slack])) == [
        ("spec.channels[0].type", "bronze does not offer channel type 'slack' (allowed: discord, telegram, whatsapp, signal)")]
    assert rules(tier_of(bronze(channels=[dc("A"), dc("B")]), "silver", 250)) == [
        ("spec.channels[1].type", "channel type 'discord' appears twice")]


def test_region_counts():
    # a second region is not the primary one: bronze has no plan of its own there (it lives on shared hosts)
    assert rules(bronze(regions=["fsn1", "nbg1"])) == [("spec.regions", "bronze needs 1 region, got 2"),
                                                        ("spec.regions[1]", "hetzner has no plan for bronze")]
    assert rules(platinum(regions=["fra1"])) == [("spec.regions", "platinum needs 2-3 regions, got 1")]
    assert rules(platinum(regions=["fra1", "ams3", "lon1", "nyc3"])) == [("spec.regions", "platinum needs 2-3 regions, got 4")]
    assert rules(platinum(regions=["fra1", "ams3", "nyc3"])) == []
    assert rules(platinum(regions=["fra1", "fra1"])) == [("spec.regions", "regions must be distinct")]


def test_regions_the_provider_does_not_have():
    assert rules(bronze(regions=["fra1"])) == [("spec.regions[0]", "hetzner has no region 'fra1' (known: fsn1, nbg1, hel1, ash, hil)")]
    assert rules(platinum(regions=["fra1", "fsn1"])) == [
        ("spec.regions[1]", "digitalocean has no region 'fsn1' (known: fra1, ams3, lon1, nyc3, sfo3, sgp1)")]
    assert rules(bronze(regions=["fra1"]), catalog=None) == []            # no catalog: no region facts to check


def test_the_first_region_is_the_primary_one():
    # Bronze's primary region needs a shared host there: Hetzner sells the shared-host plan
    # (cx43) in fsn1, nbg1, hel1 only (tiers/providers.yaml plans.shared_host.locations).
    assert rules(bronze(regions=["ash"])) == [
        ("spec.regions[0]", "hetzner has no cx43 in ash (sold in fsn1, nbg1, hel1)")]


def test_provider_problems_are_reported_at_the_provider():
    assert rules(platinum(provider="hetzner", regions=["fsn1", "nbg1"], whiteLabel=False, branding=None)) == [
        ("spec.provider", "hetzner cannot run platinum: no managed Kubernetes with DNS failover in clawtex's hetzner "
                          "stacks (tiers/providers.yaml hetzner.platinum)")]


def test_a_platinum_domain_at_a_provider_without_name_servers_in_its_plugin():
    # Hetzner's plugin names no name servers (and cannot run Platinum, reported at the provider)
    problems = rules(platinum(provider="hetzner", regions=["fsn1", "nbg1"], whiteLabel=False, branding=None,
                              customDomainDelegated=False))
    assert ("spec.customDomain", "manual step first: care-assistant.orbital-health.example is served by the global load "
                                 "balancer, whose TLS certificate hetzner issues only for a name its DNS serves. The customer "
                                 "adds NS records for care-assistant.orbital-health.example at their DNS pointing at the "
                                 "provider name servers; then set customDomainDelegated: true") in problems


def test_ha_mode():
    data = platinum()
    del data["spec"]["haMode"]
    assert rules(data) == [("spec.regions", "platinum needs haMode (active-active or active-passive)")]
    assert rules(bronze(haMode="active-passive")) == [("spec.haMode", "bronze does not offer haMode 'active-passive'")]


@pytest.mark.parametrize("price, ok", [(48, False), (49, True), (99, True), (100, False)])
def test_price_band_edges(price, ok):
    data = bronze()
    data["spec"]["billing"]["monthlyPrice"] = price
    assert rules(data) == ([] if ok else [("spec.billing.monthlyPrice", f"bronze is priced 49-99 USD/month, got {price}")])


def test_a_band_without_a_top_and_a_fractional_price():
    assert rules(tier_of(platinum(), "platinum", 1999)) == [
        ("spec.billing.monthlyPrice", "platinum is priced 2000-+ USD/month, got 1999")]
    assert rules(tier_of(platinum(), "platinum", 1_000_000)) == []
    data = bronze()
    data["spec"]["billing"]["monthlyPrice"] = 48.5
    assert rules(data) == [("spec.billing.monthlyPrice", "bronze is priced 49-99 USD/month, got 48.5")]


def test_custom_domain_rules():
    assert rules(bronze(customDomain="bot.example.com")) == [
        ("spec.customDomain", "bronze does not include a custom domain (Gold and up)")]
    assert rules(platinum(customDomainDelegated=False)) == [
        ("spec.customDomain", "manual step first: care-assistant.orbital-health.example is served by the global load "
                              "balancer, whose TLS certificate digitalocean issues only for a name its DNS serves. The "
                              "customer adds NS records for care-assistant.orbital-health.example at their DNS pointing "
                              "at ns1.digitalocean.com, ns2.digitalocean.com, ns3.digitalocean.com; then set "
                              "customDomainDelegated: true")]
    gold = tier_of(bronze(customDomain="bot.example.com", paging=PAGING), "gold", 1000)
    # Gold: certbot on the server (HTTP-01) needs the customer's CNAME first (issue 25 "Bad input").
    assert rules(gold) == [
        ("spec.customDomain", "manual step first: bot.example.com gets its TLS certificate on the server from "
                              "Let's Encrypt (HTTP-01), which reaches the server only through the customer's CNAME. "
                              "The customer adds at their DNS: bot.example.com CNAME x.hz.clawtex.example ; then set "
                              "customDomainCnameAdded: true")]
    gold = dict(gold, spec=dict(gold["spec"], customDomainCnameAdded=True))
    assert rules(gold) == []                                     # Gold: no load balancer, nothing to delegate
    assert rules(dict(gold, spec=dict(gold["spec"], customDomainDelegated=True))) == [
        ("spec.customDomainDelegated", "customDomainDelegated is for a Platinum customDomain")]
    data = platinum()
    del data["spec"]["customDomain"]
    assert rules(data) == [("spec.customDomainDelegated", "customDomainDelegated is for a Platinum customDomain")]


def test_paging_and_notifications():
    gold = tier_of(bronze(), "gold", 1000)
    assert rules(gold) == [("spec.tier", "gold pages on incidents: spec.paging (pagerduty or opsgenie) is required")]
    assert rules(bronze(paging=dict(PAGING, provider="opsgenie"))) == [("spec.paging", "bronze does not include paging via opsgenie")]
    notify = platinum()["spec"]["notifications"]
    assert rules(bronze(notifications=notify)) == [("spec.notifications", "bronze does not include Slack notifications (Gold and up)")]
    assert rules(dict(gold, spec=dict(gold["spec"], paging=dict(PAGING, provider="opsgenie"), notifications=notify))) == []


def test_model_endpoints_only_on_platinum_and_distinct():
    endpoints = platinum()["spec"]["modelEndpoints"]
    gold = tier_of(bronze(paging=PAGING, modelEndpoints=endpoints), "gold", 1000)
    assert rules(gold) == [("spec.modelEndpoints", "gold does not include custom model endpoints (Platinum)")]
    assert rules(platinum(modelEndpoints=endpoints + endpoints)) == [("spec.modelEndpoints", "endpoint names must be distinct")]


def test_skills():
    custom = {"name": "x", "kind": "custom", "source": "https://github.com/a/b.git"}
    integration = {"name": "y", "kind": "integration", "source": "https://github.com/a/c.git"}
    assert rules(bronze(skills=[{"name": "a"}, custom])) == [
        ("spec.skills[1].kind", "bronze includes standard skills only; custom skills start at Silver")]
    assert rules(tier_of(bronze(skills=[custom, integration]), "silver", 250)) == [
        ("spec.skills[1].kind", "silver does not include advanced integrations (Gold and up)")]
    assert rules(bronze(skills=[{"name": "a"}, {"name": "a"}])) == [("spec.skills", "skill names must be distinct")]


def test_compliance_and_sla_override():
    gold = bronze(paging=PAGING)
    assert rules(tier_of(dict(gold, spec=dict(gold["spec"], compliance=["hipaa"])), "gold", 1000)) == [
        ("spec.compliance[0]", "gold does not include hipaa compliance logging")]
    assert rules(tier_of(dict(gold, spec=dict(gold["spec"], slaOverridePercent=99.9)), "gold", 1000)) == [
        ("spec.slaOverridePercent", "gold SLA is fixed at 99.5%")]
    assert rules(platinum(slaOverridePercent=99.8)) == [
        ("spec.slaOverridePercent", "a negotiated SLA may only raise platinum's 99.9%")]
    assert rules(platinum(slaOverridePercent=99.9)) == []         # equal to the target is no raise but allowed


def test_white_label_and_branding():
    gold = tier_of(bronze(paging=PAGING, whiteLabel=True), "gold", 1000)
    assert rules(gold) == [("spec.whiteLabel", "gold does not include white-label")]
    assert rules(bronze(branding={"assistantName": "Bot"})) == [
        ("spec.branding", "branding is for white-label customers (whiteLabel: true)")]
    # a provider without a white-label DNS zone: the catalog with DigitalOcean's zone taken away
    catalog = yaml.safe_load((REPO / "tiers" / "providers.yaml").read_text())
    del catalog["spec"]["digitalocean"]["whiteLabelDnsZone"]
    assert rules(platinum(), catalog=ProviderCatalog.model_validate(catalog)) == [
        ("spec.whiteLabel", "digitalocean has no whiteLabelDnsZone in tiers/providers.yaml: a white-label customer's "
                            "domain must not point at a name of ours")]
    assert rules(platinum(), catalog=None) == []


def test_release_channel_and_databases():
    assert rules(bronze(releaseChannel="lts")) == [
        ("spec.releaseChannel", "bronze offers the OpenClaw release channel(s) stable, not lts")]
    assert rules(tier_of(bronze(releaseChannel="lts"), "silver", 250)) == []
    assert rules(bronze(databases=[{"engine": "postgres", "name": "app"}])) == [
        ("spec.databases", "bronze has no backups, so database dumps are not offered")]


def test_every_error_of_a_customer_is_reported():
    data = bronze(regions=["fsn1", "fsn1"], customDomain="a.example.com", releaseChannel="lts")
    assert rules(data) == [("spec.regions", "bronze needs 1 region, got 2"), ("spec.regions", "regions must be distinct"),
                           ("spec.regions[1]", "hetzner has no plan for bronze"),
                           ("spec.customDomain", "bronze does not include a custom domain (Gold and up)"),
                           ("spec.releaseChannel", "bronze offers the OpenClaw release channel(s) stable, not lts")]


# --- what OpenClaw would refuse ----------------------------------------------------------

@pytest.mark.parametrize("channel, key", [
    ({"type": "discord", "token": {"source": "file", "id": "d"}}, "token"),
    ({"type": "telegram", "botToken": {"source": "file", "id": "t"}}, "botToken"),
    ({"type": "slack", "botToken": {"source": "env", "id": "B"}, "appToken": {"source": "file", "id": "a"}}, "appToken"),
    ({"type": "msteams", "appId": "a1", "tenantId": "t1", "appPassword": {"source": "file", "id": "p"}}, "appPassword"),
])
def test_a_file_ref_on_the_env_only_default_provider(channel, key):
    data = platinum(channels=[channel])
    assert rules(data) == [(f"spec.channels[0].{key}", "secret provider 'default' is an env provider; give file refs "
                                                      "their own provider name (e.g. provider: vault)")]


def test_one_provider_alias_one_source():
    ref = {"source": "env", "provider": "vault", "id": "LLM_KEY"}
    data = platinum()
    data["spec"]["modelEndpoints"][0]["apiKey"] = ref         # vault is a file provider in the channels before it
    assert rules(data) == [("spec.modelEndpoints[0].apiKey", "secret provider 'vault' is an file provider; give env refs "
                                                             "their own provider name (e.g. provider: vault)")]


def test_a_model_on_a_custom_endpoint_must_be_one_it_serves():
    assert rules(platinum(model={"primary": "orbital-llm/other", "fallbacks": ["anthropic/claude-opus-4-5", "orbital-llm/x"]})) == [
        ("spec.model.primary", "endpoint 'orbital-llm' serves clinical-70b, triage-8b, not 'other'"),
        ("spec.model.fallbacks[1]", "endpoint 'orbital-llm' serves clinical-70b, triage-8b, not 'x'")]
    assert rules(platinum(model={"primary": "orbital-llm/triage-8b", "fallbacks": ["orbital-llm/clinical-70b"]})) == []


def test_snake_case():
    assert [v._snake_case(n) for n in ("token", "botToken", "appPassword")] == ["token", "bot_token", "app_password"]


# --- secrets in text ---------------------------------------------------------------------

@pytest.mark.parametrize("value, label", [
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key"),
    (TELEGRAM, "Telegram bot token"),
    (SLACK, "Slack token"),
    ("xapp-1-A0123456789", "Slack token"),
    ("MTA4NzY1NDMyMTA5ODc2NTQz.GabcDE.abcdefghijklmnopqrstuvwxyz0123", "Discord bot token"),
    ("sk-ant-abcdefghijklmnopqrstuvwx", "API key"),
    ("AKIAABCDEFGHIJKLMNOP", "API key"),
    ("whsec_abcdefghijklmnop", "API key"),
])
def test_each_secret_shape_is_found_with_its_column(value, label):
    text = f"a: 1\nkey: {value}\n"
    assert v.find_secrets_in_text(text, "clawtex.yaml") == [Diagnostic(
        "clawtex.yaml", 2, 6, "", f"looks like a plaintext {label}; clawtex files hold secret references only, e.g. "
                                  "{source: env, id: ACME_TELEGRAM_BOT_TOKEN}; once pushed it is in git history: remove "
                                  "it and rotate the credential")]


def test_a_secret_in_a_comment_and_in_a_customer_file():
    found = v.find_secrets_in_text(f"x: 1  # {TELEGRAM}\n#{SLACK}\n", "customers/a.yaml")
    assert [(d.line, d.column, d.message.split(";")[0]) for d in found] == [
        (1, 9, "looks like a plaintext Telegram bot token in a comment"), (2, 2, "looks like a plaintext Slack token in a comment")]
    assert "customer files hold secret references only" in found[0].message


def test_a_hash_inside_a_value_is_no_comment():
    # YAML: '#' starts a comment only at the line start or after a space or tab
    (d,) = v.find_secrets_in_text(f"x: a#{TELEGRAM}\n", "customers/a.yaml")
    assert d.message.startswith("looks like a plaintext Telegram bot token;")
    (d,) = v.find_secrets_in_text(f"x: 1\t# {TELEGRAM}\n", "customers/a.yaml")
    assert d.message.startswith("looks like a plaintext Telegram bot token in a comment;")
    (d,) = v.find_secrets_in_text(f"x: 1 # old {TELEGRAM} # more\n", "customers/a.yaml")    # the first '#' opens it
    assert d.message.startswith("looks like a plaintext Telegram bot token in a comment;")
    (d,) = v.find_secrets_in_text(f"{TELEGRAM} # later\n", "customers/a.yaml")    # the comment comes after the token
    assert d.message.startswith("looks like a plaintext Telegram bot token;")
    assert v._comment_starts("#x", 0) and v._comment_starts("a #", 2) and v._comment_starts("a\t#", 2)
    assert not v._comment_starts("a#", 1) and not v._comment_starts("X#", 1)


def test_one_diagnostic_per_line_even_with_two_secrets():
    assert len(v.find_secrets_in_text(f"{TELEGRAM} {SLACK}\n", "x.yaml")) == 1
    assert v.find_secrets_in_text("nothing: here\n", "x.yaml") == []


def test_secrets_in_file_text_and_values_each_line_once(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(f'a: "{TELEGRAM}"\nb: "\\x78oxb-1234567890-abcdefghijkl"\n')   # b spells the token with an escape
    doc = load_bytes(path.read_bytes(), "customers/c.yaml")
    found = v.secrets_in_file(path, "customers/c.yaml", doc)
    assert [(d.line, d.path, d.message.split(";")[0]) for d in found] == [
        (1, "", "looks like a plaintext Telegram bot token"), (2, "b", "looks like a plaintext Slack token")]
    assert [d.line for d in v.secrets_in_file(path, "customers/c.yaml", None)] == [1]
    assert v.secrets_in_file(tmp_path / "missing.yaml", "customers/m.yaml", None) == []


def test_plaintext_secrets_in_values_by_key_path():
    doc = Document("customers/c.yaml", {"a": {"b": ["ok", f"t {TELEGRAM} {SLACK}"]}, "c": 5, "d": SLACK},
                   {("a", "b", 1): (7, 9), ("d",): (8, 1)})
    assert list(v.find_plaintext_secrets(doc)) == [
        Diagnostic("customers/c.yaml", 7, 9, "a.b[1]", "looks like a plaintext Telegram bot token; customer files hold secret "
                                                      "references only, e.g. {source: env, id: ACME_TELEGRAM_BOT_TOKEN}"),
        Diagnostic("customers/c.yaml", 8, 1, "d", "looks like a plaintext Slack token; customer files hold secret "
                                                 "references only, e.g. {source: env, id: ACME_TELEGRAM_BOT_TOKEN}")]


# --- one customer file, the fleet, the release pins --------------------------------------

def write(root: Path, name: str, text: str) -> Path:
    (root / "customers").mkdir(parents=True, exist_ok=True)
    path = root / "customers" / name
    path.write_text(text)
    return path


def check_file(path: Path, root: Path):
    errors: list[Diagnostic] = []
    loaded = v.validate_customer_file(path, root, TIERS, CATALOG, errors)
    return loaded, [str(d) for d in errors]


def test_a_valid_customer_file_is_loaded(tmp_path):
    loaded, errors = check_file(write(tmp_path, "x.yaml", CUSTOMER.format(id="x", tier="bronze", price=75)), tmp_path)
    assert errors == [] and loaded.model.metadata.id == "x" and loaded.doc.file == "customers/x.yaml"


def test_id_suffix_and_rule_errors_of_one_file(tmp_path):
    loaded, errors = check_file(write(tmp_path, "y.yml", CUSTOMER.format(id="x", tier="bronze", price=500)), tmp_path)
    assert loaded is None
    assert errors == ["customers/y.yml:1:1: customer files end in .yaml",
                      "customers/y.yml:4:3: metadata.id: id 'x' must equal the file name 'y'",
                      "customers/y.yml:14:5: spec.billing.monthlyPrice: bronze is priced 49-99 USD/month, got 500"]


def test_a_secret_spelled_with_an_escape_is_found_in_the_value(tmp_path):
    # the token is not in the text as such ("\\x78" is "x"), only in the parsed value
    text = CUSTOMER.format(id="x", tier="bronze", price=75).replace(
        "displayName: Test Customer", 'displayName: "\\x78oxb-1234567890-abcdefghijkl"')
    loaded, errors = check_file(write(tmp_path, "x.yaml", text), tmp_path)
    assert loaded is None
    assert errors == ["customers/x.yaml:5:3: metadata.displayName: looks like a plaintext Slack token; customer files hold "
                      "secret references only, e.g. {source: env, id: ACME_TELEGRAM_BOT_TOKEN}"]


def test_a_region_the_provider_lacks_is_checked_against_the_catalog(tmp_path):
    loaded, errors = check_file(write(tmp_path, "x.yaml", CUSTOMER.format(id="x", tier="bronze", price=75).replace(
        "[fsn1]", "[fra1]")), tmp_path)
    assert loaded is None
    assert errors == ["customers/x.yaml:11:13: spec.regions[0]: hetzner has no region 'fra1' (known: fsn1, nbg1, hel1, ash, hil)"]


def test_a_schema_error_names_the_key_and_the_close_match(tmp_path):
    text = CUSTOMER.format(id="x", tier="bronze", price=75).replace("  provider: hetzner", "  provider: hetzner\n  tire: x")
    loaded, errors = check_file(write(tmp_path, "x.yaml", text), tmp_path)
    assert loaded is None and errors == ["customers/x.yaml:11:3: spec.tire: unknown key 'tire'; did you mean 'tier'?"]


def test_a_file_that_is_not_utf8_is_still_scanned(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"a: \xff\n# " + TELEGRAM.encode() + b"\n")
    assert [(d.line, d.column) for d in v.secrets_in_file(path, "customers/c.yaml", None)] == [(2, 3)]


def test_a_file_with_a_secret_is_not_loaded(tmp_path):
    text = CUSTOMER.format(id="x", tier="bronze", price=75) + f"# {TELEGRAM}\n"
    loaded, errors = check_file(write(tmp_path, "x.yaml", text), tmp_path)
    assert loaded is None and len(errors) == 1 and errors[0].startswith("customers/x.yaml:19:3: looks like a plaintext Telegram")


def test_a_file_that_does_not_parse_or_cannot_be_read(tmp_path):
    loaded, errors = check_file(write(tmp_path, "x.yaml", f"a: [\n# {TELEGRAM}\n"), tmp_path)
    assert loaded is None and any("Telegram bot token in a comment" in e for e in errors) and len(errors) == 2
    errors: list[Diagnostic] = []
    assert v.validate_customer_file(tmp_path / "customers" / "missing.yaml", tmp_path, TIERS, CATALOG, errors) is None
    assert errors == [Diagnostic("customers/missing.yaml", 1, 1, "", "cannot read file: No such file or directory")]
    loaded, errors = check_file(write(tmp_path, "z.yaml", "apiVersion: clawtex/v1\nkind: Customer\n"), tmp_path)
    assert loaded is None and errors and all(e.startswith("customers/z.yaml:") for e in errors)


def loaded(root: Path, cid: str, text: str) -> v.LoadedCustomer:
    path = write(root, f"{cid}.yaml", text)
    return v.LoadedCustomer(Customer.model_validate(yaml.safe_load(text)), load_bytes(path.read_bytes(), f"customers/{cid}.yaml"))


def test_fleet_ids_and_domains_are_unique(tmp_path):
    base = CUSTOMER.format(id="{id}", tier="bronze", price=75)
    a = loaded(tmp_path, "a", base.replace("{id}", "a") + "  customDomain: bot.example.com\n")
    b = loaded(tmp_path, "b", base.replace("{id}", "a") + "  customDomain: bot.example.com\n")
    c = loaded(tmp_path, "c", base.replace("{id}", "a") + "  customDomain: bot.example.com\n")
    d = loaded(tmp_path, "d", base.replace("{id}", "d"))
    assert [str(x) for x in v.fleet_errors([a, b, c, d])] == [
        "customers/b.yaml:4:3: metadata.id: id 'a' is also used by customers/a.yaml",
        "customers/b.yaml:19:3: spec.customDomain: custom domain 'bot.example.com' is also used by customers/a.yaml",
        "customers/c.yaml:4:3: metadata.id: id 'a' is also used by customers/a.yaml",
        "customers/c.yaml:19:3: spec.customDomain: custom domain 'bot.example.com' is also used by customers/a.yaml"]
    assert list(v.fleet_errors([a, d])) == []


def test_a_secret_ref_belongs_to_one_customer(tmp_path):
    base = CUSTOMER.format(id="{id}", tier="bronze", price=75)
    a = loaded(tmp_path, "a", base.replace("{id}", "a"))
    b = loaded(tmp_path, "b", base.replace("{id}", "b"))
    c = loaded(tmp_path, "c", base.replace("{id}", "c").replace("T_TOKEN", "C_TOKEN"))
    message = ("customers/b.yaml:18:7: spec.channels[0].botToken: secret env 'T_TOKEN' is also used by customer 'a' "
               "(customers/a.yaml:18:7); each customer needs its own secret (a copied customer file keeps the original's "
               "secret ids), or list it in clawtex.yaml spec.sharedSecretRefs if it is meant to be shared fleet-wide")
    assert [str(d) for d in v.secret_owner_errors([b, a, c])] == [message]
    assert list(v.secret_owner_errors([a, b], shared=["T_TOKEN"])) == []
    # a shared ref is skipped, and the refs after it in the same customer are still checked
    two = "    - type: discord\n      token: {source: env, id: D_TOKEN}\n"
    sa = loaded(tmp_path, "sa", base.replace("{id}", "sa").replace("tier: bronze", "tier: silver") + two)
    sb = loaded(tmp_path, "sb", base.replace("{id}", "sb").replace("tier: bronze", "tier: silver") + two)
    assert [(d.file, d.path) for d in v.secret_owner_errors([sa, sb], shared=["T_TOKEN"])] == [
        ("customers/sb.yaml", "spec.channels[1].token")]
    # a file validated by name counts as later than the rest: the error is its own
    (d,) = v.secret_owner_errors([a, b], focus=frozenset({"customers/a.yaml"}))
    assert d.file == "customers/a.yaml" and "also used by customer 'b' (customers/b.yaml:18:7)" in d.message
    # the same customer twice (two of its own channels) is no conflict
    twice = loaded(tmp_path, "e", base.replace("{id}", "e").replace("tier: bronze", "tier: silver")
                   + "    - type: telegram\n      botToken: {source: env, id: T_TOKEN}\n")
    assert list(v.secret_owner_errors([twice])) == []


def test_secret_keys_env_by_name_file_by_provider():
    ref = SecretRef.model_validate
    assert v._secret_key(ref({"source": "env", "provider": "p", "id": "A"})) == ("env", "A")
    assert v._secret_key(ref({"source": "file", "provider": "p", "id": "a"})) == ("file", "p", "a")


def test_secret_refs_in_a_model_with_their_yaml_paths():
    model = Customer.model_validate(platinum())
    paths = [(p, r.id) for p, r in v.secret_refs_in(model)]
    assert paths == [
        (("spec", "channels", 0, "appPassword"), "orbital/msteams-app-password"),
        (("spec", "channels", 1, "botToken"), "orbital/slack-bot-token"),
        (("spec", "channels", 1, "appToken"), "orbital/slack-app-token"),
        (("spec", "channels", 3, "botToken"), "orbital/telegram-bot-token"),
        (("spec", "channels", 4, "token"), "orbital/discord-token"),
        (("spec", "modelEndpoints", 0, "apiKey"), "orbital/llm-api-key"),
        (("spec", "paging", "keyRef"), "pagerduty/orbital-health.key"),
        (("spec", "notifications", "webhookRef"), "slack/orbital-health.url")]


def test_release_pins(tmp_path):
    base = CUSTOMER.format(id="{id}", tier="silver", price=250)
    discord = "    - type: discord\n      token: {source: env, id: D}"
    telegram = "    - type: telegram\n      botToken: {source: env, id: T_TOKEN}"
    ok = loaded(tmp_path, "a", base.replace("{id}", "a"))
    unknown_tier = loaded(tmp_path, "u", base.replace("{id}", "u").replace("tier: silver", "tier: nope"))
    lts = loaded(tmp_path, "l", base.replace("{id}", "l").replace(telegram, discord + "\n" + telegram) + "  releaseChannel: lts\n")
    assert list(v.release_errors([ok, unknown_tier, lts], SETTINGS, TIERS)) == []
    data = yaml.safe_load((REPO / "clawtex.yaml").read_text())
    del data["spec"]["openclaw"]["lts"]["channelPlugins"]["discord"]
    lts2 = loaded(tmp_path, "m", base.replace("{id}", "m").replace(telegram, discord + "\n" + telegram) + "  releaseChannel: lts\n")
    assert [str(d) for d in v.release_errors([unknown_tier, lts, ok, lts2], Settings.model_validate(data), TIERS)] == [
        "customers/l.yaml:17:7: spec.channels[0].type: no discord plugin is pinned for OpenClaw 2026.7.35 (release channel "
        "lts; clawtex.yaml spec.openclaw)",
        "customers/m.yaml:17:7: spec.channels[0].type: no discord plugin is pinned for OpenClaw 2026.7.35 (release channel "
        "lts; clawtex.yaml spec.openclaw)"]
    # the same customer on its tier's default (stable), whose plugins include discord: no error;
    # and the error is placed at the tier when the channel is the tier's default
    stable = loaded(tmp_path, "s", base.replace("{id}", "s").replace(telegram, discord))
    assert list(v.release_errors([stable], Settings.model_validate(data), TIERS)) == []
    del data["spec"]["openclaw"]["lts"]
    assert [str(d) for d in v.release_errors([lts, lts2], Settings.model_validate(data), TIERS)] == [
        "customers/l.yaml:21:3: spec.releaseChannel: clawtex.yaml spec.openclaw pins no lts release",
        "customers/m.yaml:21:3: spec.releaseChannel: clawtex.yaml spec.openclaw pins no lts release"]
    silver_lts = yaml.safe_load((REPO / "tiers" / "silver.yaml").read_text())
    silver_lts["spec"]["releaseChannels"]["default"] = "lts"
    tiers = dict(TIERS, silver=Tier.model_validate(silver_lts))
    assert [str(d) for d in v.release_errors([ok], Settings.model_validate(data), tiers)] == [
        "customers/a.yaml:9:3: spec.tier: clawtex.yaml spec.openclaw pins no lts release"]


def test_repo_config_tiers_by_file_name(tmp_path):
    (tmp_path / "tiers").mkdir()
    errors: list[Diagnostic] = []
    assert v.load_repo_config(tmp_path, errors) == (None, None, {})
    assert errors == [Diagnostic("clawtex.yaml", 1, 1, "", "file is missing"),
                      Diagnostic("tiers/providers.yaml", 1, 1, "", "file is missing")]
    for name in ("clawtex.yaml", "tiers/providers.yaml", "tiers/slo-windows.yaml", "tiers/replacement-facts.yaml"):
        (tmp_path / name).write_text((REPO / name).read_text())
    errors = []
    settings, catalog, tiers = v.load_repo_config(tmp_path, errors)
    assert errors == [Diagnostic("tiers/", 1, 1, "", "no tier files found")] and tiers == {}
    assert settings == SETTINGS and catalog == CATALOG
    (tmp_path / "tiers" / "bronze.yaml").write_text((REPO / "tiers" / "bronze.yaml").read_text())
    (tmp_path / "tiers" / "cheap.yaml").write_text((REPO / "tiers" / "bronze.yaml").read_text())
    # silver.yaml sorts after providers.yaml and replacement-facts.yaml: those are skipped, not the end
    (tmp_path / "tiers" / "silver.yaml").write_text((REPO / "tiers" / "silver.yaml").read_text())
    errors = []
    settings, catalog, tiers = v.load_repo_config(tmp_path, errors)
    assert sorted(tiers) == ["bronze", "silver"] and tiers["bronze"] == TIERS["bronze"] and tiers["silver"] == TIERS["silver"]
    assert [str(e) for e in errors] == ["tiers/cheap.yaml:1:1: metadata.name: tier name 'bronze' must equal the file name 'cheap'"]
    # a tier file: a token in a comment (its data still counts), one that does not parse, one with a schema error
    bronze_text = (REPO / "tiers" / "bronze.yaml").read_text()
    (tmp_path / "tiers" / "cheap.yaml").unlink()
    (tmp_path / "tiers" / "bronze.yaml").write_text(bronze_text.replace("displayName: Bronze", 'displayName: "\\x78oxb-1234567890-abcdefghijkl"')
                                                    + f"# {SLACK}\n")
    shown_name = next(n for n, l in enumerate(bronze_text.splitlines(), 1) if "displayName: Bronze" in l)
    (tmp_path / "tiers" / "gold.yaml").write_text(f"spec: [\n# {TELEGRAM}\n")
    (tmp_path / "tiers" / "silver.yaml").write_text(bronze_text.replace("name: bronze", "name: silver").replace("rank: 1", "rank: one"))
    errors = []
    settings, catalog, tiers = v.load_repo_config(tmp_path, errors)
    lines = len(bronze_text.splitlines()) + 1
    rank = next(n for n, l in enumerate(bronze_text.splitlines(), 1) if "rank: 1" in l)
    assert sorted(tiers) == ["bronze"]
    shown = [str(e) for e in errors]
    assert shown[0].startswith(f"tiers/bronze.yaml:{lines}:3: looks like a plaintext Slack token in a comment; clawtex files")
    assert shown[1].startswith(f"tiers/bronze.yaml:{shown_name}:3: metadata.displayName: looks like a plaintext Slack token; clawtex")
    assert shown[2].startswith("tiers/gold.yaml:") and shown[3].startswith("tiers/gold.yaml:2:3: looks like a plaintext Telegram")
    assert shown[4:] == [f"tiers/silver.yaml:{rank}:3: spec.rank: expected a whole number, got the text 'one'"] and len(shown) == 5
