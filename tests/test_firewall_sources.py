"""Issue 27, item 2: the PR summary reads every source field of each provider's
firewall rule, from the provider's own schema (reference/terraform-providers/*.json,
extracted from the pinned provider source). A rule limited to one droplet, a tag,
a load balancer or a cluster is not "from any"."""
from __future__ import annotations

import json

import pytest

from compiler.gitops.artifacts import Stack
from compiler.gitops.pr_summary import inbound_rules
from conftest import REPO

SCHEMAS = REPO / "reference" / "terraform-providers"


def _schema(provider: str, rtype: str) -> dict:
    return json.loads((SCHEMAS / f"{provider}.json").read_text())["resources"][rtype]


def _line(rtype: str, attrs: dict) -> str:
    (line,) = inbound_rules(Stack("s", ("c",), {f"{rtype}.fw": attrs}, ()))
    return line


DO_FIELDS = sorted(k for k in _schema("digitalocean", "digitalocean_firewall")["blocks"]["inbound_rule"]["attributes"]
                   if k.startswith("source_"))


def test_the_schema_has_the_five_digitalocean_source_fields():
    assert DO_FIELDS == ["source_addresses", "source_droplet_ids", "source_kubernetes_ids",
                         "source_load_balancer_uids", "source_tags"]


@pytest.mark.parametrize("field", DO_FIELDS)
def test_a_digitalocean_rule_limited_to_one_source_names_it(field):
    value = 4242 if field == "source_droplet_ids" else ("10.1.2.3/32" if field == "source_addresses" else "x-17")
    line = _line("digitalocean_firewall", {"inbound_rule": [{"protocol": "tcp", "port_range": "1514", field: [value]}]})
    assert str(value) in line and "any" not in line.split(" from ")[1] and "whole internet" not in line
    assert line.startswith("tcp/1514 from ")


def test_a_digitalocean_rule_from_a_droplet_and_the_world_is_still_the_whole_internet():
    line = _line("digitalocean_firewall", {"inbound_rule": [
        {"protocol": "tcp", "port_range": "443", "source_droplet_ids": [7], "source_addresses": ["0.0.0.0/0"]}]})
    assert "droplet 7" in line and line.endswith("(whole internet)")


def test_hetzner_in_rules_read_source_ips_and_skip_out_rules():
    fields = sorted(k for k in _schema("hcloud", "hcloud_firewall")["blocks"]["rule"]["attributes"] if k.startswith("source"))
    assert fields == ["source_ips"]
    line = _line("hcloud_firewall", {"rule": [
        {"direction": "in", "protocol": "tcp", "port": "22", "source_ips": ["198.51.100.7/32"]},
        {"direction": "out", "protocol": "tcp", "port": "443", "destination_ips": ["0.0.0.0/0"]}]})
    assert line == "tcp/22 from 198.51.100.7/32"


def test_vultr_rules_read_subnet_or_the_cloudflare_source():
    attrs = _schema("vultr", "vultr_firewall_rule")["attributes"]
    assert {"subnet", "subnet_size", "source"} <= set(attrs)
    assert _line("vultr_firewall_rule", {"protocol": "tcp", "port": "22", "subnet": "203.0.113.0",
                                         "subnet_size": 24}) == "tcp/22 from 203.0.113.0/24"
    assert _line("vultr_firewall_rule", {"protocol": "tcp", "port": "443", "subnet": "0.0.0.0", "subnet_size": 0,
                                         "source": "cloudflare"}) == "tcp/443 from Cloudflare IP ranges"
