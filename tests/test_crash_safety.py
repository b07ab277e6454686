"""A compile killed at any moment leaves generated/ exactly old or exactly new;
output does not depend on the order customer files are created or listed in."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from compiler.write import read_tree
from conftest import REPO, copy_repo, run_clawtex

KILLS = 24
SEED = 20261125


def start_compile(root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "compiler.cli", "--root", str(root), "compile"],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigkill_at_random_points_never_leaves_a_mixed_tree(repo):
    old = read_tree(repo / "generated")
    path = repo / "customers" / "mapleleaf-dental.yaml"
    path.write_text(path.read_text().replace("monthlyPrice: 249", "monthlyPrice: 259").replace("Mapleleaf Dental Clinics", "Mapleleaf Dental Group"))
    started = time.monotonic()
    assert run_clawtex(repo, "compile").returncode == 0
    duration = time.monotonic() - started
    new = read_tree(repo / "generated")
    assert new != old
    rng = random.Random(SEED)
    outcomes = {"old": 0, "new": 0}
    for _ in range(KILLS):
        shutil.rmtree(repo / "generated")
        write_back(repo / "generated", old)
        proc = start_compile(repo)
        time.sleep(rng.uniform(0.05, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        tree = read_tree(repo / "generated")
        assert tree in (old, new), "generated/ is a mix of two compiles"
        outcomes["old" if tree == old else "new"] += 1
    # The kills must land on both sides of the swap, or the test proved nothing.
    assert outcomes["old"] and outcomes["new"], outcomes
    assert run_clawtex(repo, "compile").returncode == 0
    assert read_tree(repo / "generated") == new
    assert not list(repo.glob(".generated*")), "leftover temporary trees, journal or lock are cleaned up"


def write_back(directory: Path, tree: dict[str, bytes]) -> None:
    for rel, content in tree.items():
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def test_output_independent_of_file_creation_and_listing_order(tmp_path):
    forward = copy_repo(tmp_path / "forward", with_generated=False)
    backward = copy_repo(tmp_path / "backward", with_generated=False)
    shutil.rmtree(backward / "customers")
    (backward / "customers").mkdir()
    for path in sorted((REPO / "customers").glob("*.yaml"), reverse=True):   # different directory order
        shutil.copy(path, backward / "customers" / path.name)
    env = dict(os.environ, PYTHONHASHSEED="7")
    assert run_clawtex(forward, "compile").returncode == 0
    assert run_clawtex(backward, "compile", env=env).returncode == 0
    assert read_tree(forward / "generated") == read_tree(backward / "generated")
    # Diagnostics, not only counts, must not depend on the order files are named in:
    # break two files so the report has content to order.
    for name, old, new in (("pixel-bakery.yaml", "monthlyPrice: 49", "monthlyPrice: 5"),
                           ("tiny-legal.yaml", "monthlyPrice: 99", "monthlyPrice: 7")):
        path = backward / "customers" / name
        path.write_text(path.read_text().replace(old, new))
    files = sorted(str(p) for p in (backward / "customers").glob("*.yaml"))
    listed = run_clawtex(backward, "validate", "--no-cache", *files)
    reversed_listed = run_clawtex(backward, "validate", "--no-cache", *reversed(files))
    assert listed.returncode == reversed_listed.returncode == 1
    errors = listed.stderr.splitlines()
    assert any("pixel-bakery.yaml" in line and "got 5" in line for line in errors), listed.stderr
    assert any("tiny-legal.yaml" in line and "got 7" in line for line in errors), listed.stderr
    assert listed.stderr == reversed_listed.stderr
