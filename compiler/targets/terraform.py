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
from ..plan import ROLE_K8S, ROLE_WAZUH, CustomerPlan, FleetPlan, HostPlan, StackPlan, state_key

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
            body = {**body, "lifecycle": {**body.get("lifecycle", {}), "prevent_destroy": True}}
        _generic_resource()(self.stack, name, rtype, body)
        return f"{rtype}.{name}"

    def data(self, dtype: str, name: str, body: dict[str, Any]) -> str:
        """A data source (read at plan time), written straight into the stack."""
        self.stack.add_override(f"data.{dtype}.{name}", body)
        return f"data.{dtype}.{name}"

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


# Account-wide resources live once, in the provider's fleet stack
# (generated/terraform/fleet-<provider>/), and customer stacks look them up by
# name: the same public key uploaded twice is refused (DigitalOcean answers
# `422 SSH Key is already in use on your account`; hcloud keeps fingerprints
# unique per project, issue 16 item 2). The fleet stack is applied first.
FLEET_STACK = "fleet-{provider}"
OPS_KEY_NAME = "clawtex-ops"

# Attributes of a server that force its replacement (`force_new` in the
# provider schemas read from hcloud v1.68.0 internal/server/resource.go,
# digitalocean v2.99.1 digitalocean/droplet/resource_droplet.go, vultr v2.32.0
# vultr/resource_vultr_instance.go) and that a routine change touches: the ops
# key rotates, cloud-init is edited. Both only matter at first boot; after
# that Ansible owns the hosts, so Terraform ignores later changes.
SERVER_IGNORE_CHANGES = {
    "hcloud_server": ["ssh_keys", "user_data"],
    "digitalocean_droplet": ["ssh_keys", "user_data"],
    "vultr_instance": ["ssh_key_ids", "user_data"],
}


# Private networks (issue 16 item 13): internal traffic (Wazuh agents 1514-1515, Kubernetes)
# uses the provider's private network; the Ansible firewall role trusts 10.0.0.0/8 as
# "private" (modules/ansible/roles/hardening/defaults/main.yml). Hetzner: one network per
# stack (networks are isolated, ranges may repeat), a cloud subnet in the location's network
# zone (hcloud v1.68.0 docs/resources/network_subnet.md; zones eu-central, us-east, us-west
# from docs.hetzner.com networks overview), attached with hcloud_server_network (a separate
# resource: attaching does not replace the server). Vultr: a VPC per stack and region,
# subnet assigned by Vultr (v4_subnet optional/computed in v2.32.0), attached with
# vultr_instance.vpc_ids (not force_new). DigitalOcean: every droplet is already in its
# region's default VPC, and vpc_uuid is force_new, so no explicit VPC is set.
PRIVATE_RANGE = "10.0.0.0/16"
PRIVATE_SUBNET = "10.0.1.0/24"
HETZNER_NETWORK_ZONES = {"fsn1": "eu-central", "nbg1": "eu-central", "hel1": "eu-central", "ash": "us-east", "hil": "us-west"}


def _server_lifecycle(rtype: str) -> dict[str, Any]:
    return {"lifecycle": {"ignore_changes": list(SERVER_IGNORE_CHANGES[rtype])}}


# ------------------------------------------------------------------ Hetzner


def build_hetzner(b: StackBuilder) -> None:
    info, plan = b.info, b.plan
    b.stack.add_override("terraform.required_providers.hcloud", {"source": info.terraform_source, "version": info.terraform_version})
    b.stack.add_override("provider.hcloud", [{}])
    key = b.data("hcloud_ssh_key", "ops", {"name": OPS_KEY_NAME})
    rules = [_hz_rule("22", _ops_cidrs(plan), "ssh from ops")] + [_hz_rule(p, ANYWHERE, f"public {p}") for p in PUBLIC_PORTS]
    b.resource("hcloud_firewall", "fw", {"name": f"{b.sp.name}-fw", "labels": {"managed-by": "clawtex"}, "rule": rules})
    servers = b.servers()
    subnets = {}
    if servers:
        b.resource("hcloud_network", "private", {"name": f"{b.sp.name}-private", "ip_range": PRIVATE_RANGE,
                                                 "labels": {"managed-by": "clawtex"}})
        for zone in sorted({HETZNER_NETWORK_ZONES[h.region] for h in servers}):
            subnets[zone] = f"private_{zone.replace('-', '_')}"
            b.resource("hcloud_network_subnet", subnets[zone], {"network_id": "${hcloud_network.private.id}", "type": "cloud",
                                                                "network_zone": zone, "ip_range": PRIVATE_SUBNET})
    agents = [f"${{hcloud_server.{resource_id(h)}.ipv4_address}}/32" for h in servers if h.role != ROLE_WAZUH]
    if any(h.role == ROLE_WAZUH for h in servers) and agents:
        wazuh_rules = [_hz_rule("22", _ops_cidrs(plan), "ssh from ops"), _hz_rule(WAZUH_AGENT_PORTS, agents, "wazuh agents of this stack")]
        b.resource("hcloud_firewall", "wazuh_fw", {"name": f"{b.sp.name}-wazuh-fw", "labels": {"managed-by": "clawtex"}, "rule": wazuh_rules})
    for host in b.sp.hosts:
        rid = resource_id(host)
        if host.running:
            firewall = "wazuh_fw" if host.role == ROLE_WAZUH and agents else "fw"
            # delete/rebuild protection: the API refuses to delete or rebuild the server until
            # it is lifted (hcloud v1.68.0 docs/resources/server.md: both must be equal).
            b.resource("hcloud_server", rid, {
                "name": host.name, "server_type": host.size.slug, "image": info.image, "location": host.region,
                "ssh_keys": [f"${{{key}.id}}"], "firewall_ids": [f"${{hcloud_firewall.{firewall}.id}}"],
                "labels": labels(host), "user_data": b.user_data(),
                "delete_protection": True, "rebuild_protection": True, **_server_lifecycle("hcloud_server"),
            })
            b.resource("hcloud_rdns", f"{rid}_rdns", {"server_id": f"${{hcloud_server.{rid}.id}}",
                                                       "ip_address": f"${{hcloud_server.{rid}.ipv4_address}}", "dns_ptr": _fqdn(b, host)})
            # The PTR name resolves forward to the same address (forward-confirmed reverse DNS).
            b.resource("hcloud_zone_rrset", f"{rid}_a", {"zone": info.dns_zone, "name": host.name, "type": "A", "ttl": 300,
                                                         "records": [{"value": f"${{hcloud_server.{rid}.ipv4_address}}"}]})
            b.output(f"{rid}_ipv4", f"${{hcloud_server.{rid}.ipv4_address}}", f"public IPv4 of {host.name}")
            subnet = subnets[HETZNER_NETWORK_ZONES[host.region]]
            b.resource("hcloud_server_network", f"{rid}_private", {"server_id": f"${{hcloud_server.{rid}.id}}",
                                                                  "subnet_id": f"${{hcloud_network_subnet.{subnet}.id}}"})
            b.output(f"{rid}_private_ipv4", f"${{hcloud_server_network.{rid}_private.ip}}", f"private IPv4 of {host.name}")
        if host.volume_gb:
            volume = {"name": f"{host.name}-data", "size": host.volume_gb, "format": "ext4", "labels": labels(host), "location": host.region,
                      "delete_protection": True}
            if host.running:
                volume.update({"server_id": f"${{hcloud_server.{rid}.id}}", "automount": True})
                volume.pop("location")
            b.resource("hcloud_volume", f"{rid}_data", volume, data=True)
    c = b.dedicated
    if c:
        for target in c.backup_targets:
            storage = info.backup_storage
            suffix = target.resource[len("backup"):]
            b.cdktf.TerraformVariable(b.stack, f"storage_box_password{suffix}", type="string", sensitive=True,
                                      description="Storage Box password; from TF_VAR_* at apply")
            # hcloud v1.68.0 internal/storagebox/resource.go: every access_settings flag defaults
            # to false (SSH included: restic over SFTP could not connect), and ssh_keys cannot be
            # updated through the API, so a change forces a replacement. Key rotation is done on
            # the box (~/.ssh/authorized_keys over SFTP), Terraform ignores later key changes.
            # Retention is restic's `forget --prune` (a label does nothing).
            b.resource("hcloud_storage_box", target.resource, {
                "name": target.name, "storage_box_type": storage.type, "location": target.region,
                "password": f"${{var.storage_box_password{suffix}}}", "ssh_keys": ["${var.ops_ssh_public_key}"],
                "access_settings": {"ssh_enabled": True, "reachable_externally": True, "samba_enabled": False,
                                    "webdav_enabled": False, "zfs_enabled": False},
                "delete_protection": True,
                "labels": {"managed-by": "clawtex", "customer": c.id},
                "lifecycle": {"ignore_changes": ["ssh_keys"]},
            }, data=True)
            b.output(target.output, f"${{hcloud_storage_box.{target.resource}.server}}", f"SFTP host of {target.name} (backup role)")
    if c and c.kubernetes:
        raise ValueError(f"{c.id}: Platinum is refused on hetzner (validation should have said so)")
    _dns_record(b, "hcloud_zone_rrset", lambda ip: {"zone": b.info.dns_zone, "name": b.record_name(), "type": "A", "ttl": 300,
                                                      "records": [{"value": ip}]}, lambda h: f"${{hcloud_server.{resource_id(h)}.ipv4_address}}")


def _hz_rule(port: str, sources: list[str], description: str) -> dict[str, Any]:
    return {"direction": "in", "protocol": "tcp", "port": port, "source_ips": sources, "description": description}


# ------------------------------------------------------------------ DigitalOcean


def build_digitalocean(b: StackBuilder) -> None:
    from cdktf_cdktf_provider_digitalocean.droplet import Droplet
    from cdktf_cdktf_provider_digitalocean.firewall import Firewall, FirewallInboundRule, FirewallOutboundRule
    from cdktf_cdktf_provider_digitalocean.provider import DigitaloceanProvider
    from cdktf_cdktf_provider_digitalocean.volume import Volume
    from cdktf_cdktf_provider_digitalocean.volume_attachment import VolumeAttachment

    plan, info, tf = b.plan, b.info, b.cdktf
    DigitaloceanProvider(b.stack, "digitalocean")
    b.stack.add_override("terraform.required_providers.digitalocean.version", info.terraform_version)
    key = b.data("digitalocean_ssh_key", "ops", {"name": OPS_KEY_NAME})
    droplets: dict[str, Any] = {}
    for host in b.sp.hosts:
        if host.role == ROLE_K8S:
            continue    # DOKS node pools, below
        rid = resource_id(host)
        if host.running:
            droplets[rid] = Droplet(b.stack, rid, name=host.name, size=host.size.slug, image=info.image, region=host.region,
                                    ssh_keys=[f"${{{key}.fingerprint}}"], tags=[f"{k}:{v}" for k, v in sorted(labels(host).items())],
                                    user_data=b.user_data(), monitoring=True, ipv6=True)
            # DigitalOcean has no delete protection for droplets; lifecycle keeps routine changes from replacing them.
            droplets[rid].add_override("lifecycle", _server_lifecycle("digitalocean_droplet")["lifecycle"])
            b.output(f"{rid}_ipv4", droplets[rid].ipv4_address, f"public IPv4 of {host.name}")
        if host.volume_gb:
            volume = Volume(b.stack, f"{rid}_data", name=f"{host.name}-data", region=host.region, size=host.volume_gb,
                            initial_filesystem_type="ext4", description=f"data volume of {host.name}")
            volume.add_override("lifecycle", {"prevent_destroy": True})
            if host.running:
                VolumeAttachment(b.stack, f"{rid}_data_attach", droplet_id=tf.Token.as_number(droplets[rid].id), volume_id=volume.id)
    wazuh = [rid for rid in droplets if rid == "wazuh"]
    serving = [d for rid, d in droplets.items() if rid not in wazuh]
    # Outbound ICMP too (path MTU discovery, ping): DigitalOcean firewalls drop what no rule allows.
    outbound = [FirewallOutboundRule(protocol=p, port_range="1-65535", destination_addresses=ANYWHERE) for p in ("tcp", "udp")]
    outbound.append(FirewallOutboundRule(protocol="icmp", destination_addresses=ANYWHERE))
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
    if c:
        for target in c.backup_targets:
            # No `expiration`: restic writes `config`, `keys/` and packs once and never rewrites
            # them, so an age-based expiry breaks the repository. Retention is restic's
            # `forget --prune`; the bucket only expires versions restic already deleted.
            b.resource("digitalocean_spaces_bucket", target.resource, {
                "name": target.name, "region": target.region, "acl": "private",
                "versioning": [{"enabled": True}],
                "lifecycle_rule": [{"id": "noncurrent", "enabled": True,
                                    "noncurrent_version_expiration": [{"days": c.backups.retention_days}],
                                    "abort_incomplete_multipart_upload_days": 1}],
            }, data=True)
            b.output(target.output, f"${{digitalocean_spaces_bucket.{target.resource}.bucket_domain_name}}", f"bucket {target.name}")
    if c and c.kubernetes:
        _doks(b, c)
        return      # the global load balancer owns the customer's record (domains.is_managed)
    _dns_record(b, "digitalocean_record", lambda ip: {"domain": b.info.dns_zone, "name": b.record_name(), "type": "A", "ttl": 300, "value": ip},
                lambda h: f"${{digitalocean_droplet.{resource_id(h)}.ipv4_address}}")


def doks_lb_name(c: CustomerPlan, region: str) -> str:
    """Name of the regional load balancer DigitalOcean's cloud controller creates for the
    gateway Service (type LoadBalancer, annotation service.beta.kubernetes.io/do-loadbalancer-name)."""
    return f"{c.id}-{region}"


def _doks(b: StackBuilder, c: CustomerPlan) -> None:
    """A DOKS cluster per region; the regional load balancers come from the gateway's
    Service of type LoadBalancer inside each cluster (DigitalOcean documents that a load
    balancer created through the API cannot serve a DOKS cluster); one global LB in front."""
    nodes = c.tier.spec.hosting.nodes_per_region
    versions = b.data("digitalocean_kubernetes_versions", "doks", {"version_prefix": b.info.kubernetes_version_prefix})
    regional = []
    for priority, region in enumerate(c.regions, start=1):
        tag = f"{c.id}-{region}-nodes"
        # The version is read once at create time; DigitalOcean's patch upgrades
        # (auto_upgrade, in the maintenance window: the one place upgrades happen) then
        # change it, and a pinned version would make the next plan replace the cluster.
        b.resource("digitalocean_kubernetes_cluster", f"k8s_{region}", {
            "name": f"{c.id}-{region}", "region": region, "version": f"${{{versions}.latest_version}}", "ha": True, "auto_upgrade": True,
            "surge_upgrade": True, "tags": ["managed-by:clawtex", f"customer:{c.id}"],
            "node_pool": [{"name": f"{c.id}-{region}-pool", "size": b.info.plan(c.tier_name, region).slug, "node_count": nodes, "tags": [tag]}],
            "maintenance_policy": [{"day": "sunday", "start_time": "03:00"}],
            "lifecycle": {"ignore_changes": ["version"]},
        })
        lb = b.data("digitalocean_loadbalancer", f"lb_{region}", {"name": doks_lb_name(c, region),
                                                                  "depends_on": [f"digitalocean_kubernetes_cluster.k8s_{region}"]})
        regional.append((region, priority, lb))
        b.output(f"{region}_lb_ipv4", f"${{{lb}.ip}}", f"load balancer of {c.id} in {region} (failover target)")
        b.output(f"{region}_k8s_endpoint", f"${{digitalocean_kubernetes_cluster.k8s_{region}.endpoint}}", f"Kubernetes API of {c.id} in {region}")
    # active-active: equal priority; active-passive: the first region wins until it fails.
    priorities = {r: (1 if c.ha_mode == "active-active" else p) for r, p, _ in regional}
    b.resource("digitalocean_loadbalancer", "global", {
        "name": f"{c.id}-global", "type": "GLOBAL",
        "target_load_balancer_ids": [f"${{{lb}.id}}" for _, _, lb in regional],
        "glb_settings": [{"target_port": 443, "target_protocol": "https", "region_priorities": priorities, "failover_threshold": 50}],
        # is_managed: DigitalOcean creates the A/AAAA records of this name itself; a
        # digitalocean_record of the same name would conflict (issue 16 item 4).
        "domains": [{"name": f"{b.record_name()}.{b.info.dns_zone}", "is_managed": True}],
    })
    b.output("global_lb_ip", "${digitalocean_loadbalancer.global.ip}", f"global entry point of {c.id}")
    if c.custom_domain and c.active:
        b.output("customer_dns_name", f"{b.record_name()}.{b.info.dns_zone}", f"CNAME target for {c.custom_domain}")


# ------------------------------------------------------------------ Vultr


def build_vultr(b: StackBuilder) -> None:
    plan, info = b.plan, b.info
    b.stack.add_override("terraform.required_providers.vultr", {"source": info.terraform_source, "version": info.terraform_version})
    b.stack.add_override("provider.vultr", [{}])
    key = b.data("vultr_ssh_key", "ops", {"filter": [{"name": "name", "values": [OPS_KEY_NAME]}]})
    servers = b.servers()
    _vultr_firewall(b, "fw", [("22", _ops_cidrs(plan), "ssh from ops")] + [(p, ANYWHERE, f"public {p}") for p in PUBLIC_PORTS])
    agents = [f"${{vultr_instance.{resource_id(h)}.main_ip}}/32" for h in servers if h.role != ROLE_WAZUH]
    has_wazuh = any(h.role == ROLE_WAZUH for h in servers)
    if has_wazuh:
        _vultr_firewall(b, "wazuh_fw", [("22", _ops_cidrs(plan), "ssh from ops"), (WAZUH_AGENT_PORTS.replace("-", ":"), agents, "wazuh agents")])
    for region in sorted({h.region for h in servers}):
        b.resource("vultr_vpc", f"private_{region}", {"region": region, "description": f"{b.sp.name} private network (clawtex)"})
    for host in b.sp.hosts:
        rid = resource_id(host)
        if host.running:
            group = "wazuh_fw" if host.role == ROLE_WAZUH else "fw"
            b.resource("vultr_instance", rid, {
                "plan": host.size.slug, "region": host.region, "os_id": int(info.image), "label": host.name, "hostname": host.name,
                "ssh_key_ids": [f"${{{key}.id}}"], "firewall_group_id": f"${{vultr_firewall_group.{group}.id}}",
                "tags": [f"{k}:{v}" for k, v in sorted(labels(host).items())], "user_data": b.user_data(), "enable_ipv6": True,
                "vpc_ids": [f"${{vultr_vpc.private_{host.region}.id}}"], **_server_lifecycle("vultr_instance"),
            })
            b.resource("vultr_reverse_ipv4", f"{rid}_rdns", {"instance_id": f"${{vultr_instance.{rid}.id}}",
                                                              "ip": f"${{vultr_instance.{rid}.main_ip}}", "reverse": _fqdn(b, host)})
            b.resource("vultr_dns_record", f"{rid}_a", {"domain": info.dns_zone, "name": host.name, "type": "A", "ttl": 300,
                                                        "data": f"${{vultr_instance.{rid}.main_ip}}"})
            b.output(f"{rid}_ipv4", f"${{vultr_instance.{rid}.main_ip}}", f"public IPv4 of {host.name}")
            b.output(f"{rid}_private_ipv4", f"${{vultr_instance.{rid}.internal_ip}}", f"private IPv4 of {host.name}")
        if host.volume_gb:
            volume = {"region": host.region, "size_gb": host.volume_gb, "label": f"{host.name}-data"}
            if host.running:
                volume.update({"attached_to_instance": f"${{vultr_instance.{rid}.id}}", "live": True})
            b.resource("vultr_block_storage", f"{rid}_data", volume, data=True)
    c = b.dedicated
    if c:
        storage = info.backup_storage
        for target in c.backup_targets:
            suffix = target.resource[len("backup"):]
            # The cluster of the bucket's own region (website/docs/d/object_storage_cluster.html.markdown
            # @ v2.32.0), not one id for every region.
            cluster = b.data("vultr_object_storage_cluster", f"backup{suffix}", {"filter": [{"name": "region", "values": [target.region]}]})
            b.resource("vultr_object_storage", f"backup_store{suffix}", {"cluster_id": f"${{{cluster}.id}}", "tier_id": storage.tier_id,
                                                                        "label": f"{c.id}-backup{suffix.replace('_', '-')}"}, data=True)
            # Vultr buckets have no lifecycle rules here, so versions restic prunes would be
            # kept forever: no versioning. enable_versioning forces a new bucket (schema
            # force_new, v2.32.0): an existing versioned bucket is left as it is (ignore_changes).
            b.resource("vultr_object_storage_bucket", target.resource, {
                "name": target.name, "enable_versioning": False,
                "object_storage_id": f"${{vultr_object_storage.backup_store{suffix}.id}}",
                "lifecycle": {"ignore_changes": ["enable_versioning"]}}, data=True)
            b.output(target.output, f"${{vultr_object_storage.backup_store{suffix}.s3_hostname}}", f"S3 host of {target.name}")
    if c and c.kubernetes:
        raise ValueError(f"{c.id}: Platinum is refused on vultr (validation should have said so)")
    _dns_record(b, "vultr_dns_record", lambda ip: {"domain": b.info.dns_zone, "name": b.record_name(), "type": "A", "ttl": 300, "data": ip},
                lambda h: f"${{vultr_instance.{resource_id(h)}.main_ip}}")


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


def _dns_record(b: StackBuilder, rtype: str, body: Callable[[str], dict[str, Any]], server_ip: Callable[[HostPlan], str]) -> None:
    """Gold: `<id>.<fleet zone>` -> the customer's entry point; their custom domain is a CNAME to it."""
    c = b.dedicated
    if not (c and c.custom_domain and c.active):
        return
    entry = _entry_host(b)
    if entry is None:
        return
    b.resource(rtype, "customer_dns", body(server_ip(entry)))
    b.output("customer_dns_name", f"{b.record_name()}.{b.info.dns_zone}", f"CNAME target for {c.custom_domain}")


def build_fleet(stack: Any, plan: FleetPlan, provider: str) -> None:
    """The provider's account-wide resources, created once: the ops SSH key."""
    info = plan.catalog.spec[provider]
    tf = _cdktf()
    tf.TerraformVariable(stack, "ops_ssh_public_key", type="string", description="Public SSH key of the Ansible user")
    if provider == "hetzner":
        stack.add_override("terraform.required_providers.hcloud", {"source": info.terraform_source, "version": info.terraform_version})
        stack.add_override("provider.hcloud", [{}])
        _generic_resource()(stack, "ops", "hcloud_ssh_key", {"name": OPS_KEY_NAME, "public_key": "${var.ops_ssh_public_key}",
                                                             "labels": {"managed-by": "clawtex"}})
    elif provider == "digitalocean":
        stack.add_override("terraform.required_providers.digitalocean", {"source": info.terraform_source, "version": info.terraform_version})
        stack.add_override("provider.digitalocean", [{}])
        _generic_resource()(stack, "ops", "digitalocean_ssh_key", {"name": OPS_KEY_NAME, "public_key": "${var.ops_ssh_public_key}"})
    else:
        stack.add_override("terraform.required_providers.vultr", {"source": info.terraform_source, "version": info.terraform_version})
        stack.add_override("provider.vultr", [{}])
        _generic_resource()(stack, "ops", "vultr_ssh_key", {"name": OPS_KEY_NAME, "ssh_key": "${var.ops_ssh_public_key}"})


def fleet_stacks(plan: FleetPlan) -> list[str]:
    return [FLEET_STACK.format(provider=p) for p in sorted({sp.provider for sp in plan.stacks})]


BUILDERS = {"hetzner": build_hetzner, "digitalocean": build_digitalocean, "vultr": build_vultr}


def stack_comment(sp: StackPlan, plan: FleetPlan) -> str:
    names = [plan.customer(cid).display_name for cid in sp.customers]
    return terraform_literal(f"clawtex stack {sp.name} for " + ", ".join(names))


# Each jsii call is a round trip to a Node process (~40 ms a stack), so large
# fleets synthesize in parallel, one fresh interpreter and Node per worker.
PARALLEL_MIN_STACKS = 64


def _jobs() -> int:
    return max(1, int(os.environ.get("CLAWTEX_JOBS") or os.cpu_count() or 1))


def synthesize(plan: FleetPlan, stacks: list[StackPlan] | None = None, fleet: list[str] | None = None) -> dict[str, bytes]:
    """Terraform JSON of `stacks` and fleet stacks `fleet` (default: all), keyed by path under generated/."""
    chosen = list(plan.stacks if stacks is None else stacks)
    fleet = fleet_stacks(plan) if fleet is None else fleet
    jobs = min(_jobs(), len(chosen) // (PARALLEL_MIN_STACKS // 2) or 1)
    if len(chosen) < PARALLEL_MIN_STACKS or jobs < 2:
        return _synthesize_here(plan, chosen, fleet)
    # spawn, not fork: a forked child would share the parent's jsii pipe.
    context = multiprocessing.get_context("spawn")
    chunks = [chosen[i::jobs] for i in range(jobs)]
    fleets = [fleet if i == 0 else [] for i in range(jobs)]
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        parts = list(pool.map(_synthesize_here, [plan] * jobs, chunks, fleets))
    return dict(sorted(item for part in parts for item in part.items()))


def _backend(tf: Any, stack: Any, plan: FleetPlan, name: str) -> None:
    state = plan.settings.spec.terraform_state
    # `endpoints = { s3 = ... }`: the S3 backend's `endpoint` is deprecated since Terraform 1.6
    # (developer.hashicorp.com/terraform/language/backend/s3, "endpoint (Deprecated)").
    tf.S3Backend(stack, bucket=state.bucket, key=state_key(plan.settings, name), region=state.region,
                 skip_credentials_validation=True, skip_region_validation=True, skip_requesting_account_id=True,
                 skip_metadata_api_check=True, skip_s3_checksum=True, use_path_style=True)
    stack.add_override("terraform.backend.s3.endpoints", {"s3": state.endpoint})
    stack.add_override("terraform.backend.s3.use_lockfile", True)
    stack.add_override("terraform.required_version", ">= 1.10.0")


def _synthesize_here(plan: FleetPlan, chosen: list[StackPlan], fleet: list[str] = ()) -> dict[str, bytes]:
    tf = _cdktf()
    if not chosen and not fleet:
        return {}
    with tempfile.TemporaryDirectory(prefix="clawtex-cdktf-") as outdir:
        app = tf.App(outdir=outdir, skip_validation=True, skip_backend_validation=True)
        for sp in chosen:
            stack = tf.TerraformStack(app, sp.name)
            _backend(tf, stack, plan, sp.name)
            BUILDERS[sp.provider](StackBuilder(stack, plan, sp))
            stack.add_override("//.clawtex", {"stack": sp.name, "kind": sp.kind, "customers": list(sp.customers),
                                              "description": stack_comment(sp, plan)})
        for name in fleet:
            stack = tf.TerraformStack(app, name)
            _backend(tf, stack, plan, name)
            build_fleet(stack, plan, name.split("-", 1)[1])
            stack.add_override("//.clawtex", {"stack": name, "kind": "fleet", "customers": [],
                                              "description": "account-wide resources, applied before every other stack"})
        app.synth()
        names = [sp.name for sp in chosen] + list(fleet)
        return {f"terraform/{n}/cdk.tf.json": _normalize(Path(outdir, "stacks", n, "cdk.tf.json")) for n in names}


def _normalize(path: Path) -> bytes:
    return dump_json(json.loads(path.read_text(encoding="utf-8")))


def render(plan: FleetPlan) -> dict[str, bytes]:
    return synthesize(plan)


def units(plan: FleetPlan) -> dict[str, bytes]:
    """Stack name -> everything its Terraform JSON depends on, for reuse by content hash."""
    shared = repr((plan.settings, plan.catalog, plan.runtime)).encode()
    out = {sp.name: shared + repr((sp, [plan.customer(cid) for cid in sp.customers])).encode() for sp in plan.stacks}
    out.update({name: shared + name.encode() for name in fleet_stacks(plan)})
    return out


def render_units(plan: FleetPlan, names: list[str]) -> dict[str, dict[str, bytes]]:
    """Stack name -> its files, for the stacks named."""
    wanted = [sp for sp in plan.stacks if sp.name in set(names)]
    fleet = [n for n in fleet_stacks(plan) if n in set(names)]
    files = synthesize(plan, wanted, fleet)
    return {n: {f"terraform/{n}/cdk.tf.json": files[f"terraform/{n}/cdk.tf.json"]} for n in [sp.name for sp in wanted] + fleet}
