"""Monthly infrastructure cost per stack and per customer, from the provider
price table in tiers/providers.yaml. Pure functions of the plan.

A stack costs its servers (stopped servers only keep their volumes), data
volumes, one load balancer per region of a multi-region stack plus its global one, one managed
Kubernetes control plane (and the default pool's floor) per region of a Kubernetes stack, the managed
PostgreSQL of a Kubernetes customer with a postgres database (providers.yaml managedPostgres: nodes x
price), and backups: one storage subscription
(bucket set or Storage Box) per backup target of the plan (the same targets
Terraform creates and Ansible writes to) plus an estimate of their retained
size per GB beyond what each subscription includes. A subscription billed once per account (providers.yaml objectStoragePerAccount:
a Spaces-like subscription) is no stack's cost: it is fleet overhead (fleet_overhead), charged once
per provider whose stacks back up at all. Amounts are decimal.Decimal (compiler/money.py): each item is
rounded to cents once, a stack costs the exact sum of its items, and a shared
host's cost is split between its tenants (in id order) into cents that sum to
it exactly (money.split_exact)."""
from __future__ import annotations

from decimal import Decimal

from .money import ZERO, exact, split_exact, to_cents
from .plan import ROLE_K8S, BackupTarget, FleetPlan, StackPlan

COST_ITEMS = ("servers", "volumes", "loadBalancers", "kubernetes", "databases", "backups")


def stack_cost_items(plan: FleetPlan, stack: StackPlan) -> dict[str, Decimal]:
    """Cost of one stack by item (USD per month, whole cents), keys in COST_ITEMS order."""
    prices = plan.catalog.spec[stack.provider]
    tier = plan.tiers[stack.hosts[0].tier]
    regions = sorted({h.region for h in stack.hosts})
    k8s_regions = sorted({h.region for h in stack.hosts if h.role == ROLE_K8S})
    backups = tier.spec.backups
    data_gb = Decimal(sum(h.volume_gb for h in stack.hosts))
    targets = backup_targets(plan, stack)
    per_target_gb = data_gb * exact(backups.retained_size_factor) if backups is not None else ZERO
    items = {
        "servers": sum((h.size.monthly_usd * h.nodes for h in stack.hosts if h.running), ZERO),
        "volumes": data_gb * prices.volume_usd_per_gb,
        # one regional load balancer per region, and the global one in front of them
        "loadBalancers": (prices.load_balancer_monthly_usd * len(regions) + prices.global_load_balancer_monthly_usd)
        if stack.kind == "multi-region" else ZERO,
        # control plane plus the fixed default pool's floor (providers.yaml kubernetesDefaultPool)
        "kubernetes": (prices.kubernetes_control_plane_monthly_usd + _default_pool_floor(prices)) * len(k8s_regions),
        "databases": _managed_postgres(plan, stack, prices),
        "backups": len(targets) * (_billed_gb(prices, per_target_gb) * prices.object_storage_usd_per_gb
                                   + _per_target_subscription(prices)),
    }
    return {k: to_cents(v) for k, v in items.items()}


def _managed_postgres(plan: FleetPlan, stack: StackPlan, prices) -> Decimal:
    """The managed PostgreSQL clusters Terraform builds in this stack (the provider plug-in's
    _managed_postgres): one per dedicated Kubernetes customer with a postgres database."""
    pg = prices.managed_postgres
    if stack.kind == "shared" or pg is None:
        return ZERO
    clusters = sum(1 for cid in stack.customers
                   if plan.customer(cid).kubernetes and any(d.engine == "postgres" for d in plan.customer(cid).databases))
    return clusters * pg.node_count * exact(pg.node_monthly_usd)


def _per_target_subscription(prices) -> Decimal:
    return ZERO if prices.object_storage_per_account else prices.object_storage_monthly_usd


def _billed_gb(prices, gb: Decimal) -> Decimal:
    """GB of one target billed per GB: beyond what its own subscription includes (a per-account
    allowance is shared by every target and not credited here: an upper bound)."""
    if prices.object_storage_per_account:
        return gb
    return max(ZERO, gb - prices.object_storage_included_gb)


def fleet_overhead(plan: FleetPlan) -> dict[str, Decimal]:
    """Costs of the account, not of any stack (USD per month, whole cents), by item
    `objectStorage:<provider>`: one object-storage subscription per provider that bills it per
    account and holds at least one backup target of the plan's stacks."""
    out: dict[str, Decimal] = {}
    for stack in plan.stacks:
        prices = plan.catalog.spec[stack.provider]
        if prices.object_storage_per_account and backup_targets(plan, stack):
            out[f"objectStorage:{stack.provider}"] = to_cents(prices.object_storage_monthly_usd)
    return dict(sorted(out.items()))


def _default_pool_floor(prices) -> Decimal:
    pool = prices.kubernetes_default_pool
    return pool.min_nodes * exact(pool.monthly_usd) if pool else ZERO


def backup_targets(plan: FleetPlan, stack: StackPlan) -> tuple[BackupTarget, ...]:
    """Backup destinations a stack pays for (shared stacks: none, Bronze has no backups)."""
    if stack.kind == "shared":
        return ()
    return tuple(t for cid in stack.customers for t in plan.customer(cid).backup_targets)


def stack_cost(plan: FleetPlan, stack: StackPlan) -> Decimal:
    """The exact sum of the stack's cost items."""
    return sum(stack_cost_items(plan, stack).values(), ZERO)


def customer_costs(plan: FleetPlan) -> dict[str, Decimal]:
    """Customer id -> estimated monthly infra cost in USD: the sum of its stacks' shares, each
    shared stack split exactly between its tenants in id order (the shares sum to the stack)."""
    out: dict[str, Decimal] = {}
    for stack in plan.stacks:
        tenants = sorted(stack.customers)
        for cid, share in zip(tenants, split_exact(stack_cost(plan, stack), len(tenants))):
            out[cid] = out.get(cid, ZERO) + share
    return dict(sorted(out.items()))
