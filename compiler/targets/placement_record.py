"""generated/placement.json: which Bronze customer lives on which shared host (the record;
compiler/placement.py is the algorithm that decides it).

Committed, and read back by the next compile, so placement is sticky."""
from __future__ import annotations

from ..formats import dump_json
from ..plan import PLACEMENT_FILE, FleetPlan


def render(plan: FleetPlan) -> dict[str, bytes]:
    hosts = {}
    for name, tenants in plan.placement.items():
        host = plan.host(name)
        hosts[name] = {"provider": host.provider, "region": host.region, "plan": host.size.slug,
                       "tenants": list(tenants), "slots": dict(sorted(zip(host.tenants, host.slots)))}
    return {PLACEMENT_FILE: dump_json({"hosts": hosts})}
