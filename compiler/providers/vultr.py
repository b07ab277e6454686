"""Vultr (Terraform provider vultr/vultr; data: tiers/providers.yaml `vultr`).

No VKE in clawtex's Vultr stacks and no DNS failover: Platinum is refused
(tiers/providers.yaml vultr.platinum: false, issue 16 item 12). A VPC per stack and
region, subnet assigned by Vultr (v4_subnet optional/computed in v2.32.0),
attached with vultr_instance.vpc_ids (not force_new)."""
from __future__ import annotations

from typing import Any, Optional

from .base import (ANYWHERE, OPS_KEY_NAME, PUBLIC_PORTS, ROLE_WAZUH, WAZUH_AGENT_PORTS, BackupDestination, InboundRule,
                   ProviderPlugin, declare_provider, labels, resource_id, s3_endpoint)


class Vultr(ProviderPlugin):
    name = "vultr"
    terraform_provider = "vultr"
    # vultr v2.32.0 website/docs/index.html.markdown: `api_key` from VULTR_API_KEY.
    credential_env = ("VULTR_API_KEY",)
    server_type = "vultr_instance"
    # vultr v2.32.0 docs/resources/instance.md: `label` and `hostname`, `main_ip`, `vpc_ids`;
    # firewall_group.md `description`; firewall_rule.md `firewall_group_id` (rules attach to a group).
    server_name_attrs = ("label", "hostname")
    server_ipv4_attr = "main_ip"
    server_private_attrs = ("vpc_ids",)
    firewall_name_attrs = {"vultr_firewall_group": "description"}
    firewall_rule_types = ("vultr_firewall_rule",)
    # force_new in vultr v2.32.0 vultr/resource_vultr_instance.go (tiers/replacement-facts.yaml):
    # `os_id` is for new instances only (docs/replacement.md "Image upgrades"); `hostname`
    # is force_new "to prevent accidental reinstalls" (its schema description), a rename
    # is done on the host, not by a reinstall.
    server_ignore_changes = ("hostname", "os_id", "ssh_key_ids", "user_data")
    # Vultr: a plan change upgrades the instance with a reboot (as documented; re-check on a bump).
    rebooting_resize = "plan"
    # the subscription holds the bucket's keys: kept with it
    backup_resource_types = ("vultr_object_storage", "vultr_object_storage_bucket")

    def build_fleet(self, b: Any) -> None:
        declare_provider(b, self.terraform_provider)
        b.resource("vultr_ssh_key", "ops", {"name": OPS_KEY_NAME, "ssh_key": "${var.ops_ssh_public_key}"})
        # The fleet DNS zone every stack writes records into (issue 25); vultr v2.32.0
        # website/docs/r/dns_domain.html.markdown (`ip` optional: no default A record).
        b.resource("vultr_dns_domain", "fleet", {"domain": b.info.dns_zone})

    def build_stack(self, b: Any) -> None:
        _build_stack(b)

    def inbound_rules(self, rtype: str, attrs: dict[str, Any]) -> Optional[list[InboundRule]]:
        if rtype != "vultr_firewall_rule":
            return None
        # vultr_firewall_rule (docs.vultr.com/reference/terraform/resources/firewall_rule, updated
        # 2025-09-15): subnet + subnet_size are the source, unless `source` is "cloudflare", which
        # allows all of Cloudflare's IP space instead (vultr-cli "firewall rule create", --source).
        if attrs.get("source") == "cloudflare":
            return [(attrs.get("protocol"), attrs.get("port"), ["Cloudflare IP ranges"])]
        return [(attrs.get("protocol"), attrs.get("port"), [f"{attrs.get('subnet')}/{attrs.get('subnet_size')}"])]

    def backup_destination(self, info: Any, customer: str, region: str, copy: bool) -> BackupDestination:
        suffix = f"-{region}" if copy else ""
        return BackupDestination("s3", f"clawtex-{customer}-backup{suffix}", region, s3_endpoint(info, region))


PLUGIN = Vultr()


def _build_stack(b: Any) -> None:
    info = b.info
    declare_provider(b, PLUGIN.terraform_provider)
    key = b.data("vultr_ssh_key", "ops", {"filter": [{"name": "name", "values": [OPS_KEY_NAME]}]})
    servers = b.servers()
    _vultr_firewall(b, "fw", [("22", b.ops_cidrs(), "ssh from ops")] + [(p, ANYWHERE, f"public {p}") for p in PUBLIC_PORTS] + b.scrape_rules())
    agents = [f"${{vultr_instance.{resource_id(h)}.main_ip}}/32" for h in servers if h.role != ROLE_WAZUH]
    has_wazuh = any(h.role == ROLE_WAZUH for h in servers)
    if has_wazuh:
        _vultr_firewall(b, "wazuh_fw", [("22", b.ops_cidrs(), "ssh from ops"), (WAZUH_AGENT_PORTS.replace("-", ":"), agents, "wazuh agents")] + b.scrape_rules())
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
                "vpc_ids": [f"${{vultr_vpc.private_{host.region}.id}}"], **PLUGIN.server_lifecycle(),
            })
            b.resource("vultr_reverse_ipv4", f"{rid}_rdns", {"instance_id": f"${{vultr_instance.{rid}.id}}",
                                                              "ip": f"${{vultr_instance.{rid}.main_ip}}", "reverse": b.fqdn(host)})
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
            # The cluster serving the bucket's endpoint host, by `hostname` (unique), not by
            # region, which several clusters may share (issue 25; v2.32.0
            # website/docs/d/object_storage_cluster.html.markdown: filter on any attribute).
            host = (target.endpoint or "").removeprefix("https://")
            cluster = b.data("vultr_object_storage_cluster", f"backup{suffix}", {"filter": [{"name": "hostname", "values": [host]}]})
            tier = b.data("vultr_object_storage_tier", f"backup{suffix}", {"filter": [{"name": "slug", "values": [storage.tier_slug]}]})
            # tier_id and cluster_id are force_new (v2.32.0 vultr/resource_vultr_object_storage.go): a
            # later tier change must not replace the subscription (and its keys and buckets).
            b.resource("vultr_object_storage", f"backup_store{suffix}", {"cluster_id": f"${{{cluster}.id}}", "tier_id": f"${{{tier}.id}}",
                                                                        "label": f"{c.id}-backup{suffix.replace('_', '-')}",
                                                                        "lifecycle": {"ignore_changes": ["tier_id"]}}, data=True)
            # Keys are per subscription (s3_access_key / s3_secret_key, sensitive): outputs the
            # apply step hands to Ansible in a 0600 file (scripts/gitops/apply-stack.sh), never
            # on a command line or in generated/.
            names = target.credential_outputs()      # one definition, read by the backup role's host vars
            for use, attr in (("access_key", "s3_access_key"), ("secret_key", "s3_secret_key")):
                b.output(names[use], f"${{vultr_object_storage.backup_store{suffix}.{attr}}}",
                         f"{attr} of {target.name}'s subscription (backup role)", sensitive=True)
            # History a host's `restic forget --prune` (or an intruder's plain DELETE) cannot
            # erase: a versioned bucket, whose old versions the controller expires after the
            # tier's retention (compiler/gitops/bucket_history.py, run by apply-stack.sh:
            # Vultr's S3 lifecycle rules, provider-facts row 35). enable_versioning is the
            # provider's only switch for it, create-time (force_new, v2.32.0): a bucket created
            # before stays as it is (ignore_changes; the apply step warns that it has no history).
            # enable_lock stays off: provider-facts row 35.
            b.resource("vultr_object_storage_bucket", target.resource, {
                "name": target.name, "enable_versioning": True,
                "object_storage_id": f"${{vultr_object_storage.backup_store{suffix}.id}}",
                "lifecycle": {"ignore_changes": ["enable_versioning"]}}, data=True)
            b.output(target.output, f"${{vultr_object_storage.backup_store{suffix}.s3_hostname}}", f"S3 host of {target.name}")
    if c and c.kubernetes:
        raise ValueError(f"{c.id}: Platinum is refused on vultr (validation should have said so)")
    b.dns_record("vultr_dns_record", lambda ip: {"domain": b.customer_zone(), "name": b.record_name(), "type": "A", "ttl": 300, "data": ip},
                lambda h: f"${{vultr_instance.{resource_id(h)}.main_ip}}")


def _vultr_firewall(b: Any, name: str, rules: list[tuple[str, list[str], str]]) -> None:
    b.resource("vultr_firewall_group", name, {"description": f"{b.sp.name} {name} (managed by clawtex)"})
    for index, (port, sources, note) in enumerate(rules):
        for n, cidr in enumerate(sources):
            net, size = cidr.rsplit("/", 1)
            ip_type = "v6" if ":" in net else "v4"
            b.resource("vultr_firewall_rule", f"{name}_{index}_{n}", {
                "firewall_group_id": f"${{vultr_firewall_group.{name}.id}}", "protocol": "tcp", "ip_type": ip_type,
                "subnet": net, "subnet_size": int(size), "port": port, "notes": note})
