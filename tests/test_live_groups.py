"""The live suite's xdist groups (tests/live/groups.py): the table the scheduler reads by node id
agrees with the marks test_hosts.py puts on its parameters, and a host kind's tests share a group."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from live.groups import group_of

REPO = Path(__file__).resolve().parents[1]
PROBE = '''
import json, os, pytest
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    out = {it.nodeid: sorted(m.args[0] for m in it.iter_markers("xdist_group")) for it in items}
    with open(os.environ["CLAWTEX_GROUPS_OUT"], "w") as f:
        json.dump(out, f)
'''


def test_scheduler_groups_match_the_marks_and_keep_a_host_kind_together(tmp_path):
    (tmp_path / "clawtex_groups_probe.py").write_text(PROBE)
    out = tmp_path / "groups.json"
    env = {**os.environ, "CLAWTEX_GROUPS_OUT": str(out),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-m", "pytest", "tests/live/test_hosts.py", "--collect-only", "-q",
                        "-p", "clawtex_groups_probe", "-p", "no:cacheprovider"],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    marks = json.loads(out.read_text())
    assert len(marks) >= 8, marks
    for nodeid, m in marks.items():
        assert m == [group_of(nodeid)], (nodeid, m)
    # By hand: which tests share a booted host (test_hosts.py's module-scoped `booted`).
    kinds = {n[n.rindex("[") + 1:-1]: group_of(n) for n in marks}
    assert kinds == {"silver-gateway": "hosts-dedicated", "gold-gateway": "hosts-gold",
                     "gold-wazuh-vm": "hosts-dedicated", "bronze-shared": "hosts-shared"}
    # Other live tests are scheduled alone; an id with xdist's own suffix keeps its group.
    assert group_of("tests/live/test_gateway.py::test_gateway[acme-logistics]") is None
    assert group_of("tests/live/test_hosts.py::test_site_yml_converges_and_is_idempotent[bronze-shared]@hosts-shared") \
        == "hosts-shared"
