"""Terraform JSON per stack, synthesized with CDKTF.

CDKTF is deprecated upstream (0.21.0 is final), so it stays inside this module.
DigitalOcean uses the prebuilt typed bindings; Hetzner and Vultr have none, so
their resources are generic TerraformResource objects with explicit types.
Customer text is escaped (`${` -> `$${`) before it reaches CDKTF, which does
not escape for us. Provider credentials come from the environment at apply
time (HCLOUD_TOKEN, DIGITALOCEAN_TOKEN, VULTR_API_KEY), never from here.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..escape import terraform_literal
from ..formats import dump_json
from ..plan import CustomerPlan, FleetPlan, HostPlan, StackPlan

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
# jsii wants the Node major versions to stay quiet about, not a boolean.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

PUBLIC_PORTS = ("80", "443")


def _cdktf():
    # Imported lazily: starting the jsii runtime costs ~1 s, only this target needs it.
    import cdktf
    return cdktf


def labels(host: HostPlan) -> dict[str, str]:
    out = {"managed-by": "clawtex", "tier": host.tier, "role": host.role.replace("_", "-"), "stack": host.stack}
    if host.customer:
        out["customer"] = host.customer
    return out


def cloud_init(plan: FleetPlan) -> str:
    """Bootstraps the Ansible user; the key arrives as a Terraform variable at apply time."""
    user = plan.settings.spec.ops.ansible_user
    return "\n".join([
        "#cloud-config",
        "users:",
        f"  - name: {user}",
        "    groups: [sudo]",
        "    shell: /bin/bash",
        "    sudo: ['ALL=(ALL) NOPASSWD:ALL']",
        "    ssh_authorized_keys:",
        "      - ${var.ops_ssh_public_key}",
        "ssh_pwauth: false",
        "disable_root: true",
        "",
    ])


class StackBuilder:
    """Adds one provider's resources for a StackPlan to a CDKTF stack."""

    def __init__(self, stack: Any, plan: FleetPlan, sp: StackPlan):
        self.cdktf = _cdktf()
        self.stack, self.plan, self.sp = stack, plan, sp
        self.ssh_var = self.cdktf.TerraformVariable(stack, "ops_ssh_public_key", type="string",
                                                    description="Public SSH key of the Ansible user")

    def resource(self, rtype: str, name: str, body: dict[str, Any]) -> Any:
        res = self.cdktf.TerraformResource(self.stack, name, terraform_resource_type=rtype)
        for key, value in body.items():
            res.add_override(key, value)
        return res

    def output(self, name: str, value: str, description: str) -> None:
        self.cdktf.TerraformOutput(self.stack, name, value=value, description=description)


def _ssh_ingress(plan: FleetPlan) -> list[str]:
    return list(plan.settings.spec.ops.ssh_allowed_cidrs)


def build_hetzner(b: StackBuilder) -> None:
    p = b.plan
    tf = b.cdktf
    provider = p.catalog.spec["hetzner"]
    tf.TerraformProvider  # noqa: B018 - generic provider declared via required_providers below
    b.stack.add_override("terraform.required_providers.hcloud", {"source": provider.terraform_source, "version": provider.terraform_version})
    b.stack.add_override("provider.hcloud", [{}])
    key = b.resource("hcloud_ssh_key", "ops", {"name": f"{b.sp.name}-ops", "public_key": "${var.ops_ssh_public_key}", "labels": {"managed-by": "clawtex"}})
    rules = [{"direction": "in", "protocol": "tcp", "port": "22", "source_ips": _ssh_ingress(p), "description": "ssh from ops"}]
    rules += [{"direction": "in", "protocol": "tcp", "port": port, "source_ips": ["0.0.0.0/0", "::/0"], "description": f"public {port}"} for port in PUBLIC_PORTS]
    b.resource("hcloud_firewall", "fw", {"name": f"{b.sp.name}-fw", "labels": {"managed-by": "clawtex"}, "rule": rules})
    for host in b.sp.hosts:
        rid = _rid(host)
        b.resource("hcloud_server", rid, {
            "name": host.name, "server_type": host.size.slug, "image": provider.image, "location": host.region,
            "ssh_keys": ["${hcloud_ssh_key.ops.id}"], "firewall_ids": ["${hcloud_firewall.fw.id}"],
            "labels": labels(host), "user_data": cloud_init(p),
        })
        if host.volume_gb:
            b.resource("hcloud_volume", f"{rid}_data", {
                "name": f"{host.name}-data", "size": host.volume_gb, "server_id": f"${{hcloud_server.{rid}.id}}",
                "automount": True, "format": "ext4", "labels": labels(host),
            })
        b.output(f"{rid}_ipv4", f"${{hcloud_server.{rid}.ipv4_address}}", f"public IPv4 of {host.name}")
    _ = key


def build_digitalocean(b: StackBuilder) -> None:
    from cdktf_cdktf_provider_digitalocean.droplet import Droplet
    from cdktf_cdktf_provider_digitalocean.firewall import Firewall, FirewallInboundRule, FirewallOutboundRule
    from cdktf_cdktf_provider_digitalocean.provider import DigitaloceanProvider
    from cdktf_cdktf_provider_digitalocean.ssh_key import SshKey
    from cdktf_cdktf_provider_digitalocean.volume import Volume
    from cdktf_cdktf_provider_digitalocean.volume_attachment import VolumeAttachment

    p = b.plan
    provider = p.catalog.spec["digitalocean"]
    DigitaloceanProvider(b.stack, "digitalocean")
    b.stack.add_override("terraform.required_providers.digitalocean.version", provider.terraform_version)
    key = SshKey(b.stack, "ops", name=f"{b.sp.name}-ops", public_key=b.ssh_var.string_value)
    droplets = []
    for host in b.sp.hosts:
        rid = _rid(host)
        d = Droplet(b.stack, rid, name=host.name, size=host.size.slug, image=provider.image, region=host.region,
                    ssh_keys=[key.fingerprint], tags=[f"{k}:{v}" for k, v in sorted(labels(host).items())],
                    user_data=cloud_init(p), monitoring=True, ipv6=True)
        droplets.append(d)
        if host.volume_gb:
            v = Volume(b.stack, f"{rid}_data", name=f"{host.name}-data", region=host.region, size=host.volume_gb,
                       initial_filesystem_type="ext4", description=f"data volume of {host.name}")
            VolumeAttachment(b.stack, f"{rid}_data_attach", droplet_id=d.id_as_number if hasattr(d, "id_as_number") else tf_number(d.id), volume_id=v.id)
        b.output(f"{rid}_ipv4", d.ipv4_address, f"public IPv4 of {host.name}")
    inbound = [FirewallInboundRule(protocol="tcp", port_range="22", source_addresses=_ssh_ingress(p))]
    inbound += [FirewallInboundRule(protocol="tcp", port_range=port, source_addresses=["0.0.0.0/0", "::/0"]) for port in PUBLIC_PORTS]
    outbound = [FirewallOutboundRule(protocol=proto, port_range="1-65535", destination_addresses=["0.0.0.0/0", "::/0"]) for proto in ("tcp", "udp")]
    Firewall(b.stack, "fw", name=f"{b.sp.name}-fw", droplet_ids=[tf_number(d.id) for d in droplets],
             inbound_rule=inbound, outbound_rule=outbound)


def tf_number(value: str) -> Any:
    return _cdktf().Token.as_number(value)


def build_vultr(b: StackBuilder) -> None:
    p = b.plan
    provider = p.catalog.spec["vultr"]
    b.stack.add_override("terraform.required_providers.vultr", {"source": provider.terraform_source, "version": provider.terraform_version})
    b.stack.add_override("provider.vultr", [{}])
    b.resource("vultr_ssh_key", "ops", {"name": f"{b.sp.name}-ops", "ssh_key": "${var.ops_ssh_public_key}"})
    b.resource("vultr_firewall_group", "fw", {"description": f"{b.sp.name} firewall (managed by clawtex)"})
    rule = 0
    for cidr in _ssh_ingress(p):
        net, size = cidr.split("/")
        b.resource("vultr_firewall_rule", f"ssh_{rule}", {"firewall_group_id": "${vultr_firewall_group.fw.id}", "protocol": "tcp",
                                                          "ip_type": "v6" if ":" in net else "v4", "subnet": net, "subnet_size": int(size), "port": "22", "notes": "ssh from ops"})
        rule += 1
    for port in PUBLIC_PORTS:
        for ip_type, net in (("v4", "0.0.0.0"), ("v6", "::")):
            b.resource("vultr_firewall_rule", f"public_{port}_{ip_type}", {"firewall_group_id": "${vultr_firewall_group.fw.id}", "protocol": "tcp",
                                                                          "ip_type": ip_type, "subnet": net, "subnet_size": 0, "port": port, "notes": f"public {port}"})
    for host in b.sp.hosts:
        rid = _rid(host)
        b.resource("vultr_instance", rid, {
            "plan": host.size.slug, "region": host.region, "os_id": int(provider.image), "label": host.name, "hostname": host.name,
            "ssh_key_ids": ["${vultr_ssh_key.ops.id}"], "firewall_group_id": "${vultr_firewall_group.fw.id}",
            "tags": [f"{k}:{v}" for k, v in sorted(labels(host).items())], "user_data": cloud_init(p), "enable_ipv6": True,
        })
        if host.volume_gb:
            b.resource("vultr_block_storage", f"{rid}_data", {"region": host.region, "size_gb": host.volume_gb, "label": f"{host.name}-data",
                                                              "attached_to_instance": f"${{vultr_instance.{rid}.id}}", "live": True})
        b.output(f"{rid}_ipv4", f"${{vultr_instance.{rid}.main_ip}}", f"public IPv4 of {host.name}")


BUILDERS = {"hetzner": build_hetzner, "digitalocean": build_digitalocean, "vultr": build_vultr}


def _rid(host: HostPlan) -> str:
    """Terraform resource name for a host: stable, independent of the stack name."""
    suffix = host.name[len(host.stack) + 1:] if host.name.startswith(host.stack + "-") else "host"
    return suffix.replace("-", "_") or "host"


def stack_comment(sp: StackPlan, plan: FleetPlan) -> str:
    names = [plan.customer(cid).display_name for cid in sp.customers]
    return terraform_literal(f"clawtex stack {sp.name} for " + ", ".join(names))


def synthesize(plan: FleetPlan) -> dict[str, bytes]:
    tf = _cdktf()
    with tempfile.TemporaryDirectory(prefix="clawtex-cdktf-") as outdir:
        app = tf.App(outdir=outdir, skip_validation=True, skip_backend_validation=True)
        for sp in plan.stacks:
            stack = tf.TerraformStack(app, sp.name)
            state = plan.settings.spec.terraform_state
            tf.S3Backend(stack, bucket=state.bucket, key=sp.state_key, region=state.region, endpoint=state.endpoint,
                         skip_credentials_validation=True, skip_region_validation=True, skip_requesting_account_id=True,
                         skip_metadata_api_check=True, skip_s3_checksum=True, use_path_style=True)
            stack.add_override("terraform.backend.s3.use_lockfile", True)
            stack.add_override("terraform.required_version", ">= 1.10.0")
            builder = StackBuilder(stack, plan, sp)
            BUILDERS[sp.provider](builder)
            stack.add_override("//.clawtex", {"stack": sp.name, "kind": sp.kind, "customers": list(sp.customers),
                                              "description": stack_comment(sp, plan)})
        app.synth()
        return {f"terraform/{sp.name}/cdk.tf.json": _normalize(Path(outdir, "stacks", sp.name, "cdk.tf.json"))
                for sp in plan.stacks}


def _normalize(path: Path) -> bytes:
    return dump_json(json.loads(path.read_text(encoding="utf-8")))


def render(plan: FleetPlan) -> dict[str, bytes]:
    return synthesize(plan)
