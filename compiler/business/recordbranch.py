"""Records kept on a branch of the fleet repository (deploy-times, dr-drills): commit and push,
retried when another writer pushed first (non-fast-forward) by fetching again and re-applying on top.
Backoff: tenacity's exponential backoff with full jitter, 0.2 s doubling up to 5 s, so writers that
collided do not collide again in step."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

import git
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential


class _PushRejected(Exception):
    """Another writer pushed first (non-fast-forward): fetch again and re-apply on top."""


def push(remote: str, branch: str, apply: Callable[[Path], int], message: str, attempts: int = 5,
         wait: Any = None, what: str = "records") -> int:
    """Check out `branch` of `remote` (a new orphan branch when it does not exist), call
    `apply(checkout)` (returns how many records it wrote; 0: nothing to commit), commit and push.
    Returns apply's count."""
    retrying = Retrying(stop=stop_after_attempt(attempts), retry=retry_if_exception_type(_PushRejected),
                        wait=wait if wait is not None else wait_random_exponential(multiplier=0.2, max=5),
                        reraise=True)
    try:
        return retrying(_push_once, remote, branch, apply, message)
    except _PushRejected as exc:
        raise RuntimeError(f"could not push {what} after {attempts} attempts: {exc.__cause__}") from None


def _push_once(remote: str, branch: str, apply: Callable[[Path], int], message: str) -> int:
    with tempfile.TemporaryDirectory(prefix=f"clawtex-{branch}-") as tmp:
        repo = git.Repo.init(tmp)
        with repo.config_writer() as cfg:
            cfg.set_value("user", "name", "clawtex")
            cfg.set_value("user", "email", "clawtex@localhost")
        repo.create_remote("origin", remote)
        try:
            repo.git.fetch("origin", f"{branch}:refs/remotes/origin/{branch}")
            repo.git.checkout("-B", branch, f"origin/{branch}")
        except git.GitCommandError:
            repo.git.checkout("--orphan", branch)        # first record ever: a new branch
        written = apply(Path(tmp))
        if not written:
            return 0
        repo.git.add("--all")
        repo.index.commit(message)
        try:
            repo.git.push("origin", f"HEAD:refs/heads/{branch}")
            return written
        except git.GitCommandError as exc:   # non-fast-forward: another writer won; retry on top of it
            raise _PushRejected() from exc
