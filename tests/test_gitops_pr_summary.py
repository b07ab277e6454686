"""`clawtex pr-summary`: the PR comment, rendered locally from temporary git repos."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_clawtex
from gitops_helpers import add_gold_customer, commit, compile_and_commit, decommission, edit, edit_json, init_repo
from compiler.costs import customer_costs
from compiler.gitops.pr_summary import COMMENT_LIMIT, MARKER, summary, truncate
from compiler.pipeline import plan_repo


@pytest.fixture
def gitrepo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo")


def section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n### ", start + 1)
    return text[start:end if end > 0 else None]


def test_new_gold_customer_lists_server_wazuh_vm_alerts_price_and_cost(gitrepo):
    add_gold_customer(gitrepo)
    compile_and_commit(gitrepo, "zenith")
    result = run_clawtex(gitrepo, "pr-summary", "--base", "HEAD~1", "--head", "HEAD")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith(MARKER + "\n")
    row = next(line for line in section(text, "### Customers").splitlines() if "`zenith-robotics`" in line)
    # price from the customer file, cost from compiler.costs: ccx23 (Gold is dedicated vCPU) + cx33 Wazuh VM + 80 GB volume
    expected_cost = customer_costs(plan_repo(gitrepo))["zenith-robotics"]
    assert row.split(" | ")[2:] == ["added", "gold", "hetzner", "ccx23", "$999.00", f"${expected_cost:,.2f} |"], row
    resources = section(text, "### Terraform resources")
    assert "added `hcloud_server.oc_1` (name=zenith-robotics-oc-1, server_type=ccx23" in resources
    assert "added `hcloud_server.wazuh` (name=zenith-robotics-wazuh" in resources
    assert "added `hcloud_volume.oc_1_data`" in resources
    assert "alerts covering new customer `zenith-robotics`: `BackupStale`, `ChannelDisconnected`, `DiskSpaceHigh`" in text
    assert "agent group added: `zenith-robotics`" in text
    assert "None: no destroy" in section(text, "### Red flags")
    assert "_9 unchanged customer(s) not shown._" in text


def test_decommission_is_a_red_flag_and_the_first_row(gitrepo):
    decommission(gitrepo, "helios-energy")
    add_gold_customer(gitrepo)
    compile_and_commit(gitrepo, "swap")
    text = summary(gitrepo, "HEAD~1", "HEAD")
    flags = section(text, "Red flags")
    assert "**destroy**: stack `helios-energy` (helios-energy)" in flags
    rows = [l for l in section(text, "### Customers").splitlines() if l.startswith("| ") and "`" in l]
    assert rows[0].startswith("| :red_circle: | `helios-energy` | removed | ~~gold~~ | ~~vultr~~"), rows
    assert "`zenith-robotics`" in rows[1]
    assert "**removed** `vultr_instance.oc_1`" in section(text, "#### stack `helios-energy`")
    assert "**agent group removed**: `helios-energy`" in text


def test_tier_upgrade_flags_the_cost_increase_and_lists_attribute_changes(gitrepo):
    path = gitrepo / "customers" / "brightpath-tutors.yaml"
    edit(path, "tier: silver", "tier: gold")
    edit(path, "monthlyPrice: 199", "monthlyPrice: 899")
    edit(path, "  skills:\n", "  paging:\n    provider: pagerduty\n    keyRef: {source: file, provider: ops, id: pd/bp.key}\n"
                             "  skills:\n")
    compile_and_commit(gitrepo, "brightpath to gold")
    text = summary(gitrepo, "HEAD~1", "HEAD", cost_threshold=10)
    assert "**cost increase** over 10%: `brightpath-tutors`" in section(text, "Red flags")
    assert "silver → gold" in section(text, "### Customers")
    assert "$199.00 → $899.00" in section(text, "### Customers")
    stack = section(text, "#### stack `brightpath-tutors`")
    assert "changed `vultr_instance.oc_1`:" in stack and "`plan`" in stack
    assert "`clawtex_tier` silver → gold" in section(text, "### Host variables")
    assert "tier downgrade" not in text
    assert "cost increase" not in summary(gitrepo, "HEAD~1", "HEAD", cost_threshold=10_000)


def test_tier_downgrade_is_a_red_flag(gitrepo):
    path = gitrepo / "customers" / "brightpath-tutors.yaml"
    edit(path, "tier: silver", "tier: bronze")
    edit(path, "monthlyPrice: 199", "monthlyPrice: 49")
    edit(path, "    - type: signal\n      linked: false\n      account: \"+31612345678\"\n      dmPolicy: allowlist\n"
               "      allowFrom: [\"+31612345679\"]\n", "")
    edit(path, "  skills:\n    - {name: homework-helper, kind: custom, source: \"https://github.com/brightpath/homework-helper.git\", ref: main}\n", "")
    compile_and_commit(gitrepo, "brightpath to bronze")
    text = summary(gitrepo, "HEAD~1", "HEAD")
    assert "**tier downgrade**: `brightpath-tutors` silver → bronze" in section(text, "Red flags")
    assert section(text, "### Customers").count(":red_circle:") == 1


def test_firewall_opening_is_a_red_flag(gitrepo):
    def open_port(doc):
        doc["resource"]["hcloud_firewall"]["fw"]["rule"].append(
            {"direction": "in", "port": "5432", "protocol": "tcp", "source_ips": ["0.0.0.0/0"]})
    edit_json(gitrepo / "generated" / "terraform" / "acme-logistics" / "cdk.tf.json", open_port)
    commit(gitrepo, "open postgres")
    text = summary(gitrepo, "HEAD~1", "HEAD")
    assert ("**firewall opening** in stack `acme-logistics`: tcp/5432 from 0.0.0.0/0 (whole internet)"
            in section(text, "Red flags"))
    # the appended rule follows ssh, 80, 443 and the Prometheus scrape rule (issue 25)
    assert "changed `hcloud_firewall.fw`: `rule[4].direction` (unset) → in" in text


def test_comment_stays_under_githubs_limit_with_a_link():
    text = "\n".join(f"- line {i} " + "x" * 80 for i in range(2000))
    out = truncate(text, COMMENT_LIMIT, "https://example.invalid/artifact")
    assert len(text) > COMMENT_LIMIT >= len(out)
    assert out.endswith("see [the full summary](https://example.invalid/artifact).\n")
    assert truncate("short\n", COMMENT_LIMIT, None) == "short\n"


def test_big_change_is_truncated_and_full_text_written(gitrepo, tmp_path):
    add_gold_customer(gitrepo)
    compile_and_commit(gitrepo, "zenith")
    full = summary(gitrepo, "HEAD~1", "HEAD", limit=None)
    cut = summary(gitrepo, "HEAD~1", "HEAD", limit=800, artifact_url="https://example.invalid/a")
    assert len(cut) <= 800 < len(full) and cut.startswith(MARKER) and "**Truncated**" in cut
    out = tmp_path / "full.md"
    result = run_clawtex(gitrepo, "pr-summary", "--base", "HEAD~1", "--full-out", str(out))
    assert result.returncode == 0 and out.read_text() == full == result.stdout


def test_bronze_removal_flags_the_tenant_but_never_shrinks_the_shared_volume(gitrepo):
    decommission(gitrepo, "tiny-legal")
    compile_and_commit(gitrepo, "decommission tiny-legal")
    text = summary(gitrepo, "HEAD~1", "HEAD")
    flags = section(text, "Red flags")
    assert "**customer removed**: `tiny-legal` leaves the fleet" in flags
    assert "volume shrink" not in flags, "shared volumes are sized by host capacity, not tenants"
    [line] = section(text, "### Host variables").splitlines()[2:]
    assert line.startswith("- `shared-hetzner-fsn1-01`: ") and line.endswith("container `tiny-legal` **removed**")
    assert "`openclaw_proxy_locations[2].path` /tiny-legal/ → (unset)" in line   # its route leaves the proxy too
    assert "- `tiny-legal`: gateway config **removed**" in section(text, "### OpenClaw gateway config")


def test_volume_shrink_is_a_red_flag(gitrepo):
    stack = gitrepo / "generated" / "terraform" / "shared-hetzner-fsn1-01" / "cdk.tf.json"
    edit_json(stack, lambda d: d["resource"]["hcloud_volume"]["host_data"].update(size=10))
    commit(gitrepo, "shrink by hand")
    flags = section(summary(gitrepo, "HEAD~1", "HEAD"), "Red flags")
    assert "**volume shrink**: `hcloud_volume.host_data` in stack `shared-hetzner-fsn1-01`" in flags


def test_gateway_config_change_is_listed_by_setting(gitrepo):
    edit(gitrepo / "customers" / "pixel-bakery.yaml", "dmPolicy: pairing", "dmPolicy: allowlist\n      allowFrom: [\"4242\"]")
    compile_and_commit(gitrepo, "pixel-bakery allowlist")
    text = summary(gitrepo, "HEAD~1", "HEAD")
    config = section(text, "### OpenClaw gateway config")
    assert "`channels.telegram.dmPolicy` pairing → allowlist" in config
    # values are escaped Markdown text (compiler/escape.py markdown_text): renders as ["4242"]
    assert '`channels.telegram.allowFrom` (unset) → \\["4242"\\]' in config
    assert "None: no destroy" in section(text, "Red flags")
    assert "### Terraform resources" in text and "no Terraform change" in section(text, "### Terraform resources")


def test_alert_and_wazuh_rule_changes_are_listed(gitrepo):
    rules = gitrepo / "generated" / "wazuh" / "rules" / "clawtex_rules.xml"
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text('<group name="clawtex,">\n  <rule id="119990" level="10"><description>a</description></rule>\n'
                     '  <rule id="119991" level="5"><description>b</description></rule>\n</group>\n')
    commit(gitrepo, "wazuh rules v1")
    rules.write_text('<group name="clawtex,">\n  <rule id="119990" level="10"><description>a</description></rule>\n'
                     '  <rule id="119992" level="7"><description>c</description></rule>\n</group>\n')
    slo = gitrepo / "generated" / "prometheus" / "rules" / "slo.yml"
    edit(slo, "- name: clawtex-slo-gold\n  rules:\n",
         "- name: clawtex-slo-gold\n  rules:\n  - alert: OpenClawDown\n    expr: up == 0\n"
         "    labels:\n      severity: page\n      tier: gold\n")
    commit(gitrepo, "wazuh rules v2, new alert")
    text = summary(gitrepo, "HEAD~1", "HEAD")
    wazuh = section(text, "### Wazuh")
    assert "- rule ids added: 119992" in wazuh and "- **rule ids removed**: 119991" in wazuh
    assert "alert added: `OpenClawDown` (group clawtex-slo-gold, severity=page, tier=gold)" in text
    assert "Fleet-wide" in text


def test_table_header_fleet_totals_and_tier_scoped_alerts(gitrepo):
    """Reviewers' nits: the first column has a header; the fleet's MRR and cost delta is
    shown; an alert whose expression selects other tiers is not listed for a new
    customer (TLSCertificateExpiring is tier=~"gold|platinum" in the generated rules)."""
    add_gold_customer(gitrepo)
    text = (gitrepo / "customers" / "brightpath-tutors.yaml").read_text()
    (gitrepo / "customers" / "newleaf-silver.yaml").write_text(
        text.replace("brightpath-tutors", "newleaf-silver").replace("BRIGHTPATH_", "NEWLEAF_")
            .replace("cus_", "cus_N").replace("sub_", "sub_N"))
    compile_and_commit(gitrepo, "zenith and newleaf")
    rules = "\n".join(p.read_text() for p in (gitrepo / "generated" / "prometheus" / "rules").glob("*.yml"))
    assert 'TLSCertificateExpiring\n    expr: probe_ssl_earliest_cert_expiry{job="openclaw-probe",tier=~"gold|platinum"}' in rules
    result = run_clawtex(gitrepo, "pr-summary", "--base", "HEAD~1", "--head", "HEAD")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "| risk | customer | change |" in out
    silver = next(l for l in out.splitlines() if "alerts covering new customer `newleaf-silver`" in l)
    gold = next(l for l in out.splitlines() if "alerts covering new customer `zenith-robotics`" in l)
    assert "TLSCertificateExpiring" not in silver and "TLSCertificateExpiring" in gold
    plan = plan_repo(gitrepo)
    added = sum(c.monthly_price for c in plan.customers if c.id in ("zenith-robotics", "newleaf-silver"))
    cost = sum(v for k, v in customer_costs(plan).items() if k in ("zenith-robotics", "newleaf-silver"))
    totals = next(l for l in out.splitlines() if l.startswith("**Fleet total**"))
    assert f"(+${added:,.2f})" in totals and f"(+${cost:,.2f})" in totals, totals


def test_a_tag_list_change_shows_the_added_tag_not_the_shared_prefix():
    from compiler.gitops.artifacts import Stack
    from compiler.gitops.pr_summary import resource_changes
    tags = ["customer:acme-logistics", "managed-by:clawtex", "role:openclaw"]
    before = Stack("s", ("acme",), {"hcloud_server.oc_1": {"labels": {}, "tags": tags}}, ())
    after = Stack("s", ("acme",), {"hcloud_server.oc_1": {"labels": {}, "tags": tags + ["tier:gold"]}}, ())
    [line] = resource_changes(before, after)
    assert line == "- changed `hcloud_server.oc_1`: `tags` +tier:gold"
    long_before = Stack("s", (), {"x.y": {"user_data": "#cloud-config\n" + "a" * 80 + "OLD"}}, ())
    long_after = Stack("s", (), {"x.y": {"user_data": "#cloud-config\n" + "a" * 80 + "NEW"}}, ())
    [line] = resource_changes(long_before, long_after)
    assert "OLD" in line and "NEW" in line


def test_per_host_variables_are_listed_under_their_host_not_fleet_wide():
    from compiler.gitops.changed import detect
    from conftest import REPO
    files = {f"generated/{p.relative_to(REPO / 'generated').as_posix()}": p.read_bytes()
             for p in (REPO / "generated" / "ansible").rglob("*") if p.is_file()}
    head = dict(files)
    key = "generated/ansible/inventory/host_vars/acme-logistics-oc-1.yml"
    head[key] = files[key] + b"\nclawtex_extra: 1\n"
    changes = detect(files, head)
    assert not changes.fleet, changes.fleet
    assert "acme-logistics" in changes.stacks and "acme-logistics" in changes.customers


def test_moving_the_stable_pin_upgrades_exactly_the_stable_customers(gitrepo):
    """Oracle for who is affected: customers/*.yaml releaseChannel and tiers/*.yaml releaseChannels.default,
    read here with plain YAML."""
    import yaml
    tiers = {p.stem: yaml.safe_load(p.read_text())["spec"] for p in (gitrepo / "tiers").glob("*.yaml")
             if p.name not in ("providers.yaml", "replacement-facts.yaml")}
    stable = set()
    for p in (gitrepo / "customers").glob("*.yaml"):
        spec = yaml.safe_load(p.read_text())["spec"]
        if spec.get("status", "active") != "decommissioned" and \
                (spec.get("releaseChannel") or tiers[spec["tier"]]["releaseChannels"]["default"]) == "stable":
            stable.add(p.stem)
    assert stable and len(stable) < len(list((gitrepo / "customers").glob("*.yaml")))   # someone is on lts
    edit(gitrepo / "clawtex.yaml", 'version: "2026.9.6"', 'version: "2026.9.7"')
    compile_and_commit(gitrepo, "move stable")
    text = summary(gitrepo, "HEAD~1", "HEAD")
    releases = section(text, "### OpenClaw release")
    listed = {line.split("`")[1] for line in releases.splitlines() if line.startswith("- `")}
    assert listed == stable, (sorted(listed ^ stable), releases)
    for cid in stable:
        assert f"- `{cid}` (stable): OpenClaw upgrade 2026.9.6 → 2026.9.7" in releases, releases
    assert f"**{len(stable)} customer(s) affected**" in text
    # The customers' hosts install the new version (generated host_vars), LTS hosts do not.
    hv = yaml.safe_load((gitrepo / "generated/ansible/inventory/host_vars/mapleleaf-dental-oc-1.yml").read_text())
    assert hv["openclaw_version"] != "2026.9.7"
    hv = yaml.safe_load((gitrepo / "generated/ansible/inventory/host_vars/acme-logistics-oc-1.yml").read_text())
    assert hv["openclaw_version"] == "2026.9.7"


def test_moving_a_customer_to_lts_is_listed_as_a_downgrade_of_that_customer(gitrepo):
    edit(gitrepo / "customers" / "acme-logistics.yaml", "  tier: gold\n", "  tier: gold\n  releaseChannel: lts\n")
    compile_and_commit(gitrepo, "acme to lts")
    text = summary(gitrepo, "HEAD~1", "HEAD")
    releases = section(text, "### OpenClaw release")
    assert [l for l in releases.splitlines() if l.startswith("- ")] == \
        ["- `acme-logistics` (stable → lts): OpenClaw **downgrade** 2026.9.6 → 2026.7.35"], releases


def _ports(root: Path, host: str) -> dict[str, int]:
    import yaml
    inv = yaml.safe_load((root / "generated/ansible/inventory/hosts.yml").read_text().replace("!unsafe", ""))

    def find(node):
        if isinstance(node, dict):
            if host in (node.get("hosts") or {}):
                return node["hosts"][host]
            for sub in (node.get("children") or {}).values():
                got = find(sub)
                if got:
                    return got
    hv = find(inv["all"])
    return {c["customer"]: c["port"] for c in hv["openclaw_containers"]}


def test_a_bronze_decommission_keeps_the_neighbours_ports_and_explains_their_cost_share(gitrepo):
    """Issue 27: removing the first tenant of a shared host moved its neighbours' ports
    (port = place in the list) and flagged them "cost increase". Ports are sticky
    slots now; the cost share is explained, not flagged."""
    host = "shared-hetzner-fsn1-01"
    before = _ports(gitrepo, host)
    assert list(before) == ["pixel-bakery", "nordic-yoga", "tiny-legal"]
    decommission(gitrepo, "pixel-bakery")
    compile_and_commit(gitrepo, "decommission pixel-bakery")
    after = _ports(gitrepo, host)
    assert after == {"nordic-yoga": before["nordic-yoga"], "tiny-legal": before["tiny-legal"]}
    text = summary(gitrepo, "HEAD~1", "HEAD")
    flags = section(text, "Red flags")
    assert "**cost increase**" not in flags
    assert "`nordic-yoga`: est. share" in flags and "`pixel-bakery` left" in flags and "split over 2 tenant(s) instead of 3" in flags
    hosts = section(text, "### Host variables")
    assert "container `pixel-bakery` **removed**" in hosts
    assert "nordic-yoga`: `port`" not in hosts and "`port`" not in hosts, hosts


def test_a_newcomer_takes_the_freed_slot_and_no_one_else_moves(gitrepo):
    host = "shared-hetzner-fsn1-01"
    before = _ports(gitrepo, host)
    decommission(gitrepo, "pixel-bakery")
    compile_and_commit(gitrepo, "decommission pixel-bakery")
    text = (gitrepo / "customers" / "tiny-legal.yaml").read_text()
    (gitrepo / "customers" / "late-bakery.yaml").write_text(
        text.replace("tiny-legal", "late-bakery").replace("Tiny Legal", "Late Bakery"))
    compile_and_commit(gitrepo, "onboard late-bakery")
    after = _ports(gitrepo, host)
    assert after["late-bakery"] == before["pixel-bakery"]
    assert (after["nordic-yoga"], after["tiny-legal"]) == (before["nordic-yoga"], before["tiny-legal"])


def test_a_new_bronze_customer_is_not_listed_under_the_backup_alert(gitrepo):
    """Bronze has no backups (tiers/bronze.yaml has no spec.backups; the brief's tier table): the
    PR summary must not promise BackupStale for a new Bronze customer. Was: the alert's expression
    named no tier (it selects tiers only through its join with the per-tier allowance), so the
    summary listed it for every tier. A new Silver customer keeps it."""
    for new, like in (("ember-bakery", "corner-garage"), ("newleaf-silver", "brightpath-tutors")):
        text = (gitrepo / "customers" / f"{like}.yaml").read_text()
        prefix = like.split("-")[0]
        (gitrepo / "customers" / f"{new}.yaml").write_text(
            text.replace(like, new).replace(prefix.upper() + "_", new.split("-")[0].upper() + "_")
                .replace("cus_", "cus_N").replace("sub_", "sub_N"))
    compile_and_commit(gitrepo, "ember and newleaf")
    out = summary(gitrepo, "HEAD~1", "HEAD")
    bronze = next(l for l in out.splitlines() if "alerts covering new customer `ember-bakery`" in l)
    silver = next(l for l in out.splitlines() if "alerts covering new customer `newleaf-silver`" in l)
    assert "BackupStale" not in bronze, bronze
    assert "BackupStale" in silver, silver
