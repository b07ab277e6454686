"""OpenClaw gateway config (openclaw.json) per customer.

OpenClaw refuses to boot on unknown keys or wrong types, so this emits only
keys its validator accepts (tests run OpenClaw's own validator on every file).
Credentials are SecretRefs, never strings; every provider alias a ref names is
declared under `secrets.providers`, so the gateway can resolve it at startup.
Paths and ports come from plan.runtime only (clawtex.yaml `spec.openclaw`).
"""
from __future__ import annotations

from typing import Any

from ..formats import dump_json
from .. import secrets
from ..models import Channel, ModelEndpoint, SecretRef
from ..plan import CustomerPlan, FleetPlan, OpenClawRuntime

# The gateway's own token: Ansible puts it into the service environment.
GATEWAY_TOKEN = SecretRef(source="env", provider="default", id="OPENCLAW_GATEWAY_TOKEN")

CHANNEL_SECRET_KEYS = (("token", "token"), ("bot_token", "botToken"), ("app_token", "appToken"),
                       ("app_password", "appPassword"))
CHANNEL_SETTING_KEYS = (("account", "account"), ("app_id", "appId"), ("tenant_id", "tenantId"))


def secret(ref: SecretRef) -> dict[str, str]:
    """Our ref -> OpenClaw's (compiler/secrets.py)."""
    return secrets.to_openclaw(ref)


def secret_providers(refs: list[SecretRef], runtime: OpenClawRuntime) -> dict[str, Any]:
    """Declare every alias the config references (file refs fail closed without one)."""
    return secrets.openclaw_providers(refs, runtime.secrets_dir)


def channel_config(ch: Channel) -> dict[str, Any]:
    conf: dict[str, Any] = {"enabled": True, "dmPolicy": ch.dm_policy}
    if ch.allow_from:
        conf["allowFrom"] = list(ch.allow_from)
    if ch.group_policy is not None:
        conf["groupPolicy"] = ch.group_policy
    for field, key in CHANNEL_SECRET_KEYS:
        ref = getattr(ch, field)
        if ref is not None:
            conf[key] = secret(ref)
    for field, key in CHANNEL_SETTING_KEYS:
        value = getattr(ch, field)
        if value is not None:
            conf[key] = value
    return conf


def exposure(c: CustomerPlan, runtime: OpenClawRuntime) -> dict[str, Any]:
    """Bind and proxy trust by how the host exposes the gateway.

    Bronze runs in a container on a shared host and Platinum in a pod: the
    gateway must listen on the container/pod interface ("lan"; loopback would
    be unreachable through the bridge/service). Silver and Gold hosts run it
    behind the host's own TLS reverse proxy: loopback only. In each case the
    proxy's source addresses are trusted for forwarded client addresses.
    """
    if c.kubernetes:
        conf: dict[str, Any] = {"bind": "lan", "trustedProxies": list(runtime.proxies_kubernetes)}
    elif c.shared:
        conf = {"bind": "lan", "trustedProxies": list(runtime.shared_proxies(c.tier.spec.hosting.container_runtime))}
    else:
        conf = {"bind": "loopback", "trustedProxies": list(runtime.proxies_host)}
    if c.custom_domain:
        origin = f"https://{c.custom_domain}"
        if c.public_origin:          # not in every release's schema (clawtex.yaml lts.gatewayPublicOrigin)
            conf["publicOrigin"] = origin
        conf["controlUi"] = {"allowedOrigins": [origin]}
    return conf


def gateway_config(c: CustomerPlan, runtime: OpenClawRuntime) -> dict[str, Any]:
    return {
        "mode": "local",
        "port": runtime.gateway_port,
        **exposure(c, runtime),
        "auth": {"mode": "token", "token": secret(GATEWAY_TOKEN)},
        # Hot-apply safe edits, restart for the rest: Ansible only replaces the file.
        "reload": {"mode": "hybrid"},
    }


# Providers whose models OpenClaw may run on a runtime from a plugin we do not
# ship: with the runtime unset, an `openai/*` model lets the gateway pick the
# Codex app-server runtime and install @openclaw/codex from npm at boot (seen
# live: "Failed to install missing configured plugin codex"). Our customers use
# API keys, so their turns stay on OpenClaw's own runtime (OpenClaw docs
# providers/openai/runtimes.md: an explicit agentRuntime.id "openclaw" keeps a
# Codex-eligible route on OpenClaw; concepts/agent-runtimes.md for the key).
PINNED_RUNTIME_PROVIDERS = ("openai",)


def agent_defaults(c: CustomerPlan, runtime: OpenClawRuntime) -> dict[str, Any]:
    model: dict[str, Any] = {"primary": c.model.primary}
    if c.model.fallbacks:
        model["fallbacks"] = list(c.model.fallbacks)
    out: dict[str, Any] = {"workspace": runtime.workspace_dir, "model": model}
    pinned = sorted({ref for ref in (c.model.primary, *c.model.fallbacks)
                     if ref.split("/", 1)[0] in PINNED_RUNTIME_PROVIDERS})
    if pinned:
        out["models"] = {ref: {"agentRuntime": {"id": "openclaw"}} for ref in pinned}
    return out


def model_provider(e: ModelEndpoint) -> dict[str, Any]:
    return {"baseUrl": e.base_url, "api": e.api, "apiKey": secret(e.api_key),
            "models": [{"id": m, "name": m} for m in e.models]}


def skills_config(c: CustomerPlan, runtime: OpenClawRuntime) -> dict[str, Any]:
    """Standard skills are OpenClaw's bundled ones; custom and integration skills
    are checked out by Ansible under skills_dir/<name> (Silver+ / Gold+, checked at validate)."""
    standard = sorted(s.name for s in c.skills if s.kind == "standard")
    conf: dict[str, Any] = {"allowBundled": standard}
    if any(s.kind != "standard" for s in c.skills):
        conf["load"] = {"extraDirs": [runtime.skills_dir], "watch": False}
    conf["entries"] = {s.name: {"enabled": True} for s in sorted(c.skills, key=lambda s: s.name)}
    return conf


def logging_config(runtime: OpenClawRuntime) -> dict[str, Any]:
    # A fixed path (not the dated default) keeps one file for the Wazuh agent;
    # OpenClaw writes it as JSONL and rotates it to .1-.5 at maxFileBytes.
    return {"level": "info", "file": runtime.log_file}


def plugins_config(c: CustomerPlan, runtime: OpenClawRuntime) -> dict[str, Any] | None:
    """Explicit trust for the external channel plugins this customer's channels need.

    OpenClaw starts a bundled channel plugin (telegram) when its channel is
    configured, but refuses an external one (discord, msteams, signal, slack,
    whatsapp: npm @openclaw/<id>) with `channels.<id>: channel is configured,
    but external plugin "<id>" is installed without explicit trust. Add
    plugins.entries.<id>.enabled=true.` (openclaw 2026.9.6
    dist/channel-plugin-blockers-*.mjs; `openclaw config validate` does not
    report it, the gateway does). Which channels are external is data:
    clawtex.yaml spec.openclaw.channelPlugins / bundledChannels.
    """
    external = dict(runtime.channel_plugins)
    used = sorted(ch.type for ch in c.channels if ch.type in external)
    if not used:
        return None
    return {"entries": {cid: {"enabled": True} for cid in used}}


def referenced_secrets(c: CustomerPlan) -> list[SecretRef]:
    return [GATEWAY_TOKEN, *c.secret_refs]


# OpenClaw's default agent (every channel routes to it unless bindings say otherwise).
DEFAULT_AGENT = "main"


def white_label_identity(c: CustomerPlan) -> tuple[dict[str, Any], dict[str, Any]]:
    """White-label: the assistant introduces itself by the customer's brand
    (agents.entries.<id>.identity.name, openclaw 2026.9.6 config schema: identity
    {name, theme, emoji, avatar}) and the Control UI takes the brand's accent
    (ui.seamColor). Without branding the customer's display name is the name."""
    name = c.branding.assistant_name if c.branding else c.display_name
    ui = {"seamColor": c.branding.accent_color} if c.branding and c.branding.accent_color else {}
    identity = {"identity": {"name": name}}
    if c.agent_settings == "list":          # older releases (clawtex.yaml lts.agentSettings)
        return {"list": [{"id": DEFAULT_AGENT, **identity}]}, ui
    return {"entries": {DEFAULT_AGENT: identity}}, ui


def openclaw_config(c: CustomerPlan, plan: FleetPlan) -> dict[str, Any]:
    runtime = plan.runtime
    config: dict[str, Any] = {
        "gateway": gateway_config(c, runtime),
        "secrets": {"providers": secret_providers(referenced_secrets(c), runtime)},
        "agents": {"defaults": agent_defaults(c, runtime)},
        "channels": {ch.type: channel_config(ch) for ch in sorted(c.channels, key=lambda ch: ch.type)},
        "skills": skills_config(c, runtime),
        "logging": logging_config(runtime),
        # A customer's assistant talks to many people: one session per sender and
        # channel, so no user sees another's context (OpenClaw docs
        # gateway/config-agents/sessions.md; `openclaw doctor --lint` reports the
        # default "main" scope as channels.dm.session_collision).
        "session": {"dmScope": "per-channel-peer"},
    }
    plugins = plugins_config(c, runtime)
    if plugins:
        config["plugins"] = plugins
    if c.white_label:
        agents, ui = white_label_identity(c)
        config["agents"].update(agents)
        if ui:
            config["ui"] = ui
    if c.model_endpoints:
        config["models"] = {"mode": "merge",
                            "providers": {e.name: model_provider(e) for e in sorted(c.model_endpoints, key=lambda e: e.name)}}
    return config


def render(plan: FleetPlan) -> dict[str, bytes]:
    return {f"openclaw/{c.id}/openclaw.json": dump_json(openclaw_config(c, plan)) for c in plan.customers}
