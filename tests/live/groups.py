"""Which live tests share one xdist worker (`--dist loadgroup`, scripts/test.sh), by node id.

pytest-xdist 3.8.0 (the newest release) tells its controller a test's `xdist_group` by
appending `@<group>` to the node id in the worker (xdist/remote.py, `item._nodeid = ...`).
pytest 9 keeps the node id in `Node._id` (_pytest/nodes.py: `nodeid` returns `str(self._id)`),
so that assignment changes nothing and every marked test is scheduled alone: seen 2026-12-03,
the scheduler's work queue had no group at all, and a host kind's tests could land on two
workers, each booting the same host (hosts.Host's lock refuses the second). The controller
knows only node ids, so the groups are computed here from the node id and used by
tests/conftest.py's `pytest_xdist_make_scheduler`; test_hosts.py marks its parameters from the
same table, which keeps the marks right for a pytest-xdist that sees them again.
"""
from __future__ import annotations

HOSTS_MODULE = "tests/live/test_hosts.py::"
# A host kind's tests run on one worker, in the order collected, sharing its booted host
# (test_hosts.py's module-scoped `booted`). One group per host (Gold's Wazuh VM goes with Gold):
# the scheduler (tests/conftest.py) starts the longest first, so the two workers each take a host
# and the third goes to whichever worker is free first. Until 2026-12-03 Silver and Gold were one
# group (~1,300 s on one worker in the last CI), which fixed the split of the host work in advance.
HOST_GROUPS = {"bronze-shared": "hosts-shared", "silver-gateway": "hosts-silver",
               "gold-gateway": "hosts-gold", "gold-wazuh-vm": "hosts-gold"}
DEFAULT_HOST_GROUP = "hosts-dedicated"


def host_group(kind: str) -> str:
    return HOST_GROUPS.get(kind, DEFAULT_HOST_GROUP)


def group_of(nodeid: str) -> str | None:
    """The xdist group of a live test's node id, or None (scheduled alone)."""
    nodeid = nodeid.split("@", 1)[0] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid
    if nodeid.startswith(HOSTS_MODULE) and nodeid.endswith("]"):
        return host_group(nodeid[nodeid.rindex("[") + 1:-1])
    return None


# Longest first (scripts/test.sh: 2 workers): seconds a work unit took in the last CI run (brief of
# 2026-12-03: converges bronze-shared 610, gold 504, silver 395; silver backup 287; bronze journey
# 227; plus boots and stops; each gateway 113-194, the canaries 103-122; monitoring's outage 81;
# since 2026-12-03 late the Silver journey too, ~200-250 s in CI by its 349/511 s here). Only the order of the
# queue uses them, nothing is timed: a long unit started last leaves the other worker idle for its
# length (LPT scheduling), so the host groups go first, then gateways and canaries, the short
# tests fill the end (gateways 150 -> 135 s: no 16 s compile-cache copy before each boot, 2026-12-03).
# First match of the node id's prefix; units not listed count EXPECTED_DEFAULT.
EXPECTED_SECONDS = (
    ("hosts-shared", 850), ("hosts-silver", 900), ("hosts-gold", 850), ("hosts-", 600),
    ("tests/live/test_gateway.py::test_gateway[", 135), ("tests/live/test_gateway.py::test_canary", 110),
    ("tests/live/test_monitoring.py::", 40), ("tests/live/test_backup_platinum.py::", 60),
    ("tests/live/test_handoff_chromium.py::", 10),
)
EXPECTED_DEFAULT = 20


def expected_seconds(scope: str) -> int:
    return next((s for prefix, s in EXPECTED_SECONDS if scope.startswith(prefix)), EXPECTED_DEFAULT)
