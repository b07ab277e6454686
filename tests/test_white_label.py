"""White-label (Platinum `whiteLabel: true`, issue 20): nothing the customer or
its users see names Clawtex. Checked by rendering every customer-facing output
of the white-label example (orbital-health) and searching it for "clawtex",
case-insensitively; a customer without white-label is the control (it still
says Clawtex, so the search can find it). The assistant's identity in the
gateway config comes from the customer file (branding.assistantName)."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from conftest import REPO

WHITE = "orbital-health"
CONTROL = "acme-logistics"


def customer_yaml(cid: str) -> dict:
    return yaml.safe_load((REPO / "customers" / f"{cid}.yaml").read_text())


class NoMetrics:
    """A Prometheus with one healthy probe sample and nothing else: the report
    renders its frame and words (a report with no series at all is refused)."""

    def scalar(self, query, at):
        return 1.0 if "probe_success" in query else None

    def instant(self, query, at):
        return []

    def range(self, query, period, step):
        return [({}, [(period.start.timestamp(), 1.0)])] if "probe_success" in query else []


def customer_facing(cid: str) -> dict[str, str]:
    from compiler.business.customer_report import build_customer_report, render_html
    from compiler.business.handoff import render_handoff
    from compiler.business.metrics import parse_period
    from compiler.business.welcome import build_message
    from compiler.pipeline import plan_repo
    plan = plan_repo(REPO)
    msg = build_message(plan, cid)
    out = {"openclaw.json": (REPO / "generated" / "openclaw" / cid / "openclaw.json").read_text(),
           "handoff.md": render_handoff(plan, cid), "handoff.html": render_handoff(plan, cid, html=True),
           "welcome headers": f"{msg['From']}\n{msg['Subject']}\n{msg['Reply-To'] or ''}"}
    for part in msg.walk():
        if not part.is_multipart():
            out[f"welcome {part.get_content_type()} {part.get_filename() or ''}"] = part.get_content()
    report = build_customer_report(plan, cid, parse_period("2026-10"), NoMetrics(), figures=False)
    out["customer report"] = render_html(report)
    return out


def test_white_label_outputs_never_name_clawtex():
    assert customer_yaml(WHITE)["spec"]["whiteLabel"] is True
    found = {name: sorted(set(re.findall(r".{0,40}clawtex.{0,40}", text, re.I)))
             for name, text in customer_facing(WHITE).items()}
    assert not {k: v for k, v in found.items() if v}, found


def test_control_customer_still_names_clawtex():
    outputs = customer_facing(CONTROL)
    assert any(re.search("clawtex", text, re.I) for text in outputs.values())


def test_assistant_identity_is_the_customers_brand():
    config = json.loads((REPO / "generated" / "openclaw" / WHITE / "openclaw.json").read_text())
    branding = customer_yaml(WHITE)["spec"]["branding"]
    assert config["agents"]["entries"]["main"]["identity"]["name"] == branding["assistantName"]
    assert config["ui"]["seamColor"] == branding["accentColor"]
    control = json.loads((REPO / "generated" / "openclaw" / CONTROL / "openclaw.json").read_text())
    assert "entries" not in control["agents"] and "ui" not in control


def test_public_endpoints_use_the_customers_domain():
    domain = customer_yaml(WHITE)["spec"]["customDomain"]
    config = json.loads((REPO / "generated" / "openclaw" / WHITE / "openclaw.json").read_text())
    assert config["gateway"]["controlUi"]["allowedOrigins"] == [f"https://{domain}"]
    outputs = customer_facing(WHITE)
    urls = set(re.findall(r"https?://[^\s<>\"')]+", outputs["handoff.md"] + outputs["welcome text/plain "]))
    public = {u for u in urls if "example" in u}
    assert any(domain in u for u in public), public


def test_branding_needs_white_label(repo):
    from conftest import run_clawtex
    from gitops_helpers import edit
    edit(repo / "customers" / "acme-logistics.yaml", "  tier: gold\n",
         "  tier: gold\n  branding: {assistantName: Acme Helper}\n")
    result = run_clawtex(repo, "validate", str(repo / "customers" / "acme-logistics.yaml"))
    assert result.returncode == 1 and "spec.branding" in result.stderr, result.stderr


def _outputs_from_generated(cid: str) -> dict:
    """`terraform output -json` as apply would save it, with the values Terraform knows
    before apply (plain strings in the stack); interpolated ones get a stand-in IP."""
    doc = json.loads((REPO / "generated" / "terraform" / cid / "cdk.tf.json").read_text())
    return {cid: {name: {"value": o["value"] if "${" not in str(o["value"]) else "203.0.113.10", "type": "string",
                         "sensitive": False} for name, o in doc.get("output", {}).items()}}


def test_white_label_dns_instructions_name_no_operator_domain():
    """Issue 27: the Platinum handoff and welcome email told the white-label customer to
    CNAME their domain to a clawtex name. Rendered with the stack's real CNAME output."""
    from compiler.business.handoff import render_handoff
    from compiler.business.welcome import build_message
    from compiler.pipeline import plan_repo
    plan = plan_repo(REPO)
    outputs = _outputs_from_generated(WHITE)
    # Platinum delegates the name to DigitalOcean's DNS (issue 25): NS records, no CNAME to a name of ours.
    assert "customer_dns_name" not in outputs[WHITE]
    target = "ns1.digitalocean.com"
    docs = {"handoff.md": render_handoff(plan, WHITE, outputs=outputs),
            "handoff.html": render_handoff(plan, WHITE, html=True, outputs=outputs)}
    for part in build_message(plan, WHITE, outputs).walk():
        if not part.is_multipart():
            docs[f"welcome {part.get_content_type()}"] = part.get_content()
    for name, text in docs.items():
        assert target in text, name                                  # the delegation is shown ...
        assert not re.search("clawtex", text, re.I), (name, re.findall(r".{0,40}clawtex.{0,40}", text, re.I))
    control = _outputs_from_generated(CONTROL)
    if "customer_dns_name" in control[CONTROL]:                      # ... and a branded customer keeps ours
        assert "clawtex" in control[CONTROL]["customer_dns_name"]["value"]


def test_a_white_label_customer_on_a_provider_without_a_neutral_zone_is_refused(tmp_path):
    from conftest import copy_repo, run_clawtex
    root = copy_repo(tmp_path / "repo")
    text = (root / "tiers" / "providers.yaml").read_text()
    (root / "tiers" / "providers.yaml").write_text(re.sub(r"(?m)^\s*whiteLabelDnsZone:.*\n", "", text))
    result = run_clawtex(root, "validate", "--no-cache")
    assert result.returncode == 1 and "has no whiteLabelDnsZone" in result.stderr and "spec.whiteLabel" in result.stderr
