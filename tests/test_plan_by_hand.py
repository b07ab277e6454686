"""The fleet plan (compiler/plan.py) built in-process from a small fleet written here,
every expected name, number and URL written by hand (issue 28: plan measurable by mutmut).

The fleet: three Bronze tenants (two in fsn1, one in nbg1), a suspended Silver customer
on the LTS release, a Gold customer with its own domain, two Platinum customers with
compliance overlays, and three departed ones. Inputs are read with pydantic from the
repository's YAML (tiers, providers, settings, SLO windows), not through the compiler.
Facts used below, from those files: Hetzner's shared host cx43 has 16 GB and 8 vCPU,
Bronze reserves 2 GB and overcommits CPU 2x for 2 GB / 1 vCPU tenants, so 7 fit (RAM
bound) and the host volume is 7 x 10 GB; Platinum keeps 3 nodes per region (autoscaling
minNodes), 160 GB disk; the SLO period is 30 d."""
from __future__ import annotations

import copy
import dataclasses
from decimal import Decimal
from types import SimpleNamespace

import pytest
import yaml

from compiler import plan as p
from compiler.diagnostics import CompileError
from compiler.load import Document
from compiler.models import Customer, ProviderCatalog, Settings, SloWindows, Tier
from compiler.previous import PreviousState
from compiler.validate import Inputs, LoadedCustomer
from conftest import CUSTOMER, REPO


def _read(rel: str, model):
    return model.model_validate(yaml.safe_load((REPO / rel).read_text()))


TIERS = {n: _read(f"tiers/{n}.yaml", Tier) for n in ("bronze", "silver", "gold", "platinum")}
CATALOG = _read("tiers/providers.yaml", ProviderCatalog)
SETTINGS = _read("clawtex.yaml", Settings)
SLO = _read("tiers/slo-windows.yaml", SloWindows)
PAGING = {"provider": "pagerduty", "keyRef": {"source": "file", "provider": "ops", "id": "pd/x.key"}}


def customer(cid: str, tier: str, price: int, onboarded: str = "2026-09-01", **spec) -> LoadedCustomer:
    data = yaml.safe_load(CUSTOMER.format(id=cid, tier=tier, price=price))
    data["spec"]["onboardedOn"] = onboarded
    data["spec"]["channels"][0]["botToken"]["id"] = f"{cid.upper().replace('-', '_')}_TG"
    data["spec"].update(spec)
    return LoadedCustomer(Customer.model_validate(data), Document(f"customers/{cid}.yaml", data))


def platinum(cid: str, onboarded: str, compliance: list[str], regions=("fra1", "ams3"), **spec) -> LoadedCustomer:
    return customer(cid, "platinum", 3000, onboarded, provider="digitalocean", regions=list(regions), haMode="active-active",
                    compliance=compliance, paging=PAGING, customDomain=f"bot.{cid}.example", customDomainDelegated=True,
                    **spec)


FLEET = (
    customer("a", "bronze", 75, "2026-09-01"),
    customer("b", "bronze", 75, "2026-08-01"),
    customer("c", "bronze", 75, regions=["nbg1"]),
    customer("silv", "silver", 250, status="suspended", releaseChannel="lts"),
    customer("gold-co", "gold", 1000, paging=PAGING, customDomain="bot.gold.example"),
    platinum("plat-co", "2025-06-01", ["gdpr"], slaOverridePercent=99.95),
    platinum("plat-b", "2025-01-01", ["hipaa"], regions=("fra1", "ams3", "lon1")),
    customer("gone", "gold", 1000, status="decommissioned", paging=PAGING,
             decommission={"approvedBy": "Jane Doe", "date": "2026-10-01"}),
    customer("gone-b", "bronze", 75, status="decommissioned", decommission={"approvedBy": "Jo Roe", "date": "2026-10-05"}),
    customer("leaving", "bronze", 75, status="decommissioned", decommission={"requestedBy": "stripe"}),
)


def inputs(fleet=FLEET, previous: PreviousState | None = None, settings=SETTINGS) -> Inputs:
    return Inputs(settings, CATALOG, TIERS, tuple(fleet), SLO, previous or PreviousState())


@pytest.fixture
def plan():
    # per test, not per module: mutmut maps each test to the functions it calls, and a module-scoped
    # plan would be built (and traced) in the first test only
    return p.build_plan(inputs())


# --- stacks and hosts ----------------------------------------------------------------------

def test_stacks_sorted_by_name_with_kind_customers_and_state_key(plan):
    assert [(s.name, s.provider, s.kind, s.customers, s.state_key) for s in plan.stacks] == [
        ("gold-co", "hetzner", "dedicated", ("gold-co",), "stacks/gold-co/terraform.tfstate"),
        ("plat-b", "digitalocean", "multi-region", ("plat-b",), "stacks/plat-b/terraform.tfstate"),
        ("plat-co", "digitalocean", "multi-region", ("plat-co",), "stacks/plat-co/terraform.tfstate"),
        ("shared-hetzner-fsn1-01", "hetzner", "shared", ("b", "a"), "stacks/shared-hetzner-fsn1-01/terraform.tfstate"),
        ("shared-hetzner-nbg1-01", "hetzner", "shared", ("c",), "stacks/shared-hetzner-nbg1-01/terraform.tfstate"),
        ("silv", "hetzner", "dedicated", ("silv",), "stacks/silv/terraform.tfstate")]


def host_row(h):
    return (h.name, h.role, h.provider, h.region, h.size.slug, h.stack, h.tier, h.customer, h.volume_gb, h.running)


def test_dedicated_hosts(plan):
    assert [host_row(h) for h in plan.stacks[0].hosts] == [
        ("gold-co-oc-1", "openclaw", "hetzner", "fsn1", "ccx23", "gold-co", "gold", "gold-co", 80, True),
        ("gold-co-wazuh", "wazuh_manager", "hetzner", "fsn1", "cx33", "gold-co", "gold", "gold-co", 0, True)]
    # suspended: the host stays (its data volume too) but does not run
    assert [host_row(h) for h in plan.stacks[5].hosts] == [
        ("silv-oc-1", "openclaw", "hetzner", "fsn1", "ccx13", "silv", "silver", "silv", 40, False)]


def test_platinum_one_cluster_per_region_with_its_node_floor_and_the_wazuh_manager_in_the_first_region(plan):
    # One entry per regional cluster (named like the DOKS cluster), its node floor (the tier's 3) billed
    # at the plan's size each; never one entry per node: the autoscaler names the nodes.
    assert [host_row(h) + (h.nodes,) for h in plan.stacks[2].hosts] == [
        ("plat-co-fra1", "k8s", "digitalocean", "fra1", "c-4", "plat-co", "platinum", "plat-co", 160, True, 3),
        ("plat-co-ams3", "k8s", "digitalocean", "ams3", "c-4", "plat-co", "platinum", "plat-co", 160, True, 3),
        ("plat-co-wazuh", "wazuh_manager", "digitalocean", "fra1", "s-4vcpu-8gb", "plat-co", "platinum", "plat-co", 0, True, 1)]
    assert plan.customer("plat-co").hosts == ("plat-co-fra1", "plat-co-ams3")
    assert plan.customer("plat-co").wazuh_manager == "plat-co-wazuh"
    assert plan.customer("gold-co").hosts == ("gold-co-oc-1",) and plan.customer("silv").wazuh_manager is None


def test_shared_hosts_oldest_tenant_first_sized_for_a_full_host(plan):
    (h,) = plan.stacks[3].hosts
    assert (h.name, h.role, h.provider, h.region, h.size.slug, h.stack, h.tier, h.customer, h.tenants, h.slots, h.volume_gb,
            h.container_runtime, h.running) == ("shared-hetzner-fsn1-01", "shared_bronze", "hetzner", "fsn1", "cx43",
                                                "shared-hetzner-fsn1-01", "bronze", None, ("b", "a"), (0, 1), 70, "podman", True)
    assert plan.placement == {"shared-hetzner-fsn1-01": ["b", "a"], "shared-hetzner-nbg1-01": ["c"]}
    assert plan.customer("a").stack == "shared-hetzner-fsn1-01" and plan.customer("a").hosts == ("shared-hetzner-fsn1-01",)
    assert plan.customer("c").hosts == ("shared-hetzner-nbg1-01",) and plan.customer("a").wazuh_manager is None


def test_placement_and_slots_are_sticky():
    previous = PreviousState(placement={"hosts": {"shared-hetzner-fsn1-01": {"tenants": ["a", "b"], "slots": {"a": 3, "b": 1}}}})
    h = p.build_plan(inputs(previous=previous)).host("shared-hetzner-fsn1-01")
    assert h.tenants == ("a", "b") and h.slots == (3, 1)
    # a lock written before slots were recorded: the place in `tenants` was the slot
    previous = PreviousState(placement={"hosts": {"shared-hetzner-fsn1-01": {"tenants": ["a", "b"]}}})
    h = p.build_plan(inputs(previous=previous)).host("shared-hetzner-fsn1-01")
    assert h.tenants == ("a", "b") and h.slots == (0, 1)


def test_previous_slots():
    assert p._previous_slots({"hosts": {"h": {"slots": {"a": 2, 5: 1}}}}, "h") == {"a": 2, "5": 1}
    assert p._previous_slots({"hosts": {"h": {"tenants": ["x", "y"]}}}, "h") == {"x": 0, "y": 1}
    assert p._previous_slots({"hosts": {"h": {"tenants": None}}}, "h") == {}
    assert p._previous_slots({"hosts": {"h": ["x"]}}, "h") == {}
    assert p._previous_slots({"hosts": {}}, "h") == {} and p._previous_slots([], "h") == {} and p._previous_slots({}, "h") == {}


def test_placement_reads_the_previous_tenants_only_from_well_formed_entries():
    live = [FLEET[0], FLEET[1]]
    assert p._placement(live, TIERS, CATALOG, {"hosts": {"shared-hetzner-fsn1-02": {"tenants": ["a"]},
                                                         "shared-hetzner-fsn1-01": "junk"}}) == {
        "shared-hetzner-fsn1-02": ["a", "b"]}          # b, new, fills the host that is there first
    assert p._placement(live, TIERS, CATALOG, "junk") == {"shared-hetzner-fsn1-01": ["b", "a"]}
    assert p._placement(live, TIERS, CATALOG, {"hosts": {"shared-hetzner-fsn1-01": {}}}) == {"shared-hetzner-fsn1-01": ["b", "a"]}


def test_a_full_shared_host_opens_a_second_one():
    fleet = [customer(f"t{i}", "bronze", 75, f"2026-01-{i + 10:02d}") for i in range(8)]   # capacity 7
    placement = p.build_plan(inputs(fleet)).placement
    assert placement == {"shared-hetzner-fsn1-01": [f"t{i}" for i in range(7)], "shared-hetzner-fsn1-02": ["t7"]}


def test_fleet_lookups(plan):
    assert plan.scrape_sources == ["203.0.113.10/32", "2001:db8:10::10/128"]
    assert len(plan.hosts) == 2 + 4 + 3 + 1 + 1 + 1     # gold-co, plat-b (3 clusters + wazuh), plat-co (2 + wazuh), 2 shared, silv
    assert [h.name for h in plan.hosts][:2] == ["gold-co-oc-1", "gold-co-wazuh"]
    assert plan.host("silv-oc-1").customer == "silv"
    assert [t.name for t in plan.tiers_by_rank()] == ["bronze", "silver", "gold", "platinum"]
    with pytest.raises(KeyError):
        plan.customer("gone")                       # departed customers are not planned
    assert [c.id for c in plan.customers] == ["a", "b", "c", "silv", "gold-co", "plat-co", "plat-b"]


# --- per customer ---------------------------------------------------------------------------

def test_customer_fields(plan):
    c = plan.customer("gold-co")
    assert (c.id, c.display_name, c.provider, c.regions, c.ha_mode, c.status, c.onboarded_on, c.monthly_price,
            c.stripe_customer_id, c.sla_target_percent, c.sla_is_override, c.custom_domain, c.compliance, c.white_label,
            c.source_file, c.tier_name, c.shared, c.wazuh, c.kubernetes, c.active) == (
        "gold-co", "Test Customer", "hetzner", ("fsn1",), None, "active", "2026-09-01", Decimal(1000), "cus_Test000001",
        99.5, False, "bot.gold.example", (), False, "customers/gold-co.yaml", "gold", False, True, False, True)
    assert c.paging.provider == "pagerduty" and c.backups.retention_days == 30
    assert [ch.type for ch in c.channels] == ["telegram"] and c.contacts[0].email == "t@example.com"
    pc = plan.customer("plat-co")
    assert (pc.sla_target_percent, pc.sla_is_override, pc.ha_mode, pc.compliance, pc.kubernetes, pc.shared) == (
        99.95, True, "active-active", ("gdpr",), True, False)
    a = plan.customer("a")
    assert (a.shared, a.wazuh, a.backups, a.sla_target_percent) == (True, False, None, 95.0)
    assert plan.customer("silv").active is False


def test_secret_refs_channels_then_endpoints(plan):
    assert [r.id for r in plan.customer("a").secret_refs] == ["A_TG"]
    orbital = yaml.safe_load((REPO / "customers" / "orbital-health.yaml").read_text())
    data = copy.deepcopy(orbital)
    lc = LoadedCustomer(Customer.model_validate(data), Document("customers/orbital-health.yaml", data))
    c = p.build_plan(inputs([lc])).customer("orbital-health")
    assert (c.model.primary, c.model.fallbacks, [k.name for k in c.skills], c.notifications.slack_channel,
            [d.name for d in c.databases], c.branding.assistant_name, c.white_label, c.model_endpoints[0].name) == (
        "orbital-llm/clinical-70b", ["anthropic/claude-opus-4-5"], ["gog", "fhir-bridge"], "#orbital-clawtex", ["triage"],
        "Orbital Care Assistant", True, "orbital-llm")
    assert [r.id for r in c.secret_refs] == ["orbital/msteams-app-password", "orbital/slack-bot-token", "orbital/slack-app-token",
                                             "orbital/telegram-bot-token", "orbital/discord-token", "orbital/llm-api-key"]


def test_probes(plan):
    assert plan.customer("a").probe == p.Endpoint("http", "shared-hetzner-fsn1-01", 80, "/a/healthz")
    assert plan.customer("a").probe.url == "http://shared-hetzner-fsn1-01/a/healthz"
    assert plan.customer("a").ready_probe.url == "http://shared-hetzner-fsn1-01/a/readyz"
    assert plan.customer("gold-co").probe == p.Endpoint("https", "bot.gold.example", 443, "/healthz")
    assert plan.customer("gold-co").probe.url == "https://bot.gold.example/healthz"
    assert plan.customer("silv").probe.url == "http://silv-oc-1/healthz"
    assert plan.customer("plat-co").ready_probe.url == "https://bot.plat-co.example/readyz"
    # a domain on a tier without custom domains does not count (validation refuses it anyway)
    assert p.probe_endpoint("x", TIERS["silver"], "bot.example", "x-oc-1", "/h") == p.Endpoint("http", "x-oc-1", 80, "/h")
    assert p.Endpoint("http", "h", 8080, "/x").url == "http://h:8080/x"
    assert p.Endpoint("https", "h", 80, "/x").url == "https://h:80/x"
    assert p.tenant_prefix("acme") == "/acme/"


def test_backup_targets(plan):
    assert plan.customer("a").backup_targets == ()
    assert plan.customer("silv").backup_targets == (p.BackupTarget("sftp", "silv-backup", "fsn1", None, "backup", False),)
    assert plan.customer("plat-co").backup_targets == (
        p.BackupTarget("s3", "clawtex-plat-co-backup", "fra1", "https://fra1.digitaloceanspaces.com", "backup", False),
        p.BackupTarget("s3", "clawtex-plat-co-backup-ams3", "ams3", "https://ams3.digitaloceanspaces.com", "backup_ams3", True))
    assert len(plan.customer("plat-b").backup_targets) == 2               # a copy in the second region only
    assert plan.customer("plat-co").backup_targets[1].output == "backup_ams3_endpoint"
    # Hetzner: the primary repository is on the catalog's Storage Box location whatever the region
    gold = TIERS["gold"].spec.backups
    assert p.backup_targets("g", "hetzner", ("nbg1",), gold, CATALOG) == (p.BackupTarget("sftp", "g-backup", "fsn1", None, "backup"),)
    # a tier without cross-region copies keeps one repository even with two regions
    assert p.backup_targets("g", "digitalocean", ("fra1", "ams3"), gold, CATALOG) == (
        p.BackupTarget("s3", "clawtex-g-backup", "fra1", "https://fra1.digitaloceanspaces.com", "backup"),)
    assert p.backup_targets("g", "digitalocean", ("fra1",), TIERS["platinum"].spec.backups, CATALOG) == (
        p.BackupTarget("s3", "clawtex-g-backup", "fra1", "https://fra1.digitaloceanspaces.com", "backup"),)


def test_load_balancers(plan):
    assert plan.customer("plat-co").load_balancers == (p.GatewayLoadBalancer("fra1", "plat-co-fra1", 80, "http", "/healthz"),
                                                       p.GatewayLoadBalancer("ams3", "plat-co-ams3", 80, "http", "/healthz"))
    assert plan.customer("gold-co").load_balancers == ()


def test_release_per_customer(plan):
    silv, a = plan.customer("silv"), plan.customer("a")
    assert (silv.release_channel, silv.openclaw_version, silv.node_version, silv.public_origin, silv.agent_settings) == (
        "lts", "2026.7.35", "24.16.0", False, "list")
    assert (a.release_channel, a.openclaw_version, a.node_version, a.public_origin, a.agent_settings) == (
        "stable", "2026.9.6", "24.16.0", True, "entries")


def test_host_release(plan):
    plugins = {"discord": "2026.9.6", "msteams": "2026.9.5", "signal": "2026.9.6", "slack": "2026.9.6", "whatsapp": "2026.9.6"}
    assert plan.host_release("shared-hetzner-fsn1-01") == ("stable", "2026.9.6", "24.16.0", plugins)
    assert plan.host_release("silv-oc-1")[:3] == ("lts", "2026.7.35", "24.16.0")
    assert plan.host_release("gold-co-wazuh") is None
    mixed = dataclasses.replace(plan, customers=tuple(dataclasses.replace(c, release_channel="lts") if c.id == "a" else c
                                                      for c in plan.customers))
    with pytest.raises(CompileError) as e:
        mixed.host_release("shared-hetzner-fsn1-01")
    assert str(e.value) == ("generated:0:0: host: host shared-hetzner-fsn1-01 would run OpenClaw release channels "
                            "['lts', 'stable']; one install per host")


def test_scan_schedules(plan):
    # per-customer offset: zlib CRC-32 of the id mod 6, worked out by hand for these ids: gold-co 0, plat-co 4, x 3
    assert plan.customer("gold-co").vulnerability_scan == p.ScanSchedule("FREQ=WEEKLY;BYDAY=SU;BYHOUR=2", "Sun *-*-* 02:00:00")
    assert plan.customer("plat-co").vulnerability_scan == p.ScanSchedule("FREQ=WEEKLY;BYDAY=SA,WE;BYHOUR=6",
                                                                          "Sat,Wed *-*-* 06:00:00")
    assert plan.customer("silv").vulnerability_scan is None


def tier_with(**spec) -> Tier:
    data = yaml.safe_load((REPO / "tiers" / "gold.yaml").read_text())
    data["spec"].update(spec)
    return Tier.model_validate(data)


def test_scan_schedule_hours_wrap_and_the_default_rule():
    assert p.scan_schedule("x", tier_with(openvasSchedule="FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=1,22")) == p.ScanSchedule(
        "FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=4,1", "Mon,Fri *-*-* 01,04:00:00")
    assert p.scan_schedule("x", tier_with(openvasSchedule="FREQ=DAILY")) == p.ScanSchedule("FREQ=DAILY;BYHOUR=3", "*-*-* 03:00:00")
    data = yaml.safe_load((REPO / "tiers" / "gold.yaml").read_text())
    del data["spec"]["openvasSchedule"]
    assert p.scan_schedule("x", Tier.model_validate(data)) == p.ScanSchedule("FREQ=WEEKLY;BYDAY=SU;BYHOUR=5", "Sun *-*-* 05:00:00")
    assert p.scan_schedule("x", TIERS["bronze"]) is None


# --- fleet-wide facts -------------------------------------------------------------------------

def test_wazuh_rule_blocks_oldest_overlay_first_and_sticky(plan):
    assert plan.wazuh_rule_blocks == {"plat-b": 100100, "plat-co": 100120}       # gold-co has Wazuh but no overlay
    assert plan.wazuh_rule_base("plat-co") == 100120
    swapped = p.build_plan(inputs(previous=PreviousState(wazuh_blocks={"plat-co": 0})))
    assert swapped.wazuh_rule_blocks == {"plat-b": 100120, "plat-co": 100100}


def test_wazuh_rule_ids_hold_995_overlay_customers():
    owners = [SimpleNamespace(id=f"c{i:04d}", wazuh=True, compliance=("gdpr",), onboarded_on="2026-01-01") for i in range(996)]
    blocks = p._wazuh_rule_blocks(owners[:995], {})
    assert blocks["c0000"] == 100100 and blocks["c0994"] == 119980
    with pytest.raises(CompileError) as e:
        p._wazuh_rule_blocks(owners, {})
    assert [(d.file, d.line, d.column, d.path) for d in e.value.diagnostics] == [("customers/", 0, 0, "")]
    assert str(e.value) == ("customers/:0:0: 996 customers need a Wazuh rule-id block of 20, and ids 100100-119999 hold 995; "
                            "shrink the block size or move compliance overlays to per-manager ids")


def test_decommission_records(plan):
    assert plan.decommissioned == (
        p.DecommissionRecord("gone", "gold", "hetzner", "Jane Doe", "2026-10-01", 30, "2026-10-31",
                             (p.BackupTarget("sftp", "gone-backup", "fsn1", None, "backup"),)),
        p.DecommissionRecord("gone-b", "bronze", "hetzner", "Jo Roe", "2026-10-05", 0, None, ()))
    # an unknown tier or an active customer with a decommission block gives no record
    odd = customer("odd", "gold", 1000, paging=PAGING, decommission={"approvedBy": "A B", "date": "2026-10-01"})
    odd_tier = customer("odd-tier", "nope", 1000, status="decommissioned", decommission={"approvedBy": "A B", "date": "2026-10-01"})
    assert p.decommission_records(inputs([odd, odd_tier, FLEET[7]]))[0].customer == "gone"
    assert len(p.decommission_records(inputs([odd, odd_tier]))) == 0


def test_runtime(plan):
    r = plan.runtime
    assert (r.version, r.node_version, r.gateway_port, r.health_path, r.log_file, r.config_dir, r.workspace_dir, r.skills_dir,
            r.log_format, r.secrets_dir, r.proxies_host, r.proxies_shared, r.proxies_kubernetes, r.ready_path, r.state_dir,
            r.bundled_channels) == (
        "2026.9.6", "24.16.0", 18789, "/healthz", "/var/log/openclaw/gateway.log", "/etc/openclaw", "/var/lib/openclaw/workspace",
        "/var/lib/openclaw/skills", "jsonl", "/etc/openclaw/secrets", ("127.0.0.1",),
        (("docker", ("172.17.0.1",)), ("podman", ("10.0.2.2",))), ("10.42.0.0/16",), "/readyz", "/var/lib/openclaw/.openclaw",
        ("telegram",))
    assert r.channel_plugins == (("discord", "2026.9.6"), ("msteams", "2026.9.5"), ("signal", "2026.9.6"),
                                 ("slack", "2026.9.6"), ("whatsapp", "2026.9.6"))
    assert r.shared_proxies("podman") == ("10.0.2.2",) and r.shared_proxies("docker") == ("172.17.0.1",)


def test_slo_plan(plan):
    s = plan.slo
    # budget share x period / long window: 2 % x 720 h / 1 h = 14.4; 5 % x 120 = 6; 10 % x 30 = 3; 10 % x 10 = 1
    assert s.burn_alerts == (p.BurnAlert("OpenClawErrorBudgetBurnFast", "page", (("1h", "5m", 14.4), ("6h", "30m", 6))),
                             p.BurnAlert("OpenClawErrorBudgetBurnSlow", "ticket", (("1d", "2h", 3), ("3d", "6h", 1))))
    assert all(type(f) is int for a in s.burn_alerts for _, _, f in a.windows if f != 14.4)
    assert (s.period, s.sli_window, s.recorded_windows) == ("30d", "5m", ("30m", "1h", "2h", "6h", "1d", "3d", "30d"))
    assert s.period_days == 30 and s.burn_windows == ("5m", "1h", "6h", "1d", "3d")
    assert p.burn_factor(1, "30d", "7h") == 1.028571 and p.burn_factor(50, "1d", "1h") == 12


def test_dashboard_uid():
    assert p.customer_dashboard_uid("acme") == "acme"
    for uid in ("clawtex-fleet", "clawtex-kpis"):
        with pytest.raises(ValueError, match=f"customer id '{uid}' is a fleet dashboard's uid; choose another id"):
            p.customer_dashboard_uid(uid)


def test_state_key():
    assert p.state_key(SETTINGS, "acme") == "stacks/acme/terraform.tfstate"


def test_suspended_dedicated_and_platinum_hosts_stop_all_of_them():
    fleet = [customer("sg", "gold", 1000, status="suspended", paging=PAGING),
             platinum("sp", "2025-01-01", ["gdpr"], status="suspended")]
    plan = p.build_plan(inputs(fleet))
    assert {h.name: h.running for h in plan.hosts} == {
        "sg-oc-1": False, "sg-wazuh": False, **{f"sp-{r}": False for r in ("fra1", "ams3")},
        "sp-wazuh": False}


def test_a_location_plan_of_the_catalog_is_used_in_its_location():
    # Hetzner sells no CX33 in Ashburn: the catalog's locationPlans.ash.wazuh_manager is a CCX23
    fleet = [customer("ga", "gold", 1000, paging=PAGING, regions=["ash"])]
    assert {h.name: h.size.slug for h in p.build_plan(inputs(fleet)).hosts} == {"ga-oc-1": "ccx23", "ga-wazuh": "ccx23"}
    # a location plan for the tier's own role (made up here: no provider has one today) wins over the plan
    data = yaml.safe_load((REPO / "tiers" / "providers.yaml").read_text())
    big = {"slug": "ccx33", "vcpu": 8, "ramGb": 32, "diskGb": 240, "monthlyUsd": 57.0, "dedicatedVcpu": True}
    data["spec"]["hetzner"]["locationPlans"]["ash"]["gold"] = big
    data["spec"]["digitalocean"]["locationPlans"] = {"ams3": {"platinum": dict(big, slug="c-8")}}
    catalog = ProviderCatalog.model_validate(data)
    fleet.append(platinum("pa", "2025-01-01", ["gdpr"]))
    sizes = {h.name: h.size.slug for h in p.build_plan(dataclasses.replace(inputs(fleet), catalog=catalog)).hosts}
    assert sizes["ga-oc-1"] == "ccx33" and sizes["pa-fra1"] == "c-4" and sizes["pa-ams3"] == "c-8"


def test_an_unapproved_request_does_not_stop_the_records_after_it():
    leaving, gone = FLEET[9], FLEET[7]
    assert [r.customer for r in p.decommission_records(inputs([leaving, gone]))] == ["gone"]


def test_the_plan_carries_its_inputs_and_each_customer_its_stack(plan):
    assert plan.settings is SETTINGS and plan.catalog is CATALOG and plan.tiers is TIERS
    assert plan.customer("gold-co").stack == "gold-co" and plan.customer("plat-co").stack == "plat-co"


def test_the_ready_path_comes_from_the_settings():
    data = yaml.safe_load((REPO / "clawtex.yaml").read_text())
    data["spec"]["openclaw"]["readyPath"] = "/ready-now"
    plan = p.build_plan(inputs(settings=Settings.model_validate(data)))
    assert plan.customer("a").ready_probe.url == "http://shared-hetzner-fsn1-01/a/ready-now"
    assert plan.customer("silv").ready_probe.url == "http://silv-oc-1/ready-now"
    assert plan.runtime.ready_path == "/ready-now"


def test_a_shared_host_location_plan_and_a_shared_tier_with_backups():
    data = yaml.safe_load((REPO / "tiers" / "providers.yaml").read_text())
    data["spec"]["hetzner"]["locationPlans"]["fsn1"] = {"shared_host": {"slug": "cx53", "vcpu": 16, "ramGb": 32, "diskGb": 320,
                                                                        "monthlyUsd": 38.0}}
    bronze = yaml.safe_load((REPO / "tiers" / "bronze.yaml").read_text())
    bronze["spec"]["backups"] = {"schedule": "daily", "intervalHours": 24, "retentionDays": 7, "crossRegion": False,
                                 "retainedSizeFactor": 1.5}
    fleet = [customer("a", "bronze", 75)] + [customer(f"t{i}", "bronze", 75, f"2026-01-{i + 10:02d}") for i in range(8)]
    plan = p.build_plan(dataclasses.replace(inputs(fleet), catalog=ProviderCatalog.model_validate(data),
                                            tiers=dict(TIERS, bronze=Tier.model_validate(bronze))))
    (h,) = plan.hosts           # nine tenants: more than a cx43 holds (7), one cx53 holds them all
    # cx53: (32 - 2) / 2 = 15 tenants by RAM, 16 x 2 / 1 = 32 by CPU: 15, volume 150 GB
    assert (h.size.slug, h.volume_gb, len(h.tenants)) == ("cx53", 150, 9)
    assert plan.customer("a").backup_targets == (p.BackupTarget("sftp", "a-backup", "fsn1", None, "backup"),)


def test_a_dedicated_customer_listed_first_does_not_stop_placement():
    fleet = [customer("gd", "gold", 1000, paging=PAGING), customer("a", "bronze", 75)]
    assert p.build_plan(inputs(fleet)).placement == {"shared-hetzner-fsn1-01": ["a"]}
