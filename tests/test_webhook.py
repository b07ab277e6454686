"""The Stripe webhook as Stripe expects it: a real uvicorn server on 127.0.0.1,
requests signed the way Stripe documents (computed here with hmac, not with
the code under test), a durable SQLite queue, and PRs pushed to a real bare git
remote; only the GitHub API calls are in dry-run (recorded)."""
from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import git
import httpx
import pytest
import uvicorn

from business_events import checkout_event, subscription_event
from compiler.business.webhook import EventQueue, GitHubPulls, PullRequestFlow, Worker, create_app
from conftest import REPO, copy_repo

SECRET = "whsec_test_" + "a" * 24


def stripe_header(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """Stripe docs, "Verify signatures manually": v1 = HMAC-SHA256(secret, f"{t}.{body}")."""
    ts = int(time.time()) if timestamp is None else timestamp
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={sig}"


@pytest.fixture
def fleet(tmp_path: Path):
    """A bare 'origin' with the repo's inputs and generated/ on main, and the webhook's own clone."""
    seed = copy_repo(tmp_path / "seed")
    shutil.copytree(REPO / "billing", seed / "billing")
    shutil_ignore = seed / ".gitignore"
    shutil_ignore.write_text("/.clawtex-cache/\n__pycache__/\n")
    repo = git.Repo.init(seed, initial_branch="main")
    repo.git.add("--all")
    repo.index.commit("seed")
    origin = tmp_path / "origin.git"
    git.Repo.init(origin, bare=True, initial_branch="main")
    repo.create_remote("origin", str(origin)).push("main")
    clone = git.Repo.clone_from(str(origin), tmp_path / "webhook-clone", branch="main")
    with clone.config_writer() as cfg:
        cfg.set_value("user", "name", "clawtex webhook")
        cfg.set_value("user", "email", "webhook@localhost")
    return origin, Path(clone.working_dir)


def _worker(tmp_path: Path, root: Path, records: list | None = None, **kw) -> tuple[Worker, GitHubPulls, EventQueue]:
    pulls = GitHubPulls("clawtex/fleet", dry_run=True)
    queue = EventQueue(tmp_path / "state" / "events.sqlite3")
    flow = PullRequestFlow(root, pulls, base="main", remote="origin")
    worker = Worker(queue, flow.run, record=records.extend if records is not None else None, **kw)
    return worker, pulls, queue


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, app):
        self.port = _free_port()
        self.srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.srv.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        for _ in range(200):                  # bounded wait for startup (not a timing assertion)
            if self.srv.started:
                break
            time.sleep(0.05)
        assert self.srv.started
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.srv.should_exit = True
        self.thread.join(timeout=30)


def _post(url: str, event: dict | bytes, secret: str = SECRET, timestamp: int | None = None,
          header: str | None = None) -> httpx.Response:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    headers = {"Content-Type": "application/json"}
    if header != "omit":
        headers["Stripe-Signature"] = header or stripe_header(body, secret, timestamp)
    return httpx.post(f"{url}/stripe/webhook", content=body, timeout=30, headers=headers)


def _branch_file(origin: Path, branch: str, path: str) -> str:
    return git.Repo(origin).git.show(f"{branch}:{path}")


# ---------------------------------------------------------------- the endpoint: verify, queue, 2xx


def test_refusals_duplicates_and_malformed_bodies(tmp_path, caplog):
    queue = EventQueue(tmp_path / "q.sqlite3")
    with Server(create_app(SECRET, queue)) as url, caplog.at_level("WARNING", logger="clawtex.webhook"):
        event = checkout_event()
        body = json.dumps(event).encode()
        refused = [
            _post(url, event, header="omit"),
            _post(url, event, secret="whsec_wrong_" + "d" * 24),
            _post(url, event, timestamp=int(time.time()) - 3600),             # outside Stripe's 300 s tolerance
            _post(url, body + b" ", header=stripe_header(body)),             # body changed after signing
            _post(url, event, header=f"t={int(time.time())}"),               # no v1 entry
        ]
        assert [r.status_code for r in refused] == [400] * 5
        reasons = [r.message for r in caplog.records if r.message.startswith("refused")]
        assert len(reasons) == 5 and "missing Stripe-Signature" in reasons[0]
        assert queue.status()["counts"] == {}                                  # nothing from forgers is stored

        first = _post(url, event)
        again = _post(url, event)                                            # Stripe redelivers the same event
        assert (first.status_code, again.status_code) == (200, 200)
        assert first.json()["queued"] is True and again.json()["duplicate"] is True
        assert queue.status()["counts"] == {"queued": 1}

        malformed = _post(url, b'{"id": "evt_x", "type": ')                   # signed, but not JSON
        assert malformed.status_code == 200 and malformed.json()["deadLetter"].startswith("malformed-")
        ignored = _post(url, {"id": "evt_Invoice0001", "object": "event", "type": "invoice.paid", "created": 1,
                              "data": {"object": {"id": "in_1", "object": "invoice"}}})
        assert ignored.status_code == 200 and ignored.json()["action"] == "ignored"
    status = queue.status()
    assert status["counts"] == {"queued": 1, "dead": 1}
    assert "not a Stripe event" in status["dead"][0]["error"]


def test_the_queue_survives_a_restart(tmp_path):
    path = tmp_path / "q.sqlite3"
    with Server(create_app(SECRET, EventQueue(path))) as url:
        assert _post(url, checkout_event()).status_code == 200
    # A new process opens the same file: the acknowledged event is still there, due, with its body.
    (item,) = EventQueue(path).due(time.time())
    assert item.id == "evt_Checkout0001" and json.loads(item.body) == checkout_event()
    rows = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()
    assert rows == ("wal",)


def test_answer_is_fast_and_processing_happens_after(tmp_path, fleet):
    """The endpoint answers before any git/compile work; the worker thread then opens the PR."""
    origin, root = fleet
    worker, pulls, queue = _worker(tmp_path, root)
    with Server(create_app(SECRET, queue, worker)) as url:
        started = time.monotonic()
        response = _post(url, checkout_event())
        answered = time.monotonic() - started
        assert response.status_code == 200 and response.json()["queued"] is True
        for _ in range(600):                   # bounded: the worker compiles (~5 s here)
            if queue.get("evt_Checkout0001").state not in ("queued", "working"):   # working: claimed, in hand
                break
            time.sleep(0.1)
    print(f"webhook answered in {answered * 1000:.0f} ms; processed to state {queue.get('evt_Checkout0001').state}")
    assert queue.get("evt_Checkout0001").state == "done"
    assert pulls.opened and pulls.opened[0]["head"] == "stripe/evt_Checkout0001"


# ---------------------------------------------------------------- the worker: PRs that pass their own gate


@pytest.mark.parametrize("tier, channels, auto", [("bronze", "telegram", True), ("silver", "telegram,discord", True),
                                                  ("gold", "slack", False), ("platinum", "slack", False)])
def test_checkout_per_tier_becomes_a_green_pr_on_the_remote(tmp_path, fleet, tier, channels, auto):
    origin, root = fleet
    records: list = []
    worker, pulls, queue = _worker(tmp_path, root, records)
    extra = {"regions": "fra1,ams3", "region": ""} if tier == "platinum" else {}
    event = checkout_event(event_id="evt_Tier" + tier.capitalize() + "01", customer="cus_Tier" + tier,
                           tier=tier, clawtex_id=f"shop-{tier}", channels=channels, **extra)
    assert queue.enqueue(event["id"], event["type"], event["created"], "cus_Tier" + tier, json.dumps(event), 1000.0)
    assert worker.process_due() == 1
    assert queue.get(event["id"]).state == "done", queue.get(event["id"]).last_error
    branch = f"stripe/{event['id']}"
    bare = git.Repo(origin)
    assert branch in [h.name for h in bare.heads]
    # The pushed commit holds the customer file *and* its compiled generated/.
    changed = bare.git.diff("--name-only", "main", branch).splitlines()
    assert f"customers/shop-{tier}.yaml" in changed
    assert any(p.startswith("generated/") and f"shop-{tier}" in p for p in changed)
    # The PR gate: a fresh checkout of the branch passes `compile --check` and `validate`.
    check = tmp_path / "check"
    git.Repo.clone_from(str(origin), check, branch=branch)
    done = subprocess.run([sys.executable, "-m", "compiler.cli", "--root", str(check), "compile", "--check"],
                          capture_output=True, text=True, cwd=REPO)      # loads and validates every file first
    assert done.returncode == 0, done.stdout + done.stderr
    assert (pulls.auto_merged != []) is auto
    assert ("Auto-merge" in pulls.opened[0]["body"]) is auto
    # The webhook clone is back on main and clean; deployment time recorded for the creation.
    clone = git.Repo(root)
    assert clone.active_branch.name == "main" and not clone.is_dirty(untracked_files=True)
    assert [r.step for r in records] == ["event_received", "pr_opened"]
    assert {r.customer for r in records} == {f"shop-{tier}"} and {r.tier for r in records} == {tier}


def test_updates_and_decommissions_wait_for_a_human(tmp_path, fleet):
    origin, root = fleet
    worker, pulls, queue = _worker(tmp_path, root)
    for kind, eid in (("updated", "evt_Update0001"), ("deleted", "evt_Delete0001")):
        event = subscription_event(kind, eid, customer="cus_PixelBakery01", price="price_ClawtexBronzeMonthly",
                                   amount=7500, created=1764028800 + (10 if kind == "updated" else 20))
        queue.enqueue(eid, event["type"], event["created"], "cus_PixelBakery01", json.dumps(event), 1000.0)
    assert worker.process_due() == 2
    assert [queue.get(e).state for e in ("evt_Update0001", "evt_Delete0001")] == ["done", "done"]
    assert pulls.auto_merged == []                                          # bronze, but not a creation
    assert "Tier change" not in pulls.opened[0]["body"]
    # The decommission PR carries a request, no approval, and says it is held until a person approves.
    assert "**Decommission requested by Stripe, held:**" in pulls.opened[1]["body"]
    origin = fleet[0]
    text = _branch_file(origin, "stripe/evt_Delete0001", "customers/pixel-bakery.yaml")
    assert "status: decommissioned" in text and "requestedBy: stripe" in text and "event: evt_Delete0001" in text
    assert "approvedBy" not in text


def test_a_downgrade_is_flagged_and_waits(tmp_path, fleet):
    origin, root = fleet
    worker, pulls, queue = _worker(tmp_path, root)
    checkout = checkout_event(tier="silver", channels="telegram")          # one channel: fits Bronze too
    queue.enqueue(checkout["id"], checkout["type"], checkout["created"], "cus_NewCustomer01", json.dumps(checkout), 1000.0)
    worker.process_due()
    assert pulls.auto_merged != []                                          # the Silver creation merges itself
    git.Repo(origin).git.branch("-f", "main", "stripe/evt_Checkout0001")  # ... and is merged
    down = subscription_event("updated", "evt_Down0001", price="price_ClawtexBronzeMonthly", amount=7500)
    queue.enqueue(down["id"], down["type"], down["created"], "cus_NewCustomer01", json.dumps(down), 1000.0)
    worker.process_due()
    assert queue.get("evt_Down0001").state == "done", queue.get("evt_Down0001").last_error
    assert len(pulls.auto_merged) == 1                                      # the downgrade does not
    assert "**Tier change:** silver -> bronze (downgrade" in pulls.opened[1]["body"]
    assert "tier: bronze" in _branch_file(origin, "stripe/evt_Down0001", "customers/lumen-studio.yaml")


def test_out_of_order_and_superseded_events(tmp_path, fleet):
    origin, root = fleet
    now = [1000.0]
    worker, pulls, queue = _worker(tmp_path, root, clock=lambda: now[0])
    update = subscription_event("updated", "evt_Early0001", created=1764028800 + 50)
    queue.enqueue(update["id"], update["type"], update["created"], "cus_NewCustomer01", json.dumps(update), now[0])
    assert worker.process_due() == 1
    early = queue.get("evt_Early0001")
    assert early.state == "queued" and early.attempts == 1 and "before its checkout" in early.last_error
    assert "stripe/evt_Early0001" not in [h.name for h in git.Repo(root).heads]       # no empty branch left
    checkout = checkout_event(created=1764028800)
    queue.enqueue(checkout["id"], checkout["type"], checkout["created"], "cus_NewCustomer01", json.dumps(checkout), now[0])
    now[0] += 3600                                                           # past the backoff
    assert worker.process_due() == 2                                         # checkout first (older), then the update
    # The update waits until the creation PR is merged (the customer file is on main).
    assert [queue.get(e).state for e in ("evt_Checkout0001", "evt_Early0001")] == ["done", "queued"]
    git.Repo(origin).git.branch("-f", "main", "stripe/evt_Checkout0001")  # the PR merges
    now[0] += 3600
    assert worker.process_due() == 1
    assert queue.get("evt_Early0001").state == "done", queue.get("evt_Early0001").last_error
    stale = subscription_event("updated", "evt_Stale0001", created=1764028800 + 10)
    queue.enqueue(stale["id"], stale["type"], stale["created"], "cus_NewCustomer01", json.dumps(stale), now[0])
    assert worker.process_due() == 1
    assert queue.get("evt_Stale0001").state == "superseded"
    assert len(pulls.opened) == 2


def test_bad_events_go_to_the_dead_letter_list_and_can_be_retried(tmp_path, fleet):
    origin, root = fleet
    worker, pulls, queue = _worker(tmp_path, root)
    bad = checkout_event(event_id="evt_Bad000001", tier="bronze")           # bronze allows one channel, two given
    queue.enqueue(bad["id"], bad["type"], bad["created"], "cus_NewCustomer01", json.dumps(bad), 1000.0)
    worker.process_due()
    status = queue.status()
    assert [d["id"] for d in status["dead"]] == ["evt_Bad000001"] and "channel" in status["dead"][0]["error"]
    assert pulls.opened == [] and "stripe/evt_Bad000001" not in [h.name for h in git.Repo(origin).heads]
    out = subprocess.run([sys.executable, "-m", "compiler.cli", "webhook", "--state",
                          str(tmp_path / "state" / "events.sqlite3"), "--status"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 1 and "evt_Bad000001" in out.stdout and "dead letters: 1" in out.stdout
    assert queue.requeue("evt_Bad000001", 1000.0) and queue.get("evt_Bad000001").state == "queued"


def test_transient_failures_retry_then_dead_letter(tmp_path, fleet):
    origin, root = fleet
    now = [1000.0]
    worker, pulls, queue = _worker(tmp_path, root, clock=lambda: now[0], max_attempts=3)
    worker.handle = lambda event: (_ for _ in ()).throw(ConnectionError("github down"))
    event = checkout_event()
    queue.enqueue(event["id"], event["type"], event["created"], "cus_NewCustomer01", json.dumps(event), now[0])
    for _ in range(3):
        worker.process_due()
        now[0] += 7200
    item = queue.get(event["id"])
    assert item.state == "dead" and item.attempts == 3 and "github down" in item.last_error


def test_github_calls_open_the_pr_reuse_an_existing_one_and_enable_auto_merge():
    """The non-dry-run GitHub path against a local server speaking the REST/GraphQL shapes GitHub documents."""
    from http_stub import QuietHandler, serve

    calls: list[tuple[str, str, dict | None]] = []
    existing = {"stripe/evt_Again0001"}

    class Api(QuietHandler):
        def do_POST(self):  # noqa: N802
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append(("POST", self.path, payload))
            assert self.headers["Authorization"] == "Bearer ghs_test"
            if self.path == "/graphql":
                return self.reply_json(200, {"data": {"enablePullRequestAutoMerge": {"pullRequest": {"number": 7}}}})
            if payload["head"] in existing:
                return self.reply_json(422, {"message": "Validation Failed",
                                             "errors": [{"message": "A pull request already exists for clawtex:x."}]})
            return self.reply_json(201, {"html_url": "https://github.example/clawtex/fleet/pull/7", "node_id": "PR_kwDO7"})

        def do_GET(self):  # noqa: N802
            calls.append(("GET", self.path, None))
            self.reply_json(200, [{"html_url": "https://github.example/clawtex/fleet/pull/5", "node_id": "PR_kwDO5"}])

    with serve(Api) as base:
        pulls = GitHubPulls("clawtex/fleet", token="ghs_test", dry_run=False, api=base)
        assert pulls.open("stripe/evt_New0001", "main", "t", "b") == ("https://github.example/clawtex/fleet/pull/7", "PR_kwDO7")
        pulls.enable_auto_merge("PR_kwDO7")
        assert pulls.open("stripe/evt_Again0001", "main", "t", "b") == ("https://github.example/clawtex/fleet/pull/5", "PR_kwDO5")
    assert calls[0][:2] == ("POST", "/repos/clawtex/fleet/pulls") and calls[0][2]["head"] == "stripe/evt_New0001"
    assert calls[1][1] == "/graphql" and calls[1][2]["variables"] == {"id": "PR_kwDO7"}
    assert "enablePullRequestAutoMerge" in calls[1][2]["query"] and "SQUASH" in calls[1][2]["query"]
    assert calls[3][0] == "GET" and "head=clawtex%3Astripe%2Fevt_Again0001" in calls[3][1] and "state=open" in calls[3][1]
