"""generated/ is written by a journal (compiler/write.py): a process SIGKILLed at each
step of a write leaves, after recover(), the old tree or the new one, whole; and a
write touches only the files that changed. The stat manifest (.clawtex-cache/
generated.manifest) spares reading unchanged files, and never hides a change: a
stale, damaged or missing manifest, a hand-edited file (same size, mtime put back)
and a deleted file are all seen by write_tree and by diff_tree (`compile --check`)."""
from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compiler import write
from compiler.write import GENERATED, JOURNAL, MANIFEST, STEPS, diff_tree, read_tree, recover, write_tree
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


def _tick() -> None:
    """Let the filesystem clock move past the files just written: the manifest leaves out
    entries not older than its own save (racy), so without this nothing would be trusted."""
    time.sleep(0.05)


def _with_manifest(root: Path, tree: dict[str, bytes]) -> None:
    """generated/ laid by hand, then a write of the same tree records every file in the manifest."""
    _lay(root, tree)
    _tick()
    write_tree(root, tree)
    assert set(_manifest(root)) == set(tree), "every file older than the save is recorded"


def _manifest(root: Path) -> dict:
    return pickle.loads((root / MANIFEST).read_bytes())["files"]


def _count_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    original = write._same

    def counting(path, content):
        reads.append(path.name)
        return original(path, content)
    monkeypatch.setattr(write, "_same", counting)
    return reads


FAULTS = [s for s in STEPS if s != "apply"] + [f"apply:{n}" for n in range(4)]


@pytest.mark.parametrize("fault", FAULTS)
def test_a_write_killed_at_each_step_recovers_to_old_or_new_whole(tmp_path, fault):
    root = tmp_path / "repo"
    _with_manifest(root, OLD)          # the manifest records OLD; the killed write may leave it stale
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
    # Whatever the manifest says now, what is on disk is what write and check see.
    other = NEW if expected == OLD else OLD
    assert diff_tree(root / GENERATED, expected).clean
    assert diff_tree(root / GENERATED, other).stale == ("a.txt",)
    write_tree(root, other)
    assert _raw(root) == other


def test_unchanged_files_are_not_read_with_a_manifest(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    _with_manifest(root, OLD)
    reads = _count_reads(monkeypatch)
    assert diff_tree(root / GENERATED, OLD).clean
    write_tree(root, NEW)
    assert reads == [], "every file's digest came from the manifest"
    assert _raw(root) == NEW
    _tick()
    write_tree(root, NEW, use_manifest=False)
    assert sorted(reads) == sorted(Path(rel).name for rel in NEW), "without the manifest every file is read"


def test_a_clean_check_records_what_it_read_and_a_failing_one_records_nothing(tmp_path, monkeypatch):
    """`compile --check` in a fresh clone has no manifest: it reads every file. A clean check
    records them (the next check, an operator's loop, reads none); one that finds a difference,
    or `--no-cache`, records nothing, and a later hand edit is still seen."""
    root = tmp_path / "repo"
    _lay(root, OLD)
    _tick()
    assert not (root / MANIFEST).exists()
    assert diff_tree(root / GENERATED, NEW).stale == ("a.txt",)
    assert not (root / MANIFEST).exists(), "a failing check vouches for nothing"
    assert diff_tree(root / GENERATED, OLD, use_manifest=False).clean
    assert not (root / MANIFEST).exists(), "--no-cache neither reads nor saves the manifest"
    reads = _count_reads(monkeypatch)
    assert diff_tree(root / GENERATED, OLD).clean
    assert sorted(reads) == sorted(Path(rel).name for rel in OLD), "no manifest yet: every file read"
    assert set(_manifest(root)) == set(OLD)
    reads.clear()
    assert diff_tree(root / GENERATED, OLD).clean
    assert reads == [], "the second check takes every digest from what the first recorded"
    path = root / GENERATED / "same.txt"
    before = path.stat()
    path.write_bytes(b"SAME\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert diff_tree(root / GENERATED, OLD).stale == ("same.txt",), "a hand edit after the record is seen"


def test_a_hand_edit_with_size_and_mtime_put_back_is_seen(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    _with_manifest(root, OLD)
    path = root / GENERATED / "same.txt"
    before = path.stat()
    path.write_bytes(b"SAME\n")                       # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_size == before.st_size
    reads = _count_reads(monkeypatch)
    assert diff_tree(root / GENERATED, OLD).stale == ("same.txt",), "the ctime changed: the file is read"
    assert reads == ["same.txt"]
    write_tree(root, OLD)
    assert _raw(root) == OLD, "the write puts the compiled bytes back"


def test_a_file_deleted_or_replaced_by_hand_is_seen(tmp_path):
    root = tmp_path / "repo"
    _with_manifest(root, OLD)
    (root / GENERATED / "a.txt").unlink()
    replaced = root / GENERATED / "same.txt"
    tmp = replaced.with_name("swap")
    tmp.write_bytes(b"SAME\n")
    shutil.copystat(replaced, tmp)
    os.replace(tmp, replaced)                           # another inode, mtime copied over
    diff = diff_tree(root / GENERATED, OLD)
    assert (diff.missing, diff.stale, diff.extra) == (("a.txt",), ("same.txt",), ())
    write_tree(root, OLD)
    assert _raw(root) == OLD


@pytest.mark.parametrize("damage", ["stale", "garbage", "missing", "other-version"])
def test_a_stale_damaged_or_missing_manifest_only_costs_reads(tmp_path, damage):
    root = tmp_path / "repo"
    _with_manifest(root, OLD)
    saved = (root / MANIFEST).read_bytes()
    write_tree(root, NEW)
    if damage == "stale":
        (root / MANIFEST).write_bytes(saved)            # the manifest of OLD over the tree of NEW
    elif damage == "garbage":
        (root / MANIFEST).write_bytes(b"not a pickle")
    elif damage == "missing":
        (root / MANIFEST).unlink()
    else:
        (root / MANIFEST).write_bytes(pickle.dumps({"version": 0, "files": pickle.loads(saved)["files"]}))
    assert diff_tree(root / GENERATED, NEW).clean
    assert diff_tree(root / GENERATED, OLD).stale == ("a.txt",)
    write_tree(root, OLD)
    assert _raw(root) == OLD


def test_a_roll_forward_killed_in_turn_is_finished_by_the_next(tmp_path):
    root = tmp_path / "repo"
    _with_manifest(root, OLD)
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
