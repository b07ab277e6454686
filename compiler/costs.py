"""Monthly infrastructure cost per stack and per customer, from the provider
price table in tiers/providers.yaml. Pure functions of the plan.

A shared host's cost is split evenly across its tenants."""
from __future__ import annotations

from .plan import FleetPlan, HostPlan, StackPlan


def host_cost(plan: FleetPlan, host: HostPlan) -> float:
    per_gb = plan.catalog.spec[host.provider].volume_usd_per_gb
    compute = host.size.monthly_usd if host.running else 0.0
    return compute + host.volume_gb * per_gb


def stack_cost(plan: FleetPlan, stack: StackPlan) -> float:
    return round(sum(host_cost(plan, h) for h in stack.hosts), 2)


def customer_costs(plan: FleetPlan) -> dict[str, float]:
    """Customer id -> estimated monthly infra cost in USD."""
    out: dict[str, float] = {}
    for stack in plan.stacks:
        cost = stack_cost(plan, stack)
        share = cost / len(stack.customers) if stack.customers else 0.0
        for cid in stack.customers:
            out[cid] = round(out.get(cid, 0.0) + share, 2)
    return dict(sorted(out.items()))
