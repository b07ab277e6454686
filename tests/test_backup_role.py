"""The backup role, fast checks (issue 24): what each backup kind needs from the controller,
and every file rclone.conf names is installed by a task. The live proof (a backup taken by the
timer's unit, restored, pruned, refused) is tests/live/test_hosts.py with tests/live/backups.py."""
from __future__ import annotations

import re

import yaml

from test_ansible import INVENTORY, ROLES, ansible_env, hostvars, run

TASKS = ROLES / "backup" / "tasks" / "main.yml"

# By hand, from the role's defaults (backup_env): the controller variables each kind uses.
SFTP_ENV = {"CLAWTEX_ACME_LOGISTICS_RESTIC_PASSWORD": "pw", "CLAWTEX_ACME_LOGISTICS_BACKUP_SFTP_HOST": "u1.example",
            "CLAWTEX_ACME_LOGISTICS_BACKUP_SFTP_USER": "u1", "CLAWTEX_ACME_LOGISTICS_BACKUP_SFTP_KEY": "KEY",
            "CLAWTEX_ACME_LOGISTICS_BACKUP_SFTP_KNOWN_HOSTS": "[u1.example]:23 ssh-ed25519 AAAA"}
S3_KEYS = ("CLAWTEX_BACKUP_S3_ACCESS_KEY_ID", "CLAWTEX_BACKUP_S3_SECRET_ACCESS_KEY")


def _assert_play(tmp_path, host: str) -> str:
    task = next(t for t in yaml.safe_load(TASKS.read_text()) if t["name"] == "Backup secrets are set on the controller")
    play = [{"name": "The backup role's controller check", "hosts": host, "connection": "local", "gather_facts": False,
             "vars_files": [str(ROLES / "backup" / "defaults" / "main.yml")], "tasks": [task]}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play))
    return str(path)


def test_storage_box_kind_needs_its_key_not_s3_keys(tmp_path):
    # Was: the role demanded the S3 keys whatever the kind (a Storage Box customer's apply failed).
    assert hostvars()["acme-logistics-oc-1"]["backup"]["kind"] == "sftp"
    env = {k: v for k, v in ansible_env(tmp_path).items() if not k.startswith("CLAWTEX_")}
    r = run("ansible-playbook", "-i", str(INVENTORY), _assert_play(tmp_path, "acme-logistics-oc-1"),
            env={**env, **SFTP_ENV})
    assert r.returncode == 0, r.stdout + r.stderr
    # ... and without its key, the apply stops before anything is written, naming the variable.
    r = run("ansible-playbook", "-i", str(INVENTORY), _assert_play(tmp_path, "acme-logistics-oc-1"),
            env={**env, **{k: v for k, v in SFTP_ENV.items() if not k.endswith("_SFTP_KEY")}})
    assert r.returncode != 0 and "CLAWTEX_ACME_LOGISTICS_BACKUP_SFTP_KEY is not set" in r.stdout


def test_s3_kind_still_needs_its_keys(tmp_path):
    host = next(h for h, hv in hostvars().items() if (hv.get("backup") or {}).get("kind") == "s3")
    customer = hostvars()[host]["clawtex_customer"].upper().replace("-", "_")
    env = {k: v for k, v in ansible_env(tmp_path).items() if not k.startswith("CLAWTEX_")}
    env[f"CLAWTEX_{customer}_RESTIC_PASSWORD"] = "pw"
    r = run("ansible-playbook", "-i", str(INVENTORY), _assert_play(tmp_path, host), env=env)
    assert r.returncode != 0 and f"{S3_KEYS[0]} is not set" in r.stdout, r.stdout
    r = run("ansible-playbook", "-i", str(INVENTORY), _assert_play(tmp_path, host),
            env={**env, **{k: "x" for k in S3_KEYS}})
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_file_rclone_conf_names_is_installed_by_a_task():
    # Was: rclone.conf used key_file storagebox_ed25519, which no task installed.
    conf = (ROLES / "backup" / "templates" / "rclone.conf.j2").read_text()
    named = set(re.findall(r"\{\{ backup_config_dir \}\}/(\w+)", conf))
    assert {"storagebox_ed25519", "storagebox_known_hosts"} <= named
    installed = set()
    for task in yaml.safe_load(TASKS.read_text()):
        for item in task.get("loop", []) if isinstance(task.get("loop"), list) else []:
            if isinstance(item, dict) and "file" in item:
                installed.add(item["file"])
            elif isinstance(item, str):
                installed.add(item)
    assert named <= installed, named - installed


def test_snapshot_holds_the_gateway_state_dir():
    # Was: config, workspace and skills only; OPENCLAW_STATE_DIR (sessions, channel logins, plugins) was not backed up.
    defaults = yaml.safe_load((ROLES / "backup" / "defaults" / "main.yml").read_text())
    assert "{{ openclaw_state_dir }}" in defaults["backup_paths"]
    unit = (ROLES / "openclaw" / "templates" / "openclaw-gateway.service.j2").read_text()
    assert "OPENCLAW_STATE_DIR={{ openclaw_state_dir }}" in unit
