"""Provider facts checked at compile time, against tiers/providers.yaml.

Each fact the catalog encodes (which plans a location sells, which providers
can run Platinum, where object storage exists) is checked here, at the
customer's file:line, so `terraform apply` never meets a stack the provider
refuses. Sources and dates of the facts: tiers/provider-facts.md."""
from __future__ import annotations

from typing import Iterable

from ..models import ProviderCatalog, Tier
from . import plugin
from .base import ROLE_WAZUH

# The catalog plan key of a shared (Bronze) host, in tiers/providers.yaml `plans`.
ROLE_SHARED_HOST = "shared_host"


def plan_roles(tier: Tier) -> list[str]:
    """Catalog plan keys a customer of `tier` needs in each of its regions."""
    if tier.spec.hosting.model == "shared":
        return [ROLE_SHARED_HOST]
    return [tier.name] + ([ROLE_WAZUH] if tier.spec.siem.wazuh else [])


def region_problems(provider: str, tier: Tier, region: str, catalog: ProviderCatalog, primary: bool) -> Iterable[str]:
    info = catalog.spec[provider]
    for role in plan_roles(tier) if primary or tier.spec.kubernetes else [tier.name]:
        problem = info.plan_problem(provider, role, region)
        if problem:
            yield problem
            continue
        if not tier.spec.resources.vcpu_shared and role == tier.name and not info.plan(role, region).dedicated_vcpu:
            yield f"{tier.name} promises dedicated vCPUs; {provider}'s {info.plan(role, region).slug} in {region} is shared"
    if tier.spec.backups is not None and (primary or tier.spec.backups.cross_region):
        destination = plugin(provider).backup_destination(info, "check", region, copy=not primary)
        if destination.kind == "s3" and destination.endpoint is None:
            yield f"{provider} has no object storage in {region} (backups need one)"


def provider_problems(provider: str, tier: Tier, catalog: ProviderCatalog) -> Iterable[str]:
    info = catalog.spec[provider]
    if tier.spec.kubernetes and not info.platinum:
        yield (f"{provider} cannot run {tier.name}: no managed Kubernetes with DNS failover in clawtex's "
               f"{provider} stacks (tiers/providers.yaml {provider}.platinum)")
    elif tier.spec.kubernetes and plugin(provider).managed_kubernetes and info.kubernetes_default_pool is None:
        yield (f"{provider} cannot run {tier.name}: tiers/providers.yaml {provider}.kubernetesDefaultPool is missing "
               "(the cluster's fixed default pool; its size forces a new cluster, docs/replacement.md)")
