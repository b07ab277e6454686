"""`clawtex dr-drill`, fast checks: it refuses without --wipe-scratch and for customers without
backups, picks the backed-up gateway host, and writes its record where the reports read it.
The drill itself runs live (tests/live/test_hosts.py: the backup test restores through it)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from compiler.business import drill
from conftest import REPO


def clawtex(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler.cli", "--root", str(REPO), *args],
                          capture_output=True, text=True, cwd=REPO)


def test_refuses_without_the_scratch_confirmation(tmp_path):
    r = clawtex("dr-drill", "acme-logistics", "--runner", "false", "--records", str(tmp_path))
    assert r.returncode == 2 and "--wipe-scratch" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_customer_without_backups(tmp_path):
    r = clawtex("dr-drill", "pixel-bakery", "--runner", "false", "--wipe-scratch", "--records", str(tmp_path))
    assert r.returncode == 1 and "no gateway host with backups" in r.stderr   # Bronze: tiers/bronze.yaml backups: null


@pytest.mark.parametrize("customer,host,tier,hours", [
    # By hand: customers/*.yaml tiers and tiers/*.yaml spec.backups.intervalHours.
    ("acme-logistics", "acme-logistics-oc-1", "gold", 1),
    ("brightpath-tutors", "brightpath-tutors-oc-1", "silver", 24),
])
def test_target_is_the_backed_up_gateway_host(customer, host, tier, hours):
    t = drill.target(REPO, customer)
    assert (t.host, t.tier, t.interval_hours) == (host, tier, hours)


def test_a_failed_listing_is_recorded_as_a_failed_drill(tmp_path):
    """Was: no record at all, so the reports kept showing the last successful drill as the latest."""
    r = clawtex("dr-drill", "acme-logistics", "--runner", "false", "--wipe-scratch", "--records", str(tmp_path))
    assert r.returncode == 1 and "listing the snapshots failed" in r.stderr and "FAILED at snapshots" in r.stderr
    rec = json.loads((tmp_path / "acme-logistics.json").read_text())
    assert (rec["healthy"], rec["failed_step"], rec["snapshot"], rec["rpo_seconds"], rec["rto_seconds"], rec["rpo_met"]) == (
        False, "snapshots", None, None, None, None)
    assert rec["reason"] == "listing the snapshots failed (1):"          # `false` says nothing
    assert [json.loads(x) for x in (tmp_path / "acme-logistics.jsonl").read_text().splitlines()] == [rec]


# ------------------------------------------------------------ drill() through a scratch host that fails
# A real Runner against a host stand-in: the argv prefix runs this script with `bash -c <the drill's
# command>`; FAIL_AT picks the step it fails. Its errors carry credentials as tools print them.
FAKE_HOST = r"""#!/usr/bin/env bash
script=$3
echo "$script" >> "$LOG"
case "$script" in
  *"snapshots --json"*)
    [ "$FAIL_AT" = snapshots ] && { echo "Fatal: unable to open config file: Stat: s3:https://AKIAEXAMPLE:s3cr3tKey@s3.example.com/acme: 403" >&2; exit 1; }
    [ "$FAIL_AT" = empty ] && { echo "[]"; exit 0; }
    echo '[{"id": "'"$SNAP"'", "time": "2026-12-04T02:00:00.5Z"}]' ;;
  *"systemctl stop"*) [ "$FAIL_AT" = stop ] && { echo "Failed to stop openclaw-gateway.service: Unit not loaded." >&2; exit 5; } ;;
  *pg_restore*) [ "$FAIL_AT" = databases ] && { echo 'pg_restore: error: connection failed: password=hunter2 refused' >&2; exit 1; } ;;
  *"restore "*) [ "$FAIL_AT" = restore ] && { echo "Fatal: wrong password or no key found RESTIC_PASSWORD=hunter2" >&2; exit 1; } ;;
  *"systemctl start"*) [ "$FAIL_AT" = start ] && { echo "Job for openclaw-gateway.service failed." >&2; exit 1; } ;;
  *urllib*) if [ "$FAIL_AT" = health ]; then echo '503 {"ok": false}'; else echo '200 {"ok": true, "status": "live"}'; fi ;;
esac
exit 0
"""
SNAP = "5e" * 32
T = 1796353200.0        # 2026-12-04T03:00:00Z (date -d 2026-12-04T03:00:00Z +%s), the drill's start


@pytest.fixture
def fake_host(tmp_path, monkeypatch):
    import time
    from types import SimpleNamespace
    host = tmp_path / "host.sh"
    host.write_text(FAKE_HOST)
    host.chmod(0o755)
    monkeypatch.setattr(drill, "time", SimpleNamespace(time=lambda: T, monotonic=time.monotonic, sleep=lambda s: None))
    monkeypatch.setenv("LOG", str(tmp_path / "commands.log"))
    monkeypatch.setenv("SNAP", SNAP)

    def run(fail_at: str, health_timeout: float = 30):
        monkeypatch.setenv("FAIL_AT", fail_at)
        return drill.drill(REPO, "acme-logistics", drill.Runner(str(host)), health_timeout=health_timeout)
    return run


@pytest.mark.parametrize("fail_at,step,listed,words", [
    # By hand: the step each stand-in failure stops the drill at; the snapshot is listed from `stop` on.
    ("snapshots", "snapshots", False, "listing the snapshots failed (1): Fatal: unable to open config file: Stat: "
                                      "s3:https://***@s3.example.com/acme: 403"),
    ("empty", "snapshots", False, "acme-logistics: the repository has no snapshot of acme-logistics-oc-1: nothing to restore"),
    ("stop", "stop", True, "stopping the gateway and clearing its state failed (5): Failed to stop openclaw-gateway.service"),
    ("restore", "restore", True, "restic restore failed (1): Fatal: wrong password or no key found RESTIC_PASSWORD=***"),
    ("databases", "databases", True, "restoring database tracker failed (1): pg_restore: error: connection failed: password=***"),
    ("start", "start", True, "starting the gateway failed (1): Job for openclaw-gateway.service failed."),
    ("health", "health", True, "acme-logistics: the gateway did not answer http://127.0.0.1/healthz healthy within 0s"),
])
def test_a_failed_step_is_recorded_with_what_was_measured_before_it(fake_host, fail_at, step, listed, words, tmp_path):
    with pytest.raises(drill.DrillFailed) as info:
        fake_host(fail_at, health_timeout=0.2)
    rec = info.value.record
    assert rec["reason"].startswith(words), rec["reason"]
    assert "s3cr3tKey" not in json.dumps(rec) and "hunter2" not in json.dumps(rec) and "AKIAEXAMPLE" not in json.dumps(rec)
    assert {k: rec[k] for k in ("customer", "tier", "host", "healthy", "failed_step", "drill_at", "rto_seconds", "rpo_met",
                                "rpo_promise_seconds", "rto_promise_seconds", "databases", "repository")} == {
        "customer": "acme-logistics", "tier": "gold", "host": "acme-logistics-oc-1", "healthy": False, "failed_step": step,
        "drill_at": "2026-12-04T03:00:00Z", "rto_seconds": None, "rpo_met": None, "rpo_promise_seconds": 3600,
        "rto_promise_seconds": None, "databases": ["tracker"], "repository": "primary"}
    # RPO once the snapshot was listed: 03:00:00 - 02:00:00.5 = 3599.5 s; never an RTO.
    assert (rec["snapshot"], rec["snapshot_time"], rec["rpo_seconds"]) == (
        (SNAP, "2026-12-04T02:00:00Z", 3599.5) if listed else (None, None, None))
    assert set(rec) == set(drill.record(drill.target(REPO, "acme-logistics"), {"id": SNAP, "time": "2026-12-04T02:00:00Z"},
                                        T, 1.0, [])), "the same record shape as a healthy drill's"
    drill.write_record(tmp_path / "records", rec)
    assert drill.last_drill(tmp_path / "records", "acme-logistics") == rec


def test_a_drill_that_reaches_a_healthy_gateway_has_no_failed_step(fake_host):
    rec = fake_host("none")
    assert (rec["healthy"], rec["failed_step"], rec["reason"], rec["rpo_seconds"], rec["rpo_met"]) == (
        True, None, None, 3599.5, True)
    assert rec["rto_seconds"] is not None and rec["rto_seconds"] >= 0


def test_redact_removes_credentials_and_cuts_the_reason_short():
    assert drill.redact("Fatal: s3:https://AKIA:pw@h/b  and\nrest:https://u:p@10.0.0.1:8000/r") == \
        "Fatal: s3:https://***@h/b and rest:https://***@10.0.0.1:8000/r"
    assert drill.redact("git: AUTHORIZATION: basic eHg6eXk= denied; GH_TOKEN=ghs_abc") == \
        "git: AUTHORIZATION: *** denied; GH_TOKEN=***"
    assert drill.redact('{"access_key_id": "AKIA1", "secret_access_key":"s3cr3t", "region": "fra1"}') == \
        '{"access_key_id": "***", "secret_access_key":"***", "region": "fra1"}'
    long = drill.redact("head " + "x" * 1000 + " tail")
    assert len(long) <= drill.REASON_CHARS and long.startswith("head ") and long.endswith(" tail")


def test_the_last_successful_drill_stays_findable_after_failures(tmp_path):
    good = {"customer": "acme-logistics", "tier": "gold", "drill_at": "2026-11-04T03:20:00Z", "healthy": True}
    bad = {"customer": "acme-logistics", "tier": "gold", "drill_at": "2026-12-04T03:20:00Z", "healthy": False,
           "failed_step": "restore", "reason": "restic restore failed (1)"}
    assert drill.last_success(tmp_path, "acme-logistics") is None
    drill.write_record(tmp_path, bad)
    assert drill.last_drill_status(tmp_path, "acme-logistics")["last_success"] is None
    drill.write_record(tmp_path, good)
    drill.write_record(tmp_path, bad)
    drill.write_record(tmp_path, {**bad, "drill_at": "2026-12-05T03:20:00Z", "failed_step": "converge"})
    status = drill.last_drill_status(tmp_path, "acme-logistics")
    assert (status["drill_at"], status["failed_step"], status["failed_step_text"], status["last_success"]) == (
        "2026-12-05T03:20:00Z", "converge", "configuring the scratch server", "2026-11-04T03:20:00Z")
    assert drill.last_success(tmp_path, "acme-logistics") == good
    assert "FAILED at converge (configuring the scratch server): restic restore failed (1)" in drill.summary(status)


def test_record_is_written_and_read_back(tmp_path):
    record = {"customer": "acme-logistics", "tier": "gold", "host": "acme-logistics-oc-1", "snapshot": "ab" * 32,
              "snapshot_time": "2026-12-03T02:00:00Z", "drill_at": "2026-12-03T02:30:00Z", "rpo_seconds": 1800.0,
              "rpo_promise_seconds": 3600, "rpo_met": True, "rto_seconds": 42.0, "rto_promise_seconds": None,
              "healthy": True, "databases": ["tracker"]}
    drill.write_record(tmp_path, record)
    drill.write_record(tmp_path, {**record, "rpo_seconds": 7200.0, "rpo_met": False})
    assert drill.last_drill(tmp_path, "acme-logistics")["rpo_seconds"] == 7200.0
    assert len((tmp_path / "acme-logistics.jsonl").read_text().splitlines()) == 2
    assert drill.last_drill(tmp_path, "brightpath-tutors") is None
    text = drill.summary(record)
    assert "RPO 1800 s (within the 3600 s backup interval)" in text and "no RTO promise" in text
    assert json.loads((tmp_path / "acme-logistics.json").read_text())["rpo_met"] is False


# ------------------------------------------------------------ restic locks: drill vs production's unlock
HOST = "acme-logistics-oc-1"
# Another machine: its own PID namespace (a PID of the scratch host is not running there) and its own
# host name (sethostname(2) in its own UTS namespace). The scratch side's PID 1 is `sh`, so its restic
# is never PID 1, the one PID that exists in every namespace.
MACHINE = ["unshare", "--uts", "--pid", "--fork", "--kill-child", "sh", "-c",
           'python3 -c "import socket, sys; socket.sethostname(sys.argv[1])" "$0" && "$@"']


def _restic_env(tmp_path):
    return {**__import__("os").environ, "RESTIC_REPOSITORY": str(tmp_path / "repo"), "RESTIC_PASSWORD": "drill-test",
            "XDG_CACHE_HOME": str(tmp_path / "cache")}


def _locks(env) -> list[str]:
    done = subprocess.run(["restic", "list", "locks", "--no-lock"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def _production_unlock_during(tmp_path, scratch_command: str) -> tuple[list[str], list[str]]:
    """The locks before and after production's `restic unlock` (the backup script's own line) runs
    while `scratch_command` (restic backup --stdin, holding its lock until stdin closes) runs on a
    scratch machine."""
    import shutil
    import time
    if shutil.which("restic") is None or shutil.which("unshare") is None or __import__("os").geteuid() != 0:
        pytest.fail("needs restic (scripts/deps), util-linux unshare and root (namespaces)")
    env = _restic_env(tmp_path)
    subprocess.run(["restic", "init"], env=env, check=True, capture_output=True, timeout=60)
    script = (REPO / "modules/ansible/roles/backup/templates/clawtex-backup.sh.j2").read_text()
    unlock = next(line.split("#")[0].split() for line in script.splitlines() if line.startswith("restic unlock"))
    assert unlock == ["restic", "unlock"], "the backup script's unlock line changed: re-check this test"
    # Its restic's PID past the ones the production side uses (each namespace counts from 1, and Go's
    # threads take ids from the same counter; kill(tid, 0) finds a thread too).
    burn = "i=0; while [ $i -lt 400 ]; do /bin/true; i=$((i+1)); done; "
    scratch = subprocess.Popen([*MACHINE, "scratch-boot-name", "sh", "-c", burn + scratch_command], env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (before := _locks(env)) and time.monotonic() < deadline:
            time.sleep(0.2)
        done = subprocess.run([*MACHINE, HOST, *unlock], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        after = _locks(env)
    finally:
        # Ended, not waited for: a restic whose lock was removed retries removing it for minutes.
        scratch.kill()
        scratch.wait(timeout=60)
    return before, after


def test_a_scratch_host_named_like_production_loses_its_lock_to_productions_unlock(tmp_path):
    """The risk, shown with Debian's restic 0.14: a lock records os.Hostname() (restic
    internal/restic/lock.go NewLock), not --host; production's `restic unlock` removes a lock with its
    own host name whose PID it cannot see (lock.go Stale()). A restore there would lose its lock."""
    command = (f"python3 -c 'import os, socket; socket.sethostname(\"{HOST}\"); "
               f"os.execvp(\"restic\", [\"restic\", \"backup\", \"--host\", \"{HOST}-dr-drill\", \"--stdin\"])'")
    before, after = _production_unlock_during(tmp_path, command)
    assert len(before) == 1 and after == [], "restic's --host does not change the lock's host name"


def test_the_drills_restic_keeps_its_lock_through_productions_unlock(tmp_path):
    """The fix: the drill runs restic as drill.restic_in_own_uts builds it (the command `clawtex
    dr-drill` sends, inside systemd-run): under <host>-dr-drill, so production's unlock leaves it."""
    command = drill.restic_in_own_uts("backup --stdin", HOST + drill.LOCK_HOSTNAME_SUFFIX)
    assert drill.restic_in_own_uts("backup --stdin", HOST + drill.LOCK_HOSTNAME_SUFFIX) in drill.restic("backup --stdin", HOST)
    before, after = _production_unlock_during(tmp_path, command)
    assert len(before) == 1 and after == before


def test_platinum_is_drilled_from_the_other_regions_copy():
    """Platinum: the first region's cluster (fra1, customers/orbital-health.yaml regions[0]) whose CronJob
    writes the fra1 bucket and copies to ams3; the drill reads the ams3 copy (by hand). The restore itself
    from that copy: tests/test_backup_role.py test_platinum_cronjob_backs_up_the_volume_and_..."""
    t = drill.target(REPO, "orbital-health")
    assert (t.host, t.tier, t.interval_hours, t.from_copy) == ("orbital-health-fra1", "platinum", 1, True)
    cmd = drill.restic("snapshots --json", t.host, t.from_copy)
    assert "-p Environment=CLAWTEX_DRILL_FROM_COPY=1" in cmd and "orbital-health-fra1-dr-drill" in cmd
    assert "CLAWTEX_DRILL_FROM_COPY=1" not in drill.restic("snapshots --json", "acme-logistics-oc-1")


# ------------------------------------------------------------ MongoDB: restored, or the drill fails saying so
# helios-energy (Gold) declares a MongoDB database (customers/helios-energy.yaml: telemetry). Until
# 2026-12-04 its drill restored only PostgreSQL dumps and recorded a healthy drill without the database.
MONGO_HOST = r"""#!/usr/bin/env bash
script=$3
echo "$script" >> "$LOG"
case "$script" in
  *"snapshots --json"*) echo '[{"id": "'"$SNAP"'", "time": "2026-12-04T02:00:00.5Z"}]' ;;
  *mongorestore*) PATH="$STUBS:/usr/bin:/bin" exec bash -c "$script" ;;   # the drill's own shell logic, for real
  *urllib*) echo '200 {"ok": true, "status": "live"}' ;;
esac
exit 0
"""


@pytest.mark.parametrize("installed", [True, False])
def test_a_mongodb_database_is_restored_or_the_drill_fails_saying_so(tmp_path, monkeypatch, installed):
    import time
    from types import SimpleNamespace
    host = tmp_path / "host.sh"
    host.write_text(MONGO_HOST)
    host.chmod(0o755)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    if installed:     # a mongorestore that records its argv, one per line
        (stubs / "mongorestore").write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/argv\n')
        (stubs / "mongorestore").chmod(0o755)
    monkeypatch.setattr(drill, "time", SimpleNamespace(time=lambda: T, monotonic=time.monotonic, sleep=lambda s: None))
    for k, v in {"LOG": tmp_path / "commands.log", "SNAP": SNAP, "STUBS": stubs}.items():
        monkeypatch.setenv(k, str(v))
    if installed:
        rec = drill.drill(REPO, "helios-energy", drill.Runner(str(host)), health_timeout=30)
        assert (rec["healthy"], rec["databases"]) == (True, ["telemetry"])
        # By hand: the archive the backup script writes (roles/backup clawtex-backup.sh.j2), the one database.
        assert (tmp_path / "argv").read_text().splitlines() == [
            "--quiet", "--drop", "--gzip", "--archive=/var/backups/clawtex/db/telemetry.mongo.archive", "--nsInclude=telemetry.*"]
        log = (tmp_path / "commands.log").read_text()
        assert log.index("restore " + SNAP) < log.index("mongorestore") < log.index("systemctl start"), log
    else:
        with pytest.raises(drill.DrillFailed) as failed:
            drill.drill(REPO, "helios-energy", drill.Runner(str(host)), health_timeout=30)
        rec = failed.value.record
        assert (rec["healthy"], rec["failed_step"], rec["databases"]) == (False, "databases", ["telemetry"])
        assert "mongorestore (MongoDB Database Tools) is not installed on the scratch host" in rec["reason"], rec["reason"]
        assert "systemctl start" not in (tmp_path / "commands.log").read_text(), "the gateway started without its database"
