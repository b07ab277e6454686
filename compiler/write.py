"""Stage 5: put the rendered tree in place, atomically, or compare it.

The new tree is written to a temporary directory beside generated/ and then
swapped in with one renameat2(RENAME_EXCHANGE) call, so a compile that fails
or is killed at any point leaves either the old tree or the new one, whole.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

GENERATED = "generated"
_TMP_PREFIX = ".generated.tmp-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@dataclass(frozen=True)
class TreeDiff:
    missing: tuple[str, ...]
    stale: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def read_tree(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        return {}
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def diff_tree(directory: Path, files: dict[str, bytes]) -> TreeDiff:
    current = read_tree(directory)
    return TreeDiff(
        missing=tuple(sorted(set(files) - set(current))),
        stale=tuple(sorted(p for p in files if p in current and current[p] != files[p])),
        extra=tuple(sorted(set(current) - set(files))),
    )


def remove_leftovers(root: Path) -> None:
    """Temporary trees of compiles that were killed before they could clean up."""
    for leftover in root.glob(_TMP_PREFIX + "*"):
        shutil.rmtree(leftover, ignore_errors=True)


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    remove_leftovers(root)
    target = root / GENERATED
    unchanged = _unchanged(target, files)
    if target.is_dir() and len(unchanged) == len(files) and _names(target) == set(files):
        return target       # byte-identical already: nothing to swap
    staging = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=root))
    try:
        made: set[Path] = {staging}
        for rel, content in sorted(files.items()):
            path = staging / rel
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.update(path.parents)
            if not (rel in unchanged and _link(target / rel, path)):
                with open(path, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
        _fsync_dir(staging)
        if target.exists():
            _exchange(staging, target)      # staging now holds the old tree
            shutil.rmtree(staging)
        else:
            os.rename(staging, target)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _unchanged(target: Path, files: dict[str, bytes]) -> set[str]:
    """Paths whose current file already holds the new bytes (a regular file, not a link)."""
    same = set()
    for rel, content in files.items():
        current = target / rel
        try:
            with open(current, "rb") as handle:
                if len(content) == os.fstat(handle.fileno()).st_size and handle.read() == content \
                        and not current.is_symlink():
                    same.add(rel)
        except OSError:
            pass
    return same


def _names(directory: Path) -> set[str]:
    out = set()
    for base, _, names in os.walk(directory):
        rel = Path(base).relative_to(directory)
        out.update((rel / n).as_posix() for n in names)
    return out


def _link(current: Path, staged: Path) -> bool:
    """Reuse an unchanged file of the current tree (a hard link: no copy, no fsync).

    The current tree is never modified, only replaced whole, so sharing its
    inodes with the new tree is safe."""
    try:
        os.link(current, staged)
        return True
    except OSError:
        return False  # different filesystem or no hard links: write the file instead


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available; clawtex needs Linux with glibc >= 2.28")
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"atomic exchange of {a} and {b} failed: {os.strerror(code)}")
