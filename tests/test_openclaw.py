"""OpenClaw target: what the generated gateway configs carry, and what `clawtex validate` refuses before boot."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

import pytest
import yaml

from compiler.validate import SECRET_PATTERNS
from conftest import CUSTOMER, REPO, run_clawtex

CONFIGS = {p.parent.name: json.loads(p.read_text()) for p in sorted((REPO / "generated" / "openclaw").glob("*/openclaw.json"))}
# Keys whose value is a credential wherever they appear in a generated file.
CREDENTIAL_KEY = re.compile(r"(?i)^(token|bottoken|apptoken|apppassword|password|apikey|secret|webhook(url)?|routing_key|api_key|signingsecret)$")
ENV_ID = re.compile(r"^[A-Z][A-Z0-9_]{0,127}$")
JSON_POINTER = re.compile(r"^(/([^~/]|~[01])*)+$")



def customer(cid: str, tier: str = "bronze", price: int = 75, extra: str = "") -> str:
    return CUSTOMER.format(id=cid, tier=tier, price=price) + extra


def walk(value: Any, path: tuple = ()) -> Iterable[tuple[tuple, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from walk(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from walk(child, (*path, index))


# A whole-value Terraform variable (TF_VAR_* at apply time), or a password generated in the
# state by hashicorp/random (the Storage Box password, provider-facts row 22): never in a file.
TERRAFORM_VARIABLE = re.compile(r"^\$\{(var\.[a-z0-9_]+|random_password\.[a-z0-9_]+\.result)\}$")


def is_secret_ref(value: Any) -> bool:
    """A SecretRef, or in Terraform JSON a whole-value variable reference (TF_VAR_* at apply time)."""
    if isinstance(value, str):
        return bool(TERRAFORM_VARIABLE.match(value))
    return isinstance(value, dict) and set(value) == {"source", "provider", "id"} and value["source"] in ("env", "file")


def literal_credentials(data: Any) -> list[str]:
    """Paths of credential-named keys whose value is not a SecretRef."""
    bad = []
    for path, value in walk(data):
        # JSON Schemas describe credential fields (under "properties"); they hold none.
        if path and isinstance(path[-1], str) and CREDENTIAL_KEY.match(path[-1]) and not is_secret_ref(value) \
                and not isinstance(value, bool) and path[-2:-1] != ("properties",):
            bad.append(".".join(map(str, path)))
    return bad


class TaggedLoader(yaml.SafeLoader):
    """Reads Ansible's `!unsafe` (and any tag) as the plain value it wraps."""


TaggedLoader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node)
                                   if isinstance(node, yaml.ScalarNode) else None)


def structured(path: Path, text: str) -> Any:
    if path.suffix == ".json":
        return json.loads(text)
    if path.suffix in (".yml", ".yaml"):
        return yaml.load(text, Loader=TaggedLoader)
    return None


def secret_refs(config: dict) -> list[dict]:
    return [value for _, value in walk(config) if is_secret_ref(value)]


# ---------------------------------------------------------------- no literal credentials anywhere


def test_literal_scanner_catches_a_planted_token():
    planted = {"channels": {"telegram": {"botToken": "123456:AAAA"}}, "models": {"providers": {"x": {"apiKey": "k"}}}}
    assert literal_credentials(planted) == ["channels.telegram.botToken", "models.providers.x.apiKey"]
    inventory = "all:\n  vars:\n    name: !unsafe 'x'\n    apiKey: !unsafe 'k'\n"
    assert literal_credentials(structured(Path("hosts.yml"), inventory)) == ["all.vars.apiKey"]
    assert literal_credentials({"channels": {"telegram": {"botToken": {"source": "env", "provider": "default", "id": "T"}}}}) == []


def test_no_credential_in_generated_is_a_literal():
    files = [p for p in (REPO / "generated").rglob("*") if p.is_file()]
    assert len(files) > 20
    problems = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        problems += [f"{path}: looks like a {label}" for label, pattern in SECRET_PATTERNS if pattern.search(text)]
        problems += [f"{path}: {p}" for p in literal_credentials(structured(path, text))]
    assert not problems, problems


def test_every_channel_and_model_credential_is_a_reference():
    refs = 0
    for cid, config in CONFIGS.items():
        for name, channel in config["channels"].items():
            for key in ("token", "botToken", "appToken", "appPassword"):
                if key in channel:
                    assert is_secret_ref(channel[key]), (cid, name, key)
                    refs += 1
        for name, provider in config.get("models", {}).get("providers", {}).items():
            assert is_secret_ref(provider["apiKey"]), (cid, name)
            refs += 1
    assert refs >= 15


# ---------------------------------------------------------------- references resolve at runtime


@pytest.mark.parametrize("cid", sorted(CONFIGS))
def test_every_referenced_secret_provider_is_declared(cid):
    """OpenClaw's validator does not check this; the gateway fails closed at startup without it."""
    config = CONFIGS[cid]
    providers = config["secrets"]["providers"]
    for ref in secret_refs(config):
        assert providers[ref["provider"]]["source"] == ref["source"], ref
        if ref["source"] == "env":
            assert ENV_ID.match(ref["id"]), ref
        else:
            assert JSON_POINTER.match(ref["id"]), ref
            assert providers[ref["provider"]]["mode"] == "json"
            assert providers[ref["provider"]]["path"].startswith("/etc/openclaw/secrets/")


# ---------------------------------------------------------------- per-tier shape


def test_gateway_exposure_follows_hosting():
    bronze, silver, gold, platinum = (CONFIGS[c]["gateway"] for c in ("pixel-bakery", "mapleleaf-dental", "acme-logistics", "orbital-health"))
    assert bronze["bind"] == "lan" and "publicOrigin" not in bronze            # container on a shared host
    # Bronze tenants run on podman + slirp4netns (tiers/bronze.yaml): nginx reaches them from
    # slirp4netns's gateway address 10.0.2.2 (slirp4netns(1), port_handler=slirp4netns).
    assert bronze["trustedProxies"] == ["10.0.2.2"] and platinum["trustedProxies"] == ["10.42.0.0/16"]
    assert silver["bind"] == "loopback" and silver["trustedProxies"] == ["127.0.0.1"]
    assert gold["bind"] == "loopback" and gold["publicOrigin"] == "https://assistant.acme-logistics.example"
    assert gold["controlUi"]["allowedOrigins"] == [gold["publicOrigin"]]
    assert platinum["bind"] == "lan" and platinum["publicOrigin"] == "https://care-assistant.orbital-health.example"
    for gw in CONFIGS.values():
        assert gw["gateway"]["port"] == 18789 and gw["gateway"]["mode"] == "local"
        assert gw["gateway"]["auth"] == {"mode": "token", "token": {"source": "env", "provider": "default", "id": "OPENCLAW_GATEWAY_TOKEN"}}
        assert gw["gateway"]["reload"] == {"mode": "hybrid"}


def test_channels_carry_dm_policy_and_allow_lists_from_the_customer_file():
    orbital = CONFIGS["orbital-health"]["channels"]
    assert sorted(orbital) == ["discord", "msteams", "signal", "slack", "telegram", "whatsapp"]
    assert orbital["signal"] == {"enabled": True, "dmPolicy": "allowlist", "account": "+4930123456789",
                                 "allowFrom": ["+4930123456780", "+4930123456781"]}
    assert orbital["telegram"]["dmPolicy"] == "disabled"
    assert orbital["telegram"]["botToken"] == {"source": "file", "provider": "vault", "id": "/orbital/telegram-bot-token"}
    assert CONFIGS["tiny-legal"]["channels"]["whatsapp"]["groupPolicy"] == "disabled"
    assert not any("groupPolicy" in ch for ch in orbital.values())
    assert CONFIGS["nordic-yoga"]["channels"]["discord"]["allowFrom"] == ["148552210334568448", "228552210334568449"]


def test_platinum_model_endpoints_become_providers():
    orbital = CONFIGS["orbital-health"]
    assert orbital["agents"]["defaults"]["model"] == {"primary": "orbital-llm/clinical-70b", "fallbacks": ["anthropic/claude-opus-4-5"]}
    provider = orbital["models"]["providers"]["orbital-llm"]
    assert provider["baseUrl"] == "https://llm.internal.orbital-health.example/v1"
    assert [m["id"] for m in provider["models"]] == ["clinical-70b", "triage-8b"]
    assert not any("models" in CONFIGS[c] for c in CONFIGS if c != "orbital-health")


def test_skills_by_tier():
    bronze = CONFIGS["pixel-bakery"]["skills"]
    assert bronze == {"allowBundled": ["gog", "weather"], "entries": {"gog": {"enabled": True}, "weather": {"enabled": True}}}
    silver = CONFIGS["brightpath-tutors"]["skills"]
    assert silver["load"]["extraDirs"] == ["/var/lib/openclaw/skills"] and "homework-helper" in silver["entries"]
    assert "sap-connector" in CONFIGS["acme-logistics"]["skills"]["entries"]


def test_logging_goes_to_the_runtime_log_file():
    for config in CONFIGS.values():
        assert config["logging"] == {"level": "info", "file": "/var/log/openclaw/gateway.log"}


def test_paths_come_from_clawtex_yaml_only(repo):
    settings = repo / "clawtex.yaml"
    text = settings.read_text()
    text = text.replace("/var/log/openclaw/gateway.log", "/srv/oc/gw.log").replace("gatewayPort: 18789", "gatewayPort: 18800")
    settings.write_text(text.replace("/etc/openclaw/secrets", "/srv/oc/secrets"))
    result = run_clawtex(repo, "compile")
    assert result.returncode == 0, result.stderr
    config = json.loads((repo / "generated" / "openclaw" / "orbital-health" / "openclaw.json").read_text())
    assert config["logging"]["file"] == "/srv/oc/gw.log" and config["gateway"]["port"] == 18800
    assert config["secrets"]["providers"]["vault"]["path"] == "/srv/oc/secrets/vault.json"


# ---------------------------------------------------------------- refused at validate time, not at boot


def write(repo: Path, cid: str, text: str) -> str:
    path = repo / "customers" / f"{cid}.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_unknown_channel_option_is_a_file_line_error_and_never_reaches_generated(repo):
    before = sorted(p.relative_to(repo) for p in (repo / "generated").rglob("*"))
    write(repo, "typo-bakery", customer("typo-bakery") + "      dmPolicyy: open\n")
    result = run_clawtex(repo, "compile")
    assert result.returncode == 1
    assert "customers/typo-bakery.yaml:19:7: spec.channels[0].dmPolicyy: unknown key" in result.stderr, result.stderr
    assert not (repo / "generated" / "openclaw" / "typo-bakery").exists()
    assert sorted(p.relative_to(repo) for p in (repo / "generated").rglob("*")) == before


@pytest.mark.parametrize("tier,price,extra,expected", [
    ("bronze", 75, "    - type: slack\n      botToken: {source: env, id: S_BOT}\n      appToken: {source: env, id: S_APP}\n",
     "spec.channels[1].type: bronze does not offer channel type 'slack'"),
    ("bronze", 75, "  skills:\n    - {name: mine, kind: custom, source: \"https://github.com/x/mine.git\"}\n",
     "spec.skills[0].kind: bronze includes standard skills only"),
    ("silver", 199, "  skills:\n    - {name: erp, kind: integration, source: \"https://github.com/x/erp.git\"}\n",
     "spec.skills[0].kind: silver does not include advanced integrations"),
    ("silver", 199, "  modelEndpoints:\n    - {name: own, baseUrl: \"https://llm.example.com/v1\", apiKey: {source: env, id: K}, models: [m1]}\n",
     "spec.modelEndpoints: silver does not include custom model endpoints"),
    ("bronze", 75, "    - type: discord\n      botToken: {source: env, id: D_TOKEN}\n",
     "spec.channels[1]: discord channel needs 'token'"),
    ("bronze", 75, "    - type: matrix\n",
     "spec.channels[1].type: 'matrix' is not one of the allowed values: discord, telegram, whatsapp, signal, slack, msteams"),
])
def test_tier_and_channel_refusals(repo, tier, price, extra, expected):
    path = write(repo, "refused", customer("refused", tier, price, extra))
    result = run_clawtex(repo, "validate", path)
    assert result.returncode == 1 and expected in result.stderr, result.stderr
    assert re.search(r"customers/refused\.yaml:\d+:\d+: ", result.stderr)


def test_secret_provider_alias_is_one_source(repo):
    extra = ("    - type: discord\n      token: {source: file, id: discord/token}\n")
    path = write(repo, "clash", customer("clash", "silver", 199, extra))
    result = run_clawtex(repo, "validate", path)
    assert result.returncode == 1
    assert "spec.channels[1].token: secret provider 'default' is an env provider" in result.stderr, result.stderr


def test_model_on_custom_endpoint_must_be_served(repo):
    text = (REPO / "customers" / "orbital-health.yaml").read_text().replace("primary: orbital-llm/clinical-70b", "primary: orbital-llm/clinical-405b")
    path = write(repo, "orbital-health", text)
    result = run_clawtex(repo, "validate", path)
    assert result.returncode == 1
    assert "spec.model.primary: endpoint 'orbital-llm' serves clinical-70b, triage-8b, not 'clinical-405b'" in result.stderr, result.stderr


def test_trusted_proxies_must_be_addresses(repo):
    settings = repo / "clawtex.yaml"
    settings.write_text(settings.read_text().replace('docker: ["172.17.0.1"]', 'docker: ["docker0"]'))
    result = run_clawtex(repo, "validate")
    assert result.returncode == 1
    assert re.search(r"clawtex\.yaml:\d+:\d+: spec\.openclaw\.trustedProxies\.shared\.docker\[0\]: .*docker0", result.stderr), result.stderr


def test_a_channel_type_without_a_plugin_is_refused_at_validate(repo):
    """Dropping a pinned external plugin would leave that channel unstartable: clawtex validate says so."""
    settings = repo / "clawtex.yaml"
    settings.write_text(settings.read_text().replace('      slack: "2026.9.6"\n', ""))
    result = run_clawtex(repo, "validate")
    assert result.returncode == 1
    assert "clawtex.yaml" in result.stderr and "slack" in result.stderr, result.stderr


def test_external_channel_plugins_are_trusted_and_bundled_ones_are_not():
    """Oracle: the channel list of each customer file (not the generator's tables)."""
    external = set(yaml.safe_load((REPO / "clawtex.yaml").read_text())["spec"]["openclaw"]["channelPlugins"])
    for path in sorted((REPO / "customers").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        cid = doc["metadata"]["id"] if "id" in doc.get("metadata", {}) else path.stem
        config = json.loads((REPO / "generated" / "openclaw" / cid / "openclaw.json").read_text())
        types = {ch["type"] for ch in doc["spec"]["channels"]}
        entries = config.get("plugins", {}).get("entries", {})
        assert entries == {t: {"enabled": True} for t in sorted(types & external)}, cid
