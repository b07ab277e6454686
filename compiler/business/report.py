"""`clawtex report`: price, infra cost and margin per customer, per tier and
for the fleet (MRR, ARR, gross margin), flagging customers below their tier's
margin floor (tiers/*.yaml `marginFloorPercent`). Pure function of the plan;
three renderings: terminal table, JSON, Markdown (for PR comments)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from ..costs import customer_costs, fleet_overhead
from ..escape import markdown_text
from ..money import ZERO, json_number
from ..plan import FleetPlan


@dataclass(frozen=True)
class CustomerLine:
    id: str
    tier: str
    status: str
    monthlyPrice: Decimal        # revenue this month: 0 unless active
    infraCost: Decimal
    margin: Decimal
    marginPercent: float
    marginFloorPercent: float | None
    belowFloor: bool


@dataclass(frozen=True)
class TierLine:
    tier: str
    customers: int
    mrr: Decimal
    infraCost: Decimal


@dataclass(frozen=True)
class Report:
    customers: tuple[CustomerLine, ...]
    tiers: tuple[TierLine, ...]
    mrr: Decimal
    arr: Decimal
    infraCost: Decimal                      # the customers' lines plus fleetOverhead
    grossMarginPercent: float
    belowFloor: tuple[str, ...]
    pricesTakenOn: str | None
    pricesAgeDays: int | None = None        # as of the day the report runs
    plansUnverified: int = 0                # plan prices without a priceSource (tiers/provider-facts.md)
    plansPriced: int = 0
    # Account-wide costs no customer's line carries (compiler/costs.fleet_overhead), by item.
    fleetOverhead: dict[str, Decimal] | None = None

    def to_json(self) -> dict:
        """Amounts as JSON numbers (cents round-trip exactly)."""
        def plain(value):
            if isinstance(value, Decimal):
                return json_number(value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            return value
        return plain(asdict(self))


def _percent(part: Decimal, whole: Decimal) -> float:
    return round(float(100 * part / whole), 1) if whole else 0.0


def build_report(plan: FleetPlan) -> Report:
    """Every amount is Decimal cents; each total is the exact sum of its lines."""
    costs = customer_costs(plan)
    lines = []
    for c in sorted(plan.customers, key=lambda c: (c.tier.spec.rank, c.id)):
        revenue = c.monthly_price if c.active else ZERO
        cost = costs.get(c.id, ZERO)
        margin_pct = _percent(revenue - cost, revenue)
        floor = c.tier.spec.margin_floor_percent
        lines.append(CustomerLine(c.id, c.tier_name, c.status, revenue, cost, revenue - cost, margin_pct,
                                  floor, floor is not None and margin_pct < floor))
    tiers = tuple(TierLine(t.name, sum(1 for l in lines if l.tier == t.name),
                           sum((l.monthlyPrice for l in lines if l.tier == t.name), ZERO),
                           sum((l.infraCost for l in lines if l.tier == t.name), ZERO))
                  for t in plan.tiers_by_rank())
    mrr = sum((l.monthlyPrice for l in lines), ZERO)
    overhead = fleet_overhead(plan)
    cost = sum((l.infraCost for l in lines), ZERO) + sum(overhead.values(), ZERO)
    return Report(tuple(lines), tiers, mrr, mrr * 12, cost, _percent(mrr - cost, mrr),
                  tuple(l.id for l in lines if l.belowFloor), _iso(plan.catalog.metadata.prices_taken_on),
                  *_price_table_age(plan), fleetOverhead=overhead)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _price_table_age(plan: FleetPlan, today: date | None = None) -> tuple[int | None, int, int]:
    """Days since metadata.pricesTakenOn, and how many plan prices name no source."""
    taken = plan.catalog.metadata.prices_taken_on
    age = ((today or date.today()) - taken).days if taken else None
    plans = [p for info in plan.catalog.spec.values()
             for p in [*info.plans.values(), *(q for by_role in info.location_plans.values() for q in by_role.values())]]
    return age, sum(1 for p in plans if not p.price_source), len(plans)


def _price_note(r: Report) -> str:
    if not r.pricesTakenOn:
        return "on an unknown date"
    age = f", {r.pricesAgeDays} days ago" if r.pricesAgeDays is not None else ""
    return (f"{r.pricesTakenOn}{age}; {r.plansUnverified} of {r.plansPriced} plan prices unverified "
            "(tiers/provider-facts.md)")


# ---------------------------------------------------------------- renderings


def _tables(r: Report) -> list[tuple[str, list[str], list[list[str]]]]:
    def money(value: Decimal) -> str:
        return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"
    customers = [[l.id, l.tier, l.status, money(l.monthlyPrice), money(l.infraCost), money(l.margin),
                  f"{l.marginPercent:.1f}%" + (" BELOW FLOOR" if l.belowFloor else "")] for l in r.customers]
    tiers = [[t.tier, str(t.customers), money(t.mrr), money(t.infraCost)] for t in r.tiers]
    overhead = [[f"account-wide: {item}", money(v)] for item, v in (r.fleetOverhead or {}).items()]
    fleet = [["MRR", money(r.mrr)], ["ARR", money(r.arr)], *overhead, ["infra cost / month", money(r.infraCost)],
             ["gross margin", f"{r.grossMarginPercent:.1f}%"],
             ["below margin floor", ", ".join(r.belowFloor) or "none"]]
    return [("Customers", ["customer", "tier", "status", "price", "infra cost", "margin", "margin %"], customers),
            ("Tiers", ["tier", "customers", "MRR", "infra cost"], tiers),
            ("Fleet", ["metric", "value"], fleet)]


def render_text(r: Report) -> str:
    out = []
    for title, header, rows in _tables(r):
        widths = [max(len(x) for x in col) for col in zip(header, *rows)]
        out.append(title)
        for row in (header, ["-" * w for w in widths], *rows):
            out.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        out.append("")
    out.append(f"Provider list prices taken {_price_note(r)}.")
    return "\n".join(out) + "\n"


def render_markdown(r: Report) -> str:
    out = []
    for title, header, rows in _tables(r):
        out += [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(markdown_text(c) for c in row) + " |" for row in rows]
        out.append("")
    out.append(f"_Infra cost from provider list prices taken {_price_note(r)}._")
    return "\n".join(out) + "\n"
