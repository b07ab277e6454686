"""Stripe signatures and the webhook: real signed payloads, a real uvicorn
server on 127.0.0.1, a real git repository; the GitHub PR in dry-run mode."""
from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from pathlib import Path

import git
import httpx
import pytest
import uvicorn

from business_events import checkout_event, subscription_event
from compiler.business.signature import SignatureError, sign_header, verify_signature
from compiler.business.webhook import GitHubPulls, ProcessedEvents, PullRequestFlow, create_app
from conftest import REPO

SECRET = "whsec_test_" + "a" * 24
NOW = 1_800_000_000
BODY = b'{"id": "evt_Sig000001", "type": "checkout.session.completed"}'


def test_valid_signature_is_accepted():
    assert verify_signature(BODY, sign_header(SECRET, NOW, BODY), SECRET, now=NOW + 10) == NOW


@pytest.mark.parametrize("header, now, why", [
    (sign_header("whsec_other_" + "b" * 24, NOW, BODY), NOW, "does not match"),
    (sign_header(SECRET, NOW, BODY), NOW + 301, "tolerance"),
    (sign_header(SECRET, NOW, BODY), NOW - 301, "tolerance"),
    (sign_header(SECRET, NOW, BODY + b" "), NOW, "does not match"),
    (None, NOW, "missing"),
    (f"t={NOW}", NOW, "no v1"),
    ("v1=deadbeef", NOW, "no timestamp"),
])
def test_bad_signatures_are_refused(header, now, why):
    with pytest.raises(SignatureError, match=why):
        verify_signature(BODY, header, SECRET, now=now)


def test_any_v1_entry_may_match_while_secrets_roll():
    header = sign_header("whsec_old_" + "c" * 24, NOW, BODY) + "," + sign_header(SECRET, NOW, BODY).split(",")[1]
    assert verify_signature(BODY, header, SECRET, now=NOW) == NOW


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("clawtex.yaml", "tiers", "customers", "billing"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / name)
    repo = git.Repo.init(root, initial_branch="main")
    repo.index.add(["clawtex.yaml", "tiers", "customers", "billing"])
    repo.index.commit("seed")
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(git_repo: Path, tmp_path: Path):
    pulls = GitHubPulls("clawtex/fleet", dry_run=True)
    flow = PullRequestFlow(git_repo, pulls, base="main", remote=None)
    app = create_app(SECRET, ProcessedEvents(tmp_path / "state" / "events.json"), flow.run)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):                      # bounded wait for startup (not a timing assertion)
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}", git_repo, pulls
    srv.should_exit = True
    thread.join(timeout=10)


def _post(url: str, event: dict, secret: str = SECRET, timestamp: int | None = None) -> httpx.Response:
    body = json.dumps(event).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    return httpx.post(f"{url}/stripe/webhook", content=body, timeout=30,
                      headers={"Stripe-Signature": sign_header(secret, ts, body), "Content-Type": "application/json"})


def test_signed_checkout_becomes_a_branch_commit_and_pr(server):
    url, root, pulls = server
    response = _post(url, checkout_event())
    assert response.status_code == 200, response.text
    assert response.json()["action"] == "created"
    repo = git.Repo(root)
    assert repo.active_branch.name == "main"
    assert not (root / "customers" / "lumen-studio.yaml").exists()      # only on the PR branch
    tree = repo.commit("stripe/evt_Checkout0001").tree
    text = (tree / "customers" / "lumen-studio.yaml").data_stream.read().decode()
    assert "LUMEN_STUDIO_TELEGRAM_BOT_TOKEN" in text and "evt_Checkout0001" in text
    assert pulls.opened == [{"title": "Created customer lumen-studio (Stripe evt_Checkout0001)",
                             "head": "stripe/evt_Checkout0001", "base": "main", "body": pulls.opened[0]["body"]}]


def test_unsigned_wrong_secret_stale_and_replayed_are_rejected(server):
    url, root, pulls = server
    body = json.dumps(checkout_event()).encode()
    assert httpx.post(f"{url}/stripe/webhook", content=body).status_code == 400
    assert _post(url, checkout_event(), secret="whsec_wrong_" + "d" * 24).status_code == 400
    assert _post(url, checkout_event(), timestamp=int(time.time()) - 3600).status_code == 400
    assert pulls.opened == []
    assert _post(url, checkout_event()).status_code == 200
    replay = _post(url, checkout_event())                       # freshly signed, same event id
    assert replay.status_code == 409 and "replay" in replay.json()["error"]
    assert len(pulls.opened) == 1


def test_deleted_subscription_opens_a_decommission_pr(server):
    url, root, pulls = server
    event = subscription_event("deleted", "evt_Delete0001", customer="cus_PixelBakery01",
                               price="price_ClawtexBronzeMonthly", amount=4900)
    response = _post(url, event)
    assert response.status_code == 200, response.text
    assert response.json()["action"] == "decommissioned"
    tree = git.Repo(root).commit("stripe/evt_Delete0001").tree
    text = (tree / "customers" / "pixel-bakery.yaml").data_stream.read().decode()
    assert "status: decommissioned" in text
    assert (root / "customers" / "pixel-bakery.yaml").exists()          # main untouched: no direct destroy
    assert "Decommission" in pulls.opened[0]["body"]


def test_unsupported_event_types_are_acknowledged_and_ignored(server):
    url, _, pulls = server
    response = _post(url, {"id": "evt_Invoice0001", "type": "invoice.paid", "data": {"object": {}}})
    assert response.json()["action"] == "ignored" and pulls.opened == []
