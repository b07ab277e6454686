"""SLA credit estimate: measured monthly uptime per customer -> who breached
their SLA target (tier, or a negotiated override) and what credit applies.

Credits exist only where the tier says so (`sla.credits`, Gold+); the schedule
is tier data (`sla.creditSchedule`): the largest step whose `belowPercent` is
above the measured uptime applies, and a breach of a negotiated target above
every step earns the first step."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from ..money import ZERO, exact, json_number, to_cents
from ..plan import CustomerPlan, FleetPlan


@dataclass(frozen=True)
class SlaLine:
    id: str
    tier: str
    uptimePercent: float
    targetPercent: float
    breached: bool
    creditPercent: float
    creditUsd: Decimal             # whole cents


def credit_percent(customer: CustomerPlan, uptime_percent: float) -> float:
    sla = customer.tier.spec.sla
    if not sla.credits or uptime_percent >= customer.sla_target_percent or not sla.credit_schedule:
        return 0.0
    steps = [s.credit_percent for s in sla.credit_schedule if uptime_percent < s.below_percent]
    return max(steps) if steps else min(s.credit_percent for s in sla.credit_schedule)


def sla_report(plan: FleetPlan, uptime: dict[str, float]) -> list[SlaLine]:
    """`uptime`: customer id -> uptime ratio of the month (0..1)."""
    unknown = sorted(set(uptime) - {c.id for c in plan.customers})
    if unknown:
        raise ValueError(f"uptime given for unknown customers: {', '.join(unknown)}")
    lines = []
    for cid, ratio in sorted(uptime.items()):
        if not 0 <= ratio <= 1:
            raise ValueError(f"{cid}: uptime must be a ratio between 0 and 1, got {ratio}")
        c = plan.customer(cid)
        pct = round(ratio * 100, 4)
        credit = credit_percent(c, pct)
        lines.append(SlaLine(cid, c.tier_name, pct, c.sla_target_percent, pct < c.sla_target_percent, credit,
                             to_cents(c.monthly_price * exact(credit) / 100)))
    return lines


def to_json(lines: list[SlaLine]) -> dict:
    return {"customers": [{**asdict(l), "creditUsd": json_number(l.creditUsd)} for l in lines],
            "breaches": [l.id for l in lines if l.breached],
            "totalCreditUsd": json_number(sum((l.creditUsd for l in lines), ZERO))}
