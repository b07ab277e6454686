from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci_rules import missing, require_tool, under_ci  # noqa: F401  (tests import them from here)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# Reference data the tests check against, checked in with its provenance (reference/*/README.md).
REFERENCE = REPO / "reference"
# Import this checkout's compiler even when another checkout is pip-installed.
sys.path.insert(0, str(REPO))

# The smallest valid customer file; tests format in id, tier and price.
CUSTOMER = """\
apiVersion: clawtex/v1
kind: Customer
metadata:
  id: {id}
  displayName: Test Customer
  contacts:
    - {{name: T, email: t@example.com}}
spec:
  tier: {tier}
  provider: hetzner
  regions: [fsn1]
  onboardedOn: "2026-09-01"
  billing:
    monthlyPrice: {price}
    stripeCustomerId: cus_Test000001
  channels:
    - type: telegram
      botToken: {{source: env, id: T_TOKEN}}
"""


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup` with the live suite's groups read from the node id (tests/live/groups.py:
    pytest-xdist 3.8.0 cannot pass a mark's group to its controller under pytest 9)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling
    from live.groups import group_of

    from live.groups import expected_seconds

    class Groups(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid) or super()._split_scope(nodeid)

        def _assign_work_unit(self, node) -> None:
            # Longest expected unit first (live.groups.EXPECTED_SECONDS); ties in queue order.
            longest = max(self.workqueue, key=expected_seconds)
            self.workqueue.move_to_end(longest, last=False)
            super()._assign_work_unit(node)

        def _reschedule(self, node) -> None:
            # xdist queues more work while a worker has <= 2 tests pending; here <= 1 (the running
            # one), so no unit waits on a busy worker while the other one runs out of work.
            if node.shutting_down:
                return
            if not self.workqueue:
                node.shutdown()
                return
            if self._pending_of(self.assigned_work[node]) <= 1:
                self._assign_work_unit(node)
    return Groups(config, log)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skip is a failure, whatever raised it (no silent skips).

    An expected failure (xfail) is not a skip: it stays as pytest reports it."""
    outcome = yield
    report = outcome.get_result()
    if under_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (a missing tool or input is a failure here): {reason}"


def pytest_terminal_summary(terminalreporter):
    """The skipped count, always printed (0 is the only accepted value under CI=true)."""
    skipped = len(terminalreporter.stats.get("skipped", []))
    terminalreporter.write_line(f"clawtex: skipped tests: {skipped} (CI={os.environ.get('CI', '')!r})")


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and under_ci() and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = 1


def copy_repo(dest: Path, with_generated: bool = True) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("clawtex.yaml", "tiers", "customers", "modules"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.exists():
            shutil.copy2(src, dest / name)
    if with_generated and (REPO / "generated").exists():
        shutil.copytree(REPO / "generated", dest / "generated")
    return dest


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A private copy of the repository's inputs (and committed generated/)."""
    return copy_repo(tmp_path / "repo")


def run_clawtex(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler.cli", "--root", str(root), *args],
                          capture_output=True, text=True, cwd=REPO, env=env)


@pytest.fixture(scope="session")
def generated() -> Path:
    """The committed generated/ tree (the PR gate keeps it equal to a fresh compile)."""
    return REPO / "generated"


# Cloned customers get their own secret ids: one rule, the benchmark fleet generator's.
from bench.fleet import own_secret_ids  # noqa: E402,F401
