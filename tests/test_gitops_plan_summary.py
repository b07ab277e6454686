"""The PR comment's "what the clouds will do" section, rendered from plans.

The plan JSON below is written by hand to Terraform's documented JSON output
format (https://developer.hashicorp.com/terraform/internals/json-format: the
output of `terraform show -json tfplan`: `format_version`, `resource_changes[]`
with `address`, `mode`, `type`, `name`, `provider_name`, `change.actions`,
`change.before`, `change.after`, `change.replace_paths`, `action_reason`) - no
terraform binary runs here, so the renderer is checked against the format's
specification, not against its own output."""
from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import REPO, run_clawtex
from gitops_helpers import compile_and_commit, edit, init_repo
from compiler.gitops.plan_summary import protected_addresses, render, summarize


def rc(address: str, actions: list[str], before: dict | None, after: dict | None, **extra) -> dict:
    rtype, name = address.split(".", 1)
    change = {"actions": actions, "before": before, "after": after, "after_unknown": {},
              "before_sensitive": {}, "after_sensitive": {}}
    change.update(extra.pop("change", {}))
    return {"address": address, "mode": "managed", "type": rtype, "name": name.split("[")[0],
            "provider_name": "registry.terraform.io/hetznercloud/hcloud", "change": change, **extra}


def plan(*changes: dict) -> dict:
    return {"format_version": "1.2", "terraform_version": "1.10.5", "planned_values": {}, "resource_changes": list(changes),
            "configuration": {}}


ACME = plan(
    rc("hcloud_firewall.fw", ["update"], {"name": "acme-fw", "rule": []}, {"name": "acme-fw", "rule": [{"port": "443"}]}),
    rc("hcloud_server.oc_1", ["update"], {"name": "acme-oc-1", "server_type": "cx32"}, {"name": "acme-oc-1", "server_type": "cx42"}),
    rc("hcloud_ssh_key.ops", ["no-op"], {"name": "ops"}, {"name": "ops"}),
    rc("hcloud_server.wazuh", ["delete", "create"], {"image": "debian-12"}, {"image": "debian-13"},
       change={"replace_paths": [["image"]]}, action_reason="replace_because_cannot_update"),
    rc("hcloud_rdns.wazuh_rdns", ["delete"], {"dns_ptr": "x"}, None),
    rc("hcloud_zone_rrset.customer_dns", ["create"], None, {"name": "bot"}),
    rc("hcloud_volume.oc_1_data", ["update"], {"size": 40, "labels": {}}, {"size": 40, "labels": {"a": "b"}}),
    {"address": "data.hcloud_image.debian", "mode": "data", "type": "hcloud_image", "name": "debian",
     "change": {"actions": ["read"], "before": None, "after": {}}},
)
QUIET = plan(rc("hcloud_ssh_key.ops", ["no-op"], {"name": "ops"}, {"name": "ops"}))
DO = plan(rc("digitalocean_droplet.oc_1", ["update"], {"size": "s-2vcpu-4gb"}, {"size": "s-4vcpu-8gb"}))


def test_replacements_and_destroys_come_first_then_changes():
    lines = render([summarize("quiet", QUIET), summarize("acme-logistics", ACME)])
    text = "\n".join(lines)
    acme = text[text.index("#### `acme-logistics`"):text.index("#### `quiet`")]
    order = [re.search(r"`([-/+~]+)` \w", line).group(1) for line in acme.splitlines() if line.startswith("- `")]
    assert order == ["-/+", "-", "+", "~", "~", "~"]
    assert "- `-/+` replace `hcloud_server.wazuh` (forced by image; replace_because_cannot_update)" in acme
    assert "- `-` destroy `hcloud_rdns.wazuh_rdns`" in acme
    assert "hcloud_ssh_key.ops" not in acme and "data.hcloud_image" not in acme      # no-op and reads are not changes
    assert text.index("#### `acme-logistics`") < text.index("#### `quiet`: no changes")   # destructive stacks first
    assert "1 to replace**, **1 to destroy**, 1 to create, 3 to update in place" in text


def test_resizes_that_reboot_a_server_are_flagged():
    text = "\n".join(render([summarize("acme-logistics", ACME), summarize("do-one", DO)]))
    assert "- **reboot**: `hcloud_server.oc_1` in stack `acme-logistics`: server_type cx32 → cx42 powers the server off" in text
    assert "- **reboot**: `digitalocean_droplet.oc_1` in stack `do-one`: size s-2vcpu-4gb → s-4vcpu-8gb" in text
    assert "hcloud_firewall.fw` in stack" not in text          # an in-place firewall change reboots nothing


def test_a_change_touching_a_prevent_destroy_resource_is_flagged():
    generated = json.loads((REPO / "generated" / "terraform" / "acme-logistics" / "cdk.tf.json").read_text())
    protected = protected_addresses(generated)
    assert "hcloud_volume.oc_1_data" in protected                # the compiler's own guard on customer data
    text = "\n".join(render([summarize("acme-logistics", ACME, protected)]))
    assert "- **protected resource changes**: `hcloud_volume.oc_1_data` in stack `acme-logistics`" in text
    doomed = plan(rc("hcloud_volume.oc_1_data", ["delete", "create"], {"size": 40}, {"size": 20}))
    text = "\n".join(render([summarize("acme-logistics", doomed, protected)]))
    assert "- **prevent_destroy**: `hcloud_volume.oc_1_data` in stack `acme-logistics` would be replaced" in text


def test_an_unknown_format_major_version_is_refused_not_misread():
    [stack] = render_input = [summarize("x", {"format_version": "2.0", "resource_changes": ACME["resource_changes"]})]
    assert stack.resources == [] and "unsupported plan format_version 2.0" in "\n".join(render(render_input))


def test_pr_summary_posts_the_plans_into_the_one_comment(tmp_path):
    root = init_repo(tmp_path / "repo")
    edit(root / "customers" / "acme-logistics.yaml", "displayName: ACME Logistics GmbH", "displayName: ACME Logistics AG")
    compile_and_commit(root, "rename")
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "acme-logistics.json").write_text(json.dumps(ACME))
    result = run_clawtex(root, "pr-summary", "--base", "HEAD~1", "--head", "HEAD", "--plans", str(plans))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("<!-- clawtex-pr-summary -->")
    assert "### What the clouds will do (terraform plan)" in text and "`-/+` replace `hcloud_server.wazuh`" in text
    assert "**protected resource changes**: `hcloud_volume.oc_1_data`" in text
