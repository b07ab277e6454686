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


ZONES = {name: p["dnsZone"] for name, p in yaml.safe_load((REPO / "tiers" / "providers.yaml").read_text())["spec"].items()}


def _prometheus_sources() -> set[str]:
    return set(SETTINGS["ops"]["prometheus"]["sourceCidrs"])


def _private_network() -> dict | None:
    return SETTINGS["ops"]["prometheus"].get("privateNetwork")


def _expected(labels: dict) -> tuple[str, set[str]]:
    """(scrape address, sources) of one host, from clawtex.yaml and providers.yaml alone: over the
    VPC where the ops host is a Droplet of the same provider and region (DigitalOcean's default VPC
    per region, provider-facts row 39; DOKS nodes excepted: no droplet of ours to name), else public."""
    net, host = _private_network(), labels["host"]
    if net and labels["provider"] == net["provider"] == "digitalocean" and labels["region"] == net["region"]:
        return f"{host}.vpc.{ZONES['digitalocean']}", set(net["sourceCidrs"])
    return host, _prometheus_sources()


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
    """(address, port, labels) of every node.json target; labels["host"] names the host."""
    out = []
    for group in json.loads((GENERATED / "prometheus" / "targets" / "node.json").read_text()):
        for target in group["targets"]:
            address, port = target.rsplit(":", 1)
            out.append((address, int(port), group["labels"]))
    return out


def _vpc_records(doc: dict) -> dict[str, str]:
    """`<name>.<domain>` -> the droplet name whose ipv4_address_private the A record holds."""
    res = doc.get("resource", {})
    droplets = {n: a["name"] for n, a in res.get("digitalocean_droplet", {}).items()}
    out = {}
    for a in res.get("digitalocean_record", {}).values():
        m = re.fullmatch(r"\$\{digitalocean_droplet\.([a-z0-9_]+)\.ipv4_address_private\}", str(a["value"]))
        if m and a["type"] == "A":
            out[f"{a['name']}.{a['domain']}"] = droplets[m.group(1)]
    return out


def _protecting(fws: dict[str, dict], host: str, labels: dict) -> list[dict]:
    return [f for f in fws.values() if f["hosts"] & {host}]


def _scrape_ports() -> set[int]:
    return {port for _, port, _ in _node_targets()}


def test_prometheus_is_declared_in_clawtex_yaml():
    prom = SETTINGS["ops"]["prometheus"]
    assert prom["host"] and _prometheus_sources()
    assert not _prometheus_sources() & ANYWHERE


def test_every_scrape_target_is_open_from_prometheus_only():
    """Join: node.json's address of each host, the DNS record behind a private address and the
    cloud firewall's sources agree with what clawtex.yaml says about the ops host."""
    stacks = _stacks()
    checked, private = 0, 0
    for address, port, labels in _node_targets():
        host = labels["host"]
        want_address, want_sources = _expected(labels)
        assert address == want_address, f"{host}: scraped at {address}, want {want_address}"
        stack = labels["customer"] if labels["customer"] != "shared" else host
        if address != host:     # private: an A record of this very droplet's VPC address
            assert _vpc_records(stacks[stack]).get(address) == host, f"{host}: no record {address} -> its VPC address"
            private += 1
        fws = firewalls(stacks[stack])
        protecting = _protecting(fws, host, labels)
        assert protecting, f"{host}: no cloud firewall in stack {stack}"
        for f in protecting:
            sources = [s for p, s in f["rules"] if p == str(port)]
            assert sources, f"{host}: port {port} closed to Prometheus in {stack}"
            assert set().union(*sources) == want_sources, f"{host}: port {port} open from {sources}, want {sorted(want_sources)}"
        checked += 1
    assert checked >= 8      # DOKS nodes are discovered, not listed (test_doks_nodes_are_discovered_...)
    # the example fleet exercises both paths: the fra1 Droplets (clawtex.yaml privateNetwork) privately
    assert private >= 2 and checked - private >= 6


def _doks_job() -> dict:
    cfg = yaml.safe_load((GENERATED / "prometheus" / "prometheus.yml").read_text())
    jobs = [j for j in cfg["scrape_configs"] if "digitalocean_sd_configs" in j]
    assert len(jobs) == 1, [j["job_name"] for j in cfg["scrape_configs"]]
    return jobs[0]


def _relabel(rules: list[dict], meta: dict[str, str]) -> dict[str, str] | None:
    """Prometheus's relabel semantics for the actions the generated job uses (replace, keep):
    source values joined by ';', regex anchored, $1 / ${1} in the replacement."""
    labels = dict(meta)
    for r in rules:
        value = ";".join(labels.get(k, "") for k in r.get("source_labels", []))
        m = re.fullmatch(r.get("regex", "(.*)"), value)
        action = r.get("action", "replace")
        if action == "keep":
            if not m:
                return None
        elif action == "replace" and m:
            labels[r["target_label"]] = re.sub(r"\$\{?(\d)\}?", lambda g: m.group(int(g.group(1))),
                                               r.get("replacement", "$1"))
    return labels


def test_doks_nodes_are_discovered_where_the_cluster_firewall_opens_the_scrape():
    """No DOKS node is a named target (the autoscaler names them); the generated node-k8s-digitalocean job keeps
    every Droplet carrying a pool tag the Terraform gives that cluster's pools, scrapes it at the
    address clawtex.yaml implies (VPC in the private region), and the cluster's firewall (tag
    k8s:<cluster id>) opens 9100 from exactly the matching sources."""
    assert not [t for t in _node_targets() if t[2]["role"] == "k8s"]
    job = _doks_job()
    (sd,) = job["digitalocean_sd_configs"]
    assert sd["port"] == 9100 and set(sd["authorization"]) == {"credentials_file"}
    net = _private_network() or {}
    clusters = 0
    for stack, doc in _stacks().items():
        res = doc.get("resource", {})
        for rid, cluster in res.get("digitalocean_kubernetes_cluster", {}).items():
            region = cluster["region"]
            ref = f"${{digitalocean_kubernetes_cluster.{rid}.id}}"
            tags = set(cluster["node_pool"][0].get("tags") or [])
            tags |= {t for p in res.get("digitalocean_kubernetes_node_pool", {}).values() if p["cluster_id"] == ref
                     for t in p.get("tags") or []}
            private = net.get("provider") == "digitalocean" and net.get("region") == region
            want = set(net["sourceCidrs"]) if private else _prometheus_sources()
            for tag in sorted(tags):
                meta = {"__address__": "198.51.100.7:9100", "__meta_digitalocean_tags": f",k8s,k8s:{ref},k8s:worker,{tag},",
                        "__meta_digitalocean_private_ipv4": "10.114.0.9", "__meta_digitalocean_region": region,
                        "__meta_digitalocean_droplet_name": f"{stack}-{region}-pool-abcde"}
                got = _relabel(job["relabel_configs"], meta)
                assert got is not None, (stack, region, tag)
                assert got["__address__"] == ("10.114.0.9:9100" if private else "198.51.100.7:9100"), (stack, tag, got)
                assert (got["customer"], got["region"], got["job"], got["role"]) == (stack, region, "node", "k8s"), got
                assert _relabel(job["relabel_configs"], {**meta, "__meta_digitalocean_tags": f",k8s,{tag}-old,"}) is None
            fws = [f for f in firewalls(doc).values() if f"tag:k8s:{ref}" in f["hosts"]]
            assert len(fws) == 1, (stack, region, fws)
            assert set().union(*[src for port, src in fws[0]["rules"] if port == "9100"]) == want, (stack, region, fws)
            clusters += 1
    assert clusters >= 2       # the example fleet: orbital-health in fra1 (private) and ams3 (public)
    assert _relabel(job["relabel_configs"], {"__meta_digitalocean_tags": ",customer:someone,"}) is None


def test_no_vpc_record_without_a_private_scrape():
    """Every `<host>.vpc.<zone>` record is a target Prometheus scrapes (no stale private records)."""
    scraped = {address for address, _, _ in _node_targets()}
    for stack, doc in _stacks().items():
        for name in _vpc_records(doc):
            assert name in scraped, (stack, name)


def test_private_scrape_sources_are_private_addresses_only():
    from compiler.models import PrometheusPrivateNetwork
    from pydantic import ValidationError
    ok = {"provider": "digitalocean", "region": "fra1", "sourceCidrs": ["10.114.0.2/32"]}
    PrometheusPrivateNetwork.model_validate(ok)
    for bad in ({**ok, "sourceCidrs": ["203.0.113.10/32"]}, {**ok, "sourceCidrs": ["0.0.0.0/0"]},
                {**ok, "provider": "hetzner"}, {**ok, "provider": "vultr"}):
        with pytest.raises(ValidationError):
            PrometheusPrivateNetwork.model_validate(bad)


def test_public_rules_open_only_what_the_internet_needs():
    prom, ops = _prometheus_sources(), set(SETTINGS["ops"]["sshAllowedCidrs"])
    net = _private_network()
    private = set(net["sourceCidrs"]) if net else None
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
                    assert sources in (prom, private), (stack, addr, port, sources)
                elif port == "1514-1515":    # Wazuh agents: this stack's servers, never a range or a tag
                    assert sources and all(s.startswith(("$", "droplet:")) for s in sources), (stack, addr, sources)
                else:
                    pytest.fail(f"{stack} {addr}: port {port} open from {sources}")


def test_the_ansible_host_firewall_opens_node_exporter_to_prometheus():
    """UFW on the host agrees with the cloud firewall (same source list, same port)."""
    inv = yaml.load((GENERATED / "ansible" / "inventory" / "hosts.yml").read_text(), _Loader)
    assert set(inv["all"]["vars"]["clawtex_prometheus_cidrs"]) == _prometheus_sources()
    ports = _scrape_ports()
    expected = {labels["host"]: _expected(labels)[1] for _, _, labels in _node_targets()}
    for path in sorted((GENERATED / "ansible" / "inventory" / "host_vars").glob("*.yml")):
        hv = yaml.load(path.read_text(), _Loader)
        if path.stem in expected:   # a host var overrides the group var: UFW's `prometheus` list
            effective = hv.get("clawtex_prometheus_cidrs", inv["all"]["vars"]["clawtex_prometheus_cidrs"])
            assert set(effective) == expected[path.stem], path.name
        for rule in hv.get("clawtex_firewall_ports", []):
            if rule["port"] in ports:
                assert rule["from"] == "prometheus", (path.name, rule)
    task = (REPO / "modules" / "ansible" / "roles" / "hardening" / "tasks" / "ufw_port.yml").read_text()
    assert "prometheus: \"{{ clawtex_prometheus_cidrs }}\"" in task


def test_a_private_network_region_the_provider_lacks_is_refused_at_its_line(tmp_path):
    import shutil
    from conftest import run_clawtex
    for name in ("clawtex.yaml", "tiers", "customers"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    text = (tmp_path / "clawtex.yaml").read_text()
    lines = text.splitlines()
    line = next(i for i, l in enumerate(lines, 1) if l.strip() == "region: fra1")
    (tmp_path / "clawtex.yaml").write_text(text.replace("region: fra1", "region: fra9", 1))
    out = run_clawtex(tmp_path, "validate")
    assert out.returncode != 0
    assert f"clawtex.yaml:{line}:" in out.stdout + out.stderr and "no region 'fra9'" in out.stdout + out.stderr


def test_doks_without_a_discovery_token_is_refused_at_the_customers_tier_line(tmp_path):
    """Without ops.prometheus.discoveryTokenRefs.digitalocean Prometheus could not find a DOKS node: a compile
    error at the Platinum customer's `tier:` line naming the setting; a token given as an env
    reference is refused too (Prometheus reads credentials_file only)."""
    import shutil
    from conftest import run_clawtex
    for name in ("clawtex.yaml", "tiers", "customers"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    text = (tmp_path / "clawtex.yaml").read_text()
    head = next(l for l in text.splitlines() if l.strip() == "discoveryTokenRefs:")
    ref = next(l for l in text.splitlines() if l.strip().startswith("digitalocean: {source: file"))
    (tmp_path / "clawtex.yaml").write_text(text.replace(head + "\n" + ref + "\n", ""))
    platinum = [p for p in sorted((tmp_path / "customers").glob("*.yaml"))
                if yaml.safe_load(p.read_text())["spec"]["tier"] == "platinum"
                and yaml.safe_load(p.read_text())["spec"]["provider"] == "digitalocean"]
    assert platinum
    out = run_clawtex(tmp_path, "validate")
    said = out.stdout + out.stderr
    assert out.returncode != 0, said
    for p in platinum:
        line = next(i for i, l in enumerate(p.read_text().splitlines(), 1) if l.strip().startswith("tier:"))
        assert f"customers/{p.name}:{line}:" in said and "discoveryTokenRefs.digitalocean" in said, said
    (tmp_path / "clawtex.yaml").write_text(text.replace(ref, ref.replace("source: file", "source: env")
                                                        .replace("digitalocean-sd-token", "DO_SD_TOKEN")))
    out = run_clawtex(tmp_path, "validate")
    assert out.returncode != 0 and "must have source 'file'" in out.stdout + out.stderr, out.stdout + out.stderr


_REF = re.compile(r"\$\{(digitalocean_droplet|hcloud_server|vultr_instance)\.([a-z0-9_]+)\.(?:id|ipv4_address|main_ip)\}")


def _agent_rule_hosts(doc: dict) -> dict[str, set[str]]:
    """Per manager firewall: the server names its 1514-1515 rule admits, resolved through the
    stack's own server resources (their `name`/`hostname`), or the raw source when it is no server."""
    res = doc["resource"]

    def names(sources):
        out = set()
        for src in sources:
            m = _REF.fullmatch(str(src).removesuffix("/32"))
            body = res.get(m.group(1), {}).get(m.group(2)) if m else None
            out.add((body.get("name") or body.get("hostname")) if body else f"not a server: {src}")
        return out
    found: dict[str, set[str]] = {}
    for name, fw in res.get("digitalocean_firewall", {}).items():
        for rule in fw["inbound_rule"]:
            if rule["port_range"] == "1514-1515":
                extra = {f"{k}={rule[k]}" for k in ("source_addresses", "source_tags", "source_kubernetes_ids",
                                                     "source_load_balancer_uids") if rule.get(k)}
                found.setdefault(name, set()).update(names(rule.get("source_droplet_ids", [])) | extra)
    for name, fw in res.get("hcloud_firewall", {}).items():
        for rule in fw["rule"]:
            if rule["port"] == "1514-1515":
                found.setdefault(name, set()).update(names(rule["source_ips"]))
    for rule in res.get("vultr_firewall_rule", {}).values():
        if rule["port"] == "1514:1515":
            group = rule["firewall_group_id"].split(".")[1]
            found.setdefault(group, set()).update(names([rule["subnet"]]))
    return found


def test_wazuh_agent_ports_admit_exactly_the_servers_that_run_an_agent():
    """Issue 25 item 3: the manager's 1514-1515 are open from the stack's agents and nothing else,
    on the cloud firewall and in UFW. Joined from two targets: the servers whose host_vars run the
    `wazuh_agent` role, and the firewall rules resolved to those servers' own resources. A
    Platinum cluster's nodes run no agent (no DaemonSet, docs/fresh-account.md), so its manager
    opens the ports to nobody: no node-pool tag, no address range."""
    generated = REPO / "generated"
    inv = yaml.load((generated / "ansible/inventory/hosts.yml").read_text(), _Loader)
    customer_of: dict[str, str] = {}

    def walk(group):
        for host, hvars in (group.get("hosts") or {}).items():
            if (hvars or {}).get("clawtex_customer"):
                customer_of[host] = hvars["clawtex_customer"]
        for child in (group.get("children") or {}).values():
            walk(child)
    walk(inv["all"])
    agents: dict[str, set[str]] = {}
    ufw_agent_ports: dict[str, set[int]] = {}
    for path in sorted((generated / "ansible/inventory/host_vars").glob("*.yml")):
        hv = yaml.load(path.read_text(), _Loader)
        if "wazuh_agent" in hv["clawtex_roles"]:
            agents.setdefault(customer_of[path.stem], set()).add(path.stem)
        if "wazuh_manager" in hv["clawtex_roles"]:
            ufw_agent_ports[customer_of[path.stem]] = {r["port"] for r in hv["clawtex_firewall_ports"] if r["from"] == "private"}
    checked = {}
    for path in sorted((generated / "terraform").glob("*/cdk.tf.json")):
        stack = path.parent.name
        rules = _agent_rule_hosts(json.loads(path.read_text()))
        if stack in ufw_agent_ports or rules:
            admitted = set().union(*rules.values()) if rules else set()
            assert admitted == agents.get(stack, set()), (stack, admitted)
            assert ufw_agent_ports.get(stack) == ({1514, 1515} if admitted else set()), stack
            checked[stack] = admitted
    # By hand (customers/*.yaml): one Gold gateway each on Hetzner and Vultr; Platinum on DOKS has none.
    assert checked == {"acme-logistics": {"acme-logistics-oc-1"}, "helios-energy": {"helios-energy-oc-1"},
                       "orbital-health": set()}
