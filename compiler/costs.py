"""Monthly infrastructure cost per stack and per customer, from the provider
price table in tiers/providers.yaml. Pure functions of the plan.

A stack costs its servers (stopped servers only keep their volumes), data
volumes, one load balancer per region of a multi-region stack, one managed
Kubernetes control plane (and the default pool's floor) per region of a Kubernetes stack, and backups: one storage subscription
(bucket set or Storage Box) per backup target of the plan (the same targets
Terraform creates and Ansible writes to) plus an estimate of their retained
size per GB. A shared host's cost is
split evenly across its tenants."""
from __future__ import annotations

from .plan import ROLE_K8S, BackupTarget, FleetPlan, StackPlan

COST_ITEMS = ("servers", "volumes", "loadBalancers", "kubernetes", "backups")


def stack_cost_items(plan: FleetPlan, stack: StackPlan) -> dict[str, float]:
    """Cost of one stack by item (USD per month), keys in COST_ITEMS order."""
    prices = plan.catalog.spec[stack.provider]
    tier = plan.tiers[stack.hosts[0].tier]
    regions = sorted({h.region for h in stack.hosts})
    k8s_regions = sorted({h.region for h in stack.hosts if h.role == ROLE_K8S})
    backups = tier.spec.backups
    data_gb = sum(h.volume_gb for h in stack.hosts)
    targets = backup_targets(plan, stack)
    backup_gb = data_gb * backups.retained_size_factor * len(targets) if backups is not None else 0.0
    items = {
        "servers": sum(h.size.monthly_usd for h in stack.hosts if h.running),
        "volumes": data_gb * prices.volume_usd_per_gb,
        "loadBalancers": prices.load_balancer_monthly_usd * len(regions) if stack.kind == "multi-region" else 0.0,
        # control plane plus the fixed default pool's floor (providers.yaml kubernetesDefaultPool)
        "kubernetes": (prices.kubernetes_control_plane_monthly_usd + _default_pool_floor(prices)) * len(k8s_regions),
        "backups": backup_gb * prices.object_storage_usd_per_gb + len(targets) * prices.object_storage_monthly_usd,
    }
    return {k: round(v, 2) for k, v in items.items()}


def _default_pool_floor(prices) -> float:
    pool = prices.kubernetes_default_pool
    return pool.min_nodes * pool.monthly_usd if pool else 0.0


def backup_targets(plan: FleetPlan, stack: StackPlan) -> tuple[BackupTarget, ...]:
    """Backup destinations a stack pays for (shared stacks: none, Bronze has no backups)."""
    if stack.kind == "shared":
        return ()
    return tuple(t for cid in stack.customers for t in plan.customer(cid).backup_targets)


def stack_cost(plan: FleetPlan, stack: StackPlan) -> float:
    return round(sum(stack_cost_items(plan, stack).values()), 2)


def customer_costs(plan: FleetPlan) -> dict[str, float]:
    """Customer id -> estimated monthly infra cost in USD."""
    out: dict[str, float] = {}
    for stack in plan.stacks:
        cost = stack_cost(plan, stack)
        share = cost / len(stack.customers) if stack.customers else 0.0
        for cid in stack.customers:
            out[cid] = round(out.get(cid, 0.0) + share, 2)
    return dict(sorted(out.items()))
