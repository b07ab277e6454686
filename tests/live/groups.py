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
# (test_hosts.py's module-scoped `booted`). Three groups, so the two workers share the host work:
# the shared Bronze host with the Bronze journey (~840 s in CI), Gold's gateway with its backup
# and drill (~500 s + the backup test), and the other dedicated hosts (Silver with its skill and
# backup proofs, ~680 s; Gold's Wazuh VM). Gold had been with Silver; once its backup test left
# `rehearsal` that group alone would be ~1,500 s of one worker, so it became a unit of its own
# the scheduler can put beside the others. Still two workers: at most two hosts (and one drill's
# fresh machine each) at once.
HOST_GROUPS = {"bronze-shared": "hosts-shared", "gold-gateway": "hosts-gold"}
DEFAULT_HOST_GROUP = "hosts-dedicated"


def host_group(kind: str) -> str:
    return HOST_GROUPS.get(kind, DEFAULT_HOST_GROUP)


def group_of(nodeid: str) -> str | None:
    """The xdist group of a live test's node id, or None (scheduled alone)."""
    nodeid = nodeid.split("@", 1)[0] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid
    if nodeid.startswith(HOSTS_MODULE) and nodeid.endswith("]"):
        return host_group(nodeid[nodeid.rindex("[") + 1:-1])
    return None
