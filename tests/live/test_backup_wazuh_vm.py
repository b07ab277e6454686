"""The Wazuh VM's backup restores (docs/backups.md "The Wazuh VM"): the role's own files for
acme-logistics-wazuh (Gold, Hetzner: a Storage Box over SFTP), written by ansible-playbook with the
role's tasks, run against a real OpenSSH SFTP server that trusts only the key the role installed;
then client.keys and an alert line come back from the repository, and a wrong password fails.

The Wazuh VM itself cannot converge here (its OpenVAS half needs gvm packages Debian 12 lacks:
docs/live-checks.md), so the script runs on this machine: in a network namespace of its own (the
box's port 23 on its loopback) and a mount namespace where /var is a fresh tmpfs holding a
/var/ossec with a Wazuh manager's files (the paths the script names, unchanged). Overlaid: the role's
config, dump and textfile directories (tmp), the box's address (the stack's outputs, as
apply-stack.sh hands them over). Paths and contents expected are written by hand (Wazuh 4.x
/var/ossec layout)."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time

import yaml

from live import backups
from live.backups import keys, rclone_binary, storage_box_argv, unit_environment

HOST = "acme-logistics-wazuh"
# A manager's agent registry line (id name ip key) and an alert, as Wazuh 4.x writes them.
CLIENT_KEYS = "001 acme-logistics-oc-1 any {key}\n"
ALERT = '{"timestamp":"2026-12-04T02:00:00.000+0000","rule":{"level":5,"id":"5710"},"agent":{"id":"001"},"id":"%s"}\n'


def test_wazuh_vm_backup_restores_its_agent_registry_and_alerts(tmp_path):
    from ci_rules import require_tool
    from test_ansible import INVENTORY, ROLES, ansible_env, run
    require_tool("restic", "scripts/deps/60-backups.sh")
    if not os.path.exists("/usr/sbin/sshd"):          # OpenSSH's server (not on a non-root PATH)
        from conftest import missing
        missing("sshd", "scripts/deps/60-backups.sh")
    t0 = time.monotonic()
    k = keys()
    conf, dumps, textfile = tmp_path / "etc", tmp_path / "dumps", tmp_path / "textfile"
    for d in (conf, dumps, textfile):
        d.mkdir()
    password = secrets.token_hex(16)
    env = {key: v for key, v in ansible_env(tmp_path).items() if not key.startswith("CLAWTEX_")}
    # By hand: the names host_vars backup.secret_env publishes for acme-logistics (docs/backups.md table).
    env["CLAWTEX_ACME_LOGISTICS_RESTIC_PASSWORD"] = password
    env["CLAWTEX_ACME_LOGISTICS_BACKUP_SFTP_KNOWN_HOSTS"] = k["known_hosts"]
    outputs = {"clawtex_tf_outputs": {"acme-logistics": {"backup_endpoint": "127.0.0.1", "backup_sftp_user": backups.SFTP_USER,
                                                         "backup_sftp_key": k["key"]}},
               "backup_config_dir": str(conf), "backup_dump_dir": str(dumps), "clawtex_textfile_dir": str(textfile)}
    (tmp_path / "vars.json").write_text(json.dumps(outputs))
    # The role's own tasks that write its files (rclone.conf, restic.env, the box's key and host key),
    # in a role whose defaults and templates are the backup role's; the script to tmp, not /usr/local/sbin.
    wanted = ("Backup secrets are set on the controller", "Backup credentials are in the stack's Terraform outputs",
              "Rclone remote and restic environment", "Storage Box key and host key (sftp)")
    tasks = [t for t in yaml.safe_load((ROLES / "backup" / "tasks" / "main.yml").read_text()) if t["name"] in wanted]
    assert [t["name"] for t in tasks] == list(wanted)
    tasks.append({"name": "script", "ansible.builtin.template": {"src": "clawtex-backup.sh.j2", "dest": str(conf / "clawtex-backup"),
                                                                  "mode": "0700"}})
    role = tmp_path / "roles" / "backup_files"
    (role / "tasks").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "defaults" / "main.yml").symlink_to(ROLES / "backup" / "defaults" / "main.yml")
    (role / "templates").symlink_to(ROLES / "backup" / "templates")
    (role / "tasks" / "main.yml").write_text(yaml.safe_dump(tasks))
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{"hosts": HOST, "connection": "local", "gather_facts": False,
                                                        "roles": [{"role": str(role)}]}]))
    r = run("ansible-playbook", "-i", str(INVENTORY), str(tmp_path / "play.yml"), "-e", f"@{tmp_path / 'vars.json'}", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert password not in r.stdout + r.stderr
    assert (conf / "storagebox_ed25519").read_text().strip() == k["key"].strip()
    unit_env = unit_environment(conf / "restic.env")
    assert unit_env["RESTIC_REPOSITORY"] == "rclone:backup:acme-logistics-backup/restic-wazuh"

    # The Storage Box: sshd in its own network namespace, its data on this machine's disk
    # (ChrootDirectory: every component root-owned, not group/other-writable, so not under /tmp).
    box = backups.DESTINATIONS / "wazuh-vm"
    shutil.rmtree(box, ignore_errors=True)
    (box / "box" / "acme-logistics-backup").mkdir(parents=True)     # Terraform creates the box
    for d in (box, box / "box"):
        os.chmod(d, 0o755)
    ns = f"clawtex-wazuh-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    sshd = None
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        sshd = subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", *storage_box_argv(box, box / "box")],
                                stdout=open(box / "server.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while subprocess.run(["ip", "netns", "exec", ns, "bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{backups.SFTP_PORT}"],
                             capture_output=True).returncode:
            assert sshd.poll() is None and time.monotonic() < deadline, (box / "server.log").read_text()
            time.sleep(0.2)
        bin_dir = tmp_path / "bin"      # restic's rclone backend runs `rclone` from PATH
        bin_dir.mkdir()
        (bin_dir / "rclone").symlink_to(rclone_binary())
        base_env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "RESTIC_CACHE_DIR": str(tmp_path / "cache")}

        # The VM's files, in a tmpfs /var of the script's own mount namespace.
        ossec = tmp_path / "ossec"
        agent_key = secrets.token_hex(32)
        alert_id = secrets.token_hex(8)
        (ossec / "etc").mkdir(parents=True)
        (ossec / "etc" / "client.keys").write_text(CLIENT_KEYS.format(key=agent_key))
        (ossec / "etc" / "ossec.conf").write_text("<ossec_config>not backed up</ossec_config>\n")
        (ossec / "logs" / "alerts" / "2026" / "Dec").mkdir(parents=True)
        (ossec / "logs" / "alerts" / "2026" / "Dec" / "ossec-alerts-04.json").write_text(ALERT % alert_id)
        (ossec / "logs" / "archives").mkdir(parents=True)
        (ossec / "queue").mkdir()
        (ossec / "queue" / "db.sqlite").write_text("live state, not backed up\n")

        def backup(run_env: dict) -> subprocess.CompletedProcess:
            wrapper = (f"set -e; mount --make-rprivate /; mount -t tmpfs tmpfs /var; mkdir /var/ossec; "
                       f"mount --bind {ossec} /var/ossec; exec bash {conf / 'clawtex-backup'}")
            return subprocess.run(["ip", "netns", "exec", ns, "unshare", "--mount", "bash", "-c", wrapper],
                                  capture_output=True, text=True, env=run_env, stdin=subprocess.DEVNULL, timeout=120)

        def restic(args: list[str], pw: str = password) -> subprocess.CompletedProcess:
            return subprocess.run(["ip", "netns", "exec", ns, "restic", *args], capture_output=True, text=True,
                                  env={**base_env, **unit_env, "RESTIC_PASSWORD": pw}, timeout=120)

        t = time.monotonic()
        r = backup({**base_env, **unit_env})
        assert r.returncode == 0, r.stdout + r.stderr + (box / "server.log").read_text()[-2000:]
        backup_s = time.monotonic() - t
        metric = (textfile / "clawtex_backup.prom").read_text()
        assert 'clawtex_backup_last_success_timestamp_seconds{customer="acme-logistics",host="acme-logistics-wazuh"}' in metric
        snaps = json.loads(restic(["snapshots", "--json", "--no-lock"]).stdout)
        assert [(s["hostname"], sorted(s["paths"])) for s in snaps] == [
            (HOST, ["/var/ossec/etc/client.keys", "/var/ossec/logs/alerts", "/var/ossec/logs/archives"])]
        # Through the box only: its files are in the box's directory, none in clear.
        repo = box / "box" / "acme-logistics-backup" / "restic-wazuh"
        assert (repo / "config").exists()
        assert not [p for p in repo.rglob("*") if p.is_file() and (agent_key.encode() in p.read_bytes()
                                                                    or alert_id.encode() in p.read_bytes())]

        # Restore, as the VM's replacement would: the registry and the alert come back byte for byte;
        # nothing that carries a secret or live state was in the snapshot.
        target = tmp_path / "restore"
        r = restic(["restore", "latest", "--host", HOST, "--target", str(target)])
        assert r.returncode == 0, r.stdout + r.stderr
        assert (target / "var/ossec/etc/client.keys").read_text() == CLIENT_KEYS.format(key=agent_key)
        assert (target / "var/ossec/logs/alerts/2026/Dec/ossec-alerts-04.json").read_text() == ALERT % alert_id
        restored = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
        assert restored == ["var/ossec/etc/client.keys", "var/ossec/logs/alerts/2026/Dec/ossec-alerts-04.json"], restored

        # A wrong password: restic refuses the repository, the script fails before any backup, nothing counted.
        assert "wrong password" in restic(["snapshots", "--no-lock"], pw=password + "x").stderr
        before = metric
        os.utime(textfile / "clawtex_backup.prom", (0, 0))
        r = backup({**base_env, **unit_env, "RESTIC_PASSWORD": password + "x"})
        assert r.returncode != 0 and "wrong password" in r.stderr, r.stdout + r.stderr
        assert (textfile / "clawtex_backup.prom").read_text() == before
        assert (textfile / "clawtex_backup.prom").stat().st_mtime == 0
        assert len(json.loads(restic(["snapshots", "--json", "--no-lock"]).stdout)) == 1
    finally:
        if sshd and sshd.poll() is None:
            os.killpg(sshd.pid, 15)
            sshd.wait(timeout=20)
        subprocess.run(["ip", "netns", "del", ns])
    print(f"{HOST}: backup over SFTP {backup_s:.1f}s, restore and wrong-password checks; whole test {time.monotonic() - t0:.1f}s")
