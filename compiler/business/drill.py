"""Disaster-recovery drill: restore a customer's latest snapshot onto a scratch host, prove the
gateway comes back healthy with the customer's state, and record RPO and RTO against the tier.

    clawtex dr-drill <customer> --runner "ssh root@<scratch>" --wipe-scratch [--records DIR]

The scratch host is a server converged with the customer's gateway host_vars (`ansible-playbook
--limit <host>` against it: same roles, same restic.env and rclone.conf, so the same repository
and password); the apply workflow's scheduled job creates it, runs this, and destroys it. Every
step runs on it through `--runner` (an argv prefix: `ssh root@host` in production, `nsenter -t
<pid> -a` for a booted root in the live suite). restic runs as the backup unit does: `systemd-run`
with `EnvironmentFile=` the role's restic.env, so no secret is on a command line or in this
process; and under its own host name, `<host>-dr-drill` (restic_in_own_uts below), so that
production's `restic unlock` never takes the drill's locks for stale. `--wipe-scratch` is required: the drill stops the gateway and replaces its state.

Steps, each timed:
1. `restic snapshots --latest 1 --host <production host>`: the latest snapshot. RPO = drill
   start - snapshot time (the data a disaster now would lose).
2. Stop the backup timer (the scratch host must not back up into the customer's repository),
   stop the gateway, remove its state, workspace and skills, `restic restore <id> --target /`,
   recreate each PostgreSQL database from its dump (`pg_restore --create`), start the gateway.
3. Poll the health path through nginx until OpenClaw answers `{"ok": true, "status": "live"}`.
   RTO = restore start -> healthy.

Record (read by the customer report and the KPI page): `<records>/<customer>.json`, the last
drill, keys sorted:
  {"customer", "tier", "host", "snapshot", "snapshot_time", "drill_at" (UTC, ISO 8601 Z),
   "rpo_seconds", "rpo_promise_seconds" (the tier's backup interval: tiers/*.yaml
   spec.backups.intervalHours), "rpo_met", "rto_seconds", "rto_promise_seconds" (null: no tier
   states one; said so, never shown as met), "healthy", "databases", "repository" ("primary", or
   "copy": Platinum restores its first region's cluster from the other region's copy)}
plus "failed_step" and "reason" (null for a drill that reached a healthy gateway), and one line per
drill appended to `<records>/<customer>.jsonl` (the history). In production the
records directory is the `dr-drills` branch of the fleet repository, as `deploy-times` is for
onboarding times (compiler/business/deploytime.py).

A failed drill is recorded too, in the same shape: "healthy": false, "failed_step" (STEPS: where it
stopped), "reason" (the error, redacted: no credentials, no password, cut short), "drill_at", and what
was measured before the failure: the snapshot and its RPO once the snapshot was listed ("rpo_met":
null, a restore that did not finish proves no RPO), "rto_seconds" null (never 0). `<customer>.json` is
the last ATTEMPT; the last successful drill is the last `"healthy": true` line of `<customer>.jsonl`
(last_success). A drill that fails before `clawtex dr-drill` runs (the scratch server never came up,
its converge failed) is recorded by the workflow's record step: `clawtex dr-drill-record --failed
--step up|converge|drill` (failure_for). Every drill attempted leaves exactly one line.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml
from dateutil import parser as dateparser   # restic's RFC 3339 times with nanoseconds (fromisoformat: 6 digits max)

ENV_FILE = "/etc/clawtex/backup/restic.env"      # roles/backup defaults backup_config_dir + restic.env
GATEWAY_UNIT = "openclaw-gateway.service"        # roles/openclaw tasks/service.yml
BACKUP_UNITS = "clawtex-backup.timer clawtex-backup.service"   # roles/backup templates
LIVE = {"ok": True, "status": "live"}            # OpenClaw's liveness answer (docs/gateway/index.md)
HEALTH_GET = """
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    print(r.status, r.read().decode())
"""


class DrillError(RuntimeError):
    pass


# Where a drill stops when it fails (the record's "failed_step"), with the words the reports show.
STEPS = {
    "up": "creating the scratch server",                       # dr-drill.sh up (the workflow records it)
    "converge": "configuring the scratch server",              # dr-drill.sh converge (idem)
    "drill": "running the drill (it ended without a record)",  # dr-drill.sh drill killed, timed out, cancelled
    "snapshots": "finding the latest backup",
    "stop": "stopping the scratch gateway",
    "restore": "restoring the latest backup",
    "databases": "restoring the databases",
    "start": "starting the restored gateway",
    "health": "waiting for the restored gateway to answer healthy",
}


class DrillFailed(DrillError):
    """A drill that ran and failed: `record` is its failure record (failure())."""
    def __init__(self, record: dict):
        super().__init__(f"{record['customer']}: the drill failed at {record['failed_step']}: {record['reason']}")
        self.record = record


@dataclass
class Target:
    customer: str
    tier: str
    host: str                     # the production host whose snapshots are restored
    hostvars: dict
    group_vars: dict
    interval_hours: int
    # Platinum: restore from the other region's copy (restic.env CLAWTEX_COPY_REPOSITORY), the one a
    # lost region leaves; the snapshots are the regional cluster's (its control target's --host).
    from_copy: bool = False


def inventory(root: Path) -> tuple[dict[str, dict], dict]:
    """The published inventory (generated/ansible): {host: its hosts.yml identity + host_vars}, group vars."""
    inv = root / "generated" / "ansible" / "inventory"

    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    hosts_yml = yaml.load((inv / "hosts.yml").read_text(), Loader)["all"]
    identity: dict[str, dict] = {}          # host -> its clawtex_customer, clawtex_tier, ... (hosts.yml groups)
    for group in (hosts_yml.get("children") or {}).values():
        for name, values in ((group or {}).get("hosts") or {}).items():
            identity.setdefault(name, {}).update(values or {})
    return ({path.stem: {**identity.get(path.stem, {}), **(yaml.load(path.read_text(), Loader) or {})}
             for path in sorted((inv / "host_vars").glob("*.yml"))}, hosts_yml["vars"])


def target(root: Path, customer: str) -> Target:
    """The customer's backed-up gateway host, from the published inventory (generated/ansible)."""
    hosts, group_vars = inventory(root)
    for host, hv in hosts.items():
        if hv.get("clawtex_customer") == customer and "backup" in hv.get("clawtex_roles", []) \
                and (hv.get("openclaw_mode") == "service"
                     # Platinum: the cluster in the primary bucket's region, whose copy is the other region's.
                     or (hv.get("openclaw_mode") == "kubernetes" and hv.get("clawtex_region") == hv["backup"]["region"])):
            tier = yaml.safe_load((root / "tiers" / f"{hv['clawtex_tier']}.yaml").read_text())
            # A Platinum cluster (the first region's, by name): its CronJob's snapshots, read from the
            # copy in the other region's bucket (roles/backup templates/clawtex-backup-k8s.yml.j2).
            return Target(customer, hv["clawtex_tier"], host, hv, group_vars,
                          int(tier["spec"]["backups"]["intervalHours"]),
                          from_copy=hv["openclaw_mode"] == "kubernetes" and bool(hv["backup"].get("copy_bucket")))
    raise DrillError(f"{customer}: no gateway host with backups in generated/ansible/inventory "
                     "(Bronze has no backups)")


def utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Runner:
    def __init__(self, prefix: str):
        self.prefix = shlex.split(prefix)

    def sh(self, script: str, timeout: float = 1800) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, "bash", "-c", shlex.quote(script) if self.prefix[:1] == ["ssh"] else script],
                              capture_output=True, text=True, timeout=timeout)

    def must(self, script: str, what: str, timeout: float = 1800) -> str:
        r = self.sh(script, timeout)
        if r.returncode != 0:
            raise DrillError(f"{what} failed ({r.returncode}): {(r.stderr or r.stdout)[-2000:]}")
        return r.stdout


# The name the drill's restic locks carry. restic records os.Hostname() in every lock, not its --host
# option (restic internal/restic/lock.go NewLock: `hn, err := os.Hostname()`), and production's
# hourly `restic unlock` takes a lock for stale when it carries production's own host name and its
# PID is not running there (lock.go Stale(): `if hn != l.Hostname { return false }`, then
# processExists). A scratch server named like the production host would have its restore lock
# removed mid-restore, and the next `forget --prune` could repack the packs it reads. So every
# restic of the drill runs in its own UTS namespace (util-linux unshare) under this distinct name;
# a lock of another host is stale only once it is 30 minutes old (StaleLockTimeout), and restic
# refreshes its locks every 5 (cmd/restic/lock.go refreshInterval).
LOCK_HOSTNAME_SUFFIX = "-dr-drill"


# Platinum's drill reads the other region's repository: the environment file's CLAWTEX_COPY_REPOSITORY
# (same password) becomes restic's RESTIC_REPOSITORY, in the process only: no repository on a command line.
FROM_COPY = 'if os.environ.get("CLAWTEX_DRILL_FROM_COPY"):\n    os.environ["RESTIC_REPOSITORY"] = os.environ["CLAWTEX_COPY_REPOSITORY"]\n'


def restic_in_own_uts(args: str, lock_hostname: str, from_copy: bool = False) -> str:
    """restic `args` (already shell-quoted) under `lock_hostname`, in a UTS namespace of its own;
    `from_copy`: against the cross-region copy (CLAWTEX_COPY_REPOSITORY) instead of RESTIC_REPOSITORY."""
    # sethostname(2) through Python (on every host: the drill's health check uses it too), not
    # /proc/sys/kernel/hostname, which a container mounts read-only.
    script = ('import os, socket, sys\nsocket.sethostname(sys.argv[1])\n' + FROM_COPY +
              'os.execvp("restic", ["restic", *sys.argv[2:]])')
    copy = "env CLAWTEX_DRILL_FROM_COPY=1 " if from_copy else ""
    return f"{copy}unshare --uts python3 -c {shlex.quote(script)} {shlex.quote(lock_hostname)} {args}"


def restic(args: str, host: str, from_copy: bool = False) -> str:
    copy = "-p Environment=CLAWTEX_DRILL_FROM_COPY=1 " if from_copy else ""
    return (f"systemd-run --quiet --wait --pipe --collect -p EnvironmentFile={ENV_FILE} {copy}"
            f"-p WorkingDirectory=/root {restic_in_own_uts(args, host + LOCK_HOSTNAME_SUFFIX)}")


# How long the drill waits for the restored gateway's first healthy answer (RTO beyond it: a failed drill).
HEALTH_TIMEOUT_SECONDS = 600


def drill(root: Path, customer: str, runner: Runner, health_timeout: float = HEALTH_TIMEOUT_SECONDS) -> dict:
    """The drill's record (healthy); DrillFailed carrying a failure record when a step fails."""
    t = target(root, customer)
    started = time.time()
    declared = t.hostvars["backup"]["databases"]
    pg = [d["name"] for d in declared if d["engine"] == "postgres"]
    mongo = [d["name"] for d in declared if d["engine"] == "mongodb"]
    databases = pg + mongo                 # the record: every database the drill restores
    snap, step = None, "snapshots"
    try:
        snaps = json.loads(runner.must(restic(f"snapshots --json --latest 1 --host {shlex.quote(t.host)}", t.host,
                                              t.from_copy), "listing the snapshots") or "[]")
        if not snaps:
            raise DrillError(f"{customer}: the repository has no snapshot of {t.host}: nothing to restore")
        snap = max(snaps, key=lambda s: s["time"])
        gv = t.group_vars
        dump_dir = gv["backup_dump_dir"]             # the inventory's group vars (compiler/plan.py BACKUP_DUMP_DIR)
        wipe = [gv["openclaw_state_dir"], gv["openclaw_workspace_dir"], gv["openclaw_skills_dir"], dump_dir]
        t0 = time.monotonic()
        # The scratch host runs the customer's backup timer (same host vars, same --host): stopped first,
        # or it snapshots the wiped state into the customer's repository and prunes by it (seen live).
        step = "stop"
        runner.must(f"systemctl stop {BACKUP_UNITS} && systemctl stop {GATEWAY_UNIT} && "
                    f"rm -rf {' '.join(shlex.quote(p) for p in wipe)}", "stopping the gateway and clearing its state")
        step = "restore"
        runner.must(restic(f"restore {shlex.quote(snap['id'])} --target /", t.host, t.from_copy), "restic restore")
        step = "databases"
        for db in pg:
            dump = shlex.quote(f"{dump_dir}/{db}.pgdump")     # root's 0700 directory: root opens it, postgres reads stdin
            runner.must(f"runuser -u postgres -- dropdb --if-exists {shlex.quote(db)} && "
                        f"runuser -u postgres -- pg_restore --create -d postgres <{dump}", f"restoring database {db}")
        # MongoDB: the backup script's `mongodump --db=<db> --archive=<dump_dir>/<db>.mongo.archive --gzip`,
        # restored by mongorestore of the same Database Tools (the role asserts mongodump on the host; a
        # scratch host converged like it has both, or the drill fails here saying so, never passes
        # without the database). Not run by any test here: no registry reached ships the tools
        # (docs/backups.md "MongoDB").
        for db in mongo:
            archive = shlex.quote(f"{dump_dir}/{db}.mongo.archive")
            runner.must(f"command -v mongorestore >/dev/null || {{ echo 'mongorestore (MongoDB Database Tools) is not "
                        f"installed on the scratch host: the MongoDB database {db} cannot be restored' >&2; exit 127; }}; "
                        f"mongorestore --quiet --drop --gzip --archive={archive} --nsInclude={shlex.quote(db + '.*')}",
                        f"restoring MongoDB database {db}")
        step = "start"
        runner.must(f"systemctl start {GATEWAY_UNIT}", "starting the gateway")
        step = "health"
        url = f"http://127.0.0.1{t.hostvars.get('openclaw_health_path', '/healthz')}"
        deadline = time.monotonic() + health_timeout
        healthy, last = False, ""
        while time.monotonic() < deadline:
            r = runner.sh(f"python3 -c {shlex.quote(HEALTH_GET)} {shlex.quote(url)}", timeout=60)
            last = (r.stdout + r.stderr).strip()[-300:]
            status, _, body = r.stdout.strip().partition(" ")
            try:
                healthy = r.returncode == 0 and status == "200" and json.loads(body) == LIVE
            except ValueError:
                healthy = False
            if healthy:
                break
            time.sleep(2)
        rto = time.monotonic() - t0
        if not healthy:
            raise DrillError(f"{customer}: the gateway did not answer {url} healthy within {health_timeout:.0f}s "
                             f"after the restore (last: {last!r})")
    except (DrillError, subprocess.TimeoutExpired, OSError) as exc:
        raise DrillFailed(failure(t, step, str(exc), started, snap, databases)) from exc
    return record(t, snap, started, rto, databases)


def record(t: Target, snap: dict, started: float, rto: float, databases: list[str]) -> dict:
    """The drill's record (module doc): `snap` the restored snapshot as `restic snapshots --json` lists
    it, `started` the wall-clock time the drill listed it (RPO = started - its time), `rto` seconds from
    the restore's start to the gateway's first healthy answer. One builder for every tier: Silver and Gold
    through drill() on a scratch host, Platinum's from its drill Job's result line (compiler/gitops/drill_k8s.py:
    restored from the other region's copy, the gateway booted on the restored tree in a scratch namespace)."""
    snap_time = dateparser.isoparse(snap["time"]).timestamp()
    rpo = started - snap_time
    promise = t.interval_hours * 3600
    return {"customer": t.customer, "tier": t.tier, "host": t.host, "snapshot": snap["id"],
            "snapshot_time": utc(snap_time), "drill_at": utc(started), "rpo_seconds": round(rpo, 1),
            "rpo_promise_seconds": promise, "rpo_met": rpo <= promise, "rto_seconds": round(rto, 1),
            "rto_promise_seconds": None, "healthy": True, "databases": databases,
            "repository": "copy" if t.from_copy else "primary", "failed_step": None, "reason": None}


# Credentials a reason could carry: a URL's user:password@ (a restic s3:/rest: repository, a git
# remote), NAME=value and `name: value` of anything called a password, secret, token or key, an
# Authorization header. The reason is the error's text, so a tool that echoes them stays redacted.
_REDACT = [
    (re.compile(r"([a-z][a-z0-9+.-]*://)[^/\s@]+@", re.I), r"\1***@"),
    (re.compile(r"(authorization:?\s*)(basic|bearer|token)?\s*\S+", re.I), r"\1***"),
    (re.compile(r"\b([\w.-]*(?:password|passwd|secret|token|key|credential)[\w.-]*)([\"']?\s*[=:]\s*)(?!\*\*\*)([\"']?)"
                r"[^\s\"',}]+", re.I), r"\1\2\3***"),
]
REASON_CHARS = 400


def redact(text: str) -> str:
    """`text` on one line, credentials replaced by ***, at most REASON_CHARS (its head and its tail,
    where a tool's last error line is)."""
    text = " ".join(str(text).split())
    for pattern, repl in _REDACT:
        text = pattern.sub(repl, text)
    if len(text) > REASON_CHARS:
        text = text[:REASON_CHARS // 2 - 1] + " … " + text[-(REASON_CHARS // 2 - 2):]
    return text


def failure(t: Target, step: str, reason: str, started: float, snap: dict | None = None,
            databases: list[str] | None = None) -> dict:
    """The record of a drill that failed at `step` (STEPS): record()'s keys, with what was measured
    before the failure (the snapshot and RPO once listed), never an RTO, never a promise met."""
    if step not in STEPS:
        raise DrillError(f"unknown drill step {step!r} (one of {', '.join(STEPS)})")
    snap_time = dateparser.isoparse(snap["time"]).timestamp() if snap else None
    return {"customer": t.customer, "tier": t.tier, "host": t.host, "snapshot": snap["id"] if snap else None,
            "snapshot_time": utc(snap_time) if snap else None, "drill_at": utc(started),
            "rpo_seconds": round(started - snap_time, 1) if snap else None,
            "rpo_promise_seconds": t.interval_hours * 3600, "rpo_met": None, "rto_seconds": None,
            "rto_promise_seconds": None, "healthy": False, "databases": databases or [],
            "repository": "copy" if t.from_copy else "primary", "failed_step": step, "reason": redact(reason)}


def failure_for(root: Path, customer: str, step: str, reason: str, now: float | None = None) -> dict:
    """A failure before `clawtex dr-drill` ran (the workflow's record step): the customer's target
    from the inventory, drill_at now."""
    t = target(root, customer)
    return failure(t, step, reason, time.time() if now is None else now,
                   databases=[d["name"] for d in t.hostvars["backup"]["databases"]])


def write_record(records: Path, record: dict) -> Path:
    """<records>/<customer>.json (the last drill, atomically) and a line appended to <customer>.jsonl."""
    records.mkdir(parents=True, exist_ok=True)
    path = records / f"{record['customer']}.json"
    fd, tmp = tempfile.mkstemp(dir=records, prefix=".drill-")
    with os.fdopen(fd, "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    with open(records / f"{record['customer']}.jsonl", "a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
    return path


def last_drill(records: Path, customer: str) -> dict | None:
    """The last drill ATTEMPT of a customer, healthy or failed (None: never drilled)."""
    path = Path(records) / f"{customer}.json"
    return json.loads(path.read_text()) if path.exists() else None


def last_success(records: Path, customer: str) -> dict | None:
    """The last drill that reached a healthy gateway: the last `"healthy": true` line of the history
    (<customer>.jsonl), or <customer>.json if it is one (None: no successful drill recorded)."""
    last = last_drill(records, customer)
    if last and last.get("healthy") is True:
        return last
    path = Path(records) / f"{customer}.jsonl"
    for line in reversed(path.read_text().splitlines() if path.exists() else []):
        if line.strip() and (rec := json.loads(line)).get("healthy") is True:
            return rec
    return None


def last_drill_status(records: Path, customer: str) -> dict | None:
    """What the reports show: the last attempt; a failed one (healthy not true) carries
    "failed_step_text" (STEPS) and "last_success" (the last successful drill's drill_at, or None)."""
    last = last_drill(records, customer)
    if last is None or last.get("healthy") is True:
        return last
    good = last_success(records, customer)
    return {**last, "healthy": False, "failed_step": last.get("failed_step") or "drill",
            "failed_step_text": STEPS.get(last.get("failed_step") or "drill", "running the drill"),
            "reason": last.get("reason") or "no reason recorded",
            "last_success": good["drill_at"] if good else None}


def summary(record: dict) -> str:
    if record.get("healthy") is not True:
        return (f"{record['customer']} ({record['tier']}): the drill of {record['drill_at']} FAILED at "
                f"{record['failed_step']} ({STEPS.get(record['failed_step'], '?')}): {record['reason']}")
    rto = (f"RTO {record['rto_seconds']:.0f} s (no RTO promise in the tier)" if record["rto_promise_seconds"] is None
           else f"RTO {record['rto_seconds']:.0f} s of {record['rto_promise_seconds']} s promised")
    return (f"{record['customer']} ({record['tier']}): restored snapshot {record['snapshot'][:8]} of "
            f"{record['snapshot_time']} on {record['drill_at']}; RPO {record['rpo_seconds']:.0f} s "
            f"({'within' if record['rpo_met'] else 'OVER'} the {record['rpo_promise_seconds']} s backup interval); {rto}")


RECORD_BRANCH = "dr-drills"


def push_record(remote: str, new_records: Path, customer: str, attempts: int = 5, wait=None) -> int:
    """Commit one drill's records to the `dr-drills` branch of `remote`: `new_records` is the
    directory `--records` pointed at for this drill alone (write_record: <customer>.json, and
    <customer>.jsonl holding only this run's line), so a retry after another writer's push copies the
    last drill and appends this run's lines on top of whatever the branch holds by then. The
    branch is created by the first record (compiler/business/recordbranch.py)."""
    from . import recordbranch
    last = Path(new_records) / f"{customer}.json"
    lines = (Path(new_records) / f"{customer}.jsonl").read_text().splitlines()
    if not last.exists() or not lines:
        raise DrillError(f"{customer}: no drill record in {new_records}")

    def apply(checkout: Path) -> int:
        (checkout / last.name).write_text(last.read_text())
        with open(checkout / f"{customer}.jsonl", "a") as f:
            f.write("".join(line + "\n" for line in lines))
        return len(lines)
    record = json.loads(last.read_text())
    return recordbranch.push(remote, RECORD_BRANCH, apply, f"dr-drills: {customer} {record.get('drill_at', '')}",
                             attempts=attempts, wait=wait, what="DR drill records")
