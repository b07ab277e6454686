"""Input models: what a customer, tier, provider catalog and settings file may say.

Pydantic checks shape and types (unknown keys are errors); tier rules that need
several files at once live in compiler.validate. Field names are camelCase in
YAML, like Kubernetes manifests.
"""
from __future__ import annotations

import datetime
import ipaddress
from decimal import Decimal
import re
from typing import Annotated, Literal, Optional, get_args

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints, WithJsonSchema,
                      field_validator, model_validator)
from pydantic.alias_generators import to_camel

from .providers import PROVIDER_NAMES, SHARED_NETWORK_PROVIDERS
from .money import exact
from .versions import check_openclaw_version, check_semver_core

# Ids become file names, Terraform stack names, host names, label values and
# XML attribute text: a lowercase DNS label keeps every target safe.
ID_PATTERN = r"^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$"
RESERVED_IDS = frozenset({
    "all", "default", "fleet", "generated", "localhost", "none", "null", "ops", "schemas",
    "shared", "ungrouped", "bronze", "silver", "gold", "platinum", "wazuh", "prometheus",
    "clawtex-fleet", "clawtex-kpis",        # fleet dashboard uids (plan.FLEET_DASHBOARD_UIDS)
})
# Free text: printable, single line. Escaping per target happens at render time;
# control characters and newlines have no business in a name.
SAFE_TEXT = r"^[^\x00-\x1f\x7f]+$"
# Label-safe: values that reach PromQL/YAML labels and alert routes.
LABEL_SAFE = r"^[A-Za-z0-9][A-Za-z0-9 ._@+#-]*$"
HOSTNAME = r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
ENV_ID = r"^[A-Z][A-Z0-9_]{0,127}$"
SLUG = r"^[a-z][a-z0-9-]{0,62}$"

ChannelType = Literal["discord", "telegram", "whatsapp", "signal", "slack", "msteams"]
# The registered provider plug-ins (compiler/providers/__init__.py), in registration order.
Provider = Literal[PROVIDER_NAMES]


def _not_reserved(value: str) -> str:
    if value in RESERVED_IDS:
        raise ValueError(f"'{value}' is a reserved name")
    if value.startswith("shared-"):
        raise ValueError("ids starting with 'shared-' are reserved for shared hosts")
    return value


# iCalendar weekday -> systemd weekday: the days a tier's scan schedule may name.
SCAN_DAYS = {"MO": "Mon", "TU": "Tue", "WE": "Wed", "TH": "Thu", "FR": "Fri", "SA": "Sat", "SU": "Sun"}
_ICAL_DAY = f"({'|'.join(SCAN_DAYS)})"
_HOUR = "([01]?[0-9]|2[0-3])"
SCAN_RRULE = rf"^(FREQ=DAILY|FREQ=WEEKLY;BYDAY={_ICAL_DAY}(,{_ICAL_DAY})*)(;BYHOUR={_HOUR}(,{_HOUR})*)?$"
CustomerId = Annotated[str, StringConstraints(pattern=ID_PATTERN), AfterValidator(_not_reserved)]
SafeText = Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=SAFE_TEXT)]
Slug = Annotated[str, StringConstraints(pattern=SLUG)]


def _calendar_date(value: object) -> object:
    """A date is written YYYY-MM-DD and must exist in the calendar (2026-02-30 does not).
    The loader keeps YAML dates as text (compiler.load), so the check happens here, with
    the field's file:line:col like any other error."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError(f"{value!r} is not a date; write YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value} is not a calendar date ({exc})") from None


# A calendar date (datetime.date; JSON Schema: string, format date).
IsoDate = Annotated[datetime.date, BeforeValidator(_calendar_date)]
OpenClawVersion = Annotated[str, AfterValidator(check_openclaw_version)]
SemverCore = Annotated[str, AfterValidator(check_semver_core)]
# Every email address in every file: one validator (email-validator, via pydantic's EmailStr),
# no deliverability lookup. It refuses what would break a mail header (spaces, <>, CR/LF).
Email = EmailStr
# An amount of USD, exact as written in YAML (compiler/money.py); JSON Schema: a number.
Usd = Annotated[Decimal, BeforeValidator(exact), WithJsonSchema({"type": "number"})]
# A price in whole cents, above zero (a customer's monthlyPrice).
Price = Annotated[Decimal, BeforeValidator(exact), Field(gt=0, decimal_places=2),
                  WithJsonSchema({"type": "number", "exclusiveMinimum": 0})]


# OpenClaw release lines (clawtex.yaml spec.openclaw: stable = version/nodeVersion, lts = lts).
ReleaseChannel = Literal["stable", "lts"]

class Strict(BaseModel):
    # defer_build: a compile whose verdicts are all cached unpickles models and never
    # validates, so their validators are built on first use, not at import (issue 29).
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True,
                              defer_build=True)


class SecretRef(Strict):
    """A reference resolved at apply time; never the secret itself.

    Same shape as OpenClaw's SecretRef so it can be passed through unchanged.
    """

    # OpenClaw also knows "exec"; customer files may not run commands on our hosts.
    source: Literal["env", "file"]
    provider: Slug = "default"
    id: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")]

    @model_validator(mode="after")
    def _id_fits_source(self) -> "SecretRef":
        if self.source == "env" and not re.match(ENV_ID, self.id):
            raise ValueError(f"env secret id must match {ENV_ID} (an environment variable name)")
        if ".." in self.id.split("/"):
            raise ValueError("secret id must not contain '..'")
        return self


class Contact(Strict):
    name: SafeText
    email: Email
    role: Literal["primary", "technical", "billing", "security"] = "primary"


class Metadata(Strict):
    id: CustomerId
    display_name: SafeText
    contacts: list[Contact] = Field(min_length=1)


# What each channel type needs, from OpenClaw's config reference.
CHANNEL_SECRETS: dict[str, tuple[str, ...]] = {
    "discord": ("token",),
    "telegram": ("botToken",),
    "whatsapp": (),
    "signal": (),
    "slack": ("botToken", "appToken"),
    "msteams": ("appPassword",),
}
CHANNEL_SETTINGS: dict[str, tuple[str, ...]] = {
    "discord": (),
    "telegram": (),
    "whatsapp": (),
    "signal": ("account",),
    "slack": (),
    "msteams": ("appId", "tenantId"),
}


# Channels whose account is linked by hand on the gateway host after the first apply (issue 25 "Bad
# input": a manual step is named at compile time). OpenClaw docs channels/whatsapp.md (QR code via
# `openclaw channels login --channel whatsapp`) and channels/signal.md (signal-cli on the host, then
# `signal-cli link` + QR or SMS registration with a captcha), docs.openclaw.ai, read 2026-12-04.
LINKED_CHANNELS: dict[str, str] = {
    "whatsapp": "the WhatsApp account is linked by scanning a QR code on the gateway host "
                "(`openclaw channels login --channel whatsapp`), possible only once the gateway runs",
    "signal": "Signal needs signal-cli on the gateway host (no role installs it) and the account {account} "
              "registered or linked there (`signal-cli link -n OpenClaw` and a QR scan, or SMS registration "
              "with a captcha)",
}


class Channel(Strict):
    type: ChannelType
    dm_policy: Literal["pairing", "allowlist", "open", "disabled"] = "pairing"
    allow_from: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+@._:-]{1,128}$")]] = Field(default_factory=list)
    # Group/room messages; unset keeps OpenClaw's default (allowlist).
    group_policy: Optional[Literal["open", "allowlist", "disabled"]] = None
    # Credentials: references only.
    token: Optional[SecretRef] = None
    bot_token: Optional[SecretRef] = None
    app_token: Optional[SecretRef] = None
    app_password: Optional[SecretRef] = None
    # Non-secret identifiers some channels need.
    account: Optional[Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]] = None
    app_id: Optional[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]] = None
    tenant_id: Optional[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]] = None
    # WhatsApp/Signal: is the account linked on the gateway host (a manual step, LINKED_CHANNELS)?
    # false: applied unlinked (the smoke test accepts it not connected); unset: refused by validate.
    linked: Optional[bool] = None

    @model_validator(mode="after")
    def _fields_fit_type(self) -> "Channel":
        if self.linked is not None and self.type not in LINKED_CHANNELS:
            raise ValueError(f"{self.type} channel does not take 'linked' (only {', '.join(LINKED_CHANNELS)})")
        wanted = set(CHANNEL_SECRETS[self.type]) | set(CHANNEL_SETTINGS[self.type])
        for name in ("token", "botToken", "appToken", "appPassword", "account", "appId", "tenantId"):
            given = getattr(self, _snake(name)) is not None
            if name in wanted and not given:
                raise ValueError(f"{self.type} channel needs '{name}'")
            if given and name not in wanted:
                raise ValueError(f"{self.type} channel does not take '{name}'")
        if self.dm_policy == "allowlist" and not self.allow_from:
            raise ValueError("dmPolicy 'allowlist' needs a non-empty allowFrom")
        if self.dm_policy == "open" and self.allow_from != ["*"]:
            raise ValueError("dmPolicy 'open' requires allowFrom: ['*'] to make the exposure explicit")
        return self


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Skill(Strict):
    name: Slug
    kind: Literal["standard", "custom", "integration"] = "standard"
    source: Optional[Annotated[str, StringConstraints(pattern=r"^https://[A-Za-z0-9./_-]+(?:\.git)?$", max_length=300)]] = None
    ref: Optional[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]{1,100}$")]] = None

    @model_validator(mode="after")
    def _custom_needs_source(self) -> "Skill":
        if self.kind != "standard" and not self.source:
            raise ValueError(f"{self.kind} skill '{self.name}' needs a source (https git URL)")
        return self


class ModelChoice(Strict):
    primary: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+/[A-Za-z0-9._:-]+$")] = "anthropic/claude-sonnet-4-5"
    fallbacks: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+/[A-Za-z0-9._:-]+$")]] = Field(default_factory=list)


class ModelEndpoint(Strict):
    name: Slug
    base_url: Annotated[str, StringConstraints(pattern=r"^https://[A-Za-z0-9.-]+(?::[0-9]{2,5})?(?:/[A-Za-z0-9._~/-]*)?$", max_length=300)]
    api: Literal["openai-completions", "openai-responses", "anthropic-messages"] = "openai-completions"
    api_key: SecretRef
    models: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]] = Field(min_length=1)


class Paging(Strict):
    provider: Literal["pagerduty", "opsgenie"]
    # Alertmanager reads the key from a file (routing_key_file / api_key_file).
    key_ref: SecretRef

    @model_validator(mode="after")
    def _file_ref(self) -> "Paging":
        if self.key_ref.source != "file":
            raise ValueError("paging keyRef must have source 'file' (Alertmanager reads it from a file)")
        return self


class Notifications(Strict):
    slack_channel: Annotated[str, StringConstraints(pattern=r"^#[a-z0-9_-]{1,79}$")]
    webhook_ref: SecretRef

    @model_validator(mode="after")
    def _file_ref(self) -> "Notifications":
        if self.webhook_ref.source != "file":
            raise ValueError("notifications webhookRef must have source 'file' (Alertmanager reads api_url_file)")
        return self


class Database(Strict):
    """A customer database the backup dumps (pg_dump/mongodump) into every snapshot. Silver/Gold: it
    runs on the gateway host. Platinum: only postgres, as a managed PostgreSQL the provider plug-in
    builds (docs/backups.md "Platinum"); MongoDB is refused there."""
    engine: Literal["postgres", "mongodb"]
    name: Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]


class Billing(Strict):
    monthly_price: Price
    currency: Literal["USD"] = "USD"
    stripe_customer_id: Annotated[str, StringConstraints(pattern=r"^cus_[A-Za-z0-9]{6,40}$")]
    stripe_subscription_id: Optional[Annotated[str, StringConstraints(pattern=r"^sub_[A-Za-z0-9]{6,40}$")]] = None
    last_stripe_event: Optional[Annotated[str, StringConstraints(pattern=r"^evt_[A-Za-z0-9]{6,60}$")]] = None


class Decommission(Strict):
    """A request to tear a customer down, and the approval that releases it.

    Two parts that different writers own (docs/approvals.md):
    - requestedBy/event/requestedOn: written by the software (the Stripe webhook
      on customer.subscription.deleted). A request only; it never approves.
    - approvedBy/date: written by a person in the pull request. Only this
      releases the decommission guard (compiler/guard.py human_approval_problem)."""

    approved_by: Optional[SafeText] = None
    date: Optional[IsoDate] = None
    requested_by: Optional[Literal["stripe"]] = None
    event: Optional[Annotated[str, StringConstraints(pattern=r"^evt_[A-Za-z0-9]{6,60}$")]] = None
    requested_on: Optional[IsoDate] = None

    @model_validator(mode="after")
    def _parts_complete(self):
        if (self.approved_by is None) != (self.date is None):
            raise ValueError("decommission: approvedBy and date go together (who approved, and when)")
        if self.approved_by is None and self.requested_by is None:
            raise ValueError("decommission: needs an approval (approvedBy, date) or a request (requestedBy)")
        return self


class ReplacementApproval(Strict):
    """A human's approval for one predicted replacement or shrink of a stateful resource
    (compiler/stateful_guard.py): the Terraform address (`type.name`, or `<stack>/type.name`)."""
    resource: Annotated[str, StringConstraints(pattern=r"^([a-z0-9-]+/)?[a-z0-9_]+\.[a-z0-9_]+$", max_length=200)]
    approved_by: SafeText
    date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class Branding(Strict):
    """White-label identity (Platinum whiteLabel): what the customer's users see instead of ours."""

    # The assistant's name in the gateway (agents.entries.main.identity.name) and the Control UI.
    assistant_name: Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=SAFE_TEXT)]
    # Control UI accent (ui.seamColor), #RRGGBB.
    accent_color: Optional[Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]] = None


class CustomerSpec(Strict):
    tier: Slug
    provider: Provider
    regions: list[Slug] = Field(min_length=1)
    ha_mode: Optional[Literal["active-active", "active-passive"]] = None
    status: Literal["active", "suspended", "decommissioned"] = "active"
    onboarded_on: IsoDate
    billing: Billing
    channels: list[Channel] = Field(min_length=1)
    model: ModelChoice = Field(default_factory=ModelChoice)
    model_endpoints: list[ModelEndpoint] = Field(default_factory=list)
    skills: list[Skill] = Field(default_factory=list)
    custom_domain: Optional[Annotated[str, StringConstraints(pattern=HOSTNAME, max_length=253)]] = None
    # Platinum: the global load balancer's certificate is the provider's Let's Encrypt certificate,
    # issued only for a name the provider's DNS serves, so the customer delegates customDomain (NS
    # records at their DNS) first; true once they did (validate: an error naming the step otherwise).
    custom_domain_delegated: bool = False
    # Gold: the host gets its certificate by ACME HTTP-01 at the custom domain, which reaches the
    # host only once the customer's CNAME (customDomain -> <id>.<fleet zone>) is in their DNS, a
    # zone no workflow can write; true once they added it (validate: an error naming the step otherwise).
    custom_domain_cname_added: bool = False
    paging: Optional[Paging] = None
    notifications: Optional[Notifications] = None
    databases: list[Database] = Field(default_factory=list)
    compliance: list[Literal["gdpr", "hipaa", "soc2"]] = Field(default_factory=list)
    sla_override_percent: Optional[float] = Field(default=None, gt=0, lt=100)
    white_label: bool = False
    branding: Optional[Branding] = None          # only with white_label
    # OpenClaw release line this customer runs; unset: its tier's releaseChannels.default.
    release_channel: Optional[ReleaseChannel] = None
    decommission: Optional[Decommission] = None
    # Replacements/shrinks of stateful resources a human approved (compiler/stateful_guard.py).
    replacement_approvals: list[ReplacementApproval] = Field(default_factory=list)


class Customer(Strict):
    """One customer file: customers/<id>.yaml."""

    api_version: Literal["clawtex/v1"]
    kind: Literal["Customer"]
    metadata: Metadata
    spec: CustomerSpec


# ---------------------------------------------------------------- tiers


class PriceBand(Strict):
    min_monthly: Usd
    max_monthly: Optional[Usd]
    currency: Literal["USD"]


class SharedHostCapacity(Strict):
    reserved_ram_gb: float
    cpu_overcommit: float


class Autoscaling(Strict):
    """Bounds of a Kubernetes node pool per region: it never shrinks below min_nodes
    (what the plan, the inventory and the cost model count) nor grows past max_nodes."""
    min_nodes: int = Field(ge=1)
    max_nodes: int = Field(ge=1)

    @model_validator(mode="after")
    def _bounds(self):
        if self.max_nodes < self.min_nodes:
            raise ValueError(f"autoscaling.maxNodes ({self.max_nodes}) is below minNodes ({self.min_nodes})")
        return self


ContainerRuntime = Literal["docker", "podman"]


class Hosting(Strict):
    model: Literal["shared", "dedicated", "multi-region"]
    regions_min: int
    regions_max: int
    ha_modes: list[Literal["active-active", "active-passive"]]
    nodes_per_region: int = 1               # fixed-size node pools; with autoscaling: its minNodes
    autoscaling: Optional[Autoscaling] = None
    shared_host: Optional[SharedHostCapacity] = None
    # The container engine of shared hosts (their gateways run one container per
    # tenant); dedicated and multi-region tiers run a systemd service or pods.
    container_runtime: Optional[ContainerRuntime] = None

    @model_validator(mode="after")
    def _runtime_only_for_containers(self) -> "Hosting":
        if self.model == "shared" and self.container_runtime is None:
            raise ValueError("containerRuntime (docker or podman) is required for shared hosting")
        if self.model != "shared" and self.container_runtime is not None:
            raise ValueError(f"containerRuntime applies to shared hosting only ({self.model} hosts run no gateway containers)")
        return self

    @model_validator(mode="after")
    def _one_node_count(self):
        if self.autoscaling is not None and "nodes_per_region" in self.model_fields_set:
            raise ValueError("nodesPerRegion and autoscaling both set: autoscaling.minNodes is the node count")
        return self

    @property
    def region_nodes(self) -> int:
        """Nodes each region always has: the fixed count, or the autoscaling floor."""
        return self.autoscaling.min_nodes if self.autoscaling else self.nodes_per_region


class Resources(Strict):
    vcpu: float
    vcpu_shared: bool
    ram_gb: float
    disk_gb: int


class ChannelRules(Strict):
    max: Optional[int]
    allowed_types: list[ChannelType]


class Backups(Strict):
    schedule: Literal["hourly", "daily"]
    interval_hours: int
    retention_days: int
    cross_region: bool
    # Cost estimate only: retained backup size as a multiple of the data disk
    # (full copy plus incrementals over the retention window).
    retained_size_factor: float = 1.0
    # Disaster-recovery drill cadence (.github/workflows/dr-drill.yml, `clawtex dr-drill-due`): a
    # customer is due when its last recorded drill is this many days old, or it never had one.
    drill_every_days: Optional[int] = Field(default=None, gt=0)


class SlaCredit(Strict):
    """Monthly uptime below `below_percent` earns `credit_percent` of the monthly price."""

    below_percent: float = Field(gt=0, le=100)
    credit_percent: float = Field(gt=0, le=100)


class Sla(Strict):
    target_percent: float
    credits: bool
    negotiable: bool = False  # a contract may raise the target (Platinum)
    credit_schedule: list[SlaCredit] = Field(default_factory=list)


class Monitoring(Strict):
    prometheus: bool
    customer_dashboards: bool


class Siem(Strict):
    wazuh: bool
    compliance: list[Literal["gdpr", "hipaa", "soc2"]]
    # How long the Wazuh manager keeps alerts/archives; compliance regimes may need longer.
    log_retention_days: int = 0
    compliance_retention_days: dict[Literal["gdpr", "hipaa", "soc2"], int] = Field(default_factory=dict)


class PagingRules(Strict):
    providers: list[Literal["pagerduty", "opsgenie"]]


class SkillRules(Strict):
    standard: bool
    custom: bool
    advanced_integrations: bool


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockTime = Annotated[str, StringConstraints(pattern=r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]


class CoverageWindow(Strict):
    """Support is staffed on these days between start and end (local time of Coverage.time_zone)."""

    days: list[Weekday] = Field(min_length=1)
    start: ClockTime
    end: ClockTime                 # "24:00": to the end of the day

    @model_validator(mode="after")
    def _ordered(self) -> "CoverageWindow":
        if self.start >= self.end:
            raise ValueError(f"coverage window start {self.start} must be before end {self.end}")
        return self


class Coverage(Strict):
    # The founding document states hours in CET; Europe/Berlin follows CET/CEST.
    time_zone: Literal["Europe/Berlin"]
    windows: list[CoverageWindow] = Field(min_length=1)
    # True: the public holidays listed in clawtex.yaml spec.support.holidays are not covered.
    observes_holidays: bool


class SupportChannel(Strict):
    type: Literal["email", "discord", "slack", "phone", "account-manager"]
    # dedicated: a channel/room for this customer alone; priority: answered before non-priority queues.
    dedicated: bool = False
    priority: bool = False


class Support(Strict):
    # First response within this many hours, counted inside the coverage windows.
    first_response_hours: int = Field(gt=0)
    coverage: Coverage
    channels: list[SupportChannel] = Field(min_length=1)


class Deployment(Strict):
    target_hours: int
    # Creation PRs from Stripe enable GitHub auto-merge (merged once required checks pass);
    # downgrades and decommissions always wait for a human.
    auto_merge: bool = False


class ReleaseChannels(Strict):
    default: ReleaseChannel
    allowed: list[ReleaseChannel] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_allowed(self) -> "ReleaseChannels":
        if self.default not in self.allowed:
            raise ValueError(f"default release channel {self.default} is not in allowed {self.allowed}")
        return self


class TierSpec(Strict):
    rank: int
    price: PriceBand
    hosting: Hosting
    resources: Resources
    channels: ChannelRules
    backups: Optional[Backups]
    sla: Sla
    monitoring: Monitoring
    siem: Siem
    paging: PagingRules
    custom_domain: bool
    openvas: bool
    # iCalendar RRULE for vulnerability scans; the subset plan.scan_schedule turns into a systemd timer too
    openvas_schedule: Optional[Annotated[str, StringConstraints(pattern=SCAN_RRULE)]] = None
    kubernetes: bool
    skills: SkillRules
    custom_model_endpoints: bool
    white_label: bool
    # OpenClaw release channels a customer of this tier may choose (customer spec.releaseChannel).
    release_channels: ReleaseChannels
    support: Support
    deployment: Deployment
    # Business report: customers whose gross margin falls below this are flagged.
    margin_floor_percent: Optional[float] = Field(default=None, ge=0, lt=100)


class NamedMetadata(Strict):
    name: Slug
    display_name: Optional[SafeText] = None
    prices_taken_on: Optional[IsoDate] = None


class Tier(Strict):
    api_version: Literal["clawtex/v1"]
    kind: Literal["Tier"]
    metadata: NamedMetadata
    spec: TierSpec

    @property
    def name(self) -> str:
        return self.metadata.name


# ---------------------------------------------------------------- SLO windows (tiers/slo-windows.yaml)

Duration = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*[mhd]$")]
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def duration_seconds(value: str) -> int:
    """A Prometheus duration of one unit (5m, 6h, 30d) in seconds."""
    return int(value[:-1]) * _UNIT_SECONDS[value[-1]]


class BurnWindow(Strict):
    error_budget_percent: float = Field(gt=0, le=100)
    short_window: Duration
    long_window: Duration

    @model_validator(mode="after")
    def _short_is_shorter(self) -> "BurnWindow":
        if duration_seconds(self.short_window) >= duration_seconds(self.long_window):
            raise ValueError(f"shortWindow {self.short_window} must be shorter than longWindow {self.long_window}")
        return self


class BurnWindowPair(Strict):
    quick: BurnWindow
    slow: BurnWindow


class SloWindowsSpec(Strict):
    slo_period: Duration
    page: BurnWindowPair
    ticket: BurnWindowPair

    @model_validator(mode="after")
    def _windows_fit_the_period(self) -> "SloWindowsSpec":
        for w in (self.page.quick, self.page.slow, self.ticket.quick, self.ticket.slow):
            if duration_seconds(w.long_window) > duration_seconds(self.slo_period):
                raise ValueError(f"longWindow {w.long_window} is longer than sloPeriod {self.slo_period}")
        return self


class SloWindows(Strict):
    api_version: Literal["clawtex/v1"]
    kind: Literal["SloWindows"]
    metadata: NamedMetadata
    spec: SloWindowsSpec


# ---------------------------------------------------------------- providers


class ServerPlan(Strict):
    """A server size a provider sells (tiers/providers.yaml `plans`), not a fleet plan."""
    slug: str
    vcpu: float
    ram_gb: float
    disk_gb: int
    monthly_usd: Usd
    dedicated_vcpu: bool = False            # tiers with vcpuShared: false need True
    # Locations that sell this plan (None: every region of the provider). A
    # region outside the list is a compile error at the customer's regions line.
    locations: Optional[list[Slug]] = None
    price_source: Optional[str] = None      # where monthly_usd was read, with its date; None: unverified


class BackupStorage(Strict):
    kind: Literal["storage-box", "spaces", "object-storage"]
    type: Optional[str] = None
    location: Optional[str] = None
    tier_id: Optional[int] = None
    # The object-storage tier by slug (looked up, never a numeric id; issue 25).
    tier_slug: Optional[str] = None
    # S3 endpoint host per region ("{region}" is replaced), or region -> host where each differs.
    endpoint: Optional[str] = None
    endpoints: dict[str, str] = Field(default_factory=dict)


class KubernetesDefaultPool(Strict):
    """The managed cluster's default node pool (the node_pool block of the cluster resource),
    kept apart from the workload pool: its `size` is force_new on the cluster (tiers/
    replacement-facts.yaml), so it is fixed here and never follows the tier's plan."""
    size: str
    min_nodes: int = Field(ge=1)
    max_nodes: int = Field(ge=1)
    monthly_usd: Usd                        # per node (cost report: the floor is min_nodes)


class ManagedPostgres(Strict):
    """A Platinum customer's managed PostgreSQL on this provider (the plug-in's
    _managed_postgres): the cluster's plan, read by Terraform and by the cost report."""
    size: str
    node_count: int = Field(ge=1, le=3)     # the primary and its standby nodes (at most two)
    version: str
    node_monthly_usd: Usd                   # per node (cost report: times node_count)


class ProviderInfo(Strict):
    dns_zone: str
    # The zone of white-label customers' entry records (their custom domain's CNAME target):
    # a domain that does not name the operator. None: white-label refused on this provider.
    white_label_dns_zone: Optional[str] = None
    backup_storage: BackupStorage
    load_balancer_type: Optional[str] = None
    kubernetes_version_prefix: Optional[str] = None   # managed Kubernetes: newest patch of this minor
    kubernetes_default_pool: Optional[KubernetesDefaultPool] = None   # managed Kubernetes: the fixed default pool
    managed_postgres: Optional[ManagedPostgres] = None   # managed Kubernetes tiers' postgres databases (None: refused)
    platinum: bool = True                   # False: Platinum is refused on this provider (no real failover)
    terraform_source: str
    terraform_version: str
    image: str
    volume_usd_per_gb: Usd
    regions: list[Slug]
    plans: dict[str, ServerPlan]
    # region -> role -> ServerPlan, over `plans` where a location sells other types.
    location_plans: dict[str, dict[str, ServerPlan]] = Field(default_factory=dict)
    # Cost report only (list prices, same date as metadata.pricesTakenOn).
    load_balancer_monthly_usd: Usd = Decimal("0")             # per regional load balancer (one node)
    # The global load balancer in front of a multi-region stack's regional ones (0: none).
    global_load_balancer_monthly_usd: Usd = Decimal("0")
    kubernetes_control_plane_monthly_usd: Usd = Decimal("0")   # per cluster (0: self-managed on our nodes)
    object_storage_usd_per_gb: Usd = Decimal("0")              # backups
    object_storage_monthly_usd: Usd = Decimal("0")             # per subscription/bucket set, before per-GB usage
    # True: that subscription is billed once per account however many buckets it holds (fleet
    # overhead, compiler/costs.fleet_overhead); False: once per backup target (box, subscription).
    object_storage_per_account: bool = False
    # Storage each subscription includes before object_storage_usd_per_gb applies (per backup target
    # where billed per target; a per-account allowance is not credited: the per-GB cost is then an
    # upper bound).
    object_storage_included_gb: Usd = Decimal("0")     # GB, parsed exactly like the prices

    def entry_zone(self, white_label: bool) -> Optional[str]:
        """The zone of a customer's entry record (`<id>.<zone>`, its custom domain's CNAME
        target): white-label customers get whiteLabelDnsZone (None: none on this provider)."""
        return self.white_label_dns_zone if white_label else self.dns_zone

    def entry_name(self, customer_id: str, white_label: bool) -> Optional[str]:
        """`<id>.<entry zone>`: the Gold CNAME target (terraform `customer_dns_name`, validate's manual step)."""
        zone = self.entry_zone(white_label)
        return f"{customer_id}.{zone}" if zone else None

    def plan(self, role: str, region: str) -> ServerPlan:
        """The plan for a tier name or host role in `region` (location override first)."""
        return self.location_plans.get(region, {}).get(role) or self.plans[role]

    def plan_problem(self, provider: str, role: str, region: str) -> Optional[str]:
        if role not in self.plans and role not in self.location_plans.get(region, {}):
            return f"{provider} has no plan for {role}"
        p = self.plan(role, region)
        if p.locations is not None and region not in p.locations:
            return f"{provider} has no {p.slug} in {region} (sold in {', '.join(p.locations)})"
        return None


class ProviderCatalog(Strict):
    api_version: Literal["clawtex/v1"]
    kind: Literal["ProviderCatalog"]
    metadata: NamedMetadata
    spec: dict[Provider, ProviderInfo]


# ---------------------------------------------------------------- settings


def _ip_or_cidr(value: str) -> str:
    ipaddress.ip_network(value, strict=True)  # ValueError -> clear pydantic error
    return value


IpOrCidr = Annotated[str, AfterValidator(_ip_or_cidr)]


class SharedProxyTrust(Strict):
    """Where a shared host's nginx reaches a tenant container from, per runtime
    (tiers' hosting.containerRuntime; roles/openclaw/templates/openclaw-container.service.j2)."""

    docker: list[IpOrCidr] = Field(default_factory=lambda: ["172.17.0.1"])   # docker0 bridge gateway
    podman: list[IpOrCidr] = Field(default_factory=lambda: ["10.0.2.2"])     # slirp4netns gateway (port_handler=slirp4netns)


class ProxyTrust(Strict):
    """Where each hosting model's TLS reverse proxy reaches the gateway from.

    Becomes gateway.trustedProxies, so OpenClaw takes client addresses (auth
    rate limits, logs) from X-Forwarded-For only when the proxy sent it.
    """

    host: list[IpOrCidr] = Field(default_factory=lambda: ["127.0.0.1"])       # Silver/Gold: proxy on the host
    shared: SharedProxyTrust = Field(default_factory=lambda: SharedProxyTrust())  # Bronze: per container runtime
    kubernetes: list[IpOrCidr] = Field(default_factory=lambda: ["10.42.0.0/16"])  # Platinum: ingress pods (pod CIDR)


# @openclaw/<channel> plugins follow OpenClaw's own version scheme (compiler/versions.py).
PluginVersion = OpenClawVersion


class ReleasePin(Strict):
    """An OpenClaw release line other than stable: the version, its Node.js, and
    the external channel plugins published for it (a plugin states the host
    versions it loads on: package.json openclaw.compat.pluginApi)."""

    version: OpenClawVersion
    node_version: SemverCore
    channel_plugins: dict[str, PluginVersion] = Field(default_factory=dict)
    # Whether this release's config schema has gateway.publicOrigin (openclaw 2026.7.35's
    # `openclaw config validate` refuses it: "gateway: Invalid input"; 2026.9.6 accepts it).
    gateway_public_origin: bool = True
    # Where this release's config keeps per-agent settings: agents.entries.<id> (2026.9.6)
    # or agents.list[{id: ...}] (2026.7.35's schema: agents has defaults and list only).
    agent_settings: Literal["entries", "list"] = "entries"


class OpenClawSettings(Strict):
    # The stable release channel: version, its Node.js and (channel_plugins below) its plugins.
    version: OpenClawVersion
    node_version: SemverCore
    # The LTS release channel (customers with releaseChannel: lts); see README "Service model".
    lts: Optional[ReleasePin] = None
    gateway_port: int
    health_path: str
    log_file: str
    config_dir: str
    workspace_dir: str
    skills_dir: str
    # The gateway writes one JSON object per line (tslog record) to log_file;
    # the Wazuh decoders parse exactly that. Named here so both sides agree.
    log_format: Literal["jsonl"] = "jsonl"
    # File SecretRefs resolve from <secrets_dir>/<provider>.json (JSON mode),
    # written by Ansible at apply time.
    secrets_dir: str = "/etc/openclaw/secrets"
    trusted_proxies: ProxyTrust = Field(default_factory=ProxyTrust)
    # Readiness (503 while a configured channel is not running): see README "Live checks -> Gateway".
    ready_path: str = "/readyz"
    # OPENCLAW_STATE_DIR: without it the gateway keeps media/cron next to the config (configDir).
    state_dir: str = "/var/lib/openclaw/.openclaw"
    # Channels whose plugin ships inside the openclaw package (its dist/extensions/<id>).
    bundled_channels: list[str] = Field(default_factory=lambda: ["telegram"])
    # External channel plugins: channel id -> exact npm version of @openclaw/<id>.
    channel_plugins: dict[str, PluginVersion] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_channel_has_a_plugin(self):
        # A channel type OpenClaw has no plugin for would be refused at boot.
        external, bundled = set(self.channel_plugins), set(self.bundled_channels)
        if external & bundled:
            raise ValueError(f"channels both bundled and external: {sorted(external & bundled)}")
        missing = set(get_args(ChannelType)) - external - bundled
        if missing:
            raise ValueError(f"channel types with neither a bundled nor a pinned plugin: {sorted(missing)}")
        return self

    def release(self, channel: str) -> tuple[str, str, dict[str, str]]:
        """(OpenClaw version, Node.js version, external channel plugins) of a release channel."""
        if channel == "stable":
            return self.version, self.node_version, dict(self.channel_plugins)
        if channel == "lts" and self.lts is not None:
            return self.lts.version, self.lts.node_version, dict(self.lts.channel_plugins)
        raise KeyError(f"clawtex.yaml spec.openclaw pins no {channel} release")


class TerraformState(Strict):
    bucket: str
    region: str
    endpoint: str
    key_prefix: str


class PrometheusPrivateNetwork(Strict):
    """The ops host's place on a provider's region network that every server of the account in
    that region shares (ProviderPlugin.region_network_shared; provider-facts row 39): servers there are
    scraped at their private address, from these private addresses only. A VPC does not span
    regions, so servers elsewhere keep the public path."""
    provider: Literal[SHARED_NETWORK_PROVIDERS]
    region: Slug
    source_cidrs: list[IpOrCidr] = Field(min_length=1)

    @field_validator("source_cidrs")
    @classmethod
    def _private_only(cls, value: list[str]) -> list[str]:
        # VPC ranges are RFC 1918 ranges (provider-facts row 39).
        # Hand-written: ipaddress's is_private also counts documentation and other special ranges.
        rfc1918 = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
        public = [v for v in value if not any(ipaddress.ip_network(v, strict=False).version == 4
                                              and ipaddress.ip_network(v, strict=False).subnet_of(n) for n in rfc1918)]
        if public:
            raise ValueError(f"private scrape sources must be the ops host's VPC addresses, not {public}")
        return value


class PrometheusHost(Strict):
    """Where Prometheus (with blackbox and Alertmanager) runs: an ops host outside every
    customer stack (docs/fresh-account.md "Monitoring"). Every scrape port is opened in the
    cloud firewalls and UFW from these addresses and from nowhere else (plan.scrape)."""
    host: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")]
    source_cidrs: list[IpOrCidr] = Field(min_length=1)
    # Set when the ops host is a server of the account on a shared region network (None: every
    # scrape goes to the public address).
    private_network: Optional[PrometheusPrivateNetwork] = None
    # Per provider whose managed-Kubernetes nodes Prometheus discovers through its API
    # (ProviderPlugin.discovers_k8s_nodes): a file reference to a read-only API token on the ops
    # host, resolved to <secretsDir>/<id> (Prometheus `credentials_file`). Required once a customer
    # runs there (validate.discovery_errors).
    discovery_token_refs: dict[Slug, SecretRef] = Field(default_factory=dict)
    secrets_dir: Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._/-]+$")] = "/etc/prometheus/secrets"

    @field_validator("discovery_token_refs")
    @classmethod
    def _tokens_from_files(cls, value: dict[str, SecretRef]) -> dict[str, SecretRef]:
        bad = sorted(k for k, ref in value.items() if ref.source != "file")
        if bad:
            raise ValueError(f"discoveryTokenRefs {', '.join(bad)} must have source 'file' (Prometheus reads credentials_file)")
        return value

    @field_validator("source_cidrs")
    @classmethod
    def _not_anywhere(cls, value: list[str]) -> list[str]:
        wide = [v for v in value if ipaddress.ip_network(v).prefixlen == 0]
        if wide:
            raise ValueError(f"Prometheus sources must be its own addresses, not {wide}")
        return value


class OpsSettings(Strict):
    ssh_allowed_cidrs: list[str] = Field(min_length=1)
    prometheus: PrometheusHost
    ansible_user: str
    ssh_public_key_ref: SecretRef
    alert_email: Email
    discord_webhook_file: str
    # Grafana base URL for the handoff report's monitoring links (None: omitted).
    monitoring_url: Optional[Annotated[str, StringConstraints(pattern=r"^https://[A-Za-z0-9.-]+(?:/[A-Za-z0-9._~/-]*)?$")]] = None
    # Alertmanager: file SecretRefs (paging keys, Slack webhooks) resolve to
    # <alertmanagerSecretsDir>/<ref id>; mail goes through this smarthost.
    alertmanager_secrets_dir: Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._/-]+$")] = "/etc/alertmanager/secrets"
    alert_smtp_smarthost: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")] = "localhost:25"
    alert_smtp_from: Email = "alertmanager@clawtex.example"


class HolidayCalendar(Strict):
    """Public holidays as data with a horizon: a country (ISO 3166-1 alpha-2), optionally one of
    its subdivisions (ISO 3166-2 suffix: DE-BY -> BY), and the calendar years to cover. The days
    come from the `holidays` library (pinned in pyproject.toml), never from a hand-typed list, and
    from these years only (not the clock), so a compile is byte-identical on any day.
    `clawtex validate` refuses a calendar whose last year ends within HOLIDAY_HORIZON_DAYS."""

    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    subdivision: Optional[Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,3}$")]] = None
    first_year: int = Field(ge=2000, le=2200)
    last_year: int = Field(ge=2000, le=2200)

    @model_validator(mode="after")
    def _known_and_long_enough(self):
        import holidays
        supported = holidays.list_supported_countries()
        if self.country not in supported:
            raise ValueError(f"the holidays library knows no country {self.country}")
        if self.subdivision is not None and self.subdivision not in supported[self.country]:
            raise ValueError(f"{self.country} has no subdivision {self.subdivision} "
                             f"(the holidays library knows {', '.join(supported[self.country])})")
        if self.last_year - self.first_year + 1 < HOLIDAY_MIN_YEARS:
            raise ValueError(f"firstYear {self.first_year} .. lastYear {self.last_year} covers fewer than "
                             f"{HOLIDAY_MIN_YEARS} calendar years")
        return self

    def days(self) -> list[tuple[datetime.date, str]]:
        """Every public holiday in first_year..last_year, by date (names in the country's language)."""
        import holidays
        found = holidays.country_holidays(self.country, subdiv=self.subdivision,
                                          years=range(self.first_year, self.last_year + 1), language="de"
                                          if self.country == "DE" else None)
        return sorted(found.items())

    def horizon_problem(self, today: datetime.date) -> Optional[str]:
        """Why this calendar runs out too soon, seen from `today` (None: it does not)."""
        end = datetime.date(self.last_year, 12, 31)
        left = (end - today).days
        if left >= HOLIDAY_HORIZON_DAYS:
            return None
        return (f"the public-holiday calendar ends {end.isoformat()}, {max(left, 0)} days from {today.isoformat()} "
                f"(at least {HOLIDAY_HORIZON_DAYS} required): raise lastYear so alerts stay muted on holidays next year")


# A compile covers at least this many calendar years of holidays; validate warns this long before the end.
HOLIDAY_MIN_YEARS = 3
HOLIDAY_HORIZON_DAYS = 90


class SmtpSettings(Strict):
    """Where the welcome email goes out; the password is a reference, never a value."""

    host: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.-]+$")]
    port: int = Field(ge=1, le=65535)
    # starttls: plain connection upgraded with STARTTLS (port 587); tls: implicit TLS (465); none: local relays only.
    security: Literal["starttls", "tls", "none"] = "starttls"
    sender: Email
    username: Optional[str] = None
    password_ref: Optional[SecretRef] = None


class WhiteLabelSupport(Strict):
    """What white-label customers see instead of our name: an unbranded team name,
    contact addresses and dashboard host (run by us, named for no one)."""

    team_name: SafeText
    email: Email
    sender: Email
    dedicated_channel_prefix: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$")]
    monitoring_url: Optional[Annotated[str, StringConstraints(pattern=r"^https://[A-Za-z0-9.-]+(?:/[A-Za-z0-9._~/-]*)?$")]] = None


class SupportSettings(Strict):
    """Company-wide support contacts and calendar; what each tier gets is in tiers/*.yaml spec.support."""

    email: Email
    discord_invite: Annotated[str, StringConstraints(pattern=r"^https://[A-Za-z0-9.-]+/[A-Za-z0-9._~/-]*$")]
    # Dedicated Slack/Discord channels are named <dedicatedChannelPrefix><customer id>.
    dedicated_channel_prefix: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$")] = "clawtex-"
    phone: Optional[Annotated[str, StringConstraints(pattern=r"^\+[0-9 ]{6,20}$")]] = None
    holidays: Optional[HolidayCalendar] = None
    smtp: Optional[SmtpSettings] = None
    white_label: Optional[WhiteLabelSupport] = None


class SettingsSpec(Strict):
    openclaw: OpenClawSettings
    terraform_state: TerraformState
    ops: OpsSettings
    support: Optional[SupportSettings] = None
    # Secret reference ids more than one customer may name on purpose (a fleet-wide
    # credential). Any other id named by two customers is a validation error: a
    # copied customer file must not keep another customer's secrets.
    shared_secret_refs: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(default_factory=list)


class Settings(Strict):
    api_version: Literal["clawtex/v1"]
    kind: Literal["Settings"]
    spec: SettingsSpec


def release_channel(spec: CustomerSpec, tier: Tier) -> str:
    """A customer's OpenClaw release channel: its own choice, else its tier's default."""
    return spec.release_channel or tier.spec.release_channels.default
