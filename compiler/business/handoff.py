"""`clawtex handoff <id> [--outputs DIR]`: the document a customer acts on.

Rendered from the plan (hosts, regions, channels, backups, SLA) and from the
apply job's real Terraform outputs: `terraform output -json` per stack, saved
by apply.yml as the `terraform-outputs` artifact (`<stack>.json` each). IP
addresses and the CNAME target come from there; without outputs the document
says it is a preview and shows addresses as pending (it never tells the
customer to run our internal tooling). Support channel, hours and contacts come
from tier data through supportterms. HTML (styled for print) and Markdown are
rendered from the same context, so they say the same things.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..escape import markdown_text
from ..plan import (customer_dashboard_uid, ROLE_K8S, ROLE_OPENCLAW, ROLE_SHARED_BRONZE, ROLE_WAZUH, CustomerPlan,
                    FleetPlan, HostPlan)
# The output name must match what the Terraform target writes; reuse its naming
# function instead of repeating the rule.
from ..targets.terraform import host_output as terraform_host_output
from ..providers import plugin
from .supportterms import brand, support_terms

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CNAME_OUTPUT = "customer_dns_name"          # compiler/targets/terraform.py _dns_record
PENDING = "pending (assigned at apply)"

# The customer's part of linking a WhatsApp/Signal account that the customer file says is not linked
# yet (`channels[].linked: false`; models.LINKED_CHANNELS is the operator's part). Until it is done the
# gateway runs with that channel loaded but not connected (docs/live-checks.md "WhatsApp awaits its
# link"), so no document may call the channel connected or ask the customer to message it.
LINK_STEPS = {
    "whatsapp": "Link WhatsApp: we book a short call with you, start the link on your assistant's server and "
                "show you a QR code; scan it with WhatsApp on the phone whose number the assistant should use "
                "(Settings, Linked devices, Link a device). Until then the assistant does not answer on WhatsApp.",
    "signal": "Link Signal ({account}): we book a short call with you to link that number to your assistant's "
              "server; you scan a QR code with Signal on that phone (Settings, Linked devices). Until then the "
              "assistant does not answer on Signal.",
}


def link_steps(c: CustomerPlan) -> list[tuple[str, str]]:
    """(channel type, what the customer does) for every channel still waiting for its account link."""
    return [(ch.type, LINK_STEPS[ch.type].format(account=ch.account or "your number"))
            for ch in c.channels if ch.linked is False]


@dataclass(frozen=True)
class HostRow:
    name: str
    role: str
    provider: str
    region: str
    size: str
    shared: bool
    ipv4: str


@dataclass(frozen=True)
class DnsRecord:
    name: str
    type: str
    value: str
    purpose: str


def output_entry(value: object, sensitive: bool = False, type_: object = "string") -> dict:
    """One entry of `terraform output -json` ({name: {"sensitive", "type", "value"}}; Terraform docs,
    "Command: output", -json: "the output values ... as a JSON object ... sensitive, type, value").
    The one definition of the format for whatever writes outputs outside Terraform (tests/journey_rig.py's
    fake cloud); load_outputs below is its reader."""
    return {"sensitive": sensitive, "type": type_, "value": value}


def load_outputs(directory: Path | None) -> dict[str, dict]:
    """stack -> `terraform output -json` of that stack ({name: {value, type, sensitive}})."""
    if directory is None:
        return {}
    out = {}
    for path in sorted(Path(directory).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or any(not isinstance(v, dict) or "value" not in v for v in data.values()):
            raise ValueError(f"{path}: not the output of `terraform output -json`")
        out[path.stem] = data
    return out


def _value(outputs: dict[str, dict], stack: str, name: str) -> str | None:
    entry = outputs.get(stack, {}).get(name)
    if entry is None or entry.get("sensitive"):
        return None
    return str(entry["value"])


def host_rows(plan: FleetPlan, c: CustomerPlan, outputs: dict[str, dict]) -> list[HostRow]:
    hosts = [h for h in plan.hosts if h.customer == c.id or c.id in h.tenants]
    return [_row(h, outputs, c) for h in sorted(hosts, key=lambda h: h.name)]


def _row(h: HostPlan, outputs: dict[str, dict], c: CustomerPlan) -> HostRow:
    ip = _value(outputs, h.stack, terraform_host_output(h)) or PENDING
    if h.role == ROLE_K8S and ip != PENDING:
        # Clients reach the region's cluster through its load balancer: say whose address it is
        # (issue 27 screenshot review).
        ip = f"{ip} (region load balancer)"
    if h.tenants:       # a shared host: the customer's own share (tier resources), never the whole machine
        r = c.tier.spec.resources
        size = f"your share: {r.vcpu:g} vCPU{' (shared)' if r.vcpu_shared else ''}, {r.ram_gb:g} GB RAM, {r.disk_gb} GB disk"
    else:
        disk = f"{h.size.disk_gb} GB system disk" + (f" + {h.volume_gb} GB data volume" if h.volume_gb else "")
        size = f"{h.size.slug} ({h.size.vcpu:g} vCPU, {h.size.ram_gb:g} GB RAM, {disk})"
        if h.role == ROLE_K8S:
            # A cluster: its node floor (more with load, the autoscaler's own names), each of this size.
            size = f"{h.nodes} × {size}"
    return HostRow(h.name, ROLE_WORDS.get(h.role, h.role), h.provider, h.region, size, bool(h.tenants), ip)


# Host roles in words a customer reads (plan roles are ops names).
ROLE_WORDS = {ROLE_OPENCLAW: "assistant server", ROLE_SHARED_BRONZE: "assistant (shared server)",
              ROLE_K8S: "Kubernetes cluster", ROLE_WAZUH: "security monitoring (Wazuh)"}

# Direct-message policies (OpenClaw channels dmPolicy) in plain words.
DM_WORDS = {
    "pairing": "someone new who messages the assistant directly gets a pairing code; send that code to support and "
               "we let them in",
    "allowlist": "only the people on your list can message the assistant directly",
    "open": "anyone can message the assistant directly",
    "disabled": "direct messages are turned off; the assistant answers in groups and channels only",
}


def capacity_lines(c: CustomerPlan) -> list[str]:
    """What the customer's plan promises in resources, from tier data (tiers/*.yaml)."""
    t = c.tier.spec
    r = t.resources
    out = []
    if t.hosting.model == "shared":
        out.append(f"Your share of a shared server: {r.vcpu:g} vCPU{' (shared)' if r.vcpu_shared else ''}, "
                   f"{r.ram_gb:g} GB RAM, {r.disk_gb} GB disk for your data")
    else:
        out.append(f"Per assistant server: {r.vcpu:g} {'shared' if r.vcpu_shared else 'dedicated'} vCPU, "
                   f"{r.ram_gb:g} GB RAM, {r.disk_gb} GB data disk")
    scale = t.hosting.autoscaling
    if scale is not None:
        out.append(f"Kubernetes nodes in each region scale automatically between {scale.min_nodes} and "
                   f"{scale.max_nodes} with load; at least {scale.min_nodes} are always running")
    return out


def dns_records(plan: FleetPlan, c: CustomerPlan, outputs: dict[str, dict]) -> list[DnsRecord]:
    """Records the customer creates in their own DNS zone."""
    if not c.custom_domain:
        return []
    if c.kubernetes:
        # Platinum: the name is delegated to the provider's DNS (validate: customDomainDelegated),
        # which serves the global load balancer's records and its certificate (the provider plug-in).
        return [DnsRecord(c.custom_domain, "NS", ns + ".", "delegates your domain to the DNS that serves your "
                          "assistant and its TLS certificate") for ns in plugin(c.provider).name_servers]
    stacks = sorted({h.stack for h in plan.hosts if h.customer == c.id})
    # The name is known before any apply (the customer adds the CNAME before it: validate's manual
    # step, customDomainCnameAdded), so the document shows it even while addresses are pending.
    target = next((v for s in stacks if (v := _value(outputs, s, CNAME_OUTPUT))), None) \
        or plan.catalog.spec[c.provider].entry_name(c.id, c.white_label)
    return [DnsRecord(c.custom_domain, "CNAME", (target + ".") if target else PENDING,
                      "points your domain at your assistant; TLS certificates follow automatically once it resolves")]


def monitoring_links(plan: FleetPlan, c: CustomerPlan) -> list[tuple[str, str]]:
    base = brand(plan.settings.spec, c.white_label).monitoring_url
    links = []
    if base and c.active and c.tier.spec.monitoring.customer_dashboards:     # targets/grafana.dashboard_customers
        links.append(("Dashboard", f"{base}/d/{customer_dashboard_uid(c.id)}"))
    if c.custom_domain:
        links.append(("Health check", f"https://{c.custom_domain}{plan.runtime.health_path}"))
    return links


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True,
                      autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False))
    env.filters["md"] = markdown_text
    return env


def context(plan: FleetPlan, customer_id: str, outputs: dict[str, dict] | None = None) -> dict:
    ids = {c.id for c in plan.customers}
    if customer_id not in ids:
        raise KeyError(f"no live customer '{customer_id}' (known: {', '.join(sorted(ids))})")
    outputs = outputs or {}
    c = plan.customer(customer_id)
    hosts = host_rows(plan, c, outputs)
    dns = dns_records(plan, c, outputs)
    return dict(c=c, tier=c.tier.spec, tier_name=c.tier.metadata.display_name or c.tier_name, hosts=hosts,
                runtime=plan.runtime, links=monitoring_links(plan, c), dns=dns,
                support=support_terms(c.tier, plan.settings.spec.support, c.id, c.white_label),
                brand=brand(plan.settings.spec, c.white_label), capacity=capacity_lines(c),
                dm_words=DM_WORDS, to_link=link_steps(c),
                preview=any(h.ipv4 == PENDING for h in hosts),
                # Every host and DNS name whose value the apply has not given yet (welcome --send refuses).
                pending=[h.name for h in hosts if h.ipv4 == PENDING] + [r.name for r in dns if r.value == PENDING])


def render_handoff(plan: FleetPlan, customer_id: str, html: bool = False, outputs: dict[str, dict] | None = None) -> str:
    template = _environment().get_template("handoff.html.j2" if html else "handoff.md.j2")
    return template.render(**context(plan, customer_id, outputs))
