"""How write_tree makes staged files durable before its commit point (compiler/write.py
`_make_durable`): many files by one syncfs(2) of the filesystem, a few by an fsync each.
Crash safety itself (a SIGKILL at every step) is tests/test_crash_safety.py and
tests/test_write_journal.py."""
from __future__ import annotations

import os

from compiler import write


def _count(monkeypatch):
    calls = {"syncfs": 0, "fsync": 0}
    real_syncfs, real_fsync = write._syncfs, os.fsync

    def syncfs(path):
        calls["syncfs"] += 1
        return real_syncfs(path)

    def fsync(fd):
        calls["fsync"] += 1
        return real_fsync(fd)

    monkeypatch.setattr(write, "_syncfs", syncfs)
    monkeypatch.setattr(write.os, "fsync", fsync)
    return calls


def test_a_whole_tree_is_made_durable_by_one_syncfs(tmp_path, monkeypatch):
    calls = _count(monkeypatch)
    files = {f"d{i % 7}/f{i}.txt": f"{i}\n".encode() for i in range(200)}
    write.write_tree(tmp_path, files)
    assert write.read_tree(tmp_path / "generated") == files
    assert calls["syncfs"] == 1
    assert calls["fsync"] <= 2          # the repository directory after the rename (and nothing per file)


def test_a_few_changed_files_are_fsynced_each_and_many_by_one_syncfs(tmp_path, monkeypatch):
    files = {f"f{i}.txt": b"old\n" for i in range(100)}
    write.write_tree(tmp_path, files)
    calls = _count(monkeypatch)
    files = {**files, "f1.txt": b"new\n", "f2.txt": b"new\n"}
    write.write_tree(tmp_path, files)
    assert calls["syncfs"] == 0
    assert calls["fsync"] >= 2          # each staged file, the staging directory, the journal, ...
    calls.update(syncfs=0, fsync=0)
    files = {rel: b"newer\n" for rel in files}
    write.write_tree(tmp_path, files)
    assert calls["syncfs"] == 1
    assert calls["fsync"] < len(files)
    assert write.read_tree(tmp_path / "generated") == files


def test_syncfs_reports_what_the_kernel_reports(tmp_path, monkeypatch):
    """A failing syncfs stops the write before its commit point: the old tree stands."""
    import pytest
    write.write_tree(tmp_path, {f"f{i}": b"old" for i in range(100)})

    def failing(path):
        raise OSError(5, "syncfs: Input/output error", str(path))

    monkeypatch.setattr(write, "_syncfs", failing)
    with pytest.raises(OSError):
        write.write_tree(tmp_path, {f"f{i}": b"new" for i in range(100)})
    assert write.read_tree(tmp_path / "generated") == {f"f{i}": b"old" for i in range(100)}
    assert not list(tmp_path.glob(".generated.*"))
