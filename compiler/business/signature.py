"""Stripe webhook signatures (Stripe's documented scheme, no SDK needed).

Header `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]`; the signature is
HMAC-SHA256 with the endpoint's signing secret over "<t>.<raw body>". A
timestamp outside the tolerance is refused so a captured request cannot be
replayed later."""
from __future__ import annotations

import hashlib
import hmac

TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The request is unsigned, wrongly signed or too old/new."""


def compute_signature(secret: str, timestamp: int, payload: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign_header(secret: str, timestamp: int, payload: bytes) -> str:
    """The header Stripe would send (used by tests and local tooling)."""
    return f"t={timestamp},v1={compute_signature(secret, timestamp, payload)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("Stripe-Signature timestamp is not a number") from None
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("Stripe-Signature has no timestamp or no v1 signature")
    return timestamp, signatures


def verify_signature(payload: bytes, header: str | None, secret: str, now: int,
                     tolerance: int = TOLERANCE_SECONDS) -> int:
    """Return the signed timestamp; raise SignatureError unless the header is valid."""
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    if not secret:
        raise SignatureError("no signing secret configured")
    timestamp, signatures = _parse_header(header)
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"timestamp outside the {tolerance} s tolerance")
    expected = compute_signature(secret, timestamp, payload)
    # Compare against every v1 entry (Stripe sends several while a secret rolls).
    if not any(hmac.compare_digest(expected, sig) for sig in signatures):
        raise SignatureError("signature does not match")
    return timestamp
