"""The webhook's event queue by hand, in-process (issue 28: mutation testing of
compiler/business/webhook.py): duplicates, what is due and in which order, claiming, retries,
dead letters and their requeue, orphans, the newest applied event, the status text, and the
tier facts that decide auto-merge and downgrades. The HTTP server and the PR flow are
tests/test_webhook.py."""
from __future__ import annotations

from compiler.business.webhook import EventQueue, _auto_merge, _rank, render_status
from conftest import REPO


def queue(tmp_path):
    q = EventQueue(tmp_path / "q" / "events.db")
    assert q.enqueue("evt_b", "checkout.session.completed", 200, "cus_1", "{b}", now=10.0)
    assert q.enqueue("evt_a", "customer.subscription.updated", 100, "cus_1", "{a}", now=20.0)
    assert q.enqueue("evt_c", "customer.subscription.updated", 100, "cus_2", "{c}", now=15.0)
    return q


def test_duplicates_change_nothing(tmp_path):
    q = queue(tmp_path)
    assert q.enqueue("evt_b", "other", 999, "cus_9", "{x}", now=99.0) is False
    got = q.get("evt_b")
    assert (got.type, got.created, got.customer, got.body, got.received_at, got.state, got.attempts, got.last_error) == \
        ("checkout.session.completed", 200, "cus_1", "{b}", 10.0, "queued", 0, "")
    assert q.get("evt_nope") is None


def test_due_oldest_stripe_time_first_then_arrival(tmp_path):
    q = queue(tmp_path)
    assert [e.id for e in q.due(now=20.0)] == ["evt_c", "evt_a", "evt_b"]     # created 100 (recv 15, 20), 200
    assert [e.id for e in q.due(now=15.0)] == ["evt_c", "evt_b"]              # evt_a's next_at is 20
    assert q.due(now=9.0) == []


def test_claim_once_and_only_when_due(tmp_path):
    q = queue(tmp_path)
    assert q.claim("evt_a", now=19.0) is None                                  # not due yet
    first = q.claim("evt_a", now=20.0)
    assert (first.id, first.state) == ("evt_a", "working")
    assert q.claim("evt_a", now=20.0) is None                                  # taken
    assert q.get("evt_a").state == "working" and [e.id for e in q.due(now=30.0)] == ["evt_c", "evt_b"]
    assert q.release_orphans() == 1 and q.get("evt_a").state == "queued"
    assert q.release_orphans() == 0
    assert q.claim("evt_nope", now=30.0) is None


def test_retry_dead_letter_and_requeue(tmp_path):
    q = queue(tmp_path)
    q.claim("evt_b", now=10.0)
    q.retry_later("evt_b", "github 502", next_at=70.0)
    got = q.get("evt_b")
    assert (got.state, got.attempts, got.last_error) == ("queued", 1, "github 502")
    assert [e.id for e in q.due(now=69.0)] == ["evt_c", "evt_a"] and q.due(now=70.0)[-1].id == "evt_b"
    q.finish("evt_b", "dead", error="gave up")
    assert (q.get("evt_b").state, q.get("evt_b").attempts) == ("dead", 2)
    assert q.requeue("evt_a", now=80.0) is False                               # only dead letters
    assert q.requeue("evt_b", now=80.0) is True
    got = q.get("evt_b")
    assert (got.state, got.attempts) == ("queued", 0) and [e.id for e in q.due(now=79.0)] == ["evt_c", "evt_a"]


def test_newest_applied_counts_done_events_only(tmp_path):
    q = queue(tmp_path)
    assert q.newest_applied("cus_1") is None
    q.finish("evt_a", "done", result="created")
    assert q.newest_applied("cus_1") == 100
    q.finish("evt_b", "done")
    assert q.newest_applied("cus_1") == 200
    q.finish("evt_c", "ignored")
    assert q.newest_applied("cus_2") is None


def test_status_text_by_hand(tmp_path):
    q = queue(tmp_path)
    assert render_status(EventQueue(tmp_path / "empty.db").status()) == "events: none\ndead letters: 0\n"
    q.retry_later("evt_a", "timeout", next_at=50.0)
    q.finish("evt_b", "dead", error="invalid file")
    q.finish("evt_c", "done")
    status = q.status()
    assert status == {"counts": {"dead": 1, "done": 1, "queued": 1},
                      "dead": [{"id": "evt_b", "type": "checkout.session.completed", "customer": "cus_1",
                                "attempts": 1, "error": "invalid file"}],
                      "retrying": [{"id": "evt_a", "type": "customer.subscription.updated", "attempts": 1,
                                    "error": "timeout"}]}
    assert render_status(status) == (
        "events: dead 1, done 1, queued 1\n"
        "retrying  evt_a customer.subscription.updated (attempt 1): timeout\n"
        "dead letters: 1\n"
        "  evt_b checkout.session.completed cus_1 after 1 attempt(s): invalid file\n")


def test_tier_rank_and_auto_merge_from_the_tier_files():
    # tiers/*.yaml: rank bronze 1 .. platinum 4; deployment.autoMerge true for bronze and silver only
    assert [_rank(REPO, t) for t in ("bronze", "silver", "gold", "platinum", "zinc", None)] == [1, 2, 3, 4, 0, 0]
    assert [_auto_merge(REPO, t) for t in ("bronze", "silver", "gold", "platinum", "zinc", None)] == \
        [True, True, False, False, False, False]


def test_queue_directory_created_with_its_parents_and_errors_reset(tmp_path):
    q = EventQueue(tmp_path / "a" / "b" / "events.db")
    assert q.enqueue("evt_1", "checkout.session.completed", 1, "cus_1", "{}", now=1.0)
    q.retry_later("evt_1", "github 502", next_at=2.0)
    q.finish("evt_1", "done")                    # success clears the last error
    got = q.get("evt_1")
    assert (got.state, got.attempts, got.last_error) == ("done", 2, "")
    assert q.status() == {"counts": {"done": 1}, "dead": [], "retrying": []}


def test_the_stored_result_is_empty_unless_given(tmp_path):
    # the result column is for an operator reading the queue with sqlite3
    import sqlite3
    q = queue(tmp_path)
    q.finish("evt_a", "dead", error="gave up")
    q.finish("evt_b", "done", result='{"action": "created"}')
    rows = dict(sqlite3.connect(q.path).execute("SELECT id, result FROM events WHERE state != 'queued'").fetchall())
    assert rows == {"evt_a": "", "evt_b": '{"action": "created"}'}


def test_a_claim_that_fails_mid_transaction_rolls_back_and_raises_the_real_error(tmp_path):
    """SQLite refuses the UPDATE after BEGIN IMMEDIATE (a parameter it cannot bind): the claim
    rolls its transaction back and the caller sees that error, not one from the clean-up; the
    event is untouched and the next claim gets it."""
    import sqlite3

    import pytest

    q = queue(tmp_path)
    with pytest.raises(sqlite3.ProgrammingError, match="binding parameter"):
        q.claim(["evt_a"], now=20.0)
    assert q.get("evt_a").state == "queued"
    assert q.claim("evt_a", now=20.0).state == "working"


def test_a_claim_waits_for_another_writer_longer_than_sqlites_default(tmp_path):
    """Two processes share the queue (the server enqueues while a worker claims). A writer holding
    the lock for 6 s, longer than SQLite's 5 s default busy timeout (Python sqlite3.connect
    timeout=5.0), does not make the claim fail: the queue waits up to 30 s. Costs 6 s."""
    import sqlite3
    import threading
    import time

    q = queue(tmp_path)
    holder = sqlite3.connect(q.path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(6.0, lambda: holder.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    try:
        got = q.claim("evt_a", now=20.0)
    finally:
        release.join()
        holder.close()
    assert time.monotonic() - started >= 5.5            # it did wait past the default
    assert (got.id, got.state) == ("evt_a", "working")
