"""Terraform JSON per stack, synthesized with CDKTF.

CDKTF is deprecated upstream (0.21.0 is final), so it stays inside this module.
DigitalOcean's provider and core resources use the prebuilt typed bindings;
Hetzner and Vultr have none, so their resources (and the DigitalOcean ones the
bindings make awkward: Spaces, DNS, DOKS, load balancers) are generic
TerraformResource objects with explicit types, checked in the tests against the
providers' schemas. Customer text is escaped (`${` -> `$${`) before it reaches
CDKTF, which does not escape for us. Credentials come from the environment at
apply time (HCLOUD_TOKEN, DIGITALOCEAN_TOKEN + SPACES_ACCESS_KEY_ID /
SPACES_SECRET_ACCESS_KEY, VULTR_API_KEY) or from sensitive variables
(TF_VAR_ops_ssh_public_key, TF_VAR_storage_box_password), never from here.

Per stack: provider pinned to the schema version, S3 state with a lock file,
SSH key, firewall (22 from the ops ranges, 80/443, nothing else; the Wazuh VM
also takes agent traffic 1514-1515 from the stack's own servers), servers sized
by tier, data volumes, reverse DNS, outputs. Silver+: backup storage with the
tier's retention. Gold+: the Wazuh manager VM and a DNS record the customer's
domain points at (CNAME). Platinum: a cluster and load balancer per region and
a global entry point. Suspended customers keep volumes and backups but lose
compute. Data-bearing resources carry lifecycle.prevent_destroy.
"""
from __future__ import annotations

import concurrent.futures
import functools
import json
import multiprocessing
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..escape import terraform_literal
from ..formats import dump_json
from ..plan import ROLE_K8S, ROLE_WAZUH, CustomerPlan, FleetPlan, HostPlan, StackPlan

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
# jsii wants the Node major versions to stay quiet about, not a boolean.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

PUBLIC_PORTS = ("80", "443")
WAZUH_AGENT_PORTS = "1514-1515"
ANYWHERE = ["0.0.0.0/0", "::/0"]
# Stacks are written to generated/terraform/<stack>/; modules live at the repo root.
CLOUD_INIT_MODULE = "../../../modules/terraform/cloud-init"


def _cdktf():
    # Imported lazily: starting the jsii runtime costs ~1 s, only this target needs it.
    import cdktf
    return cdktf


META_ARGUMENTS = {"lifecycle", "depends_on", "count", "for_each", "provider"}


@functools.cache
def _generic_resource() -> type:
    """A TerraformResource whose body is handed over whole at synth time: one
    jsii callback per resource instead of one add_override call per attribute."""
    class GenericResource(_cdktf().TerraformResource):
        def __init__(self, scope: Any, name: str, rtype: str, body: dict[str, Any]):
            super().__init__(scope, name, terraform_resource_type=rtype)
            self._body = {k: v for k, v in body.items() if k not in META_ARGUMENTS}
            # CDKTF writes meta-arguments from its own fields, over the attributes.
            for key in META_ARGUMENTS & body.keys():
                self.add_override(key, body[key])

        def _synthesize_attributes(self) -> dict[str, Any]:
            return self._body

    return GenericResource


def labels(host: HostPlan) -> dict[str, str]:
    out = {"managed-by": "clawtex", "tier": host.tier, "role": host.role.replace("_", "-"), "stack": host.stack}
    if host.customer:
        out["customer"] = host.customer
    return out


def resource_id(host: HostPlan) -> str:
    """Terraform resource name of a host: stable, independent of the stack name."""
    suffix = host.name[len(host.stack) + 1:] if host.name.startswith(host.stack + "-") else "host"
    return suffix.replace("-", "_") or "host"


MANAGED_KUBERNETES = {"digitalocean"}


def host_output(host: HostPlan) -> str:
    """Name of the stack output holding the address clients use for `host`."""
    if host.role == ROLE_K8S and host.provider in MANAGED_KUBERNETES:
        return f"{host.region}_lb_ipv4"      # managed node pools sit behind the regional load balancer
    return f"{resource_id(host)}_ipv4"


class StackBuilder:
    """Resources of one StackPlan in one CDKTF stack."""

    def __init__(self, stack: Any, plan: FleetPlan, sp: StackPlan):
        self.cdktf = _cdktf()
        self.stack, self.plan, self.sp = stack, plan, sp
        self.info = plan.catalog.spec[sp.provider]
        self.customers = [plan.customer(cid) for cid in sp.customers]
        self.ssh_var = self.cdktf.TerraformVariable(stack, "ops_ssh_public_key", type="string",
                                                    description="Public SSH key of the Ansible user")
        self._cloud_init: Any = None

    @property
    def dedicated(self) -> CustomerPlan | None:
        return self.customers[0] if self.sp.kind != "shared" else None

    def resource(self, rtype: str, name: str, body: dict[str, Any], data: bool = False) -> str:
        if data:  # every customer in the plan is active or suspended: their data stays
            body = {**body, "lifecycle": {"prevent_destroy": True}}
        _generic_resource()(self.stack, name, rtype, body)
        return f"{rtype}.{name}"

    def user_data(self) -> str:
        """cloud-init that bootstraps the Ansible user, from the shared HCL module (one call per stack)."""
        if self._cloud_init is None:
            self._cloud_init = self.cdktf.TerraformHclModule(
                self.stack, "cloud_init", source=CLOUD_INIT_MODULE, skip_asset_creation_from_local_modules=True,
                variables={"ansible_user": self.plan.settings.spec.ops.ansible_user,
                           "ssh_public_key": "${var.ops_ssh_public_key}"})
        return "${module.cloud_init.user_data}"

    def output(self, name: str, value: str, description: str) -> None:
        self.cdktf.TerraformOutput(self.stack, name, value=value, description=description)

    def servers(self) -> list[HostPlan]:
        return [h for h in self.sp.hosts if h.running]

    def record_name(self) -> str:
        return self.dedicated.id if self.dedicated else self.sp.name


def _ops_cidrs(plan: FleetPlan) -> list[str]:
    return list(plan.settings.spec.ops.ssh_allowed_cidrs)


def _fqdn(b: StackBuilder, host: HostPlan) -> str:
    return f"{host.name}.{b.info.dns_zone}"


def _entry_host(b: StackBuilder) -> HostPlan | None:
    """The server a customer's DNS record points at (Gold: its OpenClaw host)."""
    return next((h for h in b.servers() if h.role not in (ROLE_WAZUH, ROLE_K8S)), None)


# ------------------------------------------------------------------ Hetzner


def build_hetzner(b: StackBuilder) -> None:
    info, plan = b.info, b.plan
    b.stack.add_override("terraform.required_providers.hcloud", {"source": info.terraform_source, "version": info.terraform_version})
    b.stack.add_override("provider.hcloud", [{}])
    b.resource("hcloud_ssh_key", "ops", {"name": f"{b.sp.name}-ops", "public_key": "${var.ops_ssh_public_key}", "labels": {"managed-by": "clawtex"}})
    rules = [_hz_rule("22", _ops_cidrs(plan), "ssh from ops")] + [_hz_rule(p, ANYWHERE, f"public {p}") for p in PUBLIC_PORTS]
    b.resource("hcloud_firewall", "fw", {"name": f"{b.sp.name}-fw", "labels": {"managed-by": "clawtex"}, "rule": rules})
    servers = b.servers()
    agents = [f"${{hcloud_server.{resource_id(h)}.ipv4_address}}/32" for h in servers if h.role != ROLE_WAZUH]
    if any(h.role == ROLE_WAZUH for h in servers) and agents:
        wazuh_rules = [_hz_rule("22", _ops_cidrs(plan), "ssh from ops"), _hz_rule(WAZUH_AGENT_PORTS, agents, "wazuh agents of this stack")]
        b.resource("hcloud_firewall", "wazuh_fw", {"name": f"{b.sp.name}-wazuh-fw", "labels": {"managed-by": "clawtex"}, "rule": wazuh_rules})
    for host in b.sp.hosts:
        rid = resource_id(host)
        if host.running:
            firewall = "wazuh_fw" if host.role == ROLE_WAZUH and agents else "fw"
            b.resource("hcloud_server", rid, {
                "name": host.name, "server_type": host.size.slug, "image": info.image, "location": host.region,
                "ssh_keys": ["${hcloud_ssh_key.ops.id}"], "firewall_ids": [f"${{hcloud_firewall.{firewall}.id}}"],
                "labels": labels(host), "user_data": b.user_data(),
            })
            b.resource("hcloud_rdns", f"{rid}_rdns", {"server_id": f"${{hcloud_server.{rid}.id}}",
                                                       "ip_address": f"${{hcloud_server.{rid}.ipv4_address}}", "dns_ptr": _fqdn(b, host)})
            b.output(f"{rid}_ipv4", f"${{hcloud_server.{rid}.ipv4_address}}", f"public IPv4 of {host.name}")
        if host.volume_gb:
            volume = {"name": f"{host.name}-data", "size": host.volume_gb, "format": "ext4", "labels": labels(host), "location": host.region}
            if host.running:
                volume.update({"server_id": f"${{hcloud_server.{rid}.id}}", "automount": True})
                volume.pop("location")
            b.resource("hcloud_volume", f"{rid}_data", volume, data=True)
    c = b.dedicated
    if c and c.backups:
        storage = info.backup_storage
        for index, region in enumerate(_backup_regions(c)):
            suffix = "" if index == 0 else f"_{region}"
            b.cdktf.TerraformVariable(b.stack, f"storage_box_password{suffix}", type="string", sensitive=True,
                                      description="Storage Box password (restic over SFTP); from TF_VAR_* at apply")
            b.resource("hcloud_storage_box", f"backup{suffix}", {
                "name": f"{c.id}-backup{suffix.replace('_', '-')}", "storage_box_type": storage.type,
                "location": storage.location if index == 0 else region, "password": f"${{var.storage_box_password{suffix}}}",
                "ssh_keys": ["${var.ops_ssh_public_key}"], "labels": {"managed-by": "clawtex", "customer": c.id,
                                                                      "retention-days": str(c.backups.retention_days)},
            }, data=True)
    if c and c.kubernetes:
        for region in c.regions:
            nodes = [h for h in servers if h.region == region and h.role == ROLE_K8S]
            lb = f"lb_{region}"
            b.resource("hcloud_load_balancer", lb, {"name": f"{c.id}-{region}", "load_balancer_type": info.load_balancer_type,
                                                   "location": region, "labels": {"managed-by": "clawtex", "customer": c.id}})
            for node in nodes:
                b.resource("hcloud_load_balancer_target", f"{lb}_{resource_id(node)}", {
                    "type": "server", "load_balancer_id": f"${{hcloud_load_balancer.{lb}.id}}", "server_id": f"${{hcloud_server.{resource_id(node)}.id}}"})
            for port in PUBLIC_PORTS:
                b.resource("hcloud_load_balancer_service", f"{lb}_{port}", {
                    "load_balancer_id": f"${{hcloud_load_balancer.{lb}.id}}", "protocol": "tcp", "listen_port": int(port), "destination_port": int(port),
                    "health_check": [{"protocol": "tcp", "port": int(port), "interval": 10, "timeout": 5, "retries": 3}]})
            b.output(f"{region}_lb_ipv4", f"${{hcloud_load_balancer.{lb}.ipv4}}", f"load balancer of {c.id} in {region} (failover target)")
    _dns_record(b, "hcloud_zone_rrset", lambda ip: {"zone": b.info.dns_zone, "name": b.record_name(), "type": "A", "ttl": 300,
                                                      "records": [{"value": ip}]}, lambda h: f"${{hcloud_server.{resource_id(h)}.ipv4_address}}",
                lambda region: f"${{hcloud_load_balancer.lb_{region}.ipv4}}")


def _hz_rule(port: str, sources: list[str], description: str) -> dict[str, Any]:
    return {"direction": "in", "protocol": "tcp", "port": port, "source_ips": sources, "description": description}


# ------------------------------------------------------------------ DigitalOcean


def build_digitalocean(b: StackBuilder) -> None:
    from cdktf_cdktf_provider_digitalocean.droplet import Droplet
    from cdktf_cdktf_provider_digitalocean.firewall import Firewall, FirewallInboundRule, FirewallOutboundRule
    from cdktf_cdktf_provider_digitalocean.provider import DigitaloceanProvider
    from cdktf_cdktf_provider_digitalocean.ssh_key import SshKey
    from cdktf_cdktf_provider_digitalocean.volume import Volume
    from cdktf_cdktf_provider_digitalocean.volume_attachment import VolumeAttachment

    plan, info, tf = b.plan, b.info, b.cdktf
    DigitaloceanProvider(b.stack, "digitalocean")
    b.stack.add_override("terraform.required_providers.digitalocean.version", info.terraform_version)
    key = SshKey(b.stack, "ops", name=f"{b.sp.name}-ops", public_key=b.ssh_var.string_value)
    droplets: dict[str, Any] = {}
    for host in b.sp.hosts:
        if host.role == ROLE_K8S:
            continue    # DOKS node pools, below
        rid = resource_id(host)
        if host.running:
            droplets[rid] = Droplet(b.stack, rid, name=host.name, size=host.size.slug, image=info.image, region=host.region,
                                    ssh_keys=[key.fingerprint], tags=[f"{k}:{v}" for k, v in sorted(labels(host).items())],
                                    user_data=b.user_data(), monitoring=True, ipv6=True)
            b.output(f"{rid}_ipv4", droplets[rid].ipv4_address, f"public IPv4 of {host.name}")
        if host.volume_gb:
            volume = Volume(b.stack, f"{rid}_data", name=f"{host.name}-data", region=host.region, size=host.volume_gb,
                            initial_filesystem_type="ext4", description=f"data volume of {host.name}")
            volume.add_override("lifecycle", {"prevent_destroy": True})
            if host.running:
                VolumeAttachment(b.stack, f"{rid}_data_attach", droplet_id=tf.Token.as_number(droplets[rid].id), volume_id=volume.id)
    wazuh = [rid for rid in droplets if rid == "wazuh"]
    serving = [d for rid, d in droplets.items() if rid not in wazuh]
    outbound = [FirewallOutboundRule(protocol=p, port_range="1-65535", destination_addresses=ANYWHERE) for p in ("tcp", "udp")]
    ssh = FirewallInboundRule(protocol="tcp", port_range="22", source_addresses=_ops_cidrs(plan))
    if serving:
        inbound = [ssh] + [FirewallInboundRule(protocol="tcp", port_range=p, source_addresses=ANYWHERE) for p in PUBLIC_PORTS]
        Firewall(b.stack, "fw", name=f"{b.sp.name}-fw", droplet_ids=[tf.Token.as_number(d.id) for d in serving],
                 inbound_rule=inbound, outbound_rule=outbound)
    if wazuh:
        c = b.dedicated
        node_tags = [f"{c.id}-{region}-nodes" for region in c.regions] if c and c.kubernetes else []
        agents = FirewallInboundRule(protocol="tcp", port_range=WAZUH_AGENT_PORTS,
                                     source_droplet_ids=[tf.Token.as_number(d.id) for d in serving] or None,
                                     source_tags=node_tags or None) if (serving or node_tags) else None
        Firewall(b.stack, "wazuh_fw", name=f"{b.sp.name}-wazuh-fw", droplet_ids=[tf.Token.as_number(droplets["wazuh"].id)],
                 inbound_rule=[ssh] + ([agents] if agents else []), outbound_rule=outbound)
    c = b.dedicated
    if c and c.backups:
        for index, region in enumerate(_backup_regions(c)):
            suffix = "" if index == 0 else f"_{region}"
            b.resource("digitalocean_spaces_bucket", f"backup{suffix}", {
                "name": f"clawtex-{c.id}-backup{suffix.replace('_', '-')}", "region": region, "acl": "private",
                "versioning": [{"enabled": True}],
                "lifecycle_rule": [{"id": "retention", "enabled": True, "expiration": [{"days": c.backups.retention_days}],
                                    "noncurrent_version_expiration": [{"days": c.backups.retention_days}],
                                    "abort_incomplete_multipart_upload_days": 1}],
            }, data=True)
    if c and c.kubernetes:
        _doks(b, c)
    _dns_record(b, "digitalocean_record", lambda ip: {"domain": b.info.dns_zone, "name": b.record_name(), "type": "A", "ttl": 300, "value": ip},
                lambda h: f"${{digitalocean_droplet.{resource_id(h)}.ipv4_address}}",
                lambda region: "${digitalocean_loadbalancer.global.ip}")


def _doks(b: StackBuilder, c: CustomerPlan) -> None:
    """A DOKS cluster per region, a regional load balancer onto its node pool, one global LB in front."""
    nodes = c.tier.spec.hosting.nodes_per_region
    size = b.info.plans[c.tier_name].slug
    regional = []
    for priority, region in enumerate(c.regions, start=1):
        tag = f"{c.id}-{region}-nodes"
        b.resource("digitalocean_kubernetes_cluster", f"k8s_{region}", {
            "name": f"{c.id}-{region}", "region": region, "version": b.info.kubernetes_version, "ha": True, "auto_upgrade": True,
            "surge_upgrade": True, "tags": ["managed-by:clawtex", f"customer:{c.id}"],
            "node_pool": [{"name": f"{c.id}-{region}-pool", "size": size, "node_count": nodes, "tags": [tag]}],
            "maintenance_policy": [{"day": "sunday", "start_time": "03:00"}],
        })
        b.resource("digitalocean_loadbalancer", f"lb_{region}", {
            "name": f"{c.id}-{region}", "region": region, "droplet_tag": tag,
            "forwarding_rule": [{"entry_port": int(p), "entry_protocol": "tcp", "target_port": 30000 + int(p), "target_protocol": "tcp"}
                                for p in PUBLIC_PORTS],
            "healthcheck": [{"port": 30080, "protocol": "http", "path": b.plan.runtime.health_path}],
            "depends_on": [f"digitalocean_kubernetes_cluster.k8s_{region}"],
        })
        regional.append((region, priority))
        b.output(f"{region}_lb_ipv4", f"${{digitalocean_loadbalancer.lb_{region}.ip}}", f"load balancer of {c.id} in {region} (failover target)")
        b.output(f"{region}_k8s_endpoint", f"${{digitalocean_kubernetes_cluster.k8s_{region}.endpoint}}", f"Kubernetes API of {c.id} in {region}")
    # active-active: equal priority; active-passive: the first region wins until it fails.
    priorities = {r: (1 if c.ha_mode == "active-active" else p) for r, p in regional}
    b.resource("digitalocean_loadbalancer", "global", {
        "name": f"{c.id}-global", "type": "GLOBAL",
        "target_load_balancer_ids": [f"${{digitalocean_loadbalancer.lb_{r}.id}}" for r, _ in regional],
        "glb_settings": [{"target_port": 443, "target_protocol": "https", "region_priorities": priorities, "failover_threshold": 50}],
        "domains": [{"name": f"{b.record_name()}.{b.info.dns_zone}", "is_managed": True}],
    })
    b.output("global_lb_ip", "${digitalocean_loadbalancer.global.ip}", f"global entry point of {c.id}")


# ------------------------------------------------------------------ Vultr


def build_vultr(b: StackBuilder) -> None:
    plan, info = b.plan, b.info
    b.stack.add_override("terraform.required_providers.vultr", {"source": info.terraform_source, "version": info.terraform_version})
    b.stack.add_override("provider.vultr", [{}])
    b.resource("vultr_ssh_key", "ops", {"name": f"{b.sp.name}-ops", "ssh_key": "${var.ops_ssh_public_key}"})
    servers = b.servers()
    _vultr_firewall(b, "fw", [("22", _ops_cidrs(plan), "ssh from ops")] + [(p, ANYWHERE, f"public {p}") for p in PUBLIC_PORTS])
    agents = [f"${{vultr_instance.{resource_id(h)}.main_ip}}/32" for h in servers if h.role != ROLE_WAZUH]
    has_wazuh = any(h.role == ROLE_WAZUH for h in servers)
    if has_wazuh:
        _vultr_firewall(b, "wazuh_fw", [("22", _ops_cidrs(plan), "ssh from ops"), (WAZUH_AGENT_PORTS.replace("-", ":"), agents, "wazuh agents")])
    for host in b.sp.hosts:
        rid = resource_id(host)
        if host.running:
            group = "wazuh_fw" if host.role == ROLE_WAZUH else "fw"
            b.resource("vultr_instance", rid, {
                "plan": host.size.slug, "region": host.region, "os_id": int(info.image), "label": host.name, "hostname": host.name,
                "ssh_key_ids": ["${vultr_ssh_key.ops.id}"], "firewall_group_id": f"${{vultr_firewall_group.{group}.id}}",
                "tags": [f"{k}:{v}" for k, v in sorted(labels(host).items())], "user_data": b.user_data(), "enable_ipv6": True,
            })
            b.resource("vultr_reverse_ipv4", f"{rid}_rdns", {"instance_id": f"${{vultr_instance.{rid}.id}}",
                                                              "ip": f"${{vultr_instance.{rid}.main_ip}}", "reverse": _fqdn(b, host)})
            b.output(f"{rid}_ipv4", f"${{vultr_instance.{rid}.main_ip}}", f"public IPv4 of {host.name}")
        if host.volume_gb:
            volume = {"region": host.region, "size_gb": host.volume_gb, "label": f"{host.name}-data"}
            if host.running:
                volume.update({"attached_to_instance": f"${{vultr_instance.{rid}.id}}", "live": True})
            b.resource("vultr_block_storage", f"{rid}_data", volume, data=True)
    c = b.dedicated
    if c and c.backups:
        storage = info.backup_storage
        b.resource("vultr_object_storage", "backup_store", {"cluster_id": storage.cluster_id, "tier_id": storage.tier_id,
                                                            "label": f"{c.id}-backup"}, data=True)
        # Vultr buckets have no lifecycle rules: restic's `forget --keep-within` enforces retention.
        b.resource("vultr_object_storage_bucket", "backup", {"name": f"clawtex-{c.id}-backup", "enable_versioning": True,
                                                             "object_storage_id": "${vultr_object_storage.backup_store.id}"}, data=True)
    if c and c.kubernetes:
        for region in c.regions:
            nodes = [h for h in servers if h.region == region and h.role == ROLE_K8S]
            b.resource("vultr_load_balancer", f"lb_{region}", {
                "region": region, "label": f"{c.id}-{region}", "attached_instances": [f"${{vultr_instance.{resource_id(n)}.id}}" for n in nodes],
                "forwarding_rules": [{"frontend_protocol": "tcp", "frontend_port": int(p), "backend_protocol": "tcp", "backend_port": int(p)} for p in PUBLIC_PORTS],
                "health_check": [{"protocol": "tcp", "port": 443}]})
            b.output(f"{region}_lb_ipv4", f"${{vultr_load_balancer.lb_{region}.ipv4}}", f"load balancer of {c.id} in {region} (failover target)")
    _dns_record(b, "vultr_dns_record", lambda ip: {"domain": b.info.dns_zone, "name": b.record_name(), "type": "A", "ttl": 300, "data": ip},
                lambda h: f"${{vultr_instance.{resource_id(h)}.main_ip}}", lambda region: f"${{vultr_load_balancer.lb_{region}.ipv4}}")


def _vultr_firewall(b: StackBuilder, name: str, rules: list[tuple[str, list[str], str]]) -> None:
    b.resource("vultr_firewall_group", name, {"description": f"{b.sp.name} {name} (managed by clawtex)"})
    for index, (port, sources, note) in enumerate(rules):
        for n, cidr in enumerate(sources):
            net, size = cidr.rsplit("/", 1)
            ip_type = "v6" if ":" in net else "v4"
            b.resource("vultr_firewall_rule", f"{name}_{index}_{n}", {
                "firewall_group_id": f"${{vultr_firewall_group.{name}.id}}", "protocol": "tcp", "ip_type": ip_type,
                "subnet": net, "subnet_size": int(size), "port": port, "notes": note})


# ------------------------------------------------------------------ shared pieces


def _backup_regions(c: CustomerPlan) -> list[str]:
    """Primary region, plus the second region when the tier copies backups across regions."""
    return list(c.regions[:2]) if c.backups and c.backups.cross_region and len(c.regions) > 1 else [c.regions[0]]


def _dns_record(b: StackBuilder, rtype: str, body: Callable[[str], dict[str, Any]], server_ip: Callable[[HostPlan], str],
                lb_ip: Callable[[str], str]) -> None:
    """Gold+: `<id>.<fleet zone>` -> the customer's entry point; their custom domain is a CNAME to it."""
    c = b.dedicated
    if not (c and c.custom_domain and c.active):
        return
    if c.kubernetes:
        ip = lb_ip(c.regions[0])
    else:
        entry = _entry_host(b)
        if entry is None:
            return
        ip = server_ip(entry)
    b.resource(rtype, "customer_dns", body(ip))
    b.output("customer_dns_name", f"{b.record_name()}.{b.info.dns_zone}", f"CNAME target for {c.custom_domain}")


BUILDERS = {"hetzner": build_hetzner, "digitalocean": build_digitalocean, "vultr": build_vultr}


def stack_comment(sp: StackPlan, plan: FleetPlan) -> str:
    names = [plan.customer(cid).display_name for cid in sp.customers]
    return terraform_literal(f"clawtex stack {sp.name} for " + ", ".join(names))


# Each jsii call is a round trip to a Node process (~40 ms a stack), so large
# fleets synthesize in parallel, one fresh interpreter and Node per worker.
PARALLEL_MIN_STACKS = 64


def _jobs() -> int:
    return max(1, int(os.environ.get("CLAWTEX_JOBS") or os.cpu_count() or 1))


def synthesize(plan: FleetPlan, stacks: list[StackPlan] | None = None) -> dict[str, bytes]:
    """Terraform JSON of `stacks` (default: all), keyed by path under generated/."""
    chosen = list(plan.stacks if stacks is None else stacks)
    jobs = min(_jobs(), len(chosen) // (PARALLEL_MIN_STACKS // 2) or 1)
    if len(chosen) < PARALLEL_MIN_STACKS or jobs < 2:
        return _synthesize_here(plan, chosen)
    # spawn, not fork: a forked child would share the parent's jsii pipe.
    context = multiprocessing.get_context("spawn")
    chunks = [chosen[i::jobs] for i in range(jobs)]
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        parts = list(pool.map(_synthesize_here, [plan] * jobs, chunks))
    return dict(sorted(item for part in parts for item in part.items()))


def _synthesize_here(plan: FleetPlan, chosen: list[StackPlan]) -> dict[str, bytes]:
    tf = _cdktf()
    if not chosen:
        return {}
    with tempfile.TemporaryDirectory(prefix="clawtex-cdktf-") as outdir:
        app = tf.App(outdir=outdir, skip_validation=True, skip_backend_validation=True)
        for sp in chosen:
            stack = tf.TerraformStack(app, sp.name)
            state = plan.settings.spec.terraform_state
            tf.S3Backend(stack, bucket=state.bucket, key=sp.state_key, region=state.region, endpoint=state.endpoint,
                         skip_credentials_validation=True, skip_region_validation=True, skip_requesting_account_id=True,
                         skip_metadata_api_check=True, skip_s3_checksum=True, use_path_style=True)
            stack.add_override("terraform.backend.s3.use_lockfile", True)
            stack.add_override("terraform.required_version", ">= 1.10.0")
            BUILDERS[sp.provider](StackBuilder(stack, plan, sp))
            stack.add_override("//.clawtex", {"stack": sp.name, "kind": sp.kind, "customers": list(sp.customers),
                                              "description": stack_comment(sp, plan)})
        app.synth()
        return {f"terraform/{sp.name}/cdk.tf.json": _normalize(Path(outdir, "stacks", sp.name, "cdk.tf.json")) for sp in chosen}


def _normalize(path: Path) -> bytes:
    return dump_json(json.loads(path.read_text(encoding="utf-8")))


def render(plan: FleetPlan) -> dict[str, bytes]:
    return synthesize(plan)


def units(plan: FleetPlan) -> dict[str, bytes]:
    """Stack name -> everything its Terraform JSON depends on, for reuse by content hash."""
    shared = repr((plan.settings, plan.catalog, plan.runtime)).encode()
    return {sp.name: shared + repr((sp, [plan.customer(cid) for cid in sp.customers])).encode() for sp in plan.stacks}


def render_units(plan: FleetPlan, names: list[str]) -> dict[str, dict[str, bytes]]:
    """Stack name -> its files, for the stacks named."""
    wanted = [sp for sp in plan.stacks if sp.name in set(names)]
    files = synthesize(plan, wanted)
    return {sp.name: {f"terraform/{sp.name}/cdk.tf.json": files[f"terraform/{sp.name}/cdk.tf.json"]} for sp in wanted}
