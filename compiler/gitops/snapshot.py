"""The repository's files at a git ref, or in the working tree (ref None).

Only the paths GitOps reasons about are read (generated/, modules/, customers/,
tiers/, clawtex.yaml); the whole repo stays small enough to hold in memory."""
from __future__ import annotations

from pathlib import Path

import git

WORKTREE = None
TRACKED = ("generated/", "modules/", "customers/", "tiers/", "clawtex.yaml")


def open_repo(root: Path) -> git.Repo:
    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise SystemExit(f"clawtex: {root} is not inside a git repository") from exc


def _wanted(path: str) -> bool:
    return any(path == p or path.startswith(p) for p in TRACKED)


def files_at(repo: git.Repo, root: Path, ref: str | None) -> dict[str, bytes]:
    """Paths relative to the clawtex root (which may be a subdirectory of the git repo)."""
    prefix = Path(root).resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    if ref is WORKTREE:
        base = Path(root)
        return {p.relative_to(base).as_posix(): p.read_bytes()
                for name in TRACKED for p in _walk(base / name) if _wanted(p.relative_to(base).as_posix())}
    try:
        commit = repo.commit(ref)
    except (git.BadName, ValueError) as exc:
        raise SystemExit(f"clawtex: unknown git ref {ref!r}") from exc
    out: dict[str, bytes] = {}
    for item in commit.tree.traverse():
        if item.type != "blob" or not item.path.startswith(prefix):
            continue
        rel = item.path[len(prefix):]
        if _wanted(rel):
            out[rel] = item.data_stream.read()
    return out


def _walk(path: Path):
    if path.is_file():
        yield path
    elif path.is_dir():
        yield from (p for p in sorted(path.rglob("*")) if p.is_file())


def under(files: dict[str, bytes], folder: str) -> dict[str, bytes]:
    """The files below `folder/`, with paths relative to it."""
    lead = folder.rstrip("/") + "/"
    return {p[len(lead):]: data for p, data in files.items() if p.startswith(lead)}


def changed_paths(base: dict[str, bytes], head: dict[str, bytes]) -> list[str]:
    return sorted(p for p in set(base) | set(head) if base.get(p) != head.get(p))
