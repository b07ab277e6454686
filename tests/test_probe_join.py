"""Cross-target join: every URL Prometheus probes must be served by the reverse proxy the Ansible roles
configure on that host, and must reach the gateway's health endpoint.

The proxy side is the nginx configuration the role templates render from the
generated host variables (tests/proxy_config.py), not the compiler's idea of
it; the health path is clawtex.yaml's and the gateway port the one the
customer's compiled openclaw.json binds (or, on a shared host, the port its
container is published on).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from proxy_config import INVENTORY, host_variables, proxy_servers, route

REPO = Path(__file__).resolve().parents[1]
GEN = REPO / "generated"
HEALTH = yaml.safe_load((REPO / "clawtex.yaml").read_text())["spec"]["openclaw"]["healthPath"]


def _groups(name: str) -> list[dict]:
    return json.loads((GEN / "prometheus" / "targets" / name).read_text())


PROBES = [(g["labels"]["customer"], g["labels"]["host"], g["targets"][0]) for g in _groups("openclaw-probes.json")]


def gateway_port(customer: str, host: str) -> int:
    v = host_variables(host)
    if v.get("openclaw_mode") == "containers":
        return next(c["port"] for c in v["openclaw_containers"] if c["customer"] == customer)
    return json.loads((GEN / "openclaw" / customer / "openclaw.json").read_text())["gateway"]["port"]


@pytest.mark.parametrize("customer, host, url", PROBES, ids=[p[0] for p in PROBES])
def test_prometheus_probe_is_served_by_the_proxy(customer, host, url):
    v = host_variables(host)
    if v.get("openclaw_mode") == "kubernetes":
        # No nginx: the cluster's ingress terminates TLS for the customer's domain (cert-manager).
        assert urlsplit(url).scheme == "https" and urlsplit(url).hostname == v["tls_domain"], url
        assert urlsplit(url).path == HEALTH
        return
    servers = proxy_servers(host)
    served = sorted({(("https" if s.ssl else "http"), s.port, n) for s in servers for n in s.names})
    assert route(servers, url) == (gateway_port(customer, host), HEALTH), (
        f"Prometheus probes {url} for {customer}, but {host}'s proxy serves {served}")


def test_tcp_probe_targets_a_port_the_proxy_listens_on():
    for g in _groups("openclaw-tcp.json"):
        host, port = g["targets"][0].rsplit(":", 1)
        v = host_variables(g["labels"]["host"])
        if v.get("openclaw_mode") == "kubernetes":
            continue
        ports = {s.port for s in proxy_servers(g["labels"]["host"])}
        assert int(port) in ports, (g["targets"][0], sorted(ports))


# The exporters a host role installs (modules/ansible/roles/*, by the Debian package each one
# installs) and the fleet Prometheus job that scrapes them (generated/prometheus/prometheus.yml).
EXPORTER_ROLES = {"node_exporter": "prometheus-node-exporter"}


def test_every_exporter_on_a_host_is_scraped_by_the_fleet_prometheus():
    """An exporter no Prometheus reads is a monitoring claim nobody checks (the Gold+ security
    VM ran a blackbox exporter with its own probe list until 2026-12-03). Every role that
    installs a *-exporter package is one the fleet scrapes, and every host running it is in
    the scrape job's targets."""
    roles = REPO / "modules" / "ansible" / "roles"
    installing = {r.name for r in roles.iterdir()
                  if re.search(r"prometheus-[a-z-]*exporter", "".join(t.read_text() for t in r.glob("tasks/*.yml")))}
    assert installing == set(EXPORTER_ROLES), installing
    # by the host label: the target address is the host's public name or its private record
    # (plan.ScrapeTarget; tests/test_scrape_firewalls.py joins address, record and firewall)
    scraped = {g["labels"]["host"] for g in _groups("node.json") if g["targets"]}
    # DOKS nodes: found by the DigitalOcean droplet discovery, kept by their pool tag (the job's keep
    # rule names `<customer>-<region>-nodes`; tests/test_scrape_firewalls.py and
    # tests/live/test_doks_discovery.py check the relabeling itself)
    prom = yaml.safe_load((REPO / "generated" / "prometheus" / "prometheus.yml").read_text())
    keep = " ".join(r["regex"] for j in prom["scrape_configs"] if "digitalocean_sd_configs" in j
                    for r in j["relabel_configs"] if r.get("action") == "keep")
    hosts = yaml.safe_load((INVENTORY / "hosts.yml").read_text().replace("!unsafe ", ""))["all"]["children"]
    for path in sorted((INVENTORY / "host_vars").glob("*.yml")):
        v = yaml.safe_load(path.read_text())
        assert "blackbox_targets" not in v, path.name
        if "node_exporter" in v.get("clawtex_roles", []):
            k8s = hosts.get("k8s", {}).get("hosts", {}).get(path.stem)
            if k8s:
                assert f"{k8s['clawtex_customer']}-{k8s['clawtex_region']}-nodes" in keep, path.name
                continue
            assert path.stem in scraped, path.name


def test_every_active_customer_is_probed_once():
    customers = [c for c, _, _ in PROBES]
    assert len(customers) == len(set(customers))
    active = [yaml.safe_load(p.read_text())["metadata"]["id"] for p in (REPO / "customers").glob("*.yaml")
              if yaml.safe_load(p.read_text())["spec"].get("status", "active") == "active"]
    assert sorted(customers) == sorted(active)
