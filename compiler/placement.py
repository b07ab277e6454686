"""Deterministic placement of shared-tier customers onto shared hosts.

Placement is sticky: the previous placement (generated/placement.json, which is
committed) is an input, so adding a customer never moves an existing one. New
customers go first-fit, in (onboardedOn, id) order, into the existing hosts of
their provider and region; when all are full a new host opens. Pure: no I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .models import ServerPlan, Tier


@dataclass(frozen=True)
class Tenant:
    id: str
    provider: str
    region: str
    onboarded_on: str


def host_capacity(tier: Tier, plan: ServerPlan) -> int:
    """How many tenants of `tier` fit on a shared host of `plan`, by RAM and CPU share."""
    shared = tier.spec.hosting.shared_host
    if shared is None:
        raise ValueError(f"tier {tier.name} has no sharedHost capacity settings")
    res = tier.spec.resources
    by_ram = math.floor((plan.ram_gb - shared.reserved_ram_gb) / res.ram_gb)
    by_cpu = math.floor(plan.vcpu * shared.cpu_overcommit / res.vcpu)
    return max(0, min(by_ram, by_cpu))


def shared_host_name(provider: str, region: str, index: int) -> str:
    return f"shared-{provider}-{region}-{index:02d}"


def place(tenants: list[Tenant], capacity: dict[tuple[str, str], int],
          previous: dict[str, list[str]]) -> dict[str, list[str]]:
    """Return host name -> tenant ids (in placement order)."""
    if any(c < 1 for c in capacity.values()):
        raise ValueError("a shared host must fit at least one tenant")
    by_id = {t.id: t for t in tenants}
    hosts: dict[str, list[str]] = {}
    placed: set[str] = set()
    # 1. Keep everyone where they were, as long as the host still fits them.
    for host in sorted(previous):
        for tid in previous[host]:
            t = by_id.get(tid)
            if t is None or tid in placed:
                continue
            if not host.startswith(f"shared-{t.provider}-{t.region}-"):
                continue
            if len(hosts.setdefault(host, [])) < capacity[(t.provider, t.region)]:
                hosts[host].append(tid)
                placed.add(tid)
    # 2. Newcomers, oldest first, first-fit into existing hosts, else a new host.
    for t in sorted((t for t in tenants if t.id not in placed), key=lambda t: (t.onboarded_on, t.id)):
        cap = capacity[(t.provider, t.region)]
        prefix = f"shared-{t.provider}-{t.region}-"
        candidates = sorted(h for h in set(hosts) | set(previous) if h.startswith(prefix))
        target = next((h for h in candidates if len(hosts.get(h, [])) < cap), None)
        if target is None:
            used = {int(h.rsplit("-", 1)[1]) for h in candidates}
            index = next(i for i in range(1, len(used) + 2) if i not in used)
            target = shared_host_name(t.provider, t.region, index)
        hosts.setdefault(target, []).append(t.id)
    return {h: ids for h, ids in sorted(hosts.items()) if ids}


def allocate_blocks(ids_in_order: list[str], previous: dict[str, int], capacity: int) -> dict[str, int]:
    """Give each id a block index in [0, capacity), sticky like placement.

    Ids keep the block they had; newcomers (in the given order) take the lowest
    free index, so adding or removing one id never renumbers another.
    """
    wanted = set(ids_in_order)
    blocks = {cid: index for cid, index in previous.items()
              if cid in wanted and isinstance(index, int) and 0 <= index < capacity}
    taken = set()
    for cid in sorted(blocks):
        if blocks[cid] in taken:  # a damaged lock file: the later id gets a new block
            del blocks[cid]
        else:
            taken.add(blocks[cid])
    free = (i for i in range(capacity) if i not in taken)
    for cid in ids_in_order:
        if cid not in blocks:
            index = next(free, None)
            if index is None:
                raise ValueError(f"no free block left for {cid} (capacity {capacity})")
            blocks[cid] = index
    return dict(sorted(blocks.items()))
