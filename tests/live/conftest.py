"""Live suite: every generated artifact is run by the program it is for.

Everything here is marked `live`. A tool that is missing fails the run under
CI=true (no silent skips) and, locally, skips with what to install.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.live)


@pytest.fixture(scope="session", autouse=True)
def gateways_stopped():
    """Every gateway stopped in the background (gateway.running_gateway) has exited at the session's end."""
    yield
    from live import gateway
    gateway.join_stops()


from ci_rules import missing, require_tool  # noqa: E402,F401  (one rule for both suites: tests/ci_rules.py)


def openclaw_path() -> str:
    """PATH with the pinned Node.js and OpenClaw first (scripts/deps/40-openclaw.sh installs them)."""
    result = subprocess.run(["bash", str(REPO / "scripts" / "openclaw-env")], capture_output=True, text=True)
    path = result.stdout.strip()
    if result.returncode != 0 or shutil.which("openclaw", path=path) is None:
        missing("the pinned OpenClaw CLI", "run CLAWTEX_DEPS=40-openclaw bash scripts/install-deps.sh")
    return path
