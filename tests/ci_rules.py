"""No silent skips: a test whose tool is missing fails under CI=true.

Shared by tests/conftest.py and tests/live/conftest.py (a plain module, since
pytest loads each conftest.py under the same name)."""
from __future__ import annotations

import os
import shutil

import pytest


def under_ci() -> bool:
    """GitHub Actions sets CI=true; so does .ci/run (no silent skips there)."""
    return os.environ.get("CI", "").lower() == "true"


def missing(what: str, install: str = "run scripts/install-deps.sh") -> None:
    """A test's tool is absent: a failure under CI=true, a skip saying how to get it elsewhere."""
    message = f"{what} is not installed; {install}"
    if under_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_tool(name: str, install: str = "run scripts/install-deps.sh") -> str:
    """The path of `name` on PATH, else `missing(...)` (fails under CI=true)."""
    path = shutil.which(name)
    if path is None:
        missing(name, install)
    return path
