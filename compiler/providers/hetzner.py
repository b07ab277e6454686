"""Hetzner Cloud (Terraform provider hetznercloud/hcloud; data: tiers/providers.yaml `hetzner`).

No managed Kubernetes and no DNS failover here: Platinum is refused
(tiers/providers.yaml hetzner.platinum: false, issue 16 item 12). Backups go to a
Storage Box, restic over SFTP (hcloud 1.68.0 has no object-storage bucket)."""
from __future__ import annotations

from typing import Any, Optional

from .base import (ANYWHERE, OPS_KEY_NAME, PRIVATE_RANGE, PRIVATE_SUBNET, PUBLIC_PORTS, ROLE_WAZUH, WAZUH_AGENT_PORTS,
                   BackupDestination, InboundRule, ProviderPlugin, declare_provider, declare_random, declare_tls, labels, resource_id)

# Cloud subnets live in the location's network zone (hcloud v1.68.0
# docs/resources/network_subnet.md; zones eu-central, us-east, us-west from
# docs.hetzner.com networks overview). One network per stack (networks are
# isolated, ranges may repeat), attached with hcloud_server_network (a separate
# resource: attaching does not replace the server).
# Specials the Storage Box password may hold (docs.hetzner.cloud/reference/hetzner#storage-boxes-password-policy,
# unverified list, read 2026-12-03): a conservative subset that needs no escaping anywhere.
STORAGE_BOX_SPECIALS = "-_.!+="
# Hetzner keeps at most this many snapshots per Storage Box plan (docs.hetzner.com Storage Box
# snapshots: depends on the box type; bx11 has 10, unverified 2026-12-03): the plan asks no more.
SNAPSHOT_MAX = 10
NETWORK_ZONES = {"fsn1": "eu-central", "nbg1": "eu-central", "hel1": "eu-central", "ash": "us-east", "hil": "us-west"}


def _rule(port: str, sources: list[str], description: str) -> dict[str, Any]:
    return {"direction": "in", "protocol": "tcp", "port": port, "source_ips": sources, "description": description}


class Hetzner(ProviderPlugin):
    name = "hetzner"
    terraform_provider = "hcloud"
    # hcloud v1.68.0 docs/index.md: `token` or the HCLOUD_TOKEN environment variable.
    credential_env = ("HCLOUD_TOKEN",)
    server_type = "hcloud_server"
    # hcloud v1.68.0 docs/resources/server.md: `name`, `ipv4_address`, `network` blocks; firewall.md `name`.
    server_ipv4_attr = "ipv4_address"
    server_private_attrs = ("network",)
    firewall_name_attrs = {"hcloud_firewall": "name"}
    # force_new in hcloud v1.68.0 internal/server/resource.go (tiers/replacement-facts.yaml);
    # ssh_keys/user_data only matter at first boot; `image` too: a new image is for new
    # servers, existing ones upgrade in place (docs/replacement.md "Image upgrades").
    server_ignore_changes = ("image", "ssh_keys", "user_data")
    # Hetzner Cloud's "change type" action needs the server powered off; the
    # provider stops it, changes the type and starts it again (as documented; re-check on a bump).
    rebooting_resize = "server_type"
    # hcloud v1.68.0: resourceServerDelete (internal/server/resource.go l.920-979) and
    # resourceVolumeDelete (internal/volume/resource.go l.331-370) delete without lifting
    # protection; the Storage Box's Delete lifts it itself (internal/storagebox/resource.go l.566).
    # The fleet DNS zone too: internal/zone/resource.go Delete (l.392-414) calls Zone.Delete without
    # ChangeProtection, so a fleet-last destroy would refuse at the zone after deleting the ops key.
    unlifted_protection = {"hcloud_server": ("delete_protection", "rebuild_protection"), "hcloud_volume": ("delete_protection",),
                           "hcloud_zone": ("delete_protection",)}
    backup_resource_types = ("hcloud_storage_box",)

    def build_fleet(self, b: Any) -> None:
        declare_provider(b, self.terraform_provider)
        b.resource("hcloud_ssh_key", "ops", {"name": OPS_KEY_NAME, "public_key": "${var.ops_ssh_public_key}",
                                             "labels": {"managed-by": "clawtex"}})
        # The fleet DNS zone every customer stack writes records into (hcloud_zone_rrset.zone):
        # created here, applied before them (issue 25). hcloud v1.68.0 docs/resources/zone.md:
        # `name` and `mode` (primary: Hetzner is authoritative) are required, both force_new.
        b.resource("hcloud_zone", "fleet", {"name": b.info.dns_zone, "mode": "primary", "delete_protection": True,
                                            "labels": {"managed-by": "clawtex"}})

    def inbound_rules(self, rtype: str, attrs: dict[str, Any]) -> Optional[list[InboundRule]]:
        if rtype != "hcloud_firewall":
            return None
        # hcloud_firewall rule (terraform-provider-hcloud docs/resources/firewall.md): an "in" rule's
        # only source field is source_ips (destination_ips belongs to "out" rules).
        return [(r.get("protocol"), r.get("port"), list(r.get("source_ips") or []))
                for r in attrs.get("rule") or [] if r.get("direction") == "in"]

    def backup_destination(self, info: Any, customer: str, region: str, copy: bool) -> BackupDestination:
        suffix = f"-{region}" if copy else ""
        location = region if copy else (info.backup_storage.location or region)
        return BackupDestination("sftp", f"{customer}-backup{suffix}", location, None)

    def build_stack(self, b: Any) -> None:
        info = b.info
        declare_provider(b, self.terraform_provider)
        key = b.data("hcloud_ssh_key", "ops", {"name": OPS_KEY_NAME})
        # node_exporter from the Prometheus host only (clawtex.yaml ops.prometheus, published by the plan).
        scrape = [_rule(port, sources, why) for port, sources, why in b.scrape_rules()]
        rules = [_rule("22", b.ops_cidrs(), "ssh from ops")] + [_rule(p, ANYWHERE, f"public {p}") for p in PUBLIC_PORTS] + scrape
        b.resource("hcloud_firewall", "fw", {"name": f"{b.sp.name}-fw", "labels": {"managed-by": "clawtex"}, "rule": rules})
        servers = b.servers()
        subnets = {}
        if servers:
            b.resource("hcloud_network", "private", {"name": f"{b.sp.name}-private", "ip_range": PRIVATE_RANGE,
                                                     "labels": {"managed-by": "clawtex"}})
            for zone in sorted({NETWORK_ZONES[h.region] for h in servers}):
                subnets[zone] = f"private_{zone.replace('-', '_')}"
                b.resource("hcloud_network_subnet", subnets[zone], {"network_id": "${hcloud_network.private.id}", "type": "cloud",
                                                                    "network_zone": zone, "ip_range": PRIVATE_SUBNET})
        agents = [f"${{hcloud_server.{resource_id(h)}.ipv4_address}}/32" for h in servers if h.role != ROLE_WAZUH]
        if any(h.role == ROLE_WAZUH for h in servers) and agents:
            wazuh_rules = [_rule("22", b.ops_cidrs(), "ssh from ops"), _rule(WAZUH_AGENT_PORTS, agents, "wazuh agents of this stack")] + scrape
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
                    "delete_protection": True, "rebuild_protection": True, **self.server_lifecycle(),
                })
                b.resource("hcloud_rdns", f"{rid}_rdns", {"server_id": f"${{hcloud_server.{rid}.id}}",
                                                           "ip_address": f"${{hcloud_server.{rid}.ipv4_address}}", "dns_ptr": b.fqdn(host)})
                # The PTR name resolves forward to the same address (forward-confirmed reverse DNS).
                b.resource("hcloud_zone_rrset", f"{rid}_a", {"zone": info.dns_zone, "name": host.name, "type": "A", "ttl": 300,
                                                             "records": [{"value": f"${{hcloud_server.{rid}.ipv4_address}}"}]})
                b.output(f"{rid}_ipv4", f"${{hcloud_server.{rid}.ipv4_address}}", f"public IPv4 of {host.name}")
                subnet = subnets[NETWORK_ZONES[host.region]]
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
        if c and c.backup_targets:
            declare_random(b)
            declare_tls(b)
        if c:
            for target in c.backup_targets:
                storage = info.backup_storage
                suffix = target.resource[len("backup"):]
                # One password per box, generated once and kept in the (private, versioned) state:
                # no TF_VAR_ any workflow would have to supply (issue 25 blocker 1). restic uses
                # the box over SFTP with the SSH key; the password is only the API's requirement
                # (hcloud v1.68.0 docs/resources/storage_box.md: `password` required, sensitive;
                # policy docs.hetzner.cloud/reference/hetzner#storage-boxes-password-policy).
                # hashicorp/random v3.7.2 docs/resources/password.md: min_* counts, override_special.
                password = b.resource("random_password", f"storage_box{suffix}", {
                    "length": 32, "special": True, "override_special": STORAGE_BOX_SPECIALS,
                    "min_upper": 2, "min_lower": 2, "min_numeric": 2, "min_special": 2,
                    "keepers": {"box": target.name}})
                # hcloud v1.68.0 internal/storagebox/resource.go: every access_settings flag defaults
                # to false (SSH included: restic over SFTP could not connect), and ssh_keys cannot be
                # updated through the API, so a change forces a replacement. Key rotation is done on
                # the box (~/.ssh/authorized_keys over SFTP), Terraform ignores later key changes.
                # Retention is restic's `forget --prune` (a label does nothing).
                # The key restic's rclone logs in with: this box's own pair (hashicorp/tls ED25519),
                # its private half a sensitive output the backup role installs as storagebox_ed25519.
                # The ops key stays trusted for restores by hand. A box created before this key
                # existed keeps its keys (ignore_changes below): add the public half to its
                # authorized_keys once (docs/backups.md).
                client = b.resource("tls_private_key", f"{target.resource}_sftp", {"algorithm": "ED25519"})
                b.resource("hcloud_storage_box", target.resource, {
                    "name": target.name, "storage_box_type": storage.type, "location": target.region,
                    "password": f"${{{password}.result}}",
                    "ssh_keys": ["${var.ops_ssh_public_key}", f"${{trimspace({client}.public_key_openssh)}}"],
                    "access_settings": {"ssh_enabled": True, "reachable_externally": True, "samba_enabled": False,
                                        "webdav_enabled": False, "zfs_enabled": False},
                    "delete_protection": True,
                    "labels": {"managed-by": "clawtex", "customer": c.id},
                    # History the customer host cannot erase (issue 24 item 2): the box's own
                    # snapshots, taken by Hetzner, outside the SFTP account restic writes with
                    # (hcloud v1.68.0 docs/resources/storage_box.md `snapshot_plan`; max_snapshots
                    # older ones are deleted). One a day covers the tier's retention in days.
                    "snapshot_plan": {"max_snapshots": min(c.backups.retention_days, SNAPSHOT_MAX), "minute": 30, "hour": 2},
                    "lifecycle": {"ignore_changes": ["ssh_keys"]},
                }, data=True)
                b.output(target.output, f"${{hcloud_storage_box.{target.resource}.server}}", f"SFTP host of {target.name} (backup role)")
                names = target.credential_outputs()      # one definition, read by the backup role's host vars
                assert names["host"] == target.output
                b.output(names["user"], f"${{hcloud_storage_box.{target.resource}.username}}", f"SFTP user of {target.name} (backup role)")
                b.output(names["key"], f"${{{client}.private_key_openssh}}", f"SSH key {target.name} trusts (backup role)", sensitive=True)
        if c and c.kubernetes:
            raise ValueError(f"{c.id}: Platinum is refused on hetzner (validation should have said so)")
        b.dns_record("hcloud_zone_rrset", lambda ip: {"zone": b.customer_zone(), "name": b.record_name(), "type": "A", "ttl": 300,
                                                      "records": [{"value": ip}]}, lambda h: f"${{hcloud_server.{resource_id(h)}.ipv4_address}}")


PLUGIN = Hetzner()
