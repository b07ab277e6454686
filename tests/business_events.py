"""Stripe event payloads with the shapes Stripe documents for webhook deliveries.

Sources: Stripe API reference, "The Event object" (id, object, api_version,
created, data.object, livemode, pending_webhooks, request, type), "The Checkout
Session object" (line_items is *not* included unless expanded, and webhook
payloads are never expanded) and "The Subscription object" (items.data[].price
is a full Price object with metadata). Only fields Stripe sends appear here.
"""
from __future__ import annotations

CREATED = 1764028800  # 2025-11-25 00:00 UTC
API_VERSION = "2025-10-29.clover"

PRICES = {"bronze": ("price_ClawtexBronzeMonthly", 7500), "silver": ("price_ClawtexSilverMonthly", 24900),
          "gold": ("price_ClawtexGoldMonthly", 99900), "platinum": ("price_ClawtexPlatinumMonthly", 300000)}


def _envelope(event_id: str, etype: str, created: int, obj: dict) -> dict:
    return {"id": event_id, "object": "event", "api_version": API_VERSION, "created": created,
            "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": etype}


def checkout_event(event_id: str = "evt_Checkout0001", customer: str = "cus_NewCustomer01",
                   tier: str | None = "silver", amount: int | None = None, session: str = "cs_test_a1",
                   created: int = CREATED, **metadata: str) -> dict:
    """checkout.session.completed as delivered: no line_items; our Payment Link metadata names the tier."""
    meta = {"clawtex_id": "lumen-studio", "display_name": "Lumen Studio", "channels": "telegram,discord",
            "region": "fsn1"}
    if tier:
        meta["tier"] = tier
    meta.update(metadata)
    total = amount if amount is not None else PRICES[tier or "silver"][1]
    return _envelope(event_id, "checkout.session.completed", created, {
        "id": session, "object": "checkout.session", "amount_subtotal": total, "amount_total": total,
        "client_reference_id": None, "currency": "usd", "customer": customer, "customer_creation": "always",
        "customer_details": {"address": {"city": None, "country": "DE", "line1": None, "line2": None,
                                         "postal_code": None, "state": None},
                             "email": "ops@lumen.example", "name": "Lumen Studio", "phone": None,
                             "tax_exempt": "none", "tax_ids": []},
        "customer_email": None, "expires_at": created + 86400, "invoice": "in_1Lumen", "livemode": False,
        "metadata": meta, "mode": "subscription", "payment_intent": None, "payment_link": "plink_1Clawtex",
        "payment_status": "paid", "status": "complete", "subscription": "sub_NewCustomer01",
        "success_url": "https://clawtex.example/welcome",
    })


def subscription_event(kind: str, event_id: str, customer: str = "cus_NewCustomer01",
                       price: str = "price_ClawtexSilverMonthly", amount: int = 24900, tier: str | None = None,
                       created: int = CREATED + 86400) -> dict:
    return _envelope(event_id, f"customer.subscription.{kind}", created, {
        "id": "sub_NewCustomer01", "object": "subscription", "cancel_at_period_end": False, "created": CREATED,
        "currency": "usd", "customer": customer, "status": "canceled" if kind == "deleted" else "active",
        "items": {"object": "list", "has_more": False, "url": "/v1/subscription_items?subscription=sub_NewCustomer01",
                  "data": [{"id": "si_NewCustomer01", "object": "subscription_item", "quantity": 1,
                            "price": {"id": price, "object": "price", "active": True, "currency": "usd",
                                      "unit_amount": amount, "product": "prod_Clawtex", "type": "recurring",
                                      "recurring": {"interval": "month", "interval_count": 1},
                                      "metadata": {"tier": tier} if tier else {}}}]},
        "livemode": False, "metadata": {}, "start_date": CREATED,
    })
