"""`clawtex handoff <id>`: the customer's handoff document (Markdown or HTML),
rendered from the same plan as every target: hosts, regions, channels,
backups, SLA and support from the tier, OpenClaw and Node versions from
plan.runtime. IP addresses are known only after `terraform apply`, so the
document names the Terraform output that holds each one."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..plan import CustomerPlan, FleetPlan, HostPlan
# The output name must match what the Terraform target writes; reuse its naming
# function instead of repeating the rule.
from ..targets.terraform import host_output as terraform_host_output
from ..write import GENERATED

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class HostRow:
    name: str
    role: str
    provider: str
    region: str
    size: str
    shared: bool
    ip_output: str             # terraform output name
    ip_command: str            # how to read it after apply


def host_rows(plan: FleetPlan, c: CustomerPlan) -> list[HostRow]:
    hosts = [h for h in plan.hosts if h.customer == c.id or c.id in h.tenants]
    return [_row(h) for h in sorted(hosts, key=lambda h: h.name)]


def _row(h: HostPlan) -> HostRow:
    output = terraform_host_output(h)
    return HostRow(h.name, h.role, h.provider, h.region, f"{h.size.slug} ({h.size.vcpu:g} vCPU, {h.size.ram_gb:g} GB RAM)",
                   bool(h.tenants), output,
                   f"terraform -chdir={GENERATED}/terraform/{h.stack} output -raw {output}")


def monitoring_links(plan: FleetPlan, c: CustomerPlan) -> list[tuple[str, str]]:
    base = plan.settings.spec.ops.monitoring_url
    links = []
    if base and c.tier.spec.monitoring.customer_dashboards:
        links.append(("Dashboard", f"{base}/d/clawtex-customer?var-customer={c.id}"))
    if c.custom_domain:
        links.append(("Health check", f"https://{c.custom_domain}{plan.runtime.health_path}"))
    return links


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True,
                      autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False))
    env.filters["md"] = _markdown_text
    return env


def _markdown_text(value: object) -> str:
    """Customer text inside Markdown: no table breaks, no markup, no raw HTML."""
    text = str(value)
    for ch in "\\`*_{}[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text


def render_handoff(plan: FleetPlan, customer_id: str, html: bool = False) -> str:
    ids = {c.id for c in plan.customers}
    if customer_id not in ids:
        raise KeyError(f"no live customer '{customer_id}' (known: {', '.join(sorted(ids))})")
    c = plan.customer(customer_id)
    template = _environment().get_template("handoff.html.j2" if html else "handoff.md.j2")
    return template.render(c=c, tier=c.tier.spec, tier_name=c.tier.metadata.display_name or c.tier_name,
                           hosts=host_rows(plan, c), runtime=plan.runtime, links=monitoring_links(plan, c))
