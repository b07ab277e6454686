"""Onboarding decisions by hand, in-process (issue 28: mutation testing of
compiler/business/onboard.py): what a Stripe event says (read_facts), the line-items lookup,
the tier, the customer id, the billing block and the decommission request. The whole
event -> file path, through the validator, is tests/test_onboard.py."""
from __future__ import annotations

from decimal import Decimal

import pytest
from ruamel.yaml.comments import CommentedMap

from compiler.business.onboard import (OnboardError, _usd, apply_billing, customer_id_for, read_facts, tier_for,
                                       with_line_items)


def checkout(**obj):
    return {"id": "evt_1", "type": "checkout.session.completed", "created": 1764684180,
            "data": {"object": {"id": "cs_1", "customer": "cus_A", "subscription": "sub_1", **obj}}}


def subscription(etype, **obj):
    return {"id": "evt_2", "type": etype, "created": 1764684180,
            "data": {"object": {"id": "sub_1", "customer": "cus_A", **obj}}}


def test_a_checkout_by_hand():
    f = read_facts(checkout(amount_total=29900, metadata={"tier": "silver", "price_id": "price_s",
                                                          "display_name": "Zürich Dental"},
                            customer_details={"name": "ignored", "email": "ops@zd.example"}))
    assert (f.session_id, f.event_id, f.event_type, f.created, f.stripe_customer, f.subscription) == \
        ("cs_1", "evt_1", "checkout.session.completed", 1764684180, "cus_A", "sub_1")
    assert (f.price_id, f.price_tier, f.monthly_price) == ("price_s", "silver", Decimal("299"))
    assert (f.name, f.email) == ("Zürich Dental", "ops@zd.example")
    bare = read_facts(checkout(customer_details={"name": "Corner Garage"}, subscription=None))
    assert (bare.price_id, bare.price_tier, bare.monthly_price, bare.name, bare.email, bare.subscription) == \
        (None, None, None, "Corner Garage", None, None)


def test_a_subscription_event_by_hand():
    f = read_facts(subscription("customer.subscription.updated",
                                items={"data": [{"price": {"id": "price_g", "unit_amount": 99995,
                                                           "metadata": {"tier": "gold"}}}]}))
    assert (f.session_id, f.subscription, f.price_id, f.price_tier, f.monthly_price) == \
        (None, "sub_1", "price_g", "gold", Decimal("999.95"))
    empty = read_facts(subscription("customer.subscription.deleted"))
    assert (empty.price_id, empty.price_tier, empty.monthly_price) == (None, None, None)


@pytest.mark.parametrize("event, message", [
    ({"type": "invoice.paid"}, "unsupported event type 'invoice.paid'"),
    (checkout(customer=None), "event has no Stripe customer id"),
    (checkout(customer="acct_1"), "event has no Stripe customer id"),
])
def test_events_that_cannot_onboard(event, message):
    with pytest.raises(OnboardError, match=message):
        read_facts(event)


def test_usd():
    assert (_usd(9995), _usd(0), _usd(None), _usd(True), _usd(99.5), _usd("100")) == \
        (Decimal("99.95"), Decimal("0"), None, None, None, None)


def test_line_items_fill_the_price_only_when_metadata_named_none():
    named = read_facts(checkout(metadata={"tier": "gold"}))
    assert with_line_items(named, None) is named
    by_id = read_facts(checkout(metadata={"price_id": "price_x"}))
    assert with_line_items(by_id, None) is by_id
    bare = read_facts(checkout(amount_total=5900))
    with pytest.raises(OnboardError, match="has no metadata.tier and no Stripe API key"):
        with_line_items(bare, None)
    got = with_line_items(bare, lambda sid: [{"price": {"id": f"price_for_{sid}", "unit_amount": 7500,
                                                        "metadata": {"tier": "bronze"}}}])
    assert (got.price_id, got.price_tier, got.monthly_price) == ("price_for_cs_1", "bronze", Decimal("75"))
    kept = with_line_items(bare, lambda sid: [{"price": {"id": "p"}}])      # no amount: the total stays
    assert (kept.price_tier, kept.monthly_price) == (None, Decimal("59"))
    for items in ([], [{"price": {"id": "a"}}, {"price": {"id": "b"}}], [{"price": "p"}]):
        with pytest.raises(OnboardError, match=f"has {len(items)} line items; expected one price"):
            with_line_items(bare, lambda sid, items=items: items)
    sub = read_facts(subscription("customer.subscription.updated"))
    assert with_line_items(sub, None) is sub


def test_tier_from_metadata_then_the_price_map(tmp_path):
    tiers = {"bronze": 1, "gold": 1}
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "stripe-prices.yaml").write_text("spec:\n  prices:\n    price_b: bronze\n    price_z: zinc\n")
    assert tier_for(read_facts(checkout(metadata={"tier": "gold", "price_id": "price_b"})), tmp_path, tiers) == "gold"
    assert tier_for(read_facts(checkout(metadata={"price_id": "price_b"})), tmp_path, tiers) == "bronze"
    with pytest.raises(OnboardError, match="price 'price_z' maps to unknown tier 'zinc'"):
        tier_for(read_facts(checkout(metadata={"price_id": "price_z"})), tmp_path, tiers)
    with pytest.raises(OnboardError, match="price 'price_q' has no metadata.tier and is not in"):
        tier_for(read_facts(checkout(metadata={"price_id": "price_q"})), tmp_path, tiers)


@pytest.mark.parametrize("name, taken, cid", [
    ("Zürich Zahnärzte GmbH", set(), "zurich-zahnarzte-gmbh"),
    ("Zürich Zahnärzte GmbH", {"zurich-zahnarzte-gmbh"}, "zurich-zahnarzte-gmbh-2"),
    ("Zürich Zahnärzte GmbH", {"zurich-zahnarzte-gmbh", "zurich-zahnarzte-gmbh-2"}, "zurich-zahnarzte-gmbh-3"),
    ("Αθήνα Yoga", set(), "athena-yoga"),
    ("a" * 45, set(), "a" * 40),
    ("a" * 45, {"a" * 40}, "a" * 38 + "-2"),
])
def test_customer_ids_by_hand(name, taken, cid):
    assert customer_id_for(name, taken) == cid


@pytest.mark.parametrize("name, message", [
    ("東京デンタル", "has letters"), ("123 Numbers", "gives no usable id"), ("Shared Hosting", "gives no usable id"),
    ("", "gives no usable id"),
])
def test_names_without_a_usable_id_are_refused(name, message):
    with pytest.raises(OnboardError, match=message):
        customer_id_for(name)


def _doc(status="active"):
    doc = CommentedMap()
    doc["spec"] = CommentedMap(tier="silver", status=status)
    return doc


def test_billing_block_and_the_decommission_request():
    doc = _doc()
    apply_billing(doc, read_facts(subscription("customer.subscription.updated", items={"data": [
        {"price": {"id": "p", "unit_amount": 24950}}]})), "gold")
    assert dict(doc["spec"]) == {"tier": "gold", "status": "active", "billing": {
        "monthlyPrice": 249.5, "stripeCustomerId": "cus_A", "stripeSubscriptionId": "sub_1", "lastStripeEvent": "evt_2"}}
    doc = _doc()
    apply_billing(doc, read_facts(checkout(subscription=None)), None)
    assert doc["spec"]["tier"] == "silver" and dict(doc["spec"]["billing"]) == {
        "stripeCustomerId": "cus_A", "lastStripeEvent": "evt_1"}
    doc = _doc()
    apply_billing(doc, read_facts(subscription("customer.subscription.deleted")), None)
    # a request, never an approval: no approvedBy, no date; 1764684180 is 2025-12-02 UTC
    assert doc["spec"]["status"] == "decommissioned"
    assert dict(doc["spec"]["decommission"]) == {"requestedBy": "stripe", "event": "evt_2", "requestedOn": "2025-12-02"}
    doc = _doc("suspended")
    apply_billing(doc, read_facts(subscription("customer.subscription.updated")), None)
    assert doc["spec"]["status"] == "active"
    doc = _doc("suspended")
    apply_billing(doc, read_facts(checkout()), None)
    assert doc["spec"]["status"] == "suspended"


def test_a_decommission_request_updates_the_block_already_there():
    # what a person wrote in spec.decommission stays; the request fields are (re)set
    doc = _doc()
    doc["spec"]["decommission"] = CommentedMap(note="customer asked for a data export first")
    apply_billing(doc, read_facts(subscription("customer.subscription.deleted")), None)
    assert dict(doc["spec"]["decommission"]) == {"note": "customer asked for a data export first",
                                                 "requestedBy": "stripe", "event": "evt_2", "requestedOn": "2025-12-02"}
