"""Money: decimal.Decimal, rounded to whole cents once per cost item, split by an exact rule.

Prices in YAML are numbers (tiers/providers.yaml list prices, customers' monthlyPrice); they
are read as the decimal they are written as (0.0524 stays 0.0524, never 0.05239999...). A
cost item (servers, volumes, ...) is rounded to cents once (half up, as a price list rounds);
every total is the exact sum of its lines, and a shared amount is split into cents that add
up to it (split_exact). The standard library's decimal module is the well-kept library here;
the split rule is ours because it is a business rule: no library decides who pays the odd cent.
"""
from __future__ import annotations

from decimal import InvalidOperation, ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def exact(value: Any) -> Decimal:
    """The decimal a YAML number was written as (floats by their shortest repr: 0.0524 -> 0.0524)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"'{value[:40]}' is not an amount; write a number such as 249 or 249.50") from None
        if not amount.is_finite():
            raise ValueError(f"'{value[:40]}' is not an amount; write a number such as 249 or 249.50")
        return amount
    raise ValueError(f"{value!r} is not an amount")


def to_cents(value: Decimal) -> Decimal:
    """Rounded to whole cents, half up (0.005 -> 0.01)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def split_exact(total: Decimal, parties: int) -> list[Decimal]:
    """`total` (whole cents) in `parties` shares that sum to it exactly: each gets the floor of the
    even share, and the remaining cents go one each to the first parties (callers order them,
    e.g. by customer id). 10.00 / 3 -> 3.34, 3.33, 3.33."""
    if parties <= 0:
        return []
    units = int(to_cents(total) / CENT)
    if to_cents(total) != total:
        raise ValueError(f"{total} is not a whole number of cents")
    base, remainder = divmod(units, parties)
    return [(Decimal(base + (1 if i < remainder else 0)) * CENT) for i in range(parties)]


def json_number(value: Decimal) -> int | float:
    """A cent amount as a JSON number (the serialization boundary; two decimals round-trip exactly)."""
    return int(value) if value == value.to_integral_value() else float(value)
