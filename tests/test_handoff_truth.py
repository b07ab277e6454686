"""Issue 27, item 5: the handoff and welcome email state the customer's own
resources and promises from tier data (read here from tiers/*.yaml with a plain
YAML parser, not through the code under test), and the welcome email is
consistent: sent when live, says so, and leaves no step that needs a link we
never send."""
from __future__ import annotations

import re

import pytest
import yaml

from conftest import REPO


def tier(name: str) -> dict:
    return yaml.safe_load((REPO / "tiers" / f"{name}.yaml").read_text())["spec"]


@pytest.fixture(scope="module")
def plan():
    from compiler.pipeline import plan_repo
    return plan_repo(REPO)


def test_bronze_is_shown_its_share_not_the_shared_host(plan):
    from compiler.business.handoff import render_handoff
    r = tier("bronze")["resources"]
    md = render_handoff(plan, "pixel-bakery")
    assert f"your share: {r['vcpu']:g} vCPU (shared), {r['ramGb']:g} GB RAM, {r['diskGb']} GB disk" in md
    host = plan.host(plan.customer("pixel-bakery").hosts[0])
    assert f"{host.size.ram_gb:g} GB RAM" not in md and host.size.slug not in md     # not the whole 16 GB host


def test_dedicated_hosts_show_their_disks(plan):
    from compiler.business.handoff import render_handoff
    gold = tier("gold")["resources"]
    md = render_handoff(plan, "acme-logistics")
    row = next(l for l in md.splitlines() if l.startswith("| acme-logistics-oc-1 "))
    assert f"+ {gold['diskGb']} GB data volume" in row and "GB system disk" in row
    assert f"{gold['diskGb']} GB data disk" in md


def test_platinum_states_its_autoscaling_range(plan):
    from compiler.business.handoff import render_handoff
    scale = tier("platinum")["hosting"]["autoscaling"]
    for html in (False, True):
        text = render_handoff(plan, "orbital-health", html=html)
        assert f"scale automatically between {scale['minNodes']} and {scale['maxNodes']}" in text


def test_support_hours_come_from_tier_coverage(plan):
    from compiler.business.handoff import render_handoff
    md = render_handoff(plan, "pixel-bakery")
    window = tier("bronze")["support"]["coverage"]["windows"][0]
    assert f"{window['start']}–{window['end']}" in md and "Mon–Fri" in md


@pytest.mark.parametrize("cid", ["pixel-bakery", "acme-logistics", "orbital-health"])
def test_welcome_says_live_consistently_and_asks_nothing_we_cannot_link(plan, cid):
    from compiler.business.welcome import build_message
    msg = build_message(plan, cid)
    assert "is live" in msg["Subject"]
    bodies = [p.get_content() for p in msg.walk() if p.get_content_type() in ("text/plain", "text/html")
              and not p.get_filename()]
    for body in bodies:
        assert "is live" in body
        assert "secure link" not in body and "send us" not in body.lower() and "DM policy" not in body
        for url in re.findall(r'href="([^"]+)"', body):          # every link is a real, absolute one
            assert url.startswith(("https://", "mailto:")), url
    c = plan.customer(cid)
    if any(ch.dm_policy == "pairing" for ch in c.channels):
        support = yaml.safe_load((REPO / "clawtex.yaml").read_text())["spec"]["support"]
        email = support["whiteLabel"]["email"] if c.white_label else support["email"]
        assert any(f"send that code to {email}" in b for b in bodies)
