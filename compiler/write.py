"""Stage 5: put the rendered tree in place, atomically, or compare it.

The guarantee (docs/performance.md, "Writing generated/"): a compile that fails
or is killed at any point leaves generated/ either wholly old or wholly new
once any clawtex command (or read_tree/recover here) has looked at it. The
cost is proportional to what changed, not to the tree:

1. stage: every new or changed file is written in a staging directory beside
   generated/ (.generated.tmp-*) and made durable: an fsync of each file and the
   staging directory, or for SYNCFS_MIN_FILES files or more one syncfs(2) of the
   filesystem (`_make_durable` says why that is the same guarantee); nothing in
   generated/ moves.
   Killed here: the staging directory is a leftover, removed on the next
   recover(); generated/ is the old tree, untouched.
2. commit: a journal (.generated.journal: the staged file for each path, the
   paths to delete) is written to a temporary name, fsynced and renamed into
   place, then the directory is fsynced. That rename is the commit point.
3. apply: deletions, then each staged file renamed over its path, then the
   touched directories fsynced, then the journal removed. Killed here:
   generated/ on disk is a mix until the next recover() rolls the journal
   forward; every step is idempotent (a rename whose source is gone was done),
   so a roll-forward killed in turn is rolled forward again.

recover() runs before anything reads or writes generated/: write_tree,
read_tree/diff_tree (compile --check), previous.read_previous (every compile).
A tool that is not clawtex (git add, terraform) must not read generated/ while
.generated.journal exists; CI runs `clawtex compile --check` first, which
rolls forward. One writer at a time: a filelock on .clawtex-cache/generated.lock.

The first write (no generated/ yet) stages the whole tree and renames it into
place, which is atomic without a journal.

Finding what changed without reading every file: after each write a stat
manifest (.clawtex-cache/generated.manifest: per file the lstat key mode, size,
mtime_ns, ctime_ns, inode, device and the SHA-256 of the bytes written) is
saved. The next write_tree/diff_tree lstat every file and trust the recorded
digest only when the whole key is unchanged; any other file (no manifest, a
damaged or stale one, a file edited, replaced, touched or chmod-ed since) is
read, as before. A hand edit changes ctime even when it restores mtime and
size, and ctime cannot be set from user space. Racy entries (git's "racy
clean" problem: a change within one filesystem clock tick of the stat) are not
recorded: a file whose mtime or ctime is not older than a probe taken from the
filesystem's own clock when the manifest is saved is read next time. What is
not caught: a process other than clawtex rewriting a file of generated/, with
the same size, in the same clock tick as clawtex's stat of it, while clawtex
holds the writer lock. `--no-cache` neither reads nor saves the manifest.

Hand-written because no well-kept library does a multi-file roll-forward
journal: atomicwrites/safer do one file, fs-transaction and filetx (PyPI,
0.1.x, one author each, 2025) roll back by undo copies, libjio is C and
unmaintained since 2014 (search of PyPI/docs, 2026-12-03).
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .cache import CACHE_DIR

GENERATED = "generated"
JOURNAL = ".generated.journal"
# The writers' lock lives in the cache directory (git-ignored in every checkout the webhook and
# the workflows make), so a compile leaves `git status` clean.
LOCK = f"{CACHE_DIR}/generated.lock"
MANIFEST = f"{CACHE_DIR}/generated.manifest"
_MANIFEST_VERSION = 1
_TMP_PREFIX = ".generated.tmp-"
_JOURNAL_VERSION = 1
# Fault injection for tests/test_crash_safety.py: CLAWTEX_WRITE_FAULT=<step>[:<n>]
# SIGKILLs this process at that step (after the n-th rename for "apply").
_FAULT_ENV = "CLAWTEX_WRITE_FAULT"
STEPS = ("staged", "journal-written", "committed", "apply", "applied", "journal-removed")


@dataclass(frozen=True)
class TreeDiff:
    missing: tuple[str, ...]
    stale: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def read_tree(directory: Path) -> dict[str, bytes]:
    if directory.name == GENERATED:
        recover(directory.parent)
    if not directory.is_dir():
        return {}
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def diff_tree(directory: Path, files: dict[str, bytes], use_manifest: bool = True) -> TreeDiff:
    """What `compile --check` reports: a file of `files` missing from, or different in,
    `directory`, and a file only `directory` has. Unchanged files (by the stat manifest)
    are not read; every other file is."""
    manifest = use_manifest and directory.name == GENERATED
    if directory.name == GENERATED:
        recover(directory.parent)
    stats = _scan(directory) if directory.is_dir() else {}
    known = _known(_load_manifest(directory.parent), stats) if manifest else {}
    stale = [rel for rel in files if rel in stats and not _matches(directory / rel, files[rel], known.get(rel))]
    diff = TreeDiff(
        missing=tuple(sorted(set(files) - set(stats))),
        stale=tuple(sorted(stale)),
        extra=tuple(sorted(set(stats) - set(files))),
    )
    if manifest and diff.clean and len(known) < len(files):
        # Every file was found to hold files[rel] under the stat key taken before reading it: record
        # what was read, as write_tree does for an unchanged tree, so the next --check (an operator's
        # loop, or CI after a cold one) does not read the ~3,000 files again. Under the writer lock;
        # only the cache changes, never generated/.
        with _lock(directory.parent):
            if not _in_flight(directory.parent):    # no write in flight meanwhile
                _save_manifest(directory.parent, files, stats)
    return diff


def file_digests(root: Path, rels: list[str]) -> dict[str, bytes | None]:
    """SHA-256 of these files of generated/ (None: unreadable or missing), from the stat
    manifest where a file is unchanged since it was recorded, else read."""
    target = root / GENERATED
    stats = {}
    for rel in rels:
        try:
            stats[rel] = os.lstat(target / rel)
        except OSError:
            pass
    known = _known(_load_manifest(root), stats)
    out: dict[str, bytes | None] = {}
    for rel in rels:
        try:
            out[rel] = known[rel] if rel in known else _digest((target / rel).read_bytes())
        except OSError:
            out[rel] = None
    return out


def _in_flight(root: Path) -> bool:
    """A write's traces: JOURNAL, JOURNAL.tmp or a staging directory (_TMP_PREFIX*)."""
    return any(root.glob(".generated.[jt]*"))


def recover(root: Path) -> None:
    """Roll a committed journal forward; drop staging a killed compile left before committing."""
    if not _in_flight(root):
        return
    with _lock(root):
        _recover_locked(root)


def write_tree(root: Path, files: dict[str, bytes], use_manifest: bool = True) -> Path:
    with _lock(root):
        _recover_locked(root)
        target = root / GENERATED
        if not target.is_dir():
            _write_whole(root, target, files)
            if use_manifest:
                _save_manifest(root, files, {})
            return target
        stats = _scan(target)
        known = _known(_load_manifest(root), stats) if use_manifest else {}
        digests = {rel: _digest(content) for rel, content in files.items()} if use_manifest else {}
        # a file the manifest knows is compared by digest; only the others are read (no Path
        # for each of the ~3,000 known ones: building them was ~0.02 s of every compile)
        changed = sorted(rel for rel, content in files.items()
                         if rel not in stats or not (known[rel] == digests[rel] if rel in known and rel in digests
                                                     else _matches(target / rel, content, known.get(rel), digests.get(rel))))
        deleted = sorted(set(stats) - set(files))
        if not changed and not deleted:
            if use_manifest and len(known) < len(files):
                _save_manifest(root, files, stats, digests)     # what was read is recorded for next time
            return target       # byte-identical already: nothing to do
        staging = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=root))
        try:
            staged = [staging / str(i) for i in range(len(changed))]
            for path, rel in zip(staged, changed):
                _write_plain(path, files[rel])
            _make_durable(staging, staged)
            _fault("staged")
            journal = {"version": _JOURNAL_VERSION, "staging": staging.name, "write": changed, "delete": deleted}
            pending = root / (JOURNAL + ".tmp")
            _write_synced(pending, json.dumps(journal, indent=0).encode())
            _fault("journal-written")
            os.rename(pending, root / JOURNAL)
            _fsync_dir(root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            (root / (JOURNAL + ".tmp")).unlink(missing_ok=True)
            raise
        _fault("committed")
        _roll_forward(root, journal)      # from here on, a failure is finished by the next recover()
        if use_manifest:
            for rel in changed:
                stats.pop(rel, None)      # stat again: the file in place now is the new one
            _save_manifest(root, files, stats, digests)
    return target


def _write_whole(root: Path, target: Path, files: dict[str, bytes]) -> Path:
    staging = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=root))
    try:
        made: set[Path] = {staging}
        staged = []
        for rel, content in sorted(files.items()):
            path = staging / rel
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.update(path.parents)
            _write_plain(path, content)
            staged.append(path)
        _make_durable(staging, staged, sorted(made))
        _fault("staged")
        os.rename(staging, target)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _recover_locked(root: Path) -> None:
    journal_path = root / JOURNAL
    keep = None
    if journal_path.exists():
        journal = json.loads(journal_path.read_bytes())
        if journal.get("version") != _JOURNAL_VERSION:
            raise RuntimeError(f"{journal_path}: journal version {journal.get('version')!r} is not "
                               f"{_JOURNAL_VERSION}; finish it with the clawtex that wrote it")
        keep = journal["staging"]
        _roll_forward(root, journal)
    (root / (JOURNAL + ".tmp")).unlink(missing_ok=True)     # never committed: the old tree stands
    for leftover in root.glob(_TMP_PREFIX + "*"):
        if leftover.name != keep:
            shutil.rmtree(leftover, ignore_errors=True)


def _roll_forward(root: Path, journal: dict) -> None:
    target = root / GENERATED
    staging = root / journal["staging"]
    touched: set[Path] = set()
    for rel in journal["delete"]:
        path = target / rel
        if path.is_dir() and not path.is_symlink():
            continue                    # the new tree's directory, made by the run this one finishes
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            pass                        # gone already (its parent may be a new file by now)
        touched.add(path.parent)
    for directory in sorted(touched, key=lambda d: len(d.parts), reverse=True):
        _prune_empty(directory, target)
    limit = _fault_count("apply")
    for i, rel in enumerate(journal["write"]):
        if limit is not None and i == limit:
            _fault("apply")
        source, path = staging / str(i), target / rel
        if not os.path.lexists(source):
            continue                    # renamed by the run this one finishes
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)         # an old directory where the new tree has a file
        os.replace(source, path)
        touched.add(path.parent)
    for directory in touched:
        if directory.is_dir():
            _fsync_dir(directory)
    _fault("applied")
    (root / JOURNAL).unlink(missing_ok=True)
    _fsync_dir(root)
    _fault("journal-removed")
    shutil.rmtree(staging, ignore_errors=True)


def _prune_empty(directory: Path, top: Path) -> None:
    while directory != top and top in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return                      # not empty, or gone already
        directory = directory.parent


def _lock(root: Path):
    from filelock import FileLock       # imported here: one writer at a time, not a cost of every import
    (root / LOCK).parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(root / LOCK))


def _fault_count(step: str) -> int | None:
    value = os.environ.get(_FAULT_ENV, "")
    name, _, count = value.partition(":")
    return int(count or 0) if name == step else None


def _fault(step: str) -> None:
    if os.environ.get(_FAULT_ENV, "").partition(":")[0] == step:
        import signal
        os.kill(os.getpid(), signal.SIGKILL)


# Staging this many files or more is made durable by one syncfs(2) of the filesystem instead
# of an fsync(2) per file (the 10,000-customer cold write: ~31,000 fsyncs, 54 s of 445).
SYNCFS_MIN_FILES = 64


def _write_plain(path: Path, content: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(content)


def _make_durable(staging: Path, staged: list[Path], directories: list[Path] | None = None) -> None:
    """Every staged file's bytes and directory entry on disk before the commit point.

    Many files: one syncfs(2) on the staging directory's filesystem. Linux man-pages sync(2):
    "syncfs() is like sync(), but synchronizes just the filesystem containing file referred
    to by the open file descriptor fd", and NOTES: "Linux waits for I/O completions, and thus
    sync() or syncfs() provide the same guarantees as fsync() called on every file in the
    system or filesystem respectively" (man7.org/linux/man-pages/man2/sync.2.html, read
    2026-12-04); since Linux 5.8 it also reports writeback errors of the filesystem (ibid.,
    and PostgreSQL's docs/current/syncfs.html on the same caveat). So after it returns 0 the
    staged tree is as durable as after an fsync of each file and of each staging directory,
    which is what the commit point (the rename of the whole tree, or of the journal) needs:
    a crash before that rename leaves the old tree, after it the staged bytes are there.
    Few files (a one-change compile), or no syncfs (not Linux): fsync each file and the
    staging directories, as before: syncfs also flushes other writers' dirty data on a
    shared filesystem, a cost a handful of fsyncs does not pay."""
    if len(staged) >= SYNCFS_MIN_FILES and _syncfs(staging):
        return
    for path in staged:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    for directory in directories or [staging]:
        _fsync_dir(directory)


def _syncfs(path: Path) -> bool:
    """syncfs(2) of the filesystem holding `path`; False where libc has none (not Linux).
    Through ctypes: the os module has sync() (every filesystem) but no syncfs."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs: {os.strerror(err)}", str(path))
    finally:
        os.close(fd)
    return True


def _write_synced(path: Path, content: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _digest(content: bytes) -> bytes:
    return hashlib.sha256(content).digest()


def _stat_key(st: os.stat_result) -> tuple:
    return (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _scan(directory: Path) -> dict[str, os.stat_result]:
    """lstat of every file under directory (what os.walk lists as files: a symlink to a
    directory is neither followed nor listed), by posix path relative to it."""
    out: dict[str, os.stat_result] = {}
    pending = [(str(directory), "")]
    while pending:
        path, prefix = pending.pop()
        try:
            entries = list(os.scandir(path))
        except OSError:
            continue
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir():
                if not entry.is_symlink():
                    pending.append((entry.path, rel + "/"))
                continue
            try:
                out[rel] = entry.stat(follow_symlinks=False)
            except OSError:
                pass
    return out


def _load_manifest(root: Path) -> dict[str, tuple[tuple, bytes]]:
    """rel -> (stat key, digest) recorded by the last write; anything unreadable is no manifest."""
    try:
        with open(root / MANIFEST, "rb") as handle:
            data = pickle.load(handle)
        if isinstance(data, dict) and data.get("version") == _MANIFEST_VERSION and isinstance(data.get("files"), dict):
            return data["files"]
    except Exception:  # noqa: BLE001 - a damaged manifest only means every file is read
        pass
    return {}


def _known(manifest: dict[str, tuple[tuple, bytes]], stats: dict[str, os.stat_result]) -> dict[str, bytes]:
    """The recorded digest of each file whose stat key is what the manifest recorded."""
    out = {}
    for rel, st in stats.items():
        entry = manifest.get(rel)
        if entry is not None and entry[0] == _stat_key(st) and stat.S_ISREG(st.st_mode):
            out[rel] = entry[1]
    return out


def _matches(path: Path, content: bytes, known: bytes | None, digest: bytes | None = None) -> bool:
    if known is not None:
        return known == (digest if digest is not None else _digest(content))
    return _same(path, content)


def _save_manifest(root: Path, files: dict[str, bytes], stats: dict[str, os.stat_result],
                   digests: dict[str, bytes] | None = None) -> None:
    """Record (stat key, digest) of each file of generated/ that holds `files[rel]` now.
    `stats` holds the keys taken when the file was found to hold those bytes; any other
    file is stat-ed here. Entries not older than the filesystem's clock now are left out
    (racy: a change in the same tick would keep the key)."""
    target = root / GENERATED
    directory = (root / MANIFEST).parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".manifest-")
    try:
        entries = {}
        for rel, content in files.items():
            st = stats.get(rel)
            if st is None:
                try:
                    st = os.lstat(target / rel)
                except OSError:
                    continue
            if stat.S_ISREG(st.st_mode):
                entries[rel] = (_stat_key(st), digests[rel] if digests else _digest(content))
        os.utime(fd)                            # the probe: the filesystem's clock, after every stat above
        now = os.fstat(fd).st_mtime_ns
        entries = {rel: e for rel, e in entries.items() if max(e[0][2], e[0][3]) < now}
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            pickle.dump({"version": _MANIFEST_VERSION, "files": entries}, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, root / MANIFEST)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise


def _same(current: Path, content: bytes) -> bool:
    """The current file already holds the new bytes (a regular file, not a link)."""
    try:
        if current.is_symlink():
            return False
        with open(current, "rb") as handle:
            return len(content) == os.fstat(handle.fileno()).st_size and handle.read() == content
    except OSError:
        return False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
