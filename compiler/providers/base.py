"""The interface every cloud-provider plug-in implements, and the Terraform
naming helpers the plug-ins share.

A plug-in is one module in compiler/providers/ holding one `ProviderPlugin`
subclass instance named `PLUGIN`; compiler/providers/__init__.py registers it.
Its data (plans per location, regions, prices, backup storage, provider
version) lives in tiers/providers.yaml under the plug-in's `name`; its facts and
their sources in tiers/provider-facts.md. Nothing here imports the rest of the
compiler: models.py reads the registered names from this package.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

# Host roles (plan.py re-exports them: one definition).
ROLE_WAZUH = "wazuh_manager"
ROLE_K8S = "k8s"


def cluster_name(cid: str, region: str) -> str:
    """A customer's managed Kubernetes cluster in `region`: the provider's cluster name and the Ansible
    control target that applies the cluster's manifests through its API (one per cluster, never a
    node: the autoscaler names the nodes, and nothing logs into them)."""
    return f"{cid}-{region}"


def node_pool_tag(cid: str, region: str) -> str:
    """The droplet tag of every node of a customer's DOKS pools in `region` (default and workload
    pool alike): DOKS applies a pool's tags to its worker Droplets and keeps them there
    (docs.digitalocean.com/glossary/node-pool/, tiers/provider-facts.md row 40). Read by the pools
    (digitalocean.py) and Prometheus's droplet discovery (the nodes run no Wazuh agent)."""
    return f"{cid}-{region}-nodes"

PUBLIC_PORTS = ("80", "443")
WAZUH_AGENT_PORTS = "1514-1515"
ANYWHERE = ["0.0.0.0/0", "::/0"]
# Account-wide resources live once, in the provider's fleet stack
# (generated/terraform/fleet-<provider>/), and customer stacks look them up by
# name: the same public key uploaded twice is refused (DigitalOcean answers
# `422 SSH Key is already in use on your account`; hcloud keeps fingerprints
# unique per project, issue 16 item 2). The fleet stack is applied first.
OPS_KEY_NAME = "clawtex-ops"

# Private networks (issue 16 item 13): internal traffic (Wazuh agents 1514-1515, Kubernetes)
# uses the provider's private network; the Ansible firewall role trusts 10.0.0.0/8 as
# "private" (modules/ansible/roles/hardening/defaults/main.yml). Per provider: its module.
PRIVATE_RANGE = "10.0.0.0/16"
PRIVATE_SUBNET = "10.0.1.0/24"


@dataclass(frozen=True)
class BackupDestination:
    """Where one restic repository of a customer lives, as the provider offers it."""
    kind: str                   # s3 | sftp
    name: str                   # bucket, or Storage Box name (sftp)
    region: str                 # bucket region / box location
    endpoint: Optional[str]     # S3 endpoint URL; None for sftp (host known after apply)


# (protocol, port or port range, source CIDRs) - the PR summary's normal form of a rule.
InboundRule = tuple[Optional[str], Optional[str], list[str]]


def declare_provider(b: Any, name: str) -> None:
    """The stack's required provider (source and version pinned in tiers/providers.yaml) and its
    empty provider block (credentials come from the environment: the plug-in's credential_env)."""
    b.stack.add_override(f"terraform.required_providers.{name}",
                         {"source": b.info.terraform_source, "version": b.info.terraform_version})
    b.stack.add_override(f"provider.{name}", [{}])


# hashicorp/random: passwords generated once and kept in state (the Storage Box password,
# issue 25 blocker 1). v3.7.2 (2025-04-22), hashicorp/terraform-provider-random CHANGELOG.md;
# it reads no credentials.
RANDOM_SOURCE, RANDOM_VERSION = "hashicorp/random", "3.7.2"


def declare_random(b: Any) -> None:
    b.stack.add_override("terraform.required_providers.random", {"source": RANDOM_SOURCE, "version": RANDOM_VERSION})
    b.stack.add_override("provider.random", [{}])


# hashicorp/tls: the Storage Box's own SSH key pair, generated once and kept in state (issue 24
# item 2: the key rclone uses is the one the box trusts, and no other host's). ED25519 and
# `private_key_openssh`/`public_key_openssh` since v3.2.0 (hashicorp/terraform-provider-tls
# CHANGELOG.md, "3.2.0 (April 04, 2022)"); 4.1.0: registry.terraform.io/providers/hashicorp/tls/4.1.0
# docs/resources/private_key. It reads no credentials.
TLS_SOURCE, TLS_VERSION = "hashicorp/tls", "4.1.0"


def declare_tls(b: Any) -> None:
    b.stack.add_override("terraform.required_providers.tls", {"source": TLS_SOURCE, "version": TLS_VERSION})
    b.stack.add_override("provider.tls", [{}])


class ProviderPlugin:
    """One cloud provider. Subclasses set the class attributes and implement
    the methods marked abstract; tests/test_provider_plugins.py checks that
    every registered plug-in does, and that the workflows pass its credentials."""

    name: str = ""                          # key in tiers/providers.yaml and customers' spec.provider
    terraform_provider: str = ""            # Terraform provider local name (hcloud, digitalocean, vultr)
    # Environment variables the Terraform provider reads at plan/apply time; every
    # workflow that runs terraform passes exactly these (from repository secrets).
    credential_env: tuple[str, ...] = ()
    # Name servers a customer delegates their custom domain to when the tier's entry point can
    # only get a certificate for a name the provider's DNS serves (Platinum's global load balancer).
    name_servers: tuple[str, ...] = ()
    # Server attributes that force replacement and that Ansible owns after first boot.
    server_type: str = ""
    server_ignore_changes: tuple[str, ...] = ()
    # The server's size attribute when changing it powers the server off (the PR
    # comment flags it as a resize that reboots); "" when a resize is live.
    rebooting_resize: str = ""
    managed_kubernetes: bool = False        # Platinum node pools behind provider load balancers
    # Resource type -> its protection flags that the provider's delete does NOT lift: the
    # apply step lifts them first (compiler/gitops/protection.py), or the API refuses the
    # delete after Terraform destroyed what depends on it (half a stack; issue 25).
    unlifted_protection: dict[str, tuple[str, ...]] = {}
    # Terraform types holding a customer's backups: kept (out of the state, not destroyed) when its
    # stack is destroyed, for the tier's retention (generated/decommissions.json, compiler/gitops/protection.py).
    backup_resource_types: tuple[str, ...] = ()
    # True where every server of the account in a region shares one private network without
    # joining anything (DigitalOcean's default VPC per region): a host of the account in that
    # region reaches them there, so Prometheus may scrape over it (provider-facts row 39).
    # False where each stack's network is its own (hcloud network, Vultr VPC per stack).
    region_network_shared: bool = False
    # The DR drill's scratch copy of a gateway server (compiler/gitops/drill_stack.py): the server's
    # name attributes, its public IPv4 attribute, its attributes that attach production's private
    # network, and its firewall: firewall type -> name attribute, rule types attached to a firewall,
    # firewall type -> the attribute listing the servers it attaches itself to.
    server_name_attrs: tuple[str, ...] = ("name",)
    server_ipv4_attr: str = ""
    server_private_attrs: tuple[str, ...] = ()
    firewall_name_attrs: dict[str, str] = {}
    firewall_rule_types: tuple[str, ...] = ()
    firewall_server_lists: dict[str, str] = {}

    # --- Terraform ---------------------------------------------------------------
    def build_stack(self, b: Any) -> None:
        """Resources of one customer or shared stack (`b`: targets.terraform.StackBuilder)."""
        raise NotImplementedError

    def build_fleet(self, b: Any) -> None:
        """Account-wide resources of the fleet stack, created once (`b`: FleetBuilder)."""
        raise NotImplementedError

    def host_output(self, host: Any) -> str:
        """Name of the stack output holding the address clients use for `host`."""
        if host.role == ROLE_K8S and self.managed_kubernetes:
            return f"{host.region}_lb_ipv4"      # node pools sit behind the regional load balancer
        return f"{resource_id(host)}_ipv4"

    def server_lifecycle(self) -> dict[str, Any]:
        return {"lifecycle": {"ignore_changes": list(self.server_ignore_changes)}}

    # The Service annotation that makes the cloud controller adopt the load balancer
    # Terraform created (id: stack output lb_id_output(region)); "" when none.
    k8s_adopt_annotation: str = ""

    def private_address_output(self, host: Any) -> str:
        """Name of the stack output holding `host`'s address on the stack's private network
        (Wazuh agent -> manager traffic stays off the public address; issue 25)."""
        return f"{resource_id(host)}_private_ipv4"

    def lb_id_output(self, region: str) -> str:
        return f"{region}_lb_id"

    def kubeconfig_output(self, region: str) -> str:
        """The stack output holding the kubeconfig of the customer's cluster in `region` (sensitive)."""
        return f"{region}_kubeconfig"

    # A managed PostgreSQL per customer whose managed-Kubernetes tier declares a postgres database
    # (nothing else runs one in a cluster): only providers that build it set this (validate refuses
    # `databases` elsewhere on such a tier).
    managed_postgres: bool = False

    def database_outputs(self) -> dict[str, str]:
        """libpq's environment variable -> the stack output holding it (the password: sensitive):
        what the customer's database Secret carries (gateway and backup CronJob read it)."""
        return {"PGHOST": "database_host", "PGPORT": "database_port", "PGUSER": "database_user",
                "PGPASSWORD": "database_password"}

    def k8s_service_annotations(self, lb: Any) -> dict[str, str]:
        """Annotations of the gateway Service (type LoadBalancer) that make the provider's
        cloud controller create load balancer `lb` (plan.GatewayLoadBalancer) under its
        name; only providers with managed_kubernetes are asked."""
        raise NotImplementedError

    # --- monitoring ----------------------------------------------------------------
    # True where Prometheus finds the managed-Kubernetes nodes through the provider's API
    # (node_discovery_job); the ops host then needs a token for it (clawtex.yaml
    # ops.prometheus.discoveryTokenRefs.<name>), else `clawtex validate` refuses such customers.
    discovers_k8s_nodes: bool = False

    def node_discovery_job(self, pools: list[Any], token_file: str, port: int) -> dict[str, Any]:
        """The Prometheus scrape config (without job_name and metric relabeling) that finds the
        nodes of `pools` (plan.NodePoolScrape) through the provider's API, authenticated by the
        token in `token_file`, and labels them customer/tier/provider/region/host/role/job like
        node.json; only plug-ins with discovers_k8s_nodes are asked."""
        raise NotImplementedError

    # --- PR summary ----------------------------------------------------------------
    def inbound_rules(self, rtype: str, attrs: dict[str, Any]) -> Optional[list[InboundRule]]:
        """Inbound rules of one firewall resource of this provider; None: not a firewall."""
        raise NotImplementedError

    # --- backups -------------------------------------------------------------------
    def backup_destination(self, info: Any, customer: str, region: str, copy: bool) -> BackupDestination:
        """The primary repository (copy=False, in the customer's first region) or the
        cross-region copy; `info`: the provider's ProviderInfo from tiers/providers.yaml."""
        raise NotImplementedError


def labels(host: Any) -> dict[str, str]:
    out = {"managed-by": "clawtex", "tier": host.tier, "role": host.role.replace("_", "-"), "stack": host.stack}
    if host.customer:
        out["customer"] = host.customer
    return out


def resource_id(host: Any) -> str:
    """Terraform resource name of a host: stable, independent of the stack name."""
    suffix = host.name[len(host.stack) + 1:] if host.name.startswith(host.stack + "-") else "host"
    return suffix.replace("-", "_") or "host"


def s3_endpoint(info: Any, region: str) -> Optional[str]:
    """S3 endpoint of the provider's object storage in `region` (tiers/providers.yaml backupStorage)."""
    storage = info.backup_storage
    if region in storage.endpoints:
        return storage.endpoints[region]
    return storage.endpoint.replace("{region}", region) if storage.endpoint else None
