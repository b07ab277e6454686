"""generated/ is written by a journal (compiler/write.py): a process SIGKILLed at each
step of a write leaves, after recover(), the old tree or the new one, whole; and a
write touches only the files that changed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import write
from compiler.write import GENERATED, JOURNAL, STEPS, read_tree, recover, write_tree
from conftest import REPO, copy_repo, run_clawtex

# Written by hand, not by the code under test: an old and a new tree that differ by
# a changed file, an added file in a new directory, a deleted file whose directory
# empties, a file that becomes a directory and a directory that becomes a file.
OLD = {"a.txt": b"old a\n", "same.txt": b"same\n", "gone/only.txt": b"bye\n", "x": b"x was a file\n",
       "y/inner.txt": b"y was a directory\n", "deep/keep.txt": b"keep\n"}
NEW = {"a.txt": b"new a\n", "same.txt": b"same\n", "x/inside.txt": b"x is a directory\n",
       "y": b"y is a file\n", "deep/keep.txt": b"keep\n", "fresh/dir/new.txt": b"new\n"}

WRITER = """
import json, sys
from pathlib import Path
from compiler.write import write_tree
files = {k: v.encode() for k, v in json.loads(Path(sys.argv[2]).read_text()).items()}
write_tree(Path(sys.argv[1]), files)
"""


def _lay(root: Path, tree: dict[str, bytes]) -> None:
    for rel, content in tree.items():
        (root / GENERATED / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / GENERATED / rel).write_bytes(content)


def _raw(root: Path) -> dict[str, bytes]:
    """generated/ as it is on disk, without recovering first."""
    base = root / GENERATED
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def _killed_write(root: Path, tree: dict[str, bytes], fault: str) -> int:
    spec = root.parent / "new.json"
    spec.write_text(json.dumps({k: v.decode() for k, v in tree.items()}))
    out = subprocess.run([sys.executable, "-c", WRITER, str(root), str(spec)], cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO), "CLAWTEX_WRITE_FAULT": fault})
    return out.returncode


FAULTS = [s for s in STEPS if s != "apply"] + [f"apply:{n}" for n in range(4)]


@pytest.mark.parametrize("fault", FAULTS)
def test_a_write_killed_at_each_step_recovers_to_old_or_new_whole(tmp_path, fault):
    root = tmp_path / "repo"
    _lay(root, OLD)
    assert _killed_write(root, NEW, fault) == -9, "the fault hook must kill the writer"
    committed = (root / JOURNAL).exists()
    if fault in ("staged", "journal-written"):
        assert not committed and _raw(root) == OLD, "before the commit point generated/ is untouched"
    elif fault in ("committed",) or fault.startswith("apply"):
        assert committed, "after the commit point the journal is on disk until applied"
    recover(root)
    expected = OLD if fault in ("staged", "journal-written") else NEW
    assert _raw(root) == expected
    assert not (root / JOURNAL).exists()
    assert not [p for p in root.iterdir() if p.name.startswith(".generated.tmp-")]
    if expected == NEW:
        assert not (root / GENERATED / "gone").exists(), "an emptied directory goes with its last file"


def test_a_roll_forward_killed_in_turn_is_finished_by_the_next(tmp_path):
    root = tmp_path / "repo"
    _lay(root, OLD)
    assert _killed_write(root, NEW, "apply:2") == -9
    # The recovering process dies too, after one more rename.
    out = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from compiler.write import recover;"
                          " recover(Path(sys.argv[1]))", str(root)], cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO), "CLAWTEX_WRITE_FAULT": "apply:3"})
    assert out.returncode == -9
    assert (root / JOURNAL).exists()
    assert read_tree(root / GENERATED) == NEW      # read_tree recovers first


def test_a_write_moves_only_changed_files(tmp_path):
    root = tmp_path / "repo"
    _lay(root, OLD)
    inode = {rel: (root / GENERATED / rel).stat().st_ino for rel in ("same.txt", "deep/keep.txt")}
    write_tree(root, NEW)
    assert _raw(root) == NEW
    assert {rel: (root / GENERATED / rel).stat().st_ino for rel in inode} == inode, "unchanged files are not rewritten"
    mtime = (root / GENERATED).stat().st_mtime_ns
    write_tree(root, NEW)                            # nothing changed: nothing is touched
    assert (root / GENERATED).stat().st_mtime_ns == mtime


def test_an_uncommitted_journal_is_ignored(tmp_path):
    root = tmp_path / "repo"
    _lay(root, OLD)
    (root / (JOURNAL + ".tmp")).write_text('{"version": 1, "staging": "x", "write": ["a.txt"], "delete": []}')
    assert read_tree(root / GENERATED) == OLD
    assert not (root / (JOURNAL + ".tmp")).exists()


@pytest.mark.parametrize("fault", ["staged", "committed", "apply:1", "applied"])
def test_a_real_compile_killed_at_a_step_leaves_old_or_new(repo, fault):
    """The journal in a real compile: a rename reaches a stack and host_vars (few files change)."""
    old = read_tree(repo / GENERATED)
    path = repo / "customers" / "mapleleaf-dental.yaml"
    path.write_text(path.read_text().replace("Mapleleaf Dental Clinics", "Mapleleaf Dental Group"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "CLAWTEX_WRITE_FAULT": fault}
    assert run_clawtex(repo, "compile", env=env).returncode == -9
    after = read_tree(repo / GENERATED)              # recovers first
    assert run_clawtex(repo, "compile").returncode == 0
    new = read_tree(repo / GENERATED)
    assert new != old
    assert after == (old if fault == "staged" else new)
