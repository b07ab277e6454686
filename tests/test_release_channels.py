"""OpenClaw release channels (issue 20): a customer runs `stable` or `lts`
(customer spec.releaseChannel, else its tier's releaseChannels.default);
clawtex.yaml pins a version, its Node.js and its channel plugins per channel;
the plan publishes the release per customer and host.

Expected values are read from the input files with plain YAML here, never from
the compiler's models."""
from __future__ import annotations

import yaml

from conftest import REPO, run_clawtex
from gitops_helpers import edit
from proxy_config import _load, host_variables

GEN = REPO / "generated"


def pins() -> dict[str, tuple[str, str, dict]]:
    o = yaml.safe_load((REPO / "clawtex.yaml").read_text())["spec"]["openclaw"]
    return {"stable": (o["version"], o["nodeVersion"], o["channelPlugins"]),
            "lts": (o["lts"]["version"], o["lts"]["nodeVersion"], o["lts"]["channelPlugins"])}


def expected_channel(customer: str) -> str:
    spec = yaml.safe_load((REPO / "customers" / f"{customer}.yaml").read_text())["spec"]
    tier = yaml.safe_load((REPO / "tiers" / f"{spec['tier']}.yaml").read_text())["spec"]
    return spec.get("releaseChannel") or tier["releaseChannels"]["default"]


def test_the_two_channels_pin_different_releases():
    p = pins()
    assert p["stable"][0] != p["lts"][0]
    assert set(p["stable"][2]) == set(p["lts"][2])      # every external channel works on both lines


def test_every_gateway_host_installs_its_customers_release():
    seen = set()
    for path in sorted((GEN / "ansible" / "inventory" / "host_vars").glob("*.yml")):
        hv = host_variables(path.stem)
        tenants = {hv.get("clawtex_customer")} | {c["customer"] for c in hv.get("openclaw_containers") or []}
        tenants.discard(None)
        if "openclaw_version" not in hv:
            assert "openclaw" not in hv["clawtex_roles"] and "openclaw_k8s" not in hv["clawtex_roles"], path.name
            continue
        for cid in tenants:
            channel = expected_channel(cid)
            version, node, plugins = pins()[channel]
            assert (hv["openclaw_release_channel"], hv["openclaw_version"], hv["openclaw_node_version"],
                    hv["openclaw_channel_plugins"]) == (channel, version, node, plugins), (path.name, cid)
            seen.add(channel)
    assert seen == {"stable", "lts"}         # the examples exercise both
    fleet = _load(GEN / "ansible" / "inventory" / "hosts.yml")["all"]["vars"]
    assert "openclaw_version" not in fleet    # one place: per host, so a pin move names its hosts


def test_handoff_states_the_customers_release(repo):
    result = run_clawtex(repo, "handoff", "mapleleaf-dental")     # the one documented shape
    assert result.returncode == 0, result.stderr
    version, node, _ = pins()["lts"]
    assert f"OpenClaw {version} (lts release channel) on Node.js {node}" in result.stdout


def test_bronze_cannot_choose_lts(repo):
    path = repo / "customers" / "pixel-bakery.yaml"
    edit(path, "  tier: bronze\n", "  tier: bronze\n  releaseChannel: lts\n")
    result = run_clawtex(repo, "validate", str(path))
    assert result.returncode == 1
    assert "customers/pixel-bakery.yaml:" in result.stderr and "spec.releaseChannel" in result.stderr, result.stderr
    assert "bronze offers the OpenClaw release channel(s) stable, not lts" in result.stderr, result.stderr


def test_unknown_channel_is_refused_by_the_schema(repo):
    path = repo / "customers" / "acme-logistics.yaml"
    edit(path, "  tier: gold\n", "  tier: gold\n  releaseChannel: nightly\n")
    result = run_clawtex(repo, "validate", str(path))
    assert result.returncode == 1 and "releaseChannel" in result.stderr, result.stderr


def test_lts_customer_needs_a_plugin_pinned_for_lts(repo):
    edit(repo / "clawtex.yaml", '        whatsapp: "2026.7.35"\n', "")
    result = run_clawtex(repo, "validate")
    assert result.returncode == 1
    assert "customers/mapleleaf-dental.yaml:" in result.stderr
    assert "no whatsapp plugin is pinned for OpenClaw 2026.7.35 (release channel lts" in result.stderr, result.stderr


def test_schema_offers_the_channels():
    schema = yaml.safe_load((GEN / "schemas" / "customer.schema.json").read_text())
    text = yaml.safe_dump(schema)
    assert "releaseChannel" in text and "lts" in text and "stable" in text
