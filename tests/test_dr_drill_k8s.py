"""A Platinum customer's DR drill (issue 24): the Job dr-drill.sh runs in a scratch namespace of the other
region's cluster (compiler/gitops/drill_k8s.py, modules/ansible/dr-drill-k8s.yml, roles/backup templates/
clawtex-dr-drill-k8s.yml.j2). Here: the Job as the real play renders it, valid for the clusters' Kubernetes
minor (kubernetes-validate, strict, as tests/test_ansible.py checks the CronJob and the Deployment) and
joined with the production manifests Ansible renders for the same customer (images, Secret keys, paths,
probes); its channels-off openclaw.json joined with roles/openclaw tasks/channels_off.yml's; its gateway
script run by bash and node against stand-ins. The restore script runs with real restic and rclone in
tests/test_backup_role.py (platinum_cronjob_then_drill_restore), the gateway script against the real
OpenClaw gateway in tests/live/test_gateway.py (platinum_drill_record). Expected values by hand."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from test_ansible import INVENTORY, ROLES, ansible_env, run

RESTORE_SCRIPT = REPO / "modules/ansible/roles/backup/files/clawtex-dr-drill-restore.sh"
GATEWAY_SCRIPT = REPO / "modules/ansible/roles/openclaw/files/clawtex-dr-drill-gateway.sh"


def render_drill_job(out: Path) -> tuple[dict, dict, Path]:
    """`clawtex dr-drill-k8s orbital-health` then the real play, as dr-drill.sh up runs them: (Job, info, dir)."""
    import sys
    done = subprocess.run([sys.executable, "-m", "compiler.cli", "dr-drill-k8s", "orbital-health", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    r = run("ansible-playbook", "-i", str(INVENTORY), str(REPO / "modules/ansible/dr-drill-k8s.yml"),
            "--limit", info["host"], "-e", f"@{out / 'vars.json'}", env=ansible_env(out))
    assert r.returncode == 0, r.stdout + r.stderr
    return yaml.safe_load((out / "drill.yml").read_text()), info, out


def _production(tmp_path: Path) -> dict[str, dict]:
    """The production manifests of both clusters, rendered by ansible-playbook from the role templates:
    {host: {"deployment", "cronjob", "secret"}} (the Secret with stand-in values)."""
    out = tmp_path / "prod"
    out.mkdir()
    tasks = [{"name": f"render {src}", "ansible.builtin.template": {
        "src": str(ROLES / role / "templates" / f"{src}.j2"), "dest": f"{out}/{{{{ inventory_hostname }}}}-{src}", "mode": "0600"}}
        for role, src in (("openclaw", "openclaw-k8s.yml"), ("backup", "clawtex-backup-k8s.yml"),
                          ("backup", "clawtex-backup-k8s-secret.yml"))]
    play = [{"hosts": "orbital-health-fra1:orbital-health-ams3", "connection": "local", "gather_facts": False,
             "vars": {"clawtex_textfile_dir": "/var/lib/prometheus/node-exporter"},     # site.yml's play var
             "vars_files": [str(ROLES / "openclaw" / "defaults" / "main.yml"), str(ROLES / "backup" / "defaults" / "main.yml")],
             "tasks": tasks}]
    (tmp_path / "prod.yml").write_text(yaml.safe_dump(play))
    outputs = {"orbital-health": {"fra1_lb_id": "lb-1", "ams3_lb_id": "lb-2", "backup_s3_access_key": "FRA1-A",
                                  "backup_s3_secret_key": "FRA1-S", "backup_ams3_s3_access_key": "AMS3-A",
                                  "backup_ams3_s3_secret_key": "AMS3-S"}}
    (tmp_path / "outputs.json").write_text(json.dumps({"clawtex_tf_outputs": outputs}))
    env = {**ansible_env(tmp_path), "CLAWTEX_ORBITAL_HEALTH_RESTIC_PASSWORD": "pw"}
    r = run("ansible-playbook", "-i", str(INVENTORY), str(tmp_path / "prod.yml"), "-e", f"@{tmp_path / 'outputs.json'}", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    got = {}
    for host in ("orbital-health-fra1", "orbital-health-ams3"):
        docs = list(yaml.safe_load_all((out / f"{host}-openclaw-k8s.yml").read_text()))
        [cron] = yaml.safe_load_all((out / f"{host}-clawtex-backup-k8s.yml").read_text())
        [secret] = yaml.safe_load_all((out / f"{host}-clawtex-backup-k8s-secret.yml").read_text())
        got[host] = {"deployment": next(d for d in docs if d["kind"] == "Deployment"), "cronjob": cron, "secret": secret,
                     "namespace": next(d for d in docs if d["kind"] == "Namespace")["metadata"]["name"]}
    return got


def test_the_drill_job_is_valid_scratch_only_and_joins_the_production_manifests(tmp_path):
    import kubernetes_validate
    job, info, out = render_drill_job(tmp_path / "drill")
    # By hand: the first region's cluster is restored (customers/orbital-health.yaml regions fra1, ams3), in
    # the other region's cluster, in a namespace of its own.
    assert (info["host"], info["cluster"], info["region"], info["namespace"], info["kubeconfig_output"]) == (
        "orbital-health-fra1", "orbital-health-ams3", "ams3", "orbital-health-dr-drill", "ams3_kubeconfig")
    prefix = yaml.safe_load((REPO / "tiers" / "providers.yaml").read_text())["spec"]["digitalocean"]["kubernetesVersionPrefix"]
    docs = list(yaml.safe_load_all((out / "drill.yml").read_text()))
    for doc in docs:
        kubernetes_validate.validate(doc, prefix.rstrip("."), strict=True)
    # One Job; nothing that backs up, nothing reachable from outside, nothing in another namespace.
    assert [d["kind"] for d in docs] == ["Job"] and job["metadata"]["namespace"] == "orbital-health-dr-drill"
    prod = _production(tmp_path)
    assert json.loads((out / "names.json").read_text()) == {"production_namespace": prod["orbital-health-ams3"]["namespace"]}
    assert prod["orbital-health-ams3"]["namespace"] != job["metadata"]["namespace"]
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    pod = spec["template"]["spec"]
    assert pod["hostname"] == "orbital-health-fra1-dr-drill"           # restic's lock name: drill.py LOCK_HOSTNAME_SUFFIX
    assert pod["automountServiceAccountToken"] is False and "hostNetwork" not in pod
    [restore] = pod["initContainers"]
    [gateway] = pod["containers"]
    assert "ports" not in gateway
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert not [v for v in volumes.values() if "persistentVolumeClaim" in v or "hostPath" in v], "production's volume or a node's"
    fra1, ams3 = prod["orbital-health-fra1"], prod["orbital-health-ams3"]
    cron_pod = fra1["cronjob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [cron_c] = cron_pod["containers"]
    deploy_pod = fra1["deployment"]["spec"]["template"]["spec"]
    [deploy_c] = deploy_pod["containers"]
    # Images: the CronJob's for the restore, the Deployment's for the gateway (both clusters run the same).
    assert restore["image"] == cron_c["image"] == ams3["cronjob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert gateway["image"] == deploy_c["image"] == ams3["deployment"]["spec"]["template"]["spec"]["containers"][0]["image"]
    # The repository: the copy fra1's CronJob copies to (its Secret's CLAWTEX_COPY_REPOSITORY), by hand too.
    renv = {e["name"]: e for e in restore["env"]}
    assert renv["RESTIC_REPOSITORY"]["value"] == fra1["secret"]["stringData"]["CLAWTEX_COPY_REPOSITORY"] == \
        "rclone:backup_copy:clawtex-orbital-health-backup-ams3/restic-fra1"
    remote = renv["RESTIC_REPOSITORY"]["value"].split(":")[1]
    # Credentials: the Secret dr-drill.sh copies from the ams3 cluster's production namespace; every key the Job
    # reads is in it, and its rclone.conf has the copy's remote.
    ams3_secret = ams3["secret"]
    for c in (restore, gateway):
        for e in c.get("env", []):
            if "valueFrom" in e:
                ref = e["valueFrom"]["secretKeyRef"]
                assert ref["name"] == ams3_secret["metadata"]["name"] and ref["key"] in ams3_secret["stringData"], ref
    assert volumes["credentials"]["secret"]["secretName"] == ams3_secret["metadata"]["name"]
    assert f"[{remote}]" in ams3_secret["stringData"]["rclone.conf"]
    assert renv["RCLONE_CONFIG"]["value"] == {e["name"]: e for e in cron_c["env"]}["RCLONE_CONFIG"]["value"]
    assert renv["CLAWTEX_DRILL_HOST"]["value"] == "orbital-health-fra1"
    # The snapshot's paths (the CronJob's mounts of the volume) are the restore's mounts of the scratch tree,
    # and the gateway's, as the Deployment mounts them.
    state_mounts = lambda c: {m["mountPath"]: m.get("subPath") for m in c["volumeMounts"] if m["name"] in ("state", "dumps")}
    assert set(state_mounts(cron_c)) == set(state_mounts(restore)) == {
        "/var/lib/openclaw/.openclaw", "/var/lib/openclaw/workspace", "/var/backups/clawtex/db"}
    assert {p: s for p, s in state_mounts(gateway).items()} == {p: s for p, s in state_mounts(deploy_c).items()}
    assert {p: s for p, s in state_mounts(restore).items() if p.startswith("/var/lib")} == state_mounts(gateway)
    assert volumes["state"] == {"name": "state", "emptyDir": {}}
    # The gateway: the Deployment's environment and Secrets, its health path and port.
    genv = {e["name"]: e.get("value") for e in gateway["env"]}
    denv = {e["name"]: e.get("value") for e in deploy_c["env"]}
    assert {k: genv[k] for k in denv} == denv
    probe = deploy_c["readinessProbe"]["httpGet"]
    assert genv["CLAWTEX_DRILL_HEALTH_URL"] == f"http://127.0.0.1:{probe['port']}{probe['path']}" == "http://127.0.0.1:18789/healthz"
    assert gateway["envFrom"] == [e for e in deploy_c["envFrom"] if e["secretRef"]["name"] == "openclaw-env"]
    dvol = {v["name"]: v for v in deploy_pod["volumes"]}
    assert volumes["secret-files"] == dvol["secret-files"]
    gmounts = {m["mountPath"]: m for m in gateway["volumeMounts"]}
    assert gmounts[genv["OPENCLAW_CONFIG_PATH"]]["subPath"] == "openclaw.json"
    assert pod["securityContext"]["runAsUser"] == deploy_pod["securityContext"]["runAsUser"]
    # The script's `openclaw gateway` is the Deployment's: the image's ENTRYPOINT with the Deployment's args;
    # node (the script's health check) is on the image's PATH (roles/openclaw templates/Containerfile.j2).
    containerfile = (ROLES / "openclaw" / "templates" / "Containerfile.j2").read_text()
    assert 'ENTRYPOINT ["openclaw"]' in containerfile and deploy_c["args"] == ["gateway"]
    assert "${OPENCLAW_DRILL_GATEWAY:-openclaw gateway}" in GATEWAY_SCRIPT.read_text()
    assert "ENV PATH={{ openclaw_node_home }}/bin:" in containerfile
    # The scripts: the ConfigMap dr-drill.sh creates holds exactly these files under the keys the Job mounts.
    script = (REPO / "scripts/gitops/dr-drill.sh").read_text()
    keys = {m["subPath"] for c in (restore, gateway) for m in c["volumeMounts"] if m["name"] == "scripts"}
    assert keys == {"restore", "gateway", "openclaw.json"}
    assert f"--from-file=restore={RESTORE_SCRIPT.relative_to(REPO)}" in script
    assert f"--from-file=gateway={GATEWAY_SCRIPT.relative_to(REPO)}" in script
    assert '--from-file=openclaw.json="$k8s/openclaw.json"' in script
    assert volumes["scripts"]["configMap"]["name"] == "clawtex-dr-drill" and "create configmap clawtex-dr-drill" in script


def test_the_drill_gateway_has_every_channel_off_as_a_scratch_server_has(tmp_path):
    """The Job's openclaw.json and the one roles/openclaw tasks/channels_off.yml writes on a scratch server."""
    from test_drill_channels_off import run_channels_off
    _, _, out = render_drill_job(tmp_path / "drill")
    got = json.loads((out / "openclaw.json").read_text())
    (tmp_path / "server").mkdir()
    assert got == run_channels_off(tmp_path / "server", "orbital-health")
    # By hand: customers/orbital-health.yaml's channels, every one off.
    assert sorted(got["channels"]) == ["discord", "msteams", "signal", "slack", "telegram", "whatsapp"]
    assert all(c["enabled"] is False for c in got["channels"].values())


@contextlib.contextmanager
def _health_stub(body: dict, status: int = 200):
    """The gateway's health path, answering `body` (tests/http_stub.py)."""
    from http_stub import QuietHandler, serve

    class Health(QuietHandler):
        def do_GET(self):
            self.reply_json(status, body)
    with serve(Health) as base:
        yield base.rstrip("/") + "/healthz"


RESTORE_JSON = {"snapshots": [{"id": "ab" * 32, "time": "2026-12-05T02:00:00.123456789Z", "hostname": "orbital-health-fra1"}],
                "snapshot_id": "ab" * 32, "drill_started": 1796440000.5, "restore_started": 1796440001.0,
                "databases_checked": "triage"}


def run_gateway_script(result_dir: Path, url: str, gateway_cmd: str, timeout: int = 20) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "CLAWTEX_DRILL_HEALTH_URL": url, "CLAWTEX_DRILL_RESULT_DIR": str(result_dir),
           "CLAWTEX_DRILL_HEALTH_TIMEOUT": str(timeout), "OPENCLAW_DRILL_GATEWAY": gateway_cmd}
    return subprocess.run(["bash", str(GATEWAY_SCRIPT)], env=env, capture_output=True, text=True, timeout=timeout + 60)


@pytest.mark.parametrize("answer, ok", [({"ok": True, "status": "live"}, True), ({"ok": False, "status": "starting"}, False)])
def test_the_gateway_script_prints_one_result_line_only_when_live(tmp_path, answer, ok):
    """bash and node run the gateway container's script: a live answer gives one result line, which
    `clawtex dr-drill-k8s-record` turns into drill.record()'s record; any other answer until the timeout
    gives none and exit 1 (a failed Job)."""
    from ci_rules import require_tool
    require_tool("node", "the gateway image's runtime")
    import time
    restore_started = time.time() - 5          # the restore container's; the gateway script's healthy time is now
    (tmp_path / "restore.json").write_text(json.dumps({**RESTORE_JSON, "restore_started": restore_started}))
    with _health_stub(answer) as url:
        done = run_gateway_script(tmp_path, url, "sleep 120", timeout=6 if not ok else 30)
    lines = [l for l in done.stdout.splitlines() if l.startswith("CLAWTEX_DR_DRILL_RESULT ")]
    if not ok:
        assert done.returncode == 1 and lines == [] and "not healthy within 6s" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    assert len(lines) == 1
    (tmp_path / "gateway.log").write_text(done.stdout)
    import sys
    rec = subprocess.run([sys.executable, "-m", "compiler.cli", "dr-drill-k8s-record", "orbital-health", "--log",
                          str(tmp_path / "gateway.log"), "--records", str(tmp_path / "records")], cwd=REPO,
                         capture_output=True, text=True)
    record = json.loads((tmp_path / "records" / "orbital-health.json").read_text())
    # By hand (date -u -d @1796440000.5): drill_started = 2026-12-05T03:06:40Z; RPO 1796440000.5 - 1796436000.123
    assert (record["snapshot"], record["snapshot_time"], record["drill_at"]) == ("ab" * 32, "2026-12-05T02:00:00Z",
                                                                                 "2026-12-05T03:06:40Z")
    assert record["rpo_seconds"] == 4000.4 and record["rpo_met"] is False and rec.returncode == 3   # over the 1 h promise
    assert (record["host"], record["repository"], record["tier"], record["healthy"]) == (
        "orbital-health-fra1", "copy", "platinum", True)
    assert 5 <= record["rto_seconds"] < 60 and record["databases"] == []


def test_a_gateway_that_exits_fails_the_drill_at_once(tmp_path):
    from ci_rules import require_tool
    require_tool("node", "the gateway image's runtime")
    (tmp_path / "restore.json").write_text(json.dumps(RESTORE_JSON))
    done = run_gateway_script(tmp_path, "http://127.0.0.1:9/healthz", "false", timeout=300)
    assert done.returncode == 1 and "exited before it was healthy" in done.stderr and "CLAWTEX_DR_DRILL_RESULT" not in done.stdout
