"""Stage 3: the fleet plan, a pure model of everything to run. No I/O.

Every target renders from this model and nothing else, so the targets agree
on host names, stacks, paths and labels without importing each other.
"""
from __future__ import annotations

import zlib
from datetime import date, timedelta
from decimal import Decimal
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Optional

from .diagnostics import CompileError, Diagnostic
from .models import (Backups, Branding, Channel, Contact, Database, ModelChoice, ModelEndpoint, Notifications, Paging, ServerPlan,
                     ProviderCatalog, SCAN_DAYS, SecretRef, Settings, Skill, Tier, release_channel)
from .models import SloWindows, duration_seconds
from .providers import plugin
from .providers.base import ROLE_K8S, ROLE_WAZUH, cluster_name, node_pool_tag
from .placement import Tenant, allocate_blocks, host_capacity, place
from .previous import INVENTORY_FILE, PLACEMENT_FILE, WAZUH_BLOCKS_FILE  # noqa: F401 (published to the targets that write them)
from .validate import Inputs

# Host roles. A shared Bronze host has role shared_bronze; the server size it gets is
# the catalog plan `shared_host` (providers.catalog.ROLE_SHARED_HOST).
ROLE_OPENCLAW = "openclaw"
ROLE_SHARED_BRONZE = "shared_bronze"

# Wazuh custom rule ids (100000-120000): the first block of 100 holds the fleet's
# rules, then one block of WAZUH_BLOCK_SIZE per SIEM customer, sticky across
# compiles through a committed lock file.
WAZUH_FLEET_RULES = 100000
WAZUH_CUSTOMER_RULES = 100100
WAZUH_RULES_END = 120000
WAZUH_BLOCK_SIZE = 20


@dataclass(frozen=True)
class HostPlan:
    name: str
    role: str
    provider: str
    region: str
    size: ServerPlan
    stack: str
    tier: str
    customer: Optional[str] = None          # None for shared hosts
    tenants: tuple[str, ...] = ()           # customer ids on a shared host
    slots: tuple[int, ...] = ()             # each tenant's sticky slot on the host (its port), same order
    volume_gb: int = 0                      # attached data volume (0: none)
    running: bool = True                    # suspended customers keep data, stop compute
    container_runtime: Optional[str] = None  # shared hosts: the tier's hosting.containerRuntime
    nodes: int = 1                          # a managed cluster (ROLE_K8S): its node floor, billed at `size` each


@dataclass(frozen=True)
class StackPlan:
    name: str
    provider: str
    kind: str                               # dedicated | shared | multi-region
    state_key: str
    customers: tuple[str, ...]
    hosts: tuple[HostPlan, ...]


@dataclass(frozen=True)
class OpenClawRuntime:
    """Paths and ports every target must agree on: one source of truth."""

    version: str
    node_version: str
    gateway_port: int
    health_path: str
    log_file: str
    config_dir: str
    workspace_dir: str
    skills_dir: str
    log_format: str = "jsonl"
    secrets_dir: str = "/etc/openclaw/secrets"
    proxies_host: tuple[str, ...] = ("127.0.0.1",)          # gateway.trustedProxies per hosting model
    # Shared hosts: per container runtime, ((runtime, (addresses...)), ...), sorted.
    proxies_shared: tuple[tuple[str, tuple[str, ...]], ...] = (("docker", ("172.17.0.1",)), ("podman", ("10.0.2.2",)))
    proxies_kubernetes: tuple[str, ...] = ("10.42.0.0/16",)
    ready_path: str = "/readyz"
    state_dir: str = "/var/lib/openclaw/.openclaw"
    bundled_channels: tuple[str, ...] = ("telegram",)
    channel_plugins: tuple[tuple[str, str], ...] = ()          # (channel id, pinned npm version), sorted

    def shared_proxies(self, container_runtime: str) -> tuple[str, ...]:
        """Where a shared host's nginx reaches a tenant container run by this runtime."""
        return dict(self.proxies_shared)[container_runtime]


# Grafana dashboards (targets/grafana.py; the handoff and welcome email link a customer's).
FLEET_DASHBOARD_UIDS = ("clawtex-fleet", "clawtex-kpis")


def customer_dashboard_uid(cid: str) -> str:
    """A customer's own dashboard: its id (at most 40 characters, Grafana's uid limit), so the
    URL white-label customers see names no operator. Fleet uids are never a customer's."""
    if cid in FLEET_DASHBOARD_UIDS:
        raise ValueError(f"customer id '{cid}' is a fleet dashboard's uid; choose another id")
    return cid


# The reverse proxy in front of every non-Kubernetes gateway (nginx, Ansible
# openclaw/tls roles): plain HTTP on every gateway host, TLS where the customer
# has its own domain. Bronze tenants share a host and are routed by path.
PROXY_HTTP_PORT = 80
# Ports Prometheus scrapes on every fleet host (generated/prometheus/targets/node.json). The
# cloud firewalls (each provider plug-in) and UFW (ansible hardening) open exactly these, from
# plan.scrape_sources (clawtex.yaml ops.prometheus) only. The blackbox probes go through the
# public proxy ports above, which are open to everyone anyway.
NODE_EXPORTER_PORT = 9100
# Where a backed-up host's backup script writes its database dumps before the snapshot (pg_dump,
# mongodump): published to every host as the group var `backup_dump_dir` (targets/ansible.py); the
# backup role writes and mounts it, host_vars `backup_paths` snapshot it, the DR drill
# (compiler/business/drill.py) clears and restores from it. Written here only.
BACKUP_DUMP_DIR = "/var/backups/clawtex/db"
SCRAPE_PORTS = (NODE_EXPORTER_PORT,)
PROXY_HTTPS_PORT = 443
# The DNS label under a provider's fleet zone that holds hosts' private (VPC) addresses:
# `<host>.vpc.<zone>`, written by the stack that owns the host (ScrapeTarget.record).
PRIVATE_DNS_LABEL = "vpc"


@dataclass(frozen=True)
class ScrapeTarget:
    """How the ops Prometheus reaches one host's exporters, computed once (FleetPlan.scrape_target)
    and read by the Prometheus targets (node.json), the cloud firewall, the DNS record of a
    private address and UFW; tests/test_scrape_firewalls.py joins them.

    Public: `address` is the host name and the sources are ops.prometheus.sourceCidrs. Private
    (the ops host on the same shared region network, provider-facts row 39): `address` is
    `<record>.<zone>`, an A record of the host's private address, and the sources are
    ops.prometheus.privateNetwork.sourceCidrs only."""
    host: str
    address: str
    sources: tuple[str, ...]
    private: bool = False
    record: Optional[str] = None            # private: the record's name inside `zone`
    zone: Optional[str] = None

    def target(self, port: int) -> str:
        return f"{self.address}:{port}"


@dataclass(frozen=True)
class NodePoolScrape:
    """How the ops Prometheus finds and reaches the nodes of one DOKS cluster (FleetPlan.node_pool_scrape).

    The nodes come and go with the autoscaler and have names DOKS picks, so Prometheus discovers
    them (the provider's Prometheus service discovery, kept by `tag`) instead of a target list: private when the ops
    host is in the cluster's region network (the cluster is in the region's default VPC), else public.
    The cloud firewall of the cluster's nodes opens SCRAPE_PORTS from `sources`."""
    customer: str
    tier: str
    provider: str
    region: str
    tag: str
    private: bool
    sources: tuple[str, ...]


def tenant_prefix(cid: str) -> str:
    """The shared-host proxy location of a Bronze tenant (nginx strips it before the gateway)."""
    return f"/{cid}/"


@dataclass(frozen=True)
class Endpoint:
    """Where a customer's gateway health is reached from outside: computed once
    (CustomerPlan.probe) and read by the Prometheus probe targets and the proxy's
    listening facts."""
    scheme: str
    host: str
    port: int
    path: str

    @property
    def url(self) -> str:
        default = {"http": PROXY_HTTP_PORT, "https": PROXY_HTTPS_PORT}[self.scheme]
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}{self.path}"


def probe_endpoint(cid: str, tier: Tier, custom_domain: Optional[str], host: str, health_path: str) -> Endpoint:
    """TLS on the customer's domain where its tier grants one (tls role, or
    cert-manager on Platinum); otherwise the host's plain-HTTP proxy, which
    routes a shared host's tenants by path prefix."""
    if tier.spec.custom_domain and custom_domain:
        return Endpoint("https", custom_domain, PROXY_HTTPS_PORT, health_path)
    if tier.spec.hosting.model == "shared":
        return Endpoint("http", host, PROXY_HTTP_PORT, tenant_prefix(cid).rstrip("/") + health_path)
    return Endpoint("http", host, PROXY_HTTP_PORT, health_path)


# Monitoring names: the Prometheus rules define these alerts and recorded
# series; Alertmanager routes and inhibits on them, Grafana queries them.
# Published here because targets never import each other.
SEVERITY_PAGE = "page"
SEVERITY_TICKET = "ticket"
ALERT_BURN_FAST = "OpenClawErrorBudgetBurnFast"
ALERT_BURN_SLOW = "OpenClawErrorBudgetBurnSlow"
ALERT_HOST_DOWN = "HostDown"
ALERT_DISK = "DiskSpaceHigh"
ALERT_MEMORY = "MemoryPressure"
ALERT_BACKUP = "BackupStale"
ALERT_TLS_EXPIRY = "TLSCertificateExpiring"
ALERT_CHANNEL = "ChannelDisconnected"
# Live but not ready (a configured channel not running, secrets degraded): non-paging.
ALERT_NOT_READY = "OpenClawNotReady"
# Alerts a down host causes anyway (inhibited by ALERT_HOST_DOWN).
SYMPTOM_ALERTS = (ALERT_BURN_FAST, ALERT_BURN_SLOW, ALERT_DISK, ALERT_MEMORY, ALERT_BACKUP, ALERT_TLS_EXPIRY,
                  ALERT_CHANNEL, ALERT_NOT_READY)
SERIES_SLI = "clawtex:probe_error:ratio_rate"                 # + window, e.g. ...ratio_rate5m
SERIES_CUSTOMER_BUDGET = "clawtex:customer_error_budget:ratio"


@dataclass(frozen=True)
class BurnAlert:
    """One multiwindow burn-rate alert: it fires when any (long, short, factor)
    pair has both windows burning faster than factor x the error budget."""
    name: str
    severity: str
    windows: tuple[tuple[str, str, float], ...]


@dataclass(frozen=True)
class SloPlan:
    """The SLO windows of tiers/slo-windows.yaml, as the Prometheus rules and the
    Grafana dashboards read them."""
    period: str                         # the SLO period: attainment and budget are over this window
    sli_window: str                     # the SLI recorded from probes; every longer window averages it
    recorded_windows: tuple[str, ...]   # longer windows recorded from sli_window, shortest first (period last)
    burn_alerts: tuple[BurnAlert, ...]  # page first

    @property
    def period_days(self) -> int:
        return duration_seconds(self.period) // 86400

    @property
    def burn_windows(self) -> tuple[str, ...]:
        """The SLI window and every window a burn alert reads as its long one, shortest first."""
        longs = {long for a in self.burn_alerts for long, _, _ in a.windows}
        return (self.sli_window, *sorted(longs, key=duration_seconds))


def burn_factor(error_budget_percent: float, period: str, long_window: str) -> float:
    """Burn rate at which `error_budget_percent` of the period's budget goes in `long_window`."""
    factor = round(error_budget_percent / 100 * duration_seconds(period) / duration_seconds(long_window), 6)
    return int(factor) if factor == int(factor) else factor


def slo_plan(windows: SloWindows) -> SloPlan:
    s = windows.spec
    alerts = tuple(BurnAlert(name, severity, tuple((w.long_window, w.short_window,
                                                    burn_factor(w.error_budget_percent, s.slo_period, w.long_window))
                                                   for w in (pair.quick, pair.slow)))
                   for name, severity, pair in ((ALERT_BURN_FAST, SEVERITY_PAGE, s.page),
                                                (ALERT_BURN_SLOW, SEVERITY_TICKET, s.ticket)))
    used = {w for a in alerts for long, short, _ in a.windows for w in (long, short)} | {s.slo_period}
    by_length = sorted(used, key=duration_seconds)
    return SloPlan(s.slo_period, by_length[0], tuple(by_length[1:]), alerts)


@dataclass(frozen=True)
class ScanSchedule:
    """When a customer's vulnerability scan runs, in the two forms its consumers read."""
    rrule: str              # Greenbone schedule (generated/openvas/targets.json)
    on_calendar: str        # the systemd timer that starts the scan (Ansible openvas role)


@dataclass(frozen=True)
class BackupTarget:
    """Where a customer's restic repository lives: one fact for Terraform (the
    bucket or Storage Box it creates), Ansible (where the backup role writes)
    and the cost model (what it charges)."""
    kind: str               # s3 | sftp
    name: str               # S3 bucket, or Storage Box name (sftp)
    region: str             # provider region of the bucket / box location
    endpoint: Optional[str] # S3 endpoint URL; None for sftp (host known after apply: Terraform output)
    resource: str           # Terraform resource name in the customer's stack (backup, backup_<region>)
    copy: bool = False      # the cross-region copy (restic copy from the primary)

    @property
    def output(self) -> str:
        """Terraform output of the customer's stack naming the host (sftp) or bucket (s3)."""
        return f"{self.resource}_endpoint"

    def credential_outputs(self) -> dict[str, str]:
        """The stack outputs that carry this destination's credentials, by what the backup
        role uses them for: one definition for the provider plug-ins that declare them and the
        Ansible host vars that name them (the role reads clawtex_tf_outputs[stack][name]).
        sftp: the box's host, user and the private key it trusts. s3: the key of this bucket
        only, or of the subscription holding this bucket (whichever the provider plug-in
        creates), never an account-wide key."""
        if self.kind == "sftp":
            return {"host": self.output, "user": f"{self.resource}_sftp_user", "key": f"{self.resource}_sftp_key"}
        return {"access_key": f"{self.resource}_s3_access_key", "secret_key": f"{self.resource}_s3_secret_key"}


@dataclass(frozen=True)
class GatewayLoadBalancer:
    """The regional load balancer in front of a Platinum customer's gateway in one
    region. The cluster's cloud controller creates it for the gateway Service (type
    LoadBalancer, named through the provider's annotation: the Ansible openclaw role's
    manifest); Terraform looks it up by the same name and points the global load
    balancer at `port`/`protocol`. One fact for both."""
    region: str
    name: str
    port: int               # the Service port the load balancer listens on, and the global LB's target
    protocol: str           # what the load balancer speaks to the nodes and the global LB to it
    health_path: str        # the gateway's health endpoint, the load balancer's health check


def gateway_load_balancers(cid: str, regions: tuple[str, ...], tier: Tier, health_path: str) -> tuple[GatewayLoadBalancer, ...]:
    if not tier.spec.kubernetes:
        return ()
    # Plain HTTP inside the provider's network: the regional load balancers carry no
    # certificate; TLS for the customer's name ends at the global entry point.
    return tuple(GatewayLoadBalancer(r, f"{cid}-{r}", PROXY_HTTP_PORT, "http", health_path) for r in regions)


@dataclass(frozen=True)
class CustomerPlan:
    id: str
    display_name: str
    contacts: tuple[Contact, ...]
    tier: Tier
    provider: str
    regions: tuple[str, ...]
    ha_mode: Optional[str]
    status: str
    onboarded_on: str
    monthly_price: Decimal          # USD, exact (compiler/money.py)
    stripe_customer_id: str
    sla_target_percent: float
    sla_is_override: bool
    channels: tuple[Channel, ...]
    model: ModelChoice
    model_endpoints: tuple[ModelEndpoint, ...]
    skills: tuple[Skill, ...]
    custom_domain: Optional[str]
    paging: Optional[Paging]
    notifications: Optional[Notifications]
    databases: tuple[Database, ...]
    compliance: tuple[str, ...]
    white_label: bool
    backups: Optional[Backups]
    stack: str
    hosts: tuple[str, ...]                  # OpenClaw hosts (or the shared host) serving this customer
    wazuh_manager: Optional[str]
    source_file: str
    vulnerability_scan: Optional[ScanSchedule] = None     # Gold+ (tier openvas)
    probe: Optional[Endpoint] = None                      # health through the proxy (probe_endpoint)
    ready_probe: Optional[Endpoint] = None                # readiness (readyPath), same route as probe
    backup_targets: tuple[BackupTarget, ...] = ()           # primary first, then the cross-region copy
    load_balancers: tuple[GatewayLoadBalancer, ...] = ()    # Platinum: one per region, in region order
    # OpenClaw release line (customer spec.releaseChannel, else the tier's default) and its pin in clawtex.yaml.
    release_channel: str = "stable"
    openclaw_version: str = ""
    node_version: str = ""
    public_origin: bool = True          # the release's config has gateway.publicOrigin
    agent_settings: str = "entries"     # agents.entries.<id> or agents.list[] in the release's config
    branding: Optional[Branding] = None     # white-label identity (customer spec.branding)

    @property
    def tier_name(self) -> str:
        return self.tier.name

    @property
    def shared(self) -> bool:
        return self.tier.spec.hosting.model == "shared"

    @property
    def wazuh(self) -> bool:
        return self.tier.spec.siem.wazuh

    @property
    def kubernetes(self) -> bool:
        return self.tier.spec.kubernetes

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def secret_refs(self) -> tuple[SecretRef, ...]:
        refs: list[SecretRef] = []
        for ch in self.channels:
            refs += [r for r in (ch.token, ch.bot_token, ch.app_token, ch.app_password) if r is not None]
        refs += [e.api_key for e in self.model_endpoints]
        return tuple(refs)


@dataclass(frozen=True)
class DecommissionRecord:
    """A departed customer (status: decommissioned): who approved, and until when its backups
    are kept - the tier's promised retention after the decommission date (issue 24 item 5).
    The backup storage is not destroyed with the stack (scripts/gitops/apply-stack.sh)."""
    customer: str
    tier: str
    provider: str
    approved_by: str
    date: str
    retention_days: int                         # 0: the tier keeps no backups
    backups_kept_until: Optional[str]           # date + retention_days; None without backups
    backups: tuple[BackupTarget, ...] = ()


def decommission_records(inputs: Inputs) -> tuple[DecommissionRecord, ...]:
    out = []
    for lc in inputs.customers:
        spec = lc.model.spec
        if spec.status != "decommissioned" or spec.decommission is None or spec.tier not in inputs.tiers:
            continue
        approved_on = spec.decommission.date
        if approved_on is None:     # a request nobody approved yet: the guard holds it, nothing to record
            continue
        backups = inputs.tiers[spec.tier].spec.backups
        days = backups.retention_days if backups else 0
        until = (approved_on + timedelta(days=days)).isoformat() if backups else None
        out.append(DecommissionRecord(lc.model.metadata.id, spec.tier, spec.provider, spec.decommission.approved_by,
                                      approved_on.isoformat(), days, until,
                                      backup_targets(lc.model.metadata.id, spec.provider, tuple(spec.regions), backups,
                                                     inputs.catalog)))
    return tuple(sorted(out, key=lambda r: r.customer))


@dataclass(frozen=True)
class FleetPlan:
    settings: Settings
    catalog: ProviderCatalog
    tiers: dict[str, Tier]
    runtime: OpenClawRuntime
    customers: tuple[CustomerPlan, ...]
    stacks: tuple[StackPlan, ...]
    slo: SloPlan
    placement: dict[str, list[str]] = field(default_factory=dict)
    wazuh_rule_blocks: dict[str, int] = field(default_factory=dict)   # customer -> first rule id
    decommissioned: tuple[DecommissionRecord, ...] = ()

    @property
    def scrape_sources(self) -> list[str]:
        """Where Prometheus scrapes from over the public network (ops.prometheus.sourceCidrs)."""
        return list(self.settings.spec.ops.prometheus.source_cidrs)

    def scrape_target(self, host: HostPlan) -> ScrapeTarget:
        """The one address and source list of every SCRAPE_PORTS scrape of `host`. Private when the
        ops host shares the host's region network (ops.prometheus.privateNetwork: same provider and
        region: ProviderPlugin.region_network_shared, provider-facts row 39) and the host is a server whose
        record its stack can write; DOKS nodes (no server resource of ours) stay public."""
        prom = self.settings.spec.ops.prometheus
        net = prom.private_network
        if host.role == ROLE_K8S:
            # discovered, never scraped by a name of ours (prometheus.yml job node-k8s-<provider>); no record
            pool = self.node_pool_scrape(host.customer or host.stack, host.region)
            return ScrapeTarget(host.name, "", pool.sources, pool.private)
        if net and host.provider == net.provider and host.region == net.region:
            zone = self.catalog.spec[host.provider].dns_zone
            record = f"{host.name}.{PRIVATE_DNS_LABEL}"
            return ScrapeTarget(host.name, f"{record}.{zone}", tuple(net.source_cidrs), True, record, zone)
        return ScrapeTarget(host.name, host.name, tuple(prom.source_cidrs))

    def node_pool_scrape(self, cid: str, region: str) -> NodePoolScrape:
        """The discovery and firewall sources of customer `cid`'s DOKS nodes in `region`: over the
        region's default VPC when ops.prometheus.privateNetwork is that provider and region (row 39:
        a DOKS cluster without vpc_uuid is in the region's default VPC), else the public path."""
        prom = self.settings.spec.ops.prometheus
        net = prom.private_network
        c = self.customer(cid)
        private = bool(net and c.provider == net.provider and region == net.region)
        sources = tuple(net.source_cidrs) if private else tuple(prom.source_cidrs)
        return NodePoolScrape(cid, c.tier_name, c.provider, region, node_pool_tag(cid, region), private, sources)

    @cached_property
    def node_pools(self) -> tuple[NodePoolScrape, ...]:
        """Every running DOKS cluster's node pool scrape, by customer then region."""
        seen = sorted({(h.customer, h.region) for h in self.hosts if h.role == ROLE_K8S and h.running and h.customer})
        return tuple(self.node_pool_scrape(cid, region) for cid, region in seen)

    def wazuh_rule_base(self, cid: str) -> int:
        return self.wazuh_rule_blocks[cid]

    @cached_property
    def hosts(self) -> tuple[HostPlan, ...]:
        return tuple(h for s in self.stacks for h in s.hosts)

    # Lookups by id: targets ask once per host or customer, so a scan would be quadratic.
    @cached_property
    def _customers_by_id(self) -> dict[str, CustomerPlan]:
        return {c.id: c for c in self.customers}

    @cached_property
    def _hosts_by_name(self) -> dict[str, HostPlan]:
        return {h.name: h for h in self.hosts}

    @cached_property
    def _customers_by_host(self) -> dict[str, list[CustomerPlan]]:
        out: dict[str, list[CustomerPlan]] = {}
        for c in self.customers:
            for name in c.hosts:
                out.setdefault(name, []).append(c)
        return out

    def customer(self, cid: str) -> CustomerPlan:
        return self._customers_by_id[cid]

    def host(self, name: str) -> HostPlan:
        return self._hosts_by_name[name]

    def server_names(self, c: CustomerPlan) -> list[str]:
        """The customer's gateway hosts that are servers with a name that resolves (OpenVAS scans
        them): a managed cluster (ROLE_K8S) is none; its entry is the load balancer's name."""
        return sorted(h for h in c.hosts if self.host(h).role != ROLE_K8S)

    def tiers_by_rank(self) -> list[Tier]:
        return sorted(self.tiers.values(), key=lambda t: t.spec.rank)

    def host_release(self, name: str) -> Optional[tuple[str, str, str, dict[str, str]]]:
        """(release channel, OpenClaw version, Node.js version, channel plugins) a gateway host
        installs: its customers' release. None for a host without OpenClaw customers."""
        channels = {c.release_channel for c in self._customers_by_host.get(name, ())}
        if not channels:
            return None
        if len(channels) > 1:      # tiers.releaseChannels keeps shared (Bronze) hosts on one line
            raise CompileError([Diagnostic("generated", 0, 0, "host", f"host {name} would run OpenClaw release "
                                           f"channels {sorted(channels)}; one install per host")])
        (channel,) = channels
        version, node, plugins = self.settings.spec.openclaw.release(channel)
        return channel, version, node, plugins


def build_plan(inputs: Inputs) -> FleetPlan:
    settings, catalog, tiers = inputs.settings, inputs.catalog, inputs.tiers
    live = [lc for lc in inputs.customers if lc.model.spec.status != "decommissioned"]
    placement = _placement(live, tiers, catalog, inputs.previous.placement)
    host_of = {cid: host for host, ids in placement.items() for cid in ids}

    customers: list[CustomerPlan] = []
    stacks: list[StackPlan] = []
    for lc in live:
        c = lc.model
        tier = tiers[c.spec.tier]
        if tier.spec.hosting.model == "shared":
            customers.append(_customer_plan(lc, tier, stack=host_of[c.metadata.id], hosts=(host_of[c.metadata.id],),
                                            wazuh=None, health_path=settings.spec.openclaw.health_path, catalog=catalog,
                                        ready_path=settings.spec.openclaw.ready_path))
            continue
        stack = _dedicated_stack(c.metadata.id, c.spec.provider, c.spec.regions, tier, catalog, settings,
                                 running=c.spec.status == "active")
        stacks.append(stack)
        oc_hosts = tuple(h.name for h in stack.hosts if h.role in (ROLE_OPENCLAW, ROLE_K8S))
        wazuh = next((h.name for h in stack.hosts if h.role == ROLE_WAZUH), None)
        customers.append(_customer_plan(lc, tier, stack=stack.name, hosts=oc_hosts, wazuh=wazuh,
                                        health_path=settings.spec.openclaw.health_path, catalog=catalog,
                                        ready_path=settings.spec.openclaw.ready_path))

    customers = [_with_release(c, live_model, settings) for c, live_model in zip(customers, (lc.model for lc in live))]
    stacks += _shared_stacks(placement, customers, tiers, catalog, settings, inputs.previous.placement)
    o = settings.spec.openclaw
    runtime = OpenClawRuntime(o.version, o.node_version, o.gateway_port, o.health_path, o.log_file,
                              o.config_dir, o.workspace_dir, o.skills_dir, o.log_format, o.secrets_dir,
                              tuple(o.trusted_proxies.host),
                              tuple((k, tuple(v)) for k, v in sorted(o.trusted_proxies.shared.model_dump().items())),
                              tuple(o.trusted_proxies.kubernetes), o.ready_path, o.state_dir,
                              tuple(o.bundled_channels), tuple(sorted(o.channel_plugins.items())))
    return FleetPlan(settings, catalog, tiers, runtime, tuple(customers),
                     tuple(sorted(stacks, key=lambda s: s.name)), slo_plan(inputs.slo_windows), placement,
                     _wazuh_rule_blocks(customers, inputs.previous.wazuh_blocks), decommission_records(inputs))


def _wazuh_rule_blocks(customers: list[CustomerPlan], previous: dict) -> dict[str, int]:
    """First custom rule id of each block, oldest customers first.

    Only customers with rules of their own (a compliance overlay) hold a block:
    Wazuh's custom range fits 995 blocks, fewer than a large fleet's Gold+ count."""
    owners = sorted((c for c in customers if c.wazuh and c.compliance), key=lambda c: (c.onboarded_on, c.id))
    capacity = (WAZUH_RULES_END - WAZUH_CUSTOMER_RULES) // WAZUH_BLOCK_SIZE
    try:
        blocks = allocate_blocks([c.id for c in owners], previous, capacity)
    except ValueError:
        raise CompileError([Diagnostic(
            "customers/", 0, 0, "", f"{len(owners)} customers need a Wazuh rule-id block of {WAZUH_BLOCK_SIZE}, "
            f"and ids {WAZUH_CUSTOMER_RULES}-{WAZUH_RULES_END - 1} hold {capacity}; shrink the block size or move "
            "compliance overlays to per-manager ids")]) from None
    return {cid: WAZUH_CUSTOMER_RULES + index * WAZUH_BLOCK_SIZE for cid, index in blocks.items()}


def _placement(live, tiers, catalog, previous) -> dict[str, list[str]]:
    tenants: list[Tenant] = []
    capacity: dict[tuple[str, str], int] = {}
    for lc in live:
        spec = lc.model.spec
        tier = tiers[spec.tier]
        if tier.spec.hosting.model != "shared":
            continue
        region = spec.regions[0]
        tenants.append(Tenant(lc.model.metadata.id, spec.provider, region, spec.onboarded_on.isoformat()))
        capacity[(spec.provider, region)] = host_capacity(tier, catalog.spec[spec.provider].plan("shared_host", region))
    previous_hosts = previous.get("hosts", {}) if isinstance(previous, dict) else {}
    prev = {h: list(v.get("tenants", [])) for h, v in previous_hosts.items() if isinstance(v, dict)}
    return place(tenants, capacity, prev)


def state_key(settings: Settings, stack: str) -> str:
    return f"{settings.spec.terraform_state.key_prefix}/{stack}/terraform.tfstate"


def _dedicated_stack(cid, provider, regions, tier: Tier, catalog, settings, running: bool) -> StackPlan:
    info = catalog.spec[provider]
    disk = tier.spec.resources.disk_gb
    hosts: list[HostPlan] = []
    if tier.spec.kubernetes:
        # One entry per regional cluster, never per node: the autoscaler adds and names the nodes
        # (Prometheus discovers them by their pool tag), nothing logs into one, and Ansible reaches
        # the cluster through its API (the control target of the same name).
        for region in regions:
            hosts.append(HostPlan(cluster_name(cid, region), ROLE_K8S, provider, region, info.plan(tier.name, region), cid, tier.name,
                                  customer=cid, volume_gb=disk, running=running, nodes=tier.spec.hosting.region_nodes))
    else:
        hosts.append(HostPlan(f"{cid}-oc-1", ROLE_OPENCLAW, provider, regions[0], info.plan(tier.name, regions[0]), cid, tier.name,
                              customer=cid, volume_gb=disk, running=running))
    if tier.spec.siem.wazuh:
        hosts.append(HostPlan(f"{cid}-wazuh", ROLE_WAZUH, provider, regions[0], info.plan("wazuh_manager", regions[0]), cid, tier.name,
                              customer=cid, volume_gb=0, running=running))
    kind = "multi-region" if tier.spec.hosting.model == "multi-region" else "dedicated"
    return StackPlan(cid, provider, kind, state_key(settings, cid), (cid,), tuple(hosts))


def _previous_slots(previous, host: str) -> dict[str, int]:
    """A host's tenant -> slot from the committed placement.json: its `slots`, or (a lock
    written before slots were recorded) the tenant's place in `tenants`, which is what
    the ports were then."""
    entry = (previous.get("hosts", {}) if isinstance(previous, dict) else {}).get(host)
    if not isinstance(entry, dict):
        return {}
    if isinstance(entry.get("slots"), dict):
        return {str(k): v for k, v in entry["slots"].items()}
    return {str(cid): i for i, cid in enumerate(entry.get("tenants") or [])}


def _shared_stacks(placement, customers, tiers, catalog, settings, previous=None) -> list[StackPlan]:
    by_id = {c.id: c for c in customers}
    stacks = []
    for host, ids in placement.items():
        first = by_id[ids[0]]
        size = catalog.spec[first.provider].plan("shared_host", first.regions[0])
        # Sized for a full host, not the current tenants: volumes cannot shrink, so a
        # tenant leaving must not make Terraform try.
        capacity = host_capacity(first.tier, size)
        # Slots are sticky like placement: a neighbour leaving never renumbers (re-ports) the others.
        slots = allocate_blocks(list(ids), _previous_slots(previous or {}, host), capacity)
        h = HostPlan(host, ROLE_SHARED_BRONZE, first.provider, first.regions[0], size, host, first.tier_name,
                     tenants=tuple(ids), slots=tuple(slots[cid] for cid in ids), volume_gb=int(first.tier.spec.resources.disk_gb * capacity),
                     container_runtime=first.tier.spec.hosting.container_runtime)
        stacks.append(StackPlan(host, first.provider, "shared", state_key(settings, host), tuple(ids), (h,)))
    return stacks


def backup_targets(cid: str, provider: str, regions: tuple[str, ...], backups: Optional[Backups],
                   catalog: ProviderCatalog) -> tuple[BackupTarget, ...]:
    """The primary repository in the first region, plus a copy in the second when the
    tier copies across regions. Names are the ones the stacks already created
    (renaming a bucket or box replaces it, and prevent_destroy blocks that)."""
    if backups is None:
        return ()
    info = catalog.spec[provider]
    chosen = list(regions[:2]) if backups.cross_region and len(regions) > 1 else [regions[0]]
    out = []
    for index, region in enumerate(chosen):
        resource = "backup" if index == 0 else f"backup_{region}"
        d = plugin(provider).backup_destination(info, cid, region, copy=index > 0)
        out.append(BackupTarget(d.kind, d.name, d.region, d.endpoint, resource, index > 0))
    return tuple(out)


def _with_release(c: CustomerPlan, model, settings: Settings) -> CustomerPlan:
    assert model.metadata.id == c.id
    channel = release_channel(model.spec, c.tier)
    o = settings.spec.openclaw
    version, node, _ = o.release(channel)
    lts = o.lts if channel == "lts" else None
    return replace(c, release_channel=channel, openclaw_version=version, node_version=node,
                   public_origin=lts.gateway_public_origin if lts else True,
                   agent_settings=lts.agent_settings if lts else "entries")


def _customer_plan(lc, tier: Tier, stack: str, hosts: tuple[str, ...], wazuh: Optional[str],
                   health_path: str, catalog: ProviderCatalog, ready_path: str = "/readyz") -> CustomerPlan:
    c = lc.model
    s = c.spec
    sla = s.sla_override_percent if s.sla_override_percent is not None else tier.spec.sla.target_percent
    return CustomerPlan(
        id=c.metadata.id, display_name=c.metadata.display_name, contacts=tuple(c.metadata.contacts), tier=tier,
        provider=s.provider, regions=tuple(s.regions), ha_mode=s.ha_mode, status=s.status,
        onboarded_on=s.onboarded_on.isoformat(), monthly_price=s.billing.monthly_price,
        stripe_customer_id=s.billing.stripe_customer_id, sla_target_percent=sla,
        sla_is_override=s.sla_override_percent is not None, channels=tuple(s.channels), model=s.model,
        model_endpoints=tuple(s.model_endpoints), skills=tuple(s.skills), custom_domain=s.custom_domain,
        paging=s.paging, notifications=s.notifications, databases=tuple(s.databases),
        compliance=tuple(s.compliance), white_label=s.white_label, branding=s.branding, backups=tier.spec.backups, stack=stack,
        hosts=hosts, wazuh_manager=wazuh, source_file=lc.doc.file,
        vulnerability_scan=scan_schedule(c.metadata.id, tier),
        probe=probe_endpoint(c.metadata.id, tier, s.custom_domain, hosts[0], health_path),
        ready_probe=probe_endpoint(c.metadata.id, tier, s.custom_domain, hosts[0], ready_path),
        backup_targets=backup_targets(c.metadata.id, s.provider, tuple(s.regions), tier.spec.backups, catalog),
        load_balancers=gateway_load_balancers(c.metadata.id, tuple(s.regions), tier, health_path),
    )


DEFAULT_SCAN_RRULE = "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2"
SCAN_SPREAD_HOURS = 6


def scan_schedule(cid: str, tier: Tier) -> Optional[ScanSchedule]:
    """The tier's scan rule, its hours moved by a stable per-customer offset (0-5 h)
    so the scanner does not start the whole fleet at once."""
    if not tier.spec.openvas:
        return None
    parts = dict(p.split("=", 1) for p in (tier.spec.openvas_schedule or DEFAULT_SCAN_RRULE).split(";"))
    offset = zlib.crc32(cid.encode()) % SCAN_SPREAD_HOURS
    hours = [(int(h) + offset) % 24 for h in parts.get("BYHOUR", "0").split(",")]
    parts["BYHOUR"] = ",".join(map(str, hours))
    days = (",".join(SCAN_DAYS[d] for d in parts["BYDAY"].split(",")) + " ") if "BYDAY" in parts else ""
    on_calendar = f"{days}*-*-* {','.join(f'{h:02d}' for h in sorted(hours))}:00:00"
    return ScanSchedule(";".join(f"{k}={v}" for k, v in parts.items()), on_calendar)
