"""`clawtex webhook`: Stripe events in, pull requests out.

A FastAPI app (served by uvicorn) verifies each request's Stripe-Signature
with the signing secret (from the environment or a file, never the repo),
refuses unsigned, stale and replayed events (an event id already processed,
or a timestamp outside the tolerance), writes the customer file with
`onboard`, commits it on a new branch with GitPython and opens a pull request
through the GitHub API. A deleted subscription becomes a "status:
decommissioned" PR; nothing is ever destroyed from here.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import git
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..diagnostics import CompileError
from .onboard import SUPPORTED_EVENTS, OnboardError, OnboardResult, onboard, read_facts
from .signature import TOLERANCE_SECONDS, SignatureError, verify_signature

SECRET_ENV = "STRIPE_WEBHOOK_SECRET"
SECRET_FILE_ENV = "STRIPE_WEBHOOK_SECRET_FILE"
GITHUB_TOKEN_ENV = "GITHUB_TOKEN"


def signing_secret(secret_file: str | None = None) -> str:
    """The endpoint's whsec_ secret: a file (preferred) or the environment."""
    path = secret_file or os.environ.get(SECRET_FILE_ENV)
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        raise SystemExit(f"clawtex webhook: set {SECRET_FILE_ENV} or {SECRET_ENV} (never commit the secret)")
    return secret


class ProcessedEvents:
    """Event ids already turned into PRs, kept in a JSON file outside the repo."""

    def __init__(self, path: Path):
        self.path = path
        self.ids: set[str] = set(json.loads(path.read_text())) if path.exists() else set()

    def __contains__(self, event_id: str) -> bool:
        return event_id in self.ids

    def add(self, event_id: str) -> None:
        self.ids.add(event_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(sorted(self.ids)))
        os.replace(tmp, self.path)


@dataclass
class GitHubPulls:
    """Opens pull requests via the GitHub REST API; dry_run records them instead."""

    repo: str                                  # owner/name
    token: str = ""
    dry_run: bool = True
    api: str = "https://api.github.com"
    opened: list[dict[str, Any]] = field(default_factory=list)

    def open(self, branch: str, base: str, title: str, body: str) -> str:
        payload = {"title": title, "head": branch, "base": base, "body": body}
        if self.dry_run:
            self.opened.append(payload)
            return f"dry-run: would open PR {branch} -> {base} on {self.repo}"
        response = httpx.post(f"{self.api}/repos/{self.repo}/pulls", json=payload, timeout=30,
                              headers={"Authorization": f"Bearer {self.token}",
                                       "Accept": "application/vnd.github+json"})
        response.raise_for_status()
        return str(response.json()["html_url"])


@dataclass
class PullRequestFlow:
    """Branch + commit (GitPython) + push + PR for one onboarding result.

    Works in `root`'s checkout, so the webhook needs a clone of its own."""

    root: Path
    pulls: GitHubPulls
    base: str = "main"
    remote: str | None = "origin"              # None: no push (dry runs, tests)

    def run(self, event: dict[str, Any]) -> tuple[OnboardResult, str | None]:
        repo = git.Repo(self.root)
        start = repo.active_branch.name
        facts = read_facts(event)
        branch = f"stripe/{facts.event_id}"
        start_point = self.base
        if self.remote:             # branch from what is merged upstream, not a stale local base
            repo.remote(self.remote).fetch(self.base)
            start_point = f"{self.remote}/{self.base}"
        repo.git.checkout("-B", branch, start_point)   # -B: a failed earlier try may have left it
        try:
            result = onboard(self.root, event)
            if not result.changed:
                return result, None
            repo.index.add([result.path.relative_to(self.root).as_posix()])
            title = f"{result.action.capitalize()} customer {result.customer_id} (Stripe {result.event_id})"
            repo.index.commit(f"{title}\n\nFrom Stripe event {result.event_id} ({facts.event_type}).")
            if self.remote:
                repo.remote(self.remote).push(branch)
            body = (f"Stripe `{facts.event_type}` event `{result.event_id}` for `{facts.stripe_customer}`.\n\n"
                    f"Review `customers/{result.customer_id}.yaml`; CI validates and compiles it."
                    + ("\n\n**Decommission:** merge only after confirming the cancellation; "
                       "the apply pipeline removes the stack." if result.action == "decommissioned" else ""))
            return result, self.pulls.open(branch, self.base, title, body)
        finally:
            repo.git.checkout(start)


def create_app(secret: str, processed: ProcessedEvents, handle: Callable[[dict[str, Any]], tuple[OnboardResult, str | None]],
               clock: Callable[[], float] = time.time, tolerance: int = TOLERANCE_SECONDS) -> FastAPI:
    app = FastAPI(title="clawtex Stripe webhook", docs_url=None, redoc_url=None, openapi_url=None)
    lock = threading.Lock()     # one git checkout: events are handled one at a time

    @app.post("/stripe/webhook")
    async def stripe_webhook(request: Request) -> JSONResponse:
        payload = await request.body()
        try:
            verify_signature(payload, request.headers.get("stripe-signature"), secret, int(clock()), tolerance)
        except SignatureError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        try:
            event = json.loads(payload)
            event_id = str(event["id"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "body is not a Stripe event"}, status_code=400)
        if event.get("type") not in SUPPORTED_EVENTS:
            return JSONResponse({"event": event_id, "action": "ignored"})   # 2xx: Stripe stops retrying
        with lock:
            if event_id in processed:
                return JSONResponse({"error": f"event {event_id} already processed (replay)"}, status_code=409)
            try:
                result, pr = handle(event)
            except OnboardError as exc:
                return JSONResponse({"error": str(exc)}, status_code=422)
            except CompileError as exc:
                return JSONResponse({"error": "customer file would not validate",
                                     "diagnostics": [str(d) for d in exc.diagnostics]}, status_code=422)
            processed.add(event_id)
        return JSONResponse({"event": event_id, "customer": result.customer_id, "action": result.action,
                             "pullRequest": pr})

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
