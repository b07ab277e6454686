"""Booted machines of the live suite keep apart from each other (tests/live/hosts.py).

Scheduled alone (not a host kind's test: tests/live/groups.py), with the cached root of test_hosts.py.
"""
from __future__ import annotations

import os

from live import hosts
from live.test_hosts import root  # noqa: F401 - the cached Debian root, a module fixture


def _pid_in(h: hosts.Host, argv: list[str]) -> int:
    """This machine's PID of the process of `h` whose command line is exactly `argv`."""
    pidns = os.readlink(f"/proc/{h.leader}/ns/pid")
    want = "\0".join(argv).encode() + b"\0"
    for proc in os.listdir("/proc"):
        try:
            if proc.isdigit() and os.readlink(f"/proc/{proc}/ns/pid") == pidns \
                    and open(f"/proc/{proc}/cmdline", "rb").read() == want:
                return int(proc)
        except OSError:
            continue
    raise AssertionError(f"no {argv} in {h.unit}")


def _systemd_cgroup(pid: int) -> str:
    """The process's cgroup in the hierarchy systemd tracks units by (name=systemd; cgroup2 if only that)."""
    lines = dict(line.split(":", 2)[1:] for line in open(f"/proc/{pid}/cgroup").read().splitlines())
    return lines.get("name=systemd", lines.get(""))


def test_two_booted_hosts_never_share_a_unit_cgroup(root):
    """Two machines booted at once each run their units in cgroups of their own (hosts.own_cgroups).
    Before, `systemd-nspawn --keep-unit` put every machine's systemd in the one /payload cgroup of
    this systemd-less machine: the Gold and Silver hosts' clawtex-backup.service shared a cgroup, and
    the Gold retention run failed with `stop-sigterm timed out` and `status=219/CGROUP` (CI, 2026-12-04).
    Hand-written expectation: the same unit name, started in both machines, sits in two different
    cgroups seen from here; stopping it in one leaves the other's running, and both start again."""
    unit = "clawtex-cgroup-probe"
    with hosts.Host("cgroup-probe", root, machine="a") as a, hosts.Host("cgroup-probe", root, machine="b") as b:
        for h, seconds in ((a, "601"), (b, "602")):
            r = h.sh(f"systemd-run --unit={unit} sleep {seconds}")
            assert r.returncode == 0, r.stderr
        pa, pb = _pid_in(a, ["/usr/bin/sleep", "601"]), _pid_in(b, ["/usr/bin/sleep", "602"])
        ca, cb = _systemd_cgroup(pa), _systemd_cgroup(pb)
        assert ca.endswith(f"/system.slice/{unit}.service") and cb.endswith(f"/system.slice/{unit}.service"), (ca, cb)
        assert ca != cb, f"both machines' {unit}.service in one cgroup: {ca}"
        assert a.sh(f"systemctl stop {unit}").returncode == 0
        assert b.sh(f"systemctl is-active {unit}").stdout.strip() == "active"
        assert os.path.exists(f"/proc/{pb}"), "stopping the unit in one machine killed the other's process"
        assert b.sh(f"systemctl stop {unit}").returncode == 0
        for h in (a, b):
            r = h.sh(f"systemd-run --unit={unit}-again --wait true")
            assert r.returncode == 0, (h.unit, r.stdout, r.stderr)
