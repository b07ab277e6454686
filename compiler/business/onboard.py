"""Stripe event -> customer file (`clawtex onboard --event FILE`).

Checkout metadata names the customer, its channels and regions; the price
names the tier (its metadata `tier`, else billing/stripe-prices.yaml).

Where the price comes from, per event type (Stripe's documented payloads):
- `checkout.session.completed`: the Checkout Session object in a webhook has
  no `line_items` (Stripe: "line_items ... This field is not included by
  default. To include it in the response, expand the line_items field" -- and
  webhook payloads are never expanded). So the tier is read, in order, from
  the session's `metadata.tier` (we set it on each Payment Link / Checkout
  Session we create; Stripe copies Payment Link metadata onto the sessions it
  creates) and else from the session's line items fetched with the `stripe`
  library (`STRIPE_API_KEY`, `line_items` below). Neither: a clear error.
- `customer.subscription.*`: the Subscription object carries
  `items.data[].price` (a full Price with `id`, `unit_amount`, `metadata`).
The
file is edited with ruamel's round-trip mode so comments and key order
survive, validated exactly like `clawtex validate` before it replaces the old
one (atomically), and records the event id: the same event twice is a no-op.
Channel credentials are env references derived from the id, never values.
"""
from __future__ import annotations

import io
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from ruamel.yaml import YAML
from slugify import slugify
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..diagnostics import CompileError, Diagnostic
from ..load import load_document
from ..money import json_number
from ..models import CHANNEL_SECRETS, CHANNEL_SETTINGS, ID_PATTERN, LINKED_CHANNELS, RESERVED_IDS, ProviderCatalog, Tier
from ..validate import load_repo_config, validate_customer_file

SCHEMA_LINE = "# yaml-language-server: $schema=../generated/schemas/customer.schema.json"
PRICE_MAP = Path("billing") / "stripe-prices.yaml"
SUPPORTED_EVENTS = ("checkout.session.completed", "customer.subscription.created",
                    "customer.subscription.updated", "customer.subscription.deleted")
# Checkout metadata keys for channel settings that are not secrets.
SETTING_METADATA = {"account": "signal_account", "appId": "msteams_app_id", "tenantId": "msteams_tenant_id"}


class OnboardError(ValueError):
    """The event cannot become a valid customer file."""


@dataclass(frozen=True)
class StripeFacts:
    """What a Stripe event says about one customer."""

    session_id: str | None
    event_id: str
    event_type: str
    created: int
    stripe_customer: str
    subscription: str | None
    price_id: str | None
    price_tier: str | None
    monthly_price: Decimal | None       # Stripe amounts are integer cents
    metadata: dict[str, str]
    name: str | None
    email: str | None


@dataclass(frozen=True)
class OnboardResult:
    customer_id: str
    path: Path
    action: str            # created | updated | decommissioned | unchanged
    event_id: str

    @property
    def changed(self) -> bool:
        return self.action != "unchanged"


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


# ---------------------------------------------------------------- event -> facts


def read_facts(event: dict[str, Any]) -> StripeFacts:
    etype = event.get("type")
    if etype not in SUPPORTED_EVENTS:
        raise OnboardError(f"unsupported event type {etype!r} (supported: {', '.join(SUPPORTED_EVENTS)})")
    obj = (event.get("data") or {}).get("object") or {}
    meta = {str(k): str(v) for k, v in (obj.get("metadata") or {}).items()}
    details = obj.get("customer_details") or {}
    if etype == "checkout.session.completed":
        subscription = obj.get("subscription")
        price = {"id": meta.get("price_id"), "metadata": {"tier": meta["tier"]} if meta.get("tier") else {}}
        amount = obj.get("amount_total")
    else:
        subscription = obj.get("id")
        items = (obj.get("items") or {}).get("data") or []
        price = (items[0].get("price") if items else None) or {}
        amount = price.get("unit_amount")
    customer = obj.get("customer")
    if not isinstance(customer, str) or not customer.startswith("cus_"):
        raise OnboardError("event has no Stripe customer id (data.object.customer)")
    return StripeFacts(
        session_id=obj.get("id") if etype == "checkout.session.completed" else None,
        event_id=str(event.get("id", "")), event_type=etype, created=int(event.get("created", 0)),
        stripe_customer=customer, subscription=subscription if isinstance(subscription, str) else None,
        price_id=price.get("id"), price_tier=(price.get("metadata") or {}).get("tier"),
        monthly_price=_usd(amount),
        metadata=meta, name=meta.get("display_name") or details.get("name"),
        email=meta.get("email") or details.get("email"),
    )


LineItems = Callable[[str], list[dict[str, Any]]]
STRIPE_API_KEY_ENV = "STRIPE_API_KEY"


def stripe_line_items(api_key: str, base: str | None = None) -> LineItems:
    """Line items of a Checkout Session through the official `stripe` library
    (GET /v1/checkout/sessions/{id}/line_items; each item has `price`)."""
    import stripe
    client = stripe.StripeClient(api_key, base_addresses={"api": base} if base else {}, max_network_retries=2)

    def fetch(session_id: str) -> list[dict[str, Any]]:
        items = client.v1.checkout.sessions.line_items.list(session_id)
        # stripe 16: StripeObject is no longer a dict subclass; to_dict() gives plain dicts
        # (nested objects included: recursive is its default).
        return [item.to_dict() for item in items.data]
    return fetch


def with_line_items(facts: StripeFacts, line_items: LineItems | None) -> StripeFacts:
    """Fill a Checkout Session's price from its line items when metadata named no tier."""
    if facts.event_type != "checkout.session.completed" or facts.price_tier or facts.price_id:
        return facts
    if line_items is None or not facts.session_id:
        raise OnboardError(f"checkout session {facts.session_id!r} has no metadata.tier and no Stripe API key "
                           f"({STRIPE_API_KEY_ENV}) to look up its line items")
    items = line_items(facts.session_id)
    if len(items) != 1 or not isinstance(items[0].get("price"), dict):
        raise OnboardError(f"checkout session {facts.session_id} has {len(items)} line items; expected one price")
    price = items[0]["price"]
    amount = price.get("unit_amount")
    return replace(facts, price_id=price.get("id"), price_tier=(price.get("metadata") or {}).get("tier"),
                   monthly_price=_usd(amount) if _usd(amount) is not None else facts.monthly_price)


def tier_for(facts: StripeFacts, root: Path, tiers: dict[str, Tier]) -> str:
    tier = facts.price_tier or price_map(root).get(facts.price_id or "")
    if tier is None:
        raise OnboardError(f"price {facts.price_id!r} has no metadata.tier and is not in {PRICE_MAP}")
    if tier not in tiers:
        raise OnboardError(f"price {facts.price_id!r} maps to unknown tier {tier!r}")
    return tier


def price_map(root: Path) -> dict[str, str]:
    path = root / PRICE_MAP
    if not path.exists():
        return {}
    data = load_document(path, PRICE_MAP.as_posix()).data
    return {str(k): str(v) for k, v in (((data or {}).get("spec") or {}).get("prices") or {}).items()}


# ---------------------------------------------------------------- facts -> file


def env_ref(customer_id: str, channel: str, field: str) -> dict[str, str]:
    """PIXEL_BAKERY_TELEGRAM_BOT_TOKEN for (pixel-bakery, telegram, botToken)."""
    words = [customer_id.replace("-", "_"), channel, re.sub(r"(?<!^)(?=[A-Z])", "_", field)]
    return {"source": "env", "id": "_".join(words).upper()}


def channel_entry(customer_id: str, ctype: str, meta: dict[str, str]) -> CommentedMap:
    if ctype not in CHANNEL_SECRETS:
        raise OnboardError(f"unknown channel type {ctype!r}")
    entry = CommentedMap(type=ctype)
    if ctype in LINKED_CHANNELS:
        # Linked by hand on the host once the gateway runs (models.LINKED_CHANNELS): a new customer's
        # first apply takes it unlinked; ops set `linked: true` after the link.
        entry["linked"] = False
    for setting in CHANNEL_SETTINGS[ctype]:
        key = SETTING_METADATA[setting]
        if not meta.get(key):
            raise OnboardError(f"{ctype} channel needs checkout metadata {key!r}")
        entry[setting] = meta[key]
    for secret in CHANNEL_SECRETS[ctype]:
        ref = CommentedMap(env_ref(customer_id, ctype, secret))
        ref.fa.set_flow_style()
        entry[secret] = ref
    return entry


def paging_entry(customer_id: str, provider: str) -> CommentedMap:
    """Tiers that page need a paging key: a file reference ops fills in (Alertmanager reads files)."""
    ref = CommentedMap(source="file", provider="ops", id=f"{provider}/{customer_id}.key")
    ref.fa.set_flow_style()
    return CommentedMap(provider=provider, keyRef=ref)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _provider_of(regions: list[str], catalog: ProviderCatalog) -> str:
    owners = {name for name, info in catalog.spec.items() for r in regions if r in info.regions}
    if len(owners) != 1:
        raise OnboardError(f"regions {regions} must all belong to exactly one provider in tiers/providers.yaml")
    return owners.pop()


# Scripts whose letters transliterate to readable ASCII (python-slugify via text-unidecode):
# Latin (Zürich -> zurich), Greek and Cyrillic have one standard romanisation each. Others
# (CJK ideographs, kana, Hangul, Arabic, ...) transliterate by guesswork: text-unidecode reads
# the kanji of "東京デンタル" as Chinese, "dong-jing-tentaru", not "tokyo". An id is forever (it
# names hosts, state keys and buckets), so such a name is refused and clawtex_id asked for.
READABLE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")
ID_MAX = 40


def _unreadable_letters(name: str) -> list[str]:
    return sorted({ch for ch in name if ch.isalpha()
                   and unicodedata.name(ch, "").split(" ")[0] not in READABLE_SCRIPTS})


def customer_id_for(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A readable ASCII customer id from a display name (python-slugify, transliterated), distinct
    from every id in `taken` (a second "Zürich Zahnärzte GmbH" becomes zurich-zahnarzte-gmbh-2).
    OnboardError with what to do where no readable id exists."""
    strange = _unreadable_letters(name)
    if strange:
        raise OnboardError(f"display name {name!r} has letters ({''.join(strange[:8])}) that do not transliterate "
                           "to a readable id: set checkout metadata clawtex_id (a DNS label such as tokyo-dental)")
    base = slugify(name, max_length=ID_MAX, word_boundary=True) or slugify(name, max_length=ID_MAX)
    if not re.fullmatch(ID_PATTERN, base or "-") or base in RESERVED_IDS or base.startswith("shared-"):
        raise OnboardError(f"display name {name!r} gives no usable id ({base!r}: ids start with a letter and are "
                           "not reserved): set checkout metadata clawtex_id")
    cid, n = base, 1
    while cid in taken:
        n += 1
        suffix = f"-{n}"
        cid = base[:ID_MAX - len(suffix)].rstrip("-") + suffix
    return cid


def _flow(items: list) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def new_customer(facts: StripeFacts, tier: Tier, catalog: ProviderCatalog,
                 taken: frozenset[str] = frozenset()) -> CommentedMap:
    meta = facts.metadata
    if meta.get("clawtex_id"):
        cid = meta["clawtex_id"]
    elif facts.name:
        cid = customer_id_for(facts.name, taken)
    else:
        raise OnboardError("checkout metadata needs clawtex_id or display_name")
    regions = _split(meta.get("regions") or meta.get("region"))
    if not regions:
        raise OnboardError("checkout metadata needs region (or regions: a,b)")
    channels = _split(meta.get("channels"))
    if not channels:
        raise OnboardError("checkout metadata needs channels (e.g. telegram,discord)")
    if not facts.email:
        raise OnboardError("checkout has no customer email")
    contact = CommentedMap(name=facts.name or cid, email=facts.email, role="primary")
    contact.fa.set_flow_style()
    spec = CommentedMap(tier=tier.name, provider=meta.get("provider") or _provider_of(regions, catalog),
                        regions=_flow(regions))
    if tier.spec.hosting.ha_modes:
        spec["haMode"] = meta.get("ha_mode") or tier.spec.hosting.ha_modes[0]
    spec["onboardedOn"] = _date(facts.created)
    spec["billing"] = CommentedMap()
    spec["channels"] = CommentedSeq(channel_entry(cid, c, meta) for c in channels)
    if tier.spec.paging.providers:
        spec["paging"] = paging_entry(cid, meta.get("paging") or tier.spec.paging.providers[0])
    return CommentedMap(apiVersion="clawtex/v1", kind="Customer",
                        metadata=CommentedMap(id=cid, displayName=facts.name or cid, contacts=CommentedSeq([contact])),
                        spec=spec)


def _usd(amount: Any) -> Decimal | None:
    """A Stripe amount (integer cents, e.g. unit_amount 9995) in USD: 99.95."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        return None
    return Decimal(amount) / 100


def _date(created: int) -> str:
    return datetime.fromtimestamp(created, tz=timezone.utc).strftime("%Y-%m-%d")


def apply_billing(doc: CommentedMap, facts: StripeFacts, tier: str | None) -> None:
    spec = doc["spec"]
    billing = spec.setdefault("billing", CommentedMap())
    if tier is not None:
        spec["tier"] = tier
    if facts.monthly_price is not None:
        billing["monthlyPrice"] = json_number(facts.monthly_price)
    billing["stripeCustomerId"] = facts.stripe_customer
    if facts.subscription:
        billing["stripeSubscriptionId"] = facts.subscription
    billing["lastStripeEvent"] = facts.event_id
    if facts.event_type == "customer.subscription.deleted":
        # Decommissioning goes through review like everything else: the PR
        # carries the status change and a request, never an approval. The
        # decommission guard holds the teardown until a person adds
        # approvedBy + date (compiler/guard.py, docs/approvals.md).
        spec["status"] = "decommissioned"
        request = spec.get("decommission")
        if not isinstance(request, dict):
            request = spec["decommission"] = CommentedMap()
        request["requestedBy"] = "stripe"
        request["event"] = facts.event_id
        request["requestedOn"] = _date(facts.created)
    elif facts.event_type == "customer.subscription.updated" and spec.get("status") == "suspended":
        spec["status"] = "active"


# ---------------------------------------------------------------- files


def find_customer_file(root: Path, stripe_customer: str, cid: str | None) -> Path | None:
    for path in sorted((root / "customers").glob("*.yaml")):
        data = _yaml().load(path.read_text(encoding="utf-8")) or {}
        billing = ((data.get("spec") or {}).get("billing") or {})
        if billing.get("stripeCustomerId") == stripe_customer:
            return path
    if cid and (root / "customers" / f"{cid}.yaml").exists():
        raise OnboardError(f"customers/{cid}.yaml exists and belongs to another Stripe customer")
    return None


def render(doc: CommentedMap) -> str:
    buffer = io.StringIO()
    _yaml().dump(doc, buffer)
    text = buffer.getvalue()
    return text if text.startswith(SCHEMA_LINE) else f"{SCHEMA_LINE}\n{text}"


def check_customer_text(root: Path, cid: str, text: str, tiers, catalog) -> None:
    """Validate the candidate file exactly as `clawtex validate` would."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "customers" / f"{cid}.yaml"
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
        errors: list[Diagnostic] = []
        validate_customer_file(path, Path(tmp), tiers, catalog, errors)
    if errors:
        # The candidate was never written: cite it as such, not as a file in customers/.
        import dataclasses
        raise CompileError([dataclasses.replace(d, file=f"{d.file} (not written)") for d in errors])


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class WaitForCheckout(OnboardError):
    """A subscription event for a customer whose checkout has not been processed yet
    (Stripe does not guarantee delivery order): retry later, do not fail."""


def onboard(root: Path, event: dict[str, Any], line_items: LineItems | None = None) -> OnboardResult:
    facts = read_facts(event)
    if not re.match(r"^evt_[A-Za-z0-9]{6,60}$", facts.event_id):
        raise OnboardError(f"event id {facts.event_id!r} is not a Stripe event id")
    errors: list[Diagnostic] = []
    _, catalog, tiers = load_repo_config(root, errors)
    if errors or catalog is None:
        raise CompileError(errors)
    path = find_customer_file(root, facts.stripe_customer, facts.metadata.get("clawtex_id"))
    if path is None:
        if facts.event_type != "checkout.session.completed":
            # Only a checkout carries the metadata a new customer file needs.
            raise WaitForCheckout(f"no customer file for {facts.stripe_customer} on the base branch yet "
                                  f"({facts.event_type} arrived before its checkout was processed and merged)")
        facts = with_line_items(facts, line_items)
        tier = tier_for(facts, root, tiers)
        taken = frozenset(p.stem for p in (root / "customers").glob("*.yaml"))
        doc = new_customer(facts, tiers[tier], catalog, taken)
        cid, action, original = doc["metadata"]["id"], "created", None
        path = root / "customers" / f"{cid}.yaml"
    else:
        original = path.read_text(encoding="utf-8")
        doc = _yaml().load(original)
        cid = str(doc["metadata"]["id"])
        if doc["spec"].get("billing", {}).get("lastStripeEvent") == facts.event_id:
            return OnboardResult(cid, path, "unchanged", facts.event_id)
        if facts.event_type == "checkout.session.completed":
            facts = with_line_items(facts, line_items)
        tier = tier_for(facts, root, tiers) if facts.price_id is not None or facts.price_tier is not None else None
        action = "decommissioned" if facts.event_type == "customer.subscription.deleted" else "updated"
    apply_billing(doc, facts, tier)
    text = render(doc)
    if text == original:
        return OnboardResult(cid, path, "unchanged", facts.event_id)
    check_customer_text(root, cid, text, tiers, catalog)
    write_atomic(path, text)
    return OnboardResult(cid, path, action, facts.event_id)
