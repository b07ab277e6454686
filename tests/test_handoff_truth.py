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


def unlinked_channels(cid: str) -> list[dict]:
    doc = yaml.safe_load((REPO / "customers" / f"{cid}.yaml").read_text())
    return [ch for ch in doc["spec"]["channels"] if ch.get("linked") is False]


# Every bundled customer that has a handoff (all but decommissioned ones), read without the code under test.
ALL_CUSTOMERS = sorted(p.stem for p in (REPO / "customers").glob("*.yaml")
                       if yaml.safe_load(p.read_text())["spec"].get("status", "active") != "decommissioned")


@pytest.mark.parametrize("cid", ALL_CUSTOMERS)
def test_a_channel_waiting_for_its_link_is_never_called_connected(plan, cid):
    """docs/live-checks.md "WhatsApp awaits its link": a `linked: false` channel runs loaded but not
    connected until ops and the customer link the account. Until 2026-12-04 the handoff listed it under
    "Channels connected", its first step was to message it, and the welcome email said the assistant
    was "connected to your channels"."""
    from compiler.business.handoff import render_handoff
    from compiler.business.welcome import build_message
    unlinked = unlinked_channels(cid)
    md = render_handoff(plan, cid)
    html = render_handoff(plan, cid, html=True)
    msg = build_message(plan, cid)
    text = next(p.get_content() for p in msg.walk() if p.get_content_type() == "text/plain" and not p.get_filename())
    steps = md.split("## Next steps", 1)[1]
    assert "Channels connected" not in md + html
    for ch in unlinked:
        line = next(l for l in md.splitlines() if l.startswith(f"- {ch['type']}: "))
        assert line.endswith("(not linked yet: see Next steps)"), line
        name = {"whatsapp": "WhatsApp", "signal": "Signal"}[ch["type"]]
        assert f"Link {name}" in steps and f"Link {name}" in html and f"Link {name}" in text
        if ch["type"] == "signal":
            assert ch["account"] in steps
        assert f"Send a {name} message to the number" not in text
    if unlinked:
        assert "connected to your channels" not in text
        assert "1. Link " in steps and "(once it is linked)" in steps
    else:
        assert "connected to your channels" in text and "not linked yet" not in md
        assert steps.lstrip().startswith("1. Send the assistant a first direct message on each channel above.")
