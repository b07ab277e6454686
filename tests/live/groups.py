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
# (test_hosts.py's module-scoped `booted`). Two groups, so the two workers share the host work:
# the shared Bronze host with the Bronze journey, and the dedicated hosts (Silver with its skill
# and backup proofs, Gold, Gold's Wazuh VM).
HOST_GROUPS = {"bronze-shared": "hosts-shared"}
DEFAULT_HOST_GROUP = "hosts-dedicated"


def host_group(kind: str) -> str:
    return HOST_GROUPS.get(kind, DEFAULT_HOST_GROUP)


def group_of(nodeid: str) -> str | None:
    """The xdist group of a live test's node id, or None (scheduled alone)."""
    nodeid = nodeid.split("@", 1)[0] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid
    if nodeid.startswith(HOSTS_MODULE) and nodeid.endswith("]"):
        return host_group(nodeid[nodeid.rindex("[") + 1:-1])
    return None
