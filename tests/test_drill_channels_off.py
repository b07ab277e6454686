"""A DR drill's scratch server never answers on the customer's channels.

The drill (scripts/gitops/dr-drill.sh) restores the customer's state, WhatsApp/Signal sessions included,
onto a server converged with the customer's host vars and tokens. With its channels on, that gateway would
answer beside production (or take Telegram's updates from it). The scratch converge passes
`clawtex_channels_off=true`; the openclaw role then writes the compiled openclaw.json with every channel's
`enabled: false`. Here Ansible itself runs the role's task file on this machine, and the pinned OpenClaw
CLI validates the result."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from test_openclaw_validator import openclaw_env, validate  # noqa: F401  (the fixture and its helper)

CUSTOMERS = ["acme-logistics", "orbital-health", "helios-energy"]   # Slack/Teams/Telegram; six channels; WhatsApp


def run_channels_off(tmp_path, customer: str) -> dict:
    play = [{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {"clawtex_generated_dir": str(REPO / "generated"),
                 "openclaw_config_file": f"openclaw/{customer}/openclaw.json",
                 "openclaw_config_dir": str(tmp_path), "openclaw_user": "root",
                 "ansible_python_interpreter": sys.executable},
        "handlers": [{"name": "Restart openclaw gateway", "ansible.builtin.debug": {"msg": "restart"}}],
        "tasks": [{"ansible.builtin.include_tasks": str(REPO / "modules/ansible/roles/openclaw/tasks/channels_off.yml")}],
    }]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    done = subprocess.run(["ansible-playbook", "-i", "localhost,", str(tmp_path / "play.yml")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return json.loads((tmp_path / "openclaw.json").read_text())


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_the_scratch_config_has_every_channel_off_and_nothing_else_changed(tmp_path, customer):
    compiled = json.loads((REPO / "generated" / "openclaw" / customer / "openclaw.json").read_text())
    got = run_channels_off(tmp_path, customer)
    # The oracle, by hand: the compiled file, each channel's enabled flag flipped to false.
    expected = json.loads(json.dumps(compiled))
    for channel in expected["channels"].values():
        channel["enabled"] = False
    assert got == expected
    assert compiled["channels"] and all(ch.get("enabled") is True for ch in compiled["channels"].values())


def test_openclaw_accepts_the_scratch_config(tmp_path, openclaw_env):  # noqa: F811
    got = run_channels_off(tmp_path, "orbital-health")
    assert all(ch["enabled"] is False for ch in got["channels"].values())
    code, report = validate(openclaw_env, tmp_path / "openclaw.json")
    assert code == 0, report


def test_the_scratch_converge_turns_channels_off_and_production_never_does():
    script = (REPO / "scripts" / "gitops" / "dr-drill.sh").read_text()
    converge = script.split("\nconverge)", 1)[1].split(";;", 1)[0]
    assert "clawtex_channels_off: true" in converge
    assert "clawtex_channels_off" not in (REPO / "scripts" / "gitops" / "apply-stack.sh").read_text()
    site = yaml.safe_load((REPO / "modules" / "ansible" / "site.yml").read_text())
    assert site[0]["vars"]["clawtex_channels_off"] is False
    tasks = yaml.safe_load((REPO / "modules/ansible/roles/openclaw/tasks/service.yml").read_text())
    plain = next(t for t in tasks if t.get("name") == "Compiled openclaw.json")
    assert plain["when"] == "not (clawtex_channels_off | bool)"
