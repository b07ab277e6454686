"""Issue 25 item 3: Prometheus's place in the fleet is declared (clawtex.yaml
spec.ops.prometheus, an ops host) and every scrape port of generated/prometheus/targets
is open in each provider's cloud firewall from that host and from nowhere else;
public rules open only 80/443 (and SSH from ops, Wazuh agents to their manager).

The expected sources are read from clawtex.yaml itself and the firewalls are parsed
here, per provider, from the Terraform JSON (attachment: hcloud_server.firewall_ids,
digitalocean_firewall.droplet_ids/tags, vultr_instance.firewall_group_id), not through
the provider plug-ins under test."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO

GENERATED = REPO / "generated"
SETTINGS = yaml.safe_load((REPO / "clawtex.yaml").read_text())["spec"]
ANYWHERE = {"0.0.0.0/0", "::/0"}


class _Loader(yaml.SafeLoader):
    """Inventory files tag customer text !unsafe (Ansible's no-templating marker)."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
REF = re.compile(r"^\$\{([a-z_]+)\.([A-Za-z0-9_]+)\.[a-z_]+\}")


def _prometheus_sources() -> set[str]:
    return set(SETTINGS["ops"]["prometheus"]["sourceCidrs"])


def _stacks(root: Path = GENERATED / "terraform") -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(root.glob("*/cdk.tf.json"))}


def _ref(value: str) -> tuple[str, str]:
    m = REF.match(str(value))
    assert m, value
    return m.group(1), m.group(2)


def firewalls(doc: dict) -> dict[str, dict]:
    """firewall address -> {"hosts": {host names or 'tag:<t>'}, "rules": [(port, sources)]}."""
    res = doc.get("resource", {})
    out: dict[str, dict] = {}

    def fw(addr: str) -> dict:
        return out.setdefault(addr, {"hosts": set(), "rules": []})
    for name, a in res.get("hcloud_firewall", {}).items():
        fw(f"hcloud_firewall.{name}")["rules"] += [(r["port"], set(r.get("source_ips") or []))
                                                    for r in a.get("rule", []) if r["direction"] == "in"]
    for a in res.get("hcloud_server", {}).values():
        for ref in a.get("firewall_ids", []):
            fw(".".join(_ref(ref)))["hosts"].add(a["name"])
    droplets = {n: a["name"] for n, a in res.get("digitalocean_droplet", {}).items()}
    for name, a in res.get("digitalocean_firewall", {}).items():
        f = fw(f"digitalocean_firewall.{name}")
        f["hosts"] |= {droplets[_ref(d)[1]] for d in a.get("droplet_ids") or []}
        f["hosts"] |= {f"tag:{t}" for t in a.get("tags") or []}
        for r in a.get("inbound_rule", []):
            sources = set(r.get("source_addresses") or []) | {f"droplet:{d}" for d in r.get("source_droplet_ids") or []}
            sources |= {f"tag:{t}" for t in r.get("source_tags") or []}
            f["rules"].append((r["port_range"], sources))
    for a in res.get("vultr_instance", {}).values():
        fw(".".join(_ref(a["firewall_group_id"])))["hosts"].add(a["hostname"])
    for a in res.get("vultr_firewall_rule", {}).values():
        source = a["subnet"] if str(a["subnet"]).startswith("$") else f"{a['subnet']}/{a['subnet_size']}"
        fw(".".join(_ref(a["firewall_group_id"])))["rules"].append((a["port"].replace(":", "-"), {source}))
    return out


def _node_targets() -> list[tuple[str, int, dict]]:
    out = []
    for group in json.loads((GENERATED / "prometheus" / "targets" / "node.json").read_text()):
        for target in group["targets"]:
            host, port = target.rsplit(":", 1)
            out.append((host, int(port), group["labels"]))
    return out


def _protecting(fws: dict[str, dict], host: str, labels: dict) -> list[dict]:
    names = {host}
    if labels["role"] == "k8s":
        # DOKS: a firewall reaches a cluster's nodes through the cluster's k8s:<uuid> tag
        # (docs.digitalocean.com/products/kubernetes/details/managed/ "Worker Node Firewalls").
        names.add(f"tag:k8s:${{digitalocean_kubernetes_cluster.k8s_{labels['region']}.id}}")
    return [f for f in fws.values() if f["hosts"] & names]


def _scrape_ports() -> set[int]:
    return {port for _, port, _ in _node_targets()}


def test_prometheus_is_declared_in_clawtex_yaml():
    prom = SETTINGS["ops"]["prometheus"]
    assert prom["host"] and _prometheus_sources()
    assert not _prometheus_sources() & ANYWHERE


def test_every_scrape_target_is_open_from_prometheus_only():
    prom = _prometheus_sources()
    stacks = _stacks()
    checked = 0
    for host, port, labels in _node_targets():
        stack = labels["customer"] if labels["customer"] != "shared" else host
        fws = firewalls(stacks[stack])
        protecting = _protecting(fws, host, labels)
        assert protecting, f"{host}: no cloud firewall in stack {stack}"
        for f in protecting:
            sources = [s for p, s in f["rules"] if p == str(port)]
            assert sources, f"{host}: port {port} closed to Prometheus in {stack}"
            assert set().union(*sources) == prom, f"{host}: port {port} open from {sources}, want {sorted(prom)}"
        checked += 1
    assert checked >= 10


def test_public_rules_open_only_what_the_internet_needs():
    prom, ops = _prometheus_sources(), set(SETTINGS["ops"]["sshAllowedCidrs"])
    scrape = {str(p) for p in _scrape_ports()}
    for stack, doc in _stacks().items():
        for addr, f in firewalls(doc).items():
            by_port: dict[str, set[str]] = {}
            for port, sources in f["rules"]:     # Vultr: one rule per source
                by_port.setdefault(port, set()).update(sources)
            for port, sources in by_port.items():
                if port in ("80", "443"):
                    assert sources == ANYWHERE, (stack, addr, port)
                elif port == "22":
                    assert sources == ops, (stack, addr, port, sources)
                elif port in scrape:
                    assert sources == prom, (stack, addr, port, sources)
                elif port == "1514-1515":    # Wazuh agents of this stack, never an address range
                    assert sources and all(s.startswith(("$", "droplet:", "tag:")) for s in sources), (stack, addr, sources)
                else:
                    pytest.fail(f"{stack} {addr}: port {port} open from {sources}")


def test_the_ansible_host_firewall_opens_node_exporter_to_prometheus():
    """UFW on the host agrees with the cloud firewall (same source list, same port)."""
    inv = yaml.load((GENERATED / "ansible" / "inventory" / "hosts.yml").read_text(), _Loader)
    assert set(inv["all"]["vars"]["clawtex_prometheus_cidrs"]) == _prometheus_sources()
    ports = _scrape_ports()
    for path in sorted((GENERATED / "ansible" / "inventory" / "host_vars").glob("*.yml")):
        hv = yaml.load(path.read_text(), _Loader)
        for rule in hv.get("clawtex_firewall_ports", []):
            if rule["port"] in ports:
                assert rule["from"] == "prometheus", (path.name, rule)
    task = (REPO / "modules" / "ansible" / "roles" / "hardening" / "tasks" / "ufw_port.yml").read_text()
    assert "prometheus: \"{{ clawtex_prometheus_cidrs }}\"" in task
