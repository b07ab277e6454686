"""OpenClaw gateway config (openclaw.json) per customer.

OpenClaw refuses to boot on unknown keys or wrong types, so this emits only
keys its validator accepts. Credentials are SecretRefs, never strings.
"""
from __future__ import annotations

from typing import Any

from ..formats import dump_json
from ..models import Channel, SecretRef
from ..plan import CustomerPlan, FleetPlan

GATEWAY_TOKEN_ENV = "OPENCLAW_GATEWAY_TOKEN"


def secret(ref: SecretRef) -> dict[str, str]:
    return {"source": ref.source, "provider": ref.provider, "id": ref.id}


def channel_config(ch: Channel) -> dict[str, Any]:
    conf: dict[str, Any] = {"enabled": True, "dmPolicy": ch.dm_policy}
    if ch.allow_from:
        conf["allowFrom"] = list(ch.allow_from)
    for field, key in (("token", "token"), ("bot_token", "botToken"), ("app_token", "appToken"),
                       ("app_password", "appPassword")):
        ref = getattr(ch, field)
        if ref is not None:
            conf[key] = secret(ref)
    for field, key in (("account", "account"), ("app_id", "appId"), ("tenant_id", "tenantId")):
        value = getattr(ch, field)
        if value is not None:
            conf[key] = value
    return conf


def gateway_config(c: CustomerPlan, plan: FleetPlan) -> dict[str, Any]:
    # Behind the host's reverse proxy (or the k8s service) the gateway listens on
    # the LAN interface; token auth is always on.
    return {
        "port": plan.runtime.gateway_port,
        "mode": "local",
        "bind": "lan",
        "auth": {"mode": "token", "token": {"source": "env", "provider": "default", "id": GATEWAY_TOKEN_ENV}},
    }


def openclaw_config(c: CustomerPlan, plan: FleetPlan) -> dict[str, Any]:
    model: dict[str, Any] = {"primary": c.model.primary}
    if c.model.fallbacks:
        model["fallbacks"] = list(c.model.fallbacks)
    return {
        "gateway": gateway_config(c, plan),
        "agents": {"defaults": {"workspace": plan.runtime.workspace_dir, "model": model}},
        "channels": {ch.type: channel_config(ch) for ch in sorted(c.channels, key=lambda ch: ch.type)},
        "logging": {"level": "info", "file": plan.runtime.log_file},
    }


def render(plan: FleetPlan) -> dict[str, bytes]:
    return {f"openclaw/{c.id}/openclaw.json": dump_json(openclaw_config(c, plan)) for c in plan.customers}
