"""JSON Schemas for editors (yaml-language-server) and for tests."""
from __future__ import annotations

import copy
import json
from typing import Any

from ..formats import _dump_json
from ..incremental import serialize
from ..models import Customer
from ..plan import FleetPlan

BASE_URL = "https://clawtex.example/schemas"


def customer_schema(tier_names: list[str]) -> dict[str, Any]:
    schema = Customer.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{BASE_URL}/customer.schema.json"
    schema["$defs"]["CustomerSpec"]["properties"]["tier"] = {"enum": tier_names, "title": "Tier", "type": "string"}
    return schema


def tier_schema(base: dict[str, Any], tier) -> dict[str, Any]:
    """The customer schema narrowed to one tier's promises (channel count and types)."""
    schema = copy.deepcopy(base)
    schema["$id"] = f"{BASE_URL}/customer-{tier.name}.schema.json"
    schema["title"] = f"Customer ({tier.spec.rank}: {tier.name})"
    spec = schema["$defs"]["CustomerSpec"]["properties"]
    spec["tier"] = {"const": tier.name, "title": "Tier", "type": "string"}
    channels = spec["channels"]
    if tier.spec.channels.max is not None:
        channels["maxItems"] = tier.spec.channels.max
    channel = copy.deepcopy(schema["$defs"]["Channel"])
    channel["properties"]["type"] = {"enum": list(tier.spec.channels.allowed_types), "title": "Type", "type": "string"}
    schema["$defs"]["TierChannel"] = channel
    channels["items"] = {"$ref": "#/$defs/TierChannel"}
    spec["regions"]["minItems"] = tier.spec.hosting.regions_min
    spec["regions"]["maxItems"] = tier.spec.hosting.regions_max
    return schema


def render(plan: FleetPlan) -> dict[str, bytes]:
    """Through the compile's memo (compiler/incremental.py): the schema depends on the models'
    code (in every cache key) and the tiers, so a compile that changes neither builds no
    pydantic JSON schema (and imports no email-validator): ~0.3 s at any fleet size."""
    tiers = plan.tiers_by_rank()
    base = serialize("customer-schema", (tuple(t.name for t in tiers),),
                     lambda names: _dump_json(customer_schema(list(names))))   # not memoized again inside
    out = {"schemas/customer.schema.json": base}
    for tier in tiers:
        out[f"schemas/customer-{tier.name}.schema.json"] = serialize(
            "tier-schema", (base, _read_by_tier_schema(tier)),
            lambda raw, _facts, t=tier: _dump_json(tier_schema(json.loads(raw), t)))
    return out


def _read_by_tier_schema(tier) -> tuple:
    """Every field of the tier tier_schema reads: the memo key (a pydantic model's pickle is
    not the same bytes from one process to the next: its fields-set is a set)."""
    spec = tier.spec
    return (tier.name, spec.rank, spec.channels.max, tuple(spec.channels.allowed_types),
            spec.hosting.regions_min, spec.hosting.regions_max)
