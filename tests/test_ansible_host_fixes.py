"""Fixes found by applying site.yml to booted Debian hosts (tests/live/test_hosts.py),
each checked here in seconds by ansible-core itself (2.19, the pinned range) or by bash.

Every test here fails on the roles as they were before the fix (noted per test).
"""
from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import yaml

from test_ansible import INVENTORY, ROLES, ansible_env, run

HOSTILE = "Xk9 #pa$(id -un)'\"`x"


def play(tmp_path: Path, text: str, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    path = tmp_path / "play.yml"
    path.write_text(text)
    return run("ansible-playbook", "-i", str(INVENTORY), str(path), *extra, env={**ansible_env(tmp_path), **(env or {})})


def test_backup_conditionals_are_booleans_for_ansible_core_2_19(tmp_path):
    # Was `when: backup.databases | selectattr(...)` (a generator): 2.19 refuses non-boolean conditionals.
    tasks = yaml.safe_load((ROLES / "backup" / "tasks" / "main.yml").read_text())
    conditions = sorted({t["when"] for t in tasks if isinstance(t.get("when"), str)})
    assert conditions, "the backup role has conditionals to check"
    checks = "\n".join(f"    - name: Condition {i} is a boolean\n      ansible.builtin.assert:\n"
                       f"        that: \"({c}) is boolean\"" for i, c in enumerate(conditions))
    result = play(tmp_path, f"""\
- name: Backup conditionals
  hosts: mapleleaf-dental-oc-1,acme-logistics-oc-1,brightpath-tutors-oc-1
  connection: local
  gather_facts: false
  vars_files: [{ROLES}/backup/defaults/main.yml, {ROLES}/openclaw/defaults/main.yml]
  tasks:
{checks}
""")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_wazuh_agent_role_skipped_on_a_host_without_a_manager(tmp_path):
    # Was `delegate_to: "{{ wazuh_manager_host }}"`: 2.19 templates it even on skipped tasks.
    result = play(tmp_path, f"""\
- name: A Silver host skips wazuh_agent as site.yml does
  hosts: mapleleaf-dental-oc-1
  connection: local
  gather_facts: false
  vars: {{clawtex_offline: false}}
  roles:
    - role: {ROLES}/wazuh_agent
      when: "'wazuh_agent' in clawtex_roles"
""")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def render_tls(tmp_path: Path, version: str) -> str:
    out = tmp_path / f"tls-{version}.conf"
    result = play(tmp_path, f"""\
- name: Render the TLS server
  hosts: acme-logistics-oc-1
  connection: local
  gather_facts: false
  vars: {{tls_nginx_version: "{version}"}}
  tasks:
    - name: Template
      ansible.builtin.template: {{src: "{ROLES}/tls/templates/nginx-tls.conf.j2", dest: "{out}", mode: "0600"}}
""")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out.read_text()


def test_tls_server_uses_the_http2_syntax_of_the_installed_nginx(tmp_path):
    # Was `http2 on;` always: nginx < 1.25.1 (Debian 12: 1.22, Ubuntu 24.04: 1.24) refuses it
    # (nginx.org ngx_http_v2_module: "This directive appeared in version 1.25.1").
    old = render_tls(tmp_path, "1.22.1")
    assert "http2 on;" not in old and "listen 443 ssl http2;" in old
    new = render_tls(tmp_path, "1.25.1")
    assert "http2 on;" in new and "ssl http2;" not in new


def test_certbot_runs_after_nginx_serves_the_challenge_path():
    # Was: certbot ran while the proxy config (with /.well-known/acme-challenge/) waited for a
    # handler at the end of the play.
    tasks = yaml.safe_load((ROLES / "tls" / "tasks" / "certbot.yml").read_text())
    names = [t.get("name", "") for t in tasks]
    certbot = next(i for i, t in enumerate(tasks) if "certbot" in str(t.get("ansible.builtin.command", {}).get("argv", [])))
    flush = [i for i, t in enumerate(tasks) if t.get("ansible.builtin.meta") == "flush_handlers"]
    assert flush and flush[0] < certbot, names
    openclaw = yaml.safe_load((ROLES / "openclaw" / "tasks" / "main.yml").read_text())
    proxy = next(t for t in openclaw if t.get("name") == "Reverse proxy in front of the gateway(s)")
    assert proxy["notify"] == "Reload nginx"
    assert "acme-challenge" in (ROLES / "openclaw" / "templates" / "nginx-openclaw.conf.j2").read_text()


def test_backup_script_reads_secrets_as_data_and_dumps_postgres_without_a_postgres_user(tmp_path):
    # Was: the script sourced restic.env (a password with a space was cut, `$(…)` ran) and always
    # ran `runuser -u postgres -- pg_dump` (hosts with only postgresql-client have no such user).
    out, dumps, metrics, bin_ = (tmp_path / d for d in ("out", "dumps", "metrics", "bin"))
    for d in (out, dumps, metrics, bin_):
        d.mkdir()
    result = play(tmp_path, f"""\
- name: Render the backup script
  hosts: acme-logistics-oc-1
  connection: local
  gather_facts: false
  vars_files: [{ROLES}/backup/defaults/main.yml, {ROLES}/openclaw/defaults/main.yml]
  tasks:
    - name: Template
      ansible.builtin.template: {{src: "{ROLES}/backup/templates/clawtex-backup.sh.j2", dest: "{out}/backup.sh", mode: "0700"}}
""", "-e", json.dumps({"backup_dump_dir": str(dumps), "clawtex_textfile_dir": str(metrics)}))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = tmp_path / "calls.log"
    stubs = {
        # A client-only host: no postgres user (what `id` and runuser say there).
        "id": 'if [ "$2" = postgres ]; then echo "id: postgres: no such user" >&2; exit 1; fi; exec /usr/bin/id "$@"',
        "runuser": 'echo "runuser: user postgres does not exist" >&2; exit 1',
        "pg_dump": f'echo "pg_dump $*" >>{log}; echo dump-of-"${{@: -1}}"',
        "restic": f'echo "restic $1 password=$RESTIC_PASSWORD" >>{log}',
    }
    for name, body in stubs.items():
        path = bin_ / name
        path.write_text(f"#!/bin/bash\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": f"{bin_}:/usr/bin:/bin", "RESTIC_PASSWORD": HOSTILE, "RESTIC_REPOSITORY": "rclone:backup:b/restic",
           "RCLONE_CONFIG": "/nonexistent"}
    done = subprocess.run(["bash", str(out / "backup.sh")], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = log.read_text().splitlines()
    # acme-logistics keeps one Postgres database, "tracker" (customers/acme-logistics.yaml).
    assert calls[0] == "pg_dump --format=custom tracker", calls
    assert (dumps / "tracker.pgdump").read_text().strip() == "dump-of-tracker"
    assert f"restic backup password={HOSTILE}" in calls
    assert "clawtex_backup_last_success_timestamp_seconds{" in (metrics / "clawtex_backup.prom").read_text()
