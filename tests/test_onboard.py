"""Onboarding from Stripe events: idempotent, validated, comments preserved."""
from __future__ import annotations

import json
import shutil

import pytest

from business_events import checkout_event, subscription_event
from compiler.business.onboard import SCHEMA_LINE, OnboardError, onboard
from conftest import REPO, run_clawtex


@pytest.fixture
def brepo(repo):
    shutil.copytree(REPO / "billing", repo / "billing")
    return repo


def test_checkout_creates_a_valid_customer_file_with_env_references(brepo, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps(checkout_event()))
    result = run_clawtex(brepo, "onboard", "--event", str(event))
    assert result.returncode == 0, result.stderr
    text = (brepo / "customers" / "lumen-studio.yaml").read_text()
    assert text.startswith(SCHEMA_LINE + "\n")
    assert "botToken: {source: env, id: LUMEN_STUDIO_TELEGRAM_BOT_TOKEN}" in text
    assert "token: {source: env, id: LUMEN_STUDIO_DISCORD_TOKEN}" in text
    assert "lastStripeEvent: evt_Checkout0001" in text and "tier: silver" in text
    check = run_clawtex(brepo, "validate")
    assert check.returncode == 0, check.stderr


def test_same_event_twice_changes_nothing(brepo):
    assert onboard(brepo, checkout_event()).action == "created"
    path = brepo / "customers" / "lumen-studio.yaml"
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    assert onboard(brepo, checkout_event()).action == "unchanged"
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime


def test_update_keeps_comments_and_order(brepo):
    path = brepo / "customers" / "pixel-bakery.yaml"
    path.write_text(path.read_text().replace("  skills:", "  # chosen at the kickoff call\n  skills:"))
    event = subscription_event("updated", "evt_Update0001", customer="cus_PixelBakery01",
                               price="price_ClawtexBronzeMonthly", amount=7500)
    assert onboard(brepo, event).action == "updated"
    text = path.read_text()
    assert "  # chosen at the kickoff call\n  skills:" in text
    assert 'onboardedOn: "2026-03-02"' in text          # quotes kept as written
    assert "monthlyPrice: 75" in text and "lastStripeEvent: evt_Update0001" in text
    assert text.index("tier:") < text.index("billing:") < text.index("channels:")


def test_tier_comes_from_price_metadata_before_the_map(brepo):
    event = subscription_event("updated", "evt_Update0002", customer="cus_PixelBakery01",
                               price="price_Unmapped01", amount=9900, tier="bronze")
    assert onboard(brepo, event).action == "updated"
    unknown = subscription_event("updated", "evt_Update0003", customer="cus_PixelBakery01",
                                 price="price_Unmapped01", amount=9900)
    with pytest.raises(OnboardError, match="no metadata.tier"):
        onboard(brepo, unknown)


def test_invalid_result_is_refused_and_nothing_is_written(brepo, tmp_path):
    # Bronze allows one channel: the file would not validate, so it is not written.
    event = tmp_path / "event.json"
    event.write_text(json.dumps(checkout_event(price="price_ClawtexBronzeMonthly", amount=7500)))
    result = run_clawtex(brepo, "onboard", "--event", str(event))
    assert result.returncode == 1
    assert "customers/lumen-studio.yaml" in result.stderr and "channel" in result.stderr
    assert not (brepo / "customers" / "lumen-studio.yaml").exists()


def test_platinum_checkout_gets_regions_and_ha_mode(brepo):
    event = checkout_event(event_id="evt_Checkout0002", customer="cus_BigCorp00001", price="price_ClawtexPlatinumMonthly",
                           amount=300000, clawtex_id="bigcorp", display_name="BigCorp", regions="fra1,ams3",
                           channels="slack")
    assert onboard(brepo, event).action == "created"
    text = (brepo / "customers" / "bigcorp.yaml").read_text()
    assert "provider: digitalocean" in text and "haMode: active-active" in text
    assert "appToken: {source: env, id: BIGCORP_SLACK_APP_TOKEN}" in text
    assert "keyRef: {source: file, provider: ops, id: pagerduty/bigcorp.key}" in text
