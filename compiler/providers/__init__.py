"""Cloud providers as plug-ins: one module per provider, registered here.

Adding a provider touches only its module (compiler/providers/<name>.py, a
`PLUGIN = <ProviderPlugin subclass>()`), one line below, its data in
tiers/providers.yaml (+ facts in tiers/provider-facts.md) and its tests. The
compile-time catalog checks are in compiler/providers/catalog.py."""
from __future__ import annotations

from . import digitalocean, hetzner, vultr
from .base import ProviderPlugin

PLUGINS: dict[str, ProviderPlugin] = {m.PLUGIN.name: m.PLUGIN for m in (hetzner, digitalocean, vultr)}
PROVIDER_NAMES: tuple[str, ...] = tuple(PLUGINS)
# Providers whose servers share a per-region private network account-wide (ProviderPlugin.region_network_shared).
SHARED_NETWORK_PROVIDERS: tuple[str, ...] = tuple(n for n, p in PLUGINS.items() if p.region_network_shared)


def plugin(name: str) -> ProviderPlugin:
    return PLUGINS[name]
