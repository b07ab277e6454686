"""`clawtex webhook`: Stripe events in, pull requests out.

Stripe's rules for an endpoint (Stripe docs, "Receive Stripe events in your
webhook endpoint": return a 2xx quickly, before any complex logic; events can
arrive more than once and in any order; any non-2xx is retried for up to three
days) shape this module:

1. The request: the Stripe-Signature header is checked with the official
   library (`stripe.WebhookSignature.verify_header`, Stripe's current scheme
   and tolerance). Unsigned/forged/stale requests get 400 (they are not from
   Stripe; the reason is logged). A signed body is then *durably queued* in
   SQLite (WAL, synchronous=FULL) and answered 200 at once. A duplicate
   delivery is answered 200 and changes nothing (the event id is the primary
   key). A signed body that is not an event is kept in the dead-letter list
   and answered 200, so Stripe stops retrying and a human can look at it.
2. The worker (a thread beside the server, or `--process-once`) takes due
   events oldest-first, runs `onboard`, compiles `generated/` in the same
   checkout, commits both on `stripe/<event id>`, pushes, opens the PR and,
   for creation PRs of tiers with `deployment.autoMerge`, enables GitHub
   auto-merge. Failures retry with backoff; an event that cannot succeed
   (invalid customer data) or runs out of attempts goes to the dead-letter
   list (`clawtex webhook --status`, `--retry EVENT`). A subscription event
   for a customer whose checkout is not processed yet waits; an event older
   than one already applied for the same Stripe customer is superseded.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import git
import httpx
from filelock import FileLock
import stripe
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..diagnostics import CompileError
from ..load import load_document
from ..models import Customer, Tier
from ..validate import parse_model
from . import deploytime, steps
from .onboard import SUPPORTED_EVENTS, LineItems, OnboardError, OnboardResult, WaitForCheckout, onboard, read_facts

SECRET_ENV = "STRIPE_WEBHOOK_SECRET"
SECRET_FILE_ENV = "STRIPE_WEBHOOK_SECRET_FILE"
GITHUB_TOKEN_ENV = "GITHUB_TOKEN"
TOLERANCE_SECONDS = stripe.Webhook.DEFAULT_TOLERANCE      # 300 s, Stripe's default
log = logging.getLogger("clawtex.webhook")


def signing_secret(secret_file: str | None = None) -> str:
    """The endpoint's whsec_ secret: a file (preferred) or the environment."""
    path = secret_file or os.environ.get(SECRET_FILE_ENV)
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        raise SystemExit(f"clawtex webhook: set {SECRET_FILE_ENV} or {SECRET_ENV} (never commit the secret)")
    return secret


# ---------------------------------------------------------------- the queue


@dataclass(frozen=True)
class Queued:
    id: str
    type: str
    created: int
    customer: str
    body: str
    received_at: float
    state: str
    attempts: int
    last_error: str


class EventQueue:
    """Stripe events on disk (SQLite). States: queued -> done | dead; ignored for
    types we do not handle; superseded for events older than one already applied."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("""CREATE TABLE IF NOT EXISTS events (
                id TEXT PRIMARY KEY, type TEXT NOT NULL, created INTEGER NOT NULL, customer TEXT NOT NULL,
                body TEXT NOT NULL, received_at REAL NOT NULL, state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, last_error TEXT NOT NULL DEFAULT '',
                result TEXT NOT NULL DEFAULT '')""")

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA synchronous=FULL")      # acknowledged means on disk
        return db

    def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        db = self._db()
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def enqueue(self, event_id: str, etype: str, created: int, customer: str, body: str, now: float,
                state: str = "queued", error: str = "") -> bool:
        """True if new; False for a duplicate delivery (nothing changes)."""
        db = self._db()
        try:
            cur = db.execute("INSERT OR IGNORE INTO events (id, type, created, customer, body, received_at, state, "
                             "next_at, last_error) VALUES (?,?,?,?,?,?,?,?,?)",
                             (event_id, etype, created, customer, body, now, state, now, error))
            return cur.rowcount == 1
        finally:
            db.close()

    def due(self, now: float) -> list[Queued]:
        """Events ready now, oldest first. Reading is not handing out: a worker claim()s each one."""
        rows = self._run("SELECT id, type, created, customer, body, received_at, state, attempts, last_error "
                         "FROM events WHERE state='queued' AND next_at <= ? ORDER BY created, received_at", (now,))
        return [Queued(*row) for row in rows]

    def claim(self, event_id: str, now: float) -> Queued | None:
        """Take one queued event for handling, atomically: of any number of processes asking for the
        same event, exactly one gets it (state queued -> working in one write transaction, taken
        with BEGIN IMMEDIATE so the check and the change see the same committed state). None: gone."""
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute("UPDATE events SET state='working' WHERE id=? AND state='queued' AND next_at <= ? "
                              "RETURNING id, type, created, customer, body, received_at, state, attempts, last_error",
                              (event_id, now)).fetchall()
            db.execute("COMMIT")
            return Queued(*rows[0]) if rows else None
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def release_orphans(self) -> int:
        """Events left `working` by a worker that died mid-way go back to the queue. Only called
        with the worker lock held: then no live worker is handling anything."""
        return len(self._run("UPDATE events SET state='queued' WHERE state='working' RETURNING id"))

    def get(self, event_id: str) -> Queued | None:
        rows = self._run("SELECT id, type, created, customer, body, received_at, state, attempts, last_error "
                         "FROM events WHERE id=?", (event_id,))
        return Queued(*rows[0]) if rows else None

    def newest_applied(self, customer: str) -> int | None:
        rows = self._run("SELECT MAX(created) FROM events WHERE customer=? AND state='done'", (customer,))
        return rows[0][0]

    def finish(self, event_id: str, state: str, result: str = "", error: str = "") -> None:
        self._run("UPDATE events SET state=?, result=?, last_error=?, attempts=attempts+1 WHERE id=?",
                  (state, result, error, event_id))

    def retry_later(self, event_id: str, error: str, next_at: float) -> None:
        self._run("UPDATE events SET state='queued', attempts=attempts+1, last_error=?, next_at=? WHERE id=?",
                  (error, next_at, event_id))

    def requeue(self, event_id: str, now: float) -> bool:
        rows = self._run("UPDATE events SET state='queued', attempts=0, next_at=? WHERE id=? AND state='dead' "
                         "RETURNING id", (now, event_id))
        return bool(rows)

    def status(self) -> dict[str, Any]:
        counts = dict(self._run("SELECT state, COUNT(*) FROM events GROUP BY state"))
        dead = self._run("SELECT id, type, customer, attempts, last_error FROM events WHERE state='dead' "
                         "ORDER BY received_at")
        waiting = self._run("SELECT id, type, attempts, last_error FROM events WHERE state='queued' AND attempts>0 "
                            "ORDER BY received_at")
        return {"counts": counts,
                "dead": [dict(zip(("id", "type", "customer", "attempts", "error"), row)) for row in dead],
                "retrying": [dict(zip(("id", "type", "attempts", "error"), row)) for row in waiting]}


def render_status(status: dict[str, Any]) -> str:
    counts = status["counts"]
    lines = ["events: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none")]
    for item in status["retrying"]:
        lines.append(f"retrying  {item['id']} {item['type']} (attempt {item['attempts']}): {item['error']}")
    lines.append(f"dead letters: {len(status['dead'])}")
    for item in status["dead"]:
        lines.append(f"  {item['id']} {item['type']} {item['customer']} after {item['attempts']} attempt(s): "
                     f"{item['error']}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- GitHub


@dataclass
class GitHubPulls:
    """Opens pull requests via the GitHub REST API and enables auto-merge via
    GraphQL (`enablePullRequestAutoMerge`); dry_run records instead."""

    repo: str                                  # owner/name
    token: str = ""
    dry_run: bool = True
    api: str = "https://api.github.com"
    opened: list[dict[str, Any]] = field(default_factory=list)
    auto_merged: list[str] = field(default_factory=list)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json"}

    def open(self, branch: str, base: str, title: str, body: str) -> tuple[str, str]:
        """(html_url, node_id); an already open PR for the branch (a retried event) is reused."""
        payload = {"title": title, "head": branch, "base": base, "body": body}
        if self.dry_run:
            self.opened.append(payload)
            return f"dry-run: would open PR {branch} -> {base} on {self.repo}", f"dry-run:{branch}"
        response = httpx.post(f"{self.api}/repos/{self.repo}/pulls", json=payload, timeout=30, headers=self._headers())
        if response.status_code == 422:            # "A pull request already exists for owner:branch"
            owner = self.repo.split("/")[0]
            found = httpx.get(f"{self.api}/repos/{self.repo}/pulls", timeout=30, headers=self._headers(),
                              params={"head": f"{owner}:{branch}", "state": "open"})
            found.raise_for_status()
            if found.json():
                return str(found.json()[0]["html_url"]), str(found.json()[0]["node_id"])
        response.raise_for_status()
        data = response.json()
        return str(data["html_url"]), str(data["node_id"])

    def enable_auto_merge(self, node_id: str) -> None:
        """Merged by GitHub only once the branch protection's required checks pass."""
        self.auto_merged.append(node_id)
        if self.dry_run:
            return
        query = ("mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: SQUASH})"
                 " { pullRequest { number } } }")
        response = httpx.post(f"{self.api}/graphql", json={"query": query, "variables": {"id": node_id}},
                              timeout=30, headers=self._headers())
        response.raise_for_status()
        if response.json().get("errors"):
            raise RuntimeError(f"enablePullRequestAutoMerge failed: {response.json()['errors']}")


# ---------------------------------------------------------------- one event -> one PR


@dataclass(frozen=True)
class FlowResult:
    result: OnboardResult
    pull_request: str | None
    tier: str | None = None
    auto_merge: bool = False


@dataclass
class PullRequestFlow:
    """Branch + onboard + compile + commit + push + PR for one event, in `root`
    (a clone of the fleet repository that belongs to the webhook alone)."""

    root: Path
    pulls: GitHubPulls
    base: str = "main"
    remote: str | None = "origin"              # None: no push (dry runs)
    line_items: LineItems | None = None

    def _compile(self) -> None:
        # The same command CI's `compile --check` compares against, so the PR passes its own gate.
        done = subprocess.run([sys.executable, "-m", "compiler.cli", "--root", str(self.root), "compile"],
                              capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
        if done.returncode != 0:
            raise OnboardError(f"clawtex compile failed: {done.stderr.strip() or done.stdout.strip()}")

    def run(self, event: dict[str, Any]) -> FlowResult:
        repo = git.Repo(self.root)
        start = repo.active_branch.name
        facts = read_facts(event)
        branch = f"stripe/{facts.event_id}"
        start_point = self.base
        if self.remote:             # branch from what is merged upstream, not a stale local base
            repo.remote(self.remote).fetch(self.base)
            start_point = f"{self.remote}/{self.base}"
        repo.git.checkout("-B", branch, start_point)   # -B: a failed earlier try may have left it
        committed = False
        try:
            before = {path.name: _tier_of(path) for path in (self.root / "customers").glob("*.yaml")}
            result = onboard(self.root, event, self.line_items)
            if not result.changed:
                return FlowResult(result, None)
            held = result.action == "decommissioned"
            if not held:
                self._compile()
            # A decommission is a request (spec.decommission.requestedBy: stripe): the decommission
            # guard refuses the compile that drops the customer until a person approves, so this
            # PR carries the customer file only and stays red until then (docs/approvals.md).
            repo.git.add("--all", "--", "customers", "generated")
            title = f"{result.action.capitalize()} customer {result.customer_id} (Stripe {result.event_id})"
            repo.index.commit(f"{title}\n\nFrom Stripe event {result.event_id} ({facts.event_type}); "
                              + (f"customers/{result.customer_id}.yaml only: a decommission request, held by the "
                                 "decommission guard until a person approves it." if held else
                                 f"customers/{result.customer_id}.yaml and generated/ from one compile."))
            committed = True
            if self.remote:          # forced: a retried event replaces its own earlier, unmerged branch
                repo.git.push(self.remote, f"+{branch}:refs/heads/{branch}")
            tier_name = _tier_of(self.root / "customers" / f"{result.customer_id}.yaml")
            previous = before.get(f"{result.customer_id}.yaml")
            auto = result.action == "created" and _auto_merge(self.root, tier_name)
            change = (f"\n\n**Tier change:** {previous} -> {tier_name}"
                      + (" (downgrade: check resources and data before merging)"
                         if _rank(self.root, tier_name) < _rank(self.root, previous) else "")
                      if previous and tier_name and previous != tier_name else "")
            body = (f"Stripe `{facts.event_type}` event `{result.event_id}` for `{facts.stripe_customer}`.\n\n"
                    + (f"`customers/{result.customer_id}.yaml` only (a request; `generated/` follows the approval).\n\n"
                       if held else
                       f"`customers/{result.customer_id}.yaml` and the `generated/` it compiles to, from one commit.\n\n")
                    + (f"**Auto-merge:** {tier_name} creations merge themselves once the required checks pass."
                       if auto else "**Needs a human review** (tier without auto-merge, an update, or a decommission).")
                    + change
                    + ("\n\n**Decommission requested by Stripe, held:** after confirming the cancellation, a "
                       "person adds `approvedBy: <your name>` and `date: YYYY-MM-DD` under `spec.decommission`, "
                       "runs `clawtex compile` and commits `generated/`; the decommission guard refuses the "
                       "compile until then, and the apply pipeline then removes the stack."
                       if held else ""))
            url, node_id = self.pulls.open(branch, self.base, title, body)
            if auto:
                self.pulls.enable_auto_merge(node_id)
            return FlowResult(result, url, tier_name, auto)
        finally:
            repo.git.reset("--hard")
            repo.git.clean("-fdq", "--", "customers", "generated")
            repo.git.checkout(start)
            if not committed:        # no empty stripe/evt_… branch left behind by a failed try
                repo.git.branch("-D", branch)


def _tier_of(path: Path) -> str | None:
    """The tier a customer file names, read through the validated loader (None: absent or invalid)."""
    if not path.exists():
        return None
    errors: list = []
    try:
        customer = parse_model(load_document(path, path.name), Customer, errors)
    except CompileError:
        return None
    return customer.spec.tier if customer is not None else None


def _tier(root: Path, tier: str | None) -> Tier | None:
    """A tier file, validated (compiler.validate); None if absent or invalid."""
    path = root / "tiers" / f"{tier}.yaml"
    if not tier or not path.exists():
        return None
    errors: list = []
    try:
        return parse_model(load_document(path, path.name), Tier, errors)
    except CompileError:
        return None


def _rank(root: Path, tier: str | None) -> int:
    found = _tier(root, tier)
    return found.spec.rank if found else 0


def _auto_merge(root: Path, tier: str | None) -> bool:
    found = _tier(root, tier)
    return bool(found and found.spec.deployment.auto_merge)


# ---------------------------------------------------------------- worker


@dataclass
class Worker:
    queue: EventQueue
    handle: Callable[[dict[str, Any]], FlowResult]
    record: Callable[[list[deploytime.Record]], Any] | None = None     # deployment-time sink
    clock: Callable[[], float] = time.time
    max_attempts: int = 8
    wait_attempts: int = 48              # out-of-order subscription events wait longer for their checkout
    backoff: Callable[[int], float] = lambda n: min(30.0 * 2 ** n, 3600.0)
    # One git checkout, shared by the server's worker thread and any `clawtex webhook --process-once`
    # (timer or by hand): a file lock next to the queue, so threads and processes take turns.
    lock: FileLock | None = None

    def __post_init__(self) -> None:
        if self.lock is None:
            self.lock = FileLock(str(self.queue.path) + ".lock")

    def process_due(self) -> int:
        count = 0
        with self.lock:
            self.queue.release_orphans()
            for ready in self.queue.due(self.clock()):
                item = self.queue.claim(ready.id, self.clock())
                if item is None:         # another worker took it
                    continue
                self._one(item)
                count += 1
        return count

    def _one(self, item: Queued) -> None:
        event = json.loads(item.body)
        newest = self.queue.newest_applied(item.customer)
        if item.type != "checkout.session.completed" and newest is not None and item.created < newest:
            log.info("event %s superseded: an event created later for %s is already applied", item.id, item.customer)
            self.queue.finish(item.id, "superseded", error="older than an applied event for the same customer")
            return
        try:
            out = self.handle(event)
        except WaitForCheckout as exc:
            self._retry(item, str(exc), self.wait_attempts)
            return
        except CompileError as exc:
            reason = "customer file would not validate: " + "; ".join(str(d) for d in exc.diagnostics)
            log.warning("event %s dead-lettered: %s", item.id, reason)
            self.queue.finish(item.id, "dead", error=reason)
            return
        except OnboardError as exc:
            log.warning("event %s dead-lettered: %s", item.id, exc)
            self.queue.finish(item.id, "dead", error=str(exc))
            return
        except Exception as exc:            # git, network, GitHub: worth retrying
            self._retry(item, f"{type(exc).__name__}: {exc}", self.max_attempts)
            return
        result = {"customer": out.result.customer_id, "action": out.result.action, "pullRequest": out.pull_request,
                  "autoMerge": out.auto_merge}
        self.queue.finish(item.id, "done", json.dumps(result, sort_keys=True))
        log.info("event %s: %s %s, PR %s", item.id, out.result.action, out.result.customer_id, out.pull_request)
        if self.record and out.result.action == "created" and out.tier:
            rec = lambda step, at: deploytime.Record(out.result.customer_id, out.tier, step, deploytime.utc(at),
                                                     item.id, "webhook")
            try:
                self.record([rec(steps.EVENT_RECEIVED, item.received_at), rec(steps.PR_OPENED, self.clock())])
            except Exception as exc:         # the PR exists; a lost measurement must not re-run it
                log.error("event %s: deployment-time record failed: %s", item.id, exc)

    def _retry(self, item: Queued, reason: str, limit: int) -> None:
        if item.attempts + 1 >= limit:
            log.warning("event %s dead-lettered after %d attempts: %s", item.id, item.attempts + 1, reason)
            self.queue.finish(item.id, "dead", error=reason)
        else:
            log.info("event %s retry %d: %s", item.id, item.attempts + 1, reason)
            self.queue.retry_later(item.id, reason, self.clock() + self.backoff(item.attempts))

    def run_forever(self, stop: threading.Event, wake: threading.Event, poll: float = 5.0) -> None:
        while not stop.is_set():
            try:
                self.process_due()
            except Exception:                # never let the worker die silently
                log.exception("worker pass failed")
            wake.wait(poll)
            wake.clear()


# ---------------------------------------------------------------- HTTP


def create_app(secret: str, queue: EventQueue, worker: Worker | None = None,
               clock: Callable[[], float] = time.time, tolerance: int = TOLERANCE_SECONDS) -> FastAPI:
    """The endpoint only verifies and queues; `worker` (if given) runs in a thread beside it."""
    from contextlib import asynccontextmanager

    stop, wake = threading.Event(), threading.Event()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        thread = None
        if worker is not None:
            thread = threading.Thread(target=worker.run_forever, args=(stop, wake), daemon=True,
                                      name="clawtex-webhook-worker")
            thread.start()
        yield
        stop.set()
        wake.set()
        if thread:
            thread.join(timeout=60)

    app = FastAPI(title="clawtex Stripe webhook", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    def refuse(status: int, reason: str, request: Request) -> JSONResponse:
        log.warning("refused %s from %s: %s", status, request.client.host if request.client else "?", reason)
        return JSONResponse({"error": reason}, status_code=status)

    @app.post("/stripe/webhook")
    async def stripe_webhook(request: Request) -> JSONResponse:
        payload = await request.body()
        header = request.headers.get("stripe-signature")
        if not header:
            return refuse(400, "missing Stripe-Signature header", request)
        try:
            # Stripe's own verification: HMAC-SHA256 over "<t>.<body>", any v1 entry, tolerance on t.
            stripe.WebhookSignature.verify_header(payload.decode("utf-8", "replace"), header, secret, tolerance)
        except stripe.SignatureVerificationError as exc:
            return refuse(400, f"signature: {exc.user_message or exc}", request)
        now = clock()
        try:
            event = json.loads(payload)
            event_id, etype = str(event["id"]), str(event["type"])
            obj = event["data"]["object"]
            created = int(event["created"])
        except (ValueError, KeyError, TypeError) as exc:
            # Signed by Stripe but unusable: keep it for a human, acknowledge so Stripe stops retrying.
            digest = hashlib.sha256(payload).hexdigest()[:16]
            queue.enqueue(f"malformed-{digest}", "malformed", 0, "", payload.decode("utf-8", "replace"), now,
                          state="dead", error=f"signed body is not a Stripe event ({type(exc).__name__}: {exc})")
            log.warning("signed but malformed body kept as dead letter malformed-%s", digest)
            return JSONResponse({"received": True, "deadLetter": f"malformed-{digest}"})
        if etype not in SUPPORTED_EVENTS:
            log.info("event %s of type %s ignored", event_id, etype)
            return JSONResponse({"received": True, "event": event_id, "action": "ignored"})
        customer = obj.get("customer") if isinstance(obj, dict) else None
        fresh = queue.enqueue(event_id, etype, created, str(customer or ""), payload.decode("utf-8"), now)
        if not fresh:
            log.info("event %s delivered again: already queued, nothing changes", event_id)
            return JSONResponse({"received": True, "event": event_id, "duplicate": True})
        wake.set()
        return JSONResponse({"received": True, "event": event_id, "queued": True})

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "events": queue.status()["counts"]}

    return app
