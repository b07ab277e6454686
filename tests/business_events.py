"""Stripe event payloads shaped like Stripe's API objects, for business tests."""
from __future__ import annotations

CREATED = 1764028800  # 2025-11-25 00:00 UTC


def checkout_event(event_id: str = "evt_Checkout0001", customer: str = "cus_NewCustomer01",
                   price: str = "price_ClawtexSilverMonthly", amount: int = 24900, **metadata: str) -> dict:
    meta = {"clawtex_id": "lumen-studio", "display_name": "Lumen Studio", "channels": "telegram,discord",
            "region": "fsn1"}
    meta.update(metadata)
    return {
        "id": event_id, "object": "event", "type": "checkout.session.completed", "created": CREATED,
        "data": {"object": {
            "id": "cs_test_a1", "object": "checkout.session", "customer": customer, "mode": "subscription",
            "subscription": "sub_NewCustomer01", "amount_total": amount,
            "customer_details": {"email": "ops@lumen.example", "name": "Lumen Studio"},
            "metadata": meta, "line_items": {"data": [{"price": {"id": price, "unit_amount": amount, "metadata": {}}}]},
        }},
    }


def subscription_event(kind: str, event_id: str, customer: str = "cus_NewCustomer01",
                       price: str = "price_ClawtexSilverMonthly", amount: int = 24900, tier: str | None = None) -> dict:
    return {
        "id": event_id, "object": "event", "type": f"customer.subscription.{kind}", "created": CREATED + 86400,
        "data": {"object": {
            "id": "sub_NewCustomer01", "object": "subscription", "customer": customer, "status": "active",
            "items": {"data": [{"price": {"id": price, "unit_amount": amount,
                                          "metadata": {"tier": tier} if tier else {}}}]},
            "metadata": {},
        }},
    }
