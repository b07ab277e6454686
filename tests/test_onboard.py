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


def test_metadata_tier_wins_over_a_price_that_is_in_the_map(brepo):
    # billing/stripe-prices.yaml maps price_ClawtexSilverMonthly to silver; the price's own
    # metadata.tier says bronze, and the metadata is read first.
    assert "price_ClawtexSilverMonthly: silver" in (brepo / "billing" / "stripe-prices.yaml").read_text()
    event = subscription_event("updated", "evt_Update0004", customer="cus_PixelBakery01",
                               price="price_ClawtexSilverMonthly", amount=7500, tier="bronze")
    assert onboard(brepo, event).action == "updated"
    text = (brepo / "customers" / "pixel-bakery.yaml").read_text()
    assert "  tier: bronze\n" in text and "lastStripeEvent: evt_Update0004" in text
    # Without metadata the map decides: the same price then means silver.
    mapped = subscription_event("updated", "evt_Update0005", customer="cus_PixelBakery01",
                                price="price_ClawtexSilverMonthly", amount=19900)
    from compiler.business.onboard import read_facts, tier_for
    from compiler.validate import load_repo_config
    _, _, tiers = load_repo_config(brepo, [])
    assert tier_for(read_facts(mapped), brepo, tiers) == "silver"
    assert tier_for(read_facts(event), brepo, tiers) == "bronze"


def test_invalid_result_is_refused_and_nothing_is_written(brepo, tmp_path):
    # Bronze allows one channel: the file would not validate, so it is not written.
    event = tmp_path / "event.json"
    event.write_text(json.dumps(checkout_event(tier="bronze")))
    result = run_clawtex(brepo, "onboard", "--event", str(event))
    assert result.returncode == 1
    assert "customers/lumen-studio.yaml" in result.stderr and "channel" in result.stderr
    assert not (brepo / "customers" / "lumen-studio.yaml").exists()


def test_platinum_checkout_gets_regions_and_ha_mode(brepo):
    event = checkout_event(event_id="evt_Checkout0002", customer="cus_BigCorp00001", tier="platinum",
                           amount=300000, clawtex_id="bigcorp", display_name="BigCorp", regions="fra1,ams3",
                           channels="slack")
    assert onboard(brepo, event).action == "created"
    text = (brepo / "customers" / "bigcorp.yaml").read_text()
    assert "provider: digitalocean" in text and "haMode: active-active" in text
    assert "appToken: {source: env, id: BIGCORP_SLACK_APP_TOKEN}" in text
    assert "keyRef: {source: file, provider: ops, id: pagerduty/bigcorp.key}" in text


def test_each_tier_from_a_webhook_shaped_checkout(brepo):
    # Stripe's webhook Checkout Session has no line_items; the tier comes from our Payment Link metadata.
    assert "line_items" not in checkout_event()["data"]["object"]
    for n, (tier, channels) in enumerate([("bronze", "telegram"), ("silver", "telegram,discord"),
                                          ("gold", "slack"), ("platinum", "slack")]):
        cid = f"shop-{tier}"
        event = checkout_event(event_id=f"evt_Tier{n:08d}", customer=f"cus_Tier{n:08d}", tier=tier,
                               clawtex_id=cid, channels=channels, region="fra1" if tier == "platinum" else "fsn1",
                               **({"regions": "fra1,ams3"} if tier == "platinum" else {}))
        assert onboard(brepo, event).action == "created"
        assert f"tier: {tier}" in (brepo / "customers" / f"{cid}.yaml").read_text()


def test_checkout_without_tier_metadata_needs_the_line_items_lookup(brepo):
    with pytest.raises(OnboardError, match="no metadata.tier and no Stripe API key"):
        onboard(brepo, checkout_event(tier=None))
    assert not (brepo / "customers" / "lumen-studio.yaml").exists()


def test_line_items_are_fetched_with_the_stripe_library(brepo):
    """The real `stripe` client against a local server answering Stripe's documented list shape."""
    from http_stub import QuietHandler, serve

    seen = []

    class Api(QuietHandler):
        def do_GET(self):  # noqa: N802
            seen.append((self.path, self.headers.get("Authorization")))
            self.reply_json(200, {"object": "list", "has_more": False, "url": "/v1/checkout/sessions/cs_test_a1/line_items",
                                  "data": [{"id": "li_1", "object": "item", "quantity": 1, "amount_total": 24900,
                                            "currency": "usd", "description": "Clawtex Silver",
                                            "price": {"id": "price_ClawtexSilverMonthly", "object": "price",
                                                      "unit_amount": 24900, "currency": "usd", "metadata": {}}}]})

    with serve(Api) as base:
        from compiler.business.onboard import stripe_line_items
        lookup = stripe_line_items("sk_test_local", base=base)
        result = onboard(brepo, checkout_event(tier=None), line_items=lookup)
    assert result.action == "created"
    assert seen[0][0].startswith("/v1/checkout/sessions/cs_test_a1/line_items")
    assert seen[0][1] == "Bearer sk_test_local"
    text = (brepo / "customers" / "lumen-studio.yaml").read_text()
    assert "tier: silver" in text and "monthlyPrice: 249" in text


def test_subscription_event_before_its_checkout_waits(brepo):
    from compiler.business.onboard import WaitForCheckout
    early = subscription_event("updated", "evt_Early0001", customer="cus_NewCustomer01")
    with pytest.raises(WaitForCheckout):
        onboard(brepo, early)
    assert onboard(brepo, checkout_event()).action == "created"
    assert onboard(brepo, early).action == "updated"
