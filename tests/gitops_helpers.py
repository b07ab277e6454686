"""Temporary git repos for the GitOps tests: a copy of this repo committed,
then changed, compiled (in-process, it is the slow part) and committed again."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conftest import REPO, copy_repo
from compiler.pipeline import compile_repo
from compiler.write import write_tree

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True, env=GIT_ENV).stdout.strip()


def init_repo(dest: Path) -> Path:
    root = copy_repo(dest)
    shutil.copy(REPO / ".gitignore", root / ".gitignore")   # keep local caches out of commits
    git(root, "init", "-q", "-b", "main")
    commit(root, "base")
    return root


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


def compile_and_commit(root: Path, message: str) -> str:
    write_tree(root, compile_repo(root))
    return commit(root, message)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def decommission(root: Path, cid: str) -> None:
    edit(root / "customers" / f"{cid}.yaml", "\nspec:\n",
         "\nspec:\n  status: decommissioned\n  decommission: {approvedBy: Ops Lead, date: \"2026-11-01\"}\n")


def add_gold_customer(root: Path, cid: str = "zenith-robotics") -> None:
    """A Gold customer cloned from acme-logistics under a new id."""
    text = (root / "customers" / "acme-logistics.yaml").read_text()
    text = (text.replace("acme-logistics", cid).replace("ACME Logistics GmbH", "Zenith Robotics")
            .replace("AcmeLogist007", "ZenithRobo001").replace("ACME_", "ZENITH_"))
    (root / "customers" / f"{cid}.yaml").write_text(text)
