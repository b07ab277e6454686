"""The webhook worker's decisions, in-process and by hand (issue 28): which event is handled,
superseded, retried or dead-lettered, after how many attempts and when, what is stored as the
result, and which deployment-time records are written. The handler is a stand-in; the queue is
the real SQLite one. Every expected value below is written out, not computed by the worker."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from compiler.business import webhook
from compiler.business.deploytime import Record
from compiler.business.onboard import OnboardError, OnboardResult, WaitForCheckout
from compiler.business.webhook import EventQueue, FlowResult, Worker
from compiler.diagnostics import CompileError, Diagnostic
from conftest import REPO

T0 = 1_800_000_000.0          # 2027-01-15T08:00:00Z


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def flow(customer: str = "acme", action: str = "created", tier: str | None = "silver", pr: str | None = "https://pr/1",
         auto: bool = True) -> FlowResult:
    return FlowResult(OnboardResult(customer, Path(f"customers/{customer}.yaml"), action, "evt"), pr, tier, auto)


def put(queue: EventQueue, eid: str, etype: str, created: int, customer: str = "acme", received: float = T0) -> None:
    assert queue.enqueue(eid, etype, created, customer, json.dumps({"id": eid, "type": etype}), received)


def worker(queue: EventQueue, handle, clock: Clock, **kw) -> Worker:
    return Worker(queue, handle, clock=clock, backoff=lambda n: 100.0 * (n + 1), **kw)


def test_a_handled_event_is_done_with_its_result_and_its_two_deploy_time_records(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="clawtex.webhook")
    queue, clock, seen, records = EventQueue(tmp_path / "q.db"), Clock(), [], []
    put(queue, "evt_1", "checkout.session.completed", 10, received=T0 - 60)

    def handle(event):
        seen.append(event["id"])
        clock.now = T0 + 5                  # opening the PR took 5 s
        return flow()

    assert worker(queue, handle, clock, record=records.extend).process_due() == 1
    assert seen == ["evt_1"]
    got = queue.get("evt_1")
    assert (got.state, got.attempts, got.last_error) == ("done", 1, "")
    assert queue._run("SELECT result FROM events WHERE id='evt_1'")[0][0] == (
        '{"action": "created", "autoMerge": true, "customer": "acme", "pullRequest": "https://pr/1"}')
    assert caplog.record_tuples == [("clawtex.webhook", logging.INFO, "event evt_1: created acme, PR https://pr/1")]
    assert records == [
        Record("acme", "silver", "event_received", "2027-01-15T07:59:00Z", "evt_1", "webhook"),
        Record("acme", "silver", "pr_opened", "2027-01-15T08:00:05Z", "evt_1", "webhook")]


@pytest.mark.parametrize("action, tier", [("updated", "silver"), ("decommissioned", "silver"), ("created", None)])
def test_only_a_creation_with_a_tier_is_a_deployment_to_time(tmp_path, action, tier):
    queue, clock, records = EventQueue(tmp_path / "q.db"), Clock(), []
    put(queue, "evt_1", "customer.subscription.updated", 10)
    worker(queue, lambda e: flow(action=action, tier=tier), clock, record=records.extend).process_due()
    assert records == []
    assert queue.get("evt_1").state == "done"


def test_a_lost_deploy_time_record_does_not_undo_the_done_pr(tmp_path, caplog):
    queue, clock = EventQueue(tmp_path / "q.db"), Clock()
    put(queue, "evt_1", "checkout.session.completed", 10)

    def broken(records):
        raise OSError("disk full")

    with caplog.at_level(logging.ERROR, logger="clawtex.webhook"):
        worker(queue, lambda e: flow(), clock, record=broken).process_due()
    assert queue.get("evt_1").state == "done"
    assert caplog.record_tuples == [
        ("clawtex.webhook", logging.ERROR, "event evt_1: deployment-time record failed: disk full")]


def test_an_event_older_than_an_applied_one_is_superseded_but_a_checkout_never_is(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="clawtex.webhook")
    queue, clock, seen = EventQueue(tmp_path / "q.db"), Clock(), []
    put(queue, "evt_new", "customer.subscription.updated", 200)
    queue.finish("evt_new", "done")
    put(queue, "evt_old", "customer.subscription.updated", 100)
    put(queue, "evt_same", "customer.subscription.updated", 200)
    put(queue, "evt_checkout", "checkout.session.completed", 50)
    put(queue, "evt_other", "customer.subscription.updated", 100, customer="other")

    def handle(event):
        seen.append(event["id"])
        return flow()

    assert worker(queue, handle, clock).process_due() == 4
    assert sorted(seen) == ["evt_checkout", "evt_other", "evt_same"]
    old = queue.get("evt_old")
    assert (old.state, old.last_error) == ("superseded", "older than an applied event for the same customer")
    caplog.clear()
    caplog.set_level(logging.INFO, logger="clawtex.webhook")
    put(queue, "evt_older", "customer.subscription.deleted", 150)
    worker(queue, handle, clock).process_due()
    assert queue.get("evt_older").state == "superseded"
    assert caplog.record_tuples == [("clawtex.webhook", logging.INFO,
                                     "event evt_older superseded: an event created later for acme is already applied")]


def test_a_subscription_event_before_its_checkout_waits_longer_than_a_failure(tmp_path):
    queue, clock = EventQueue(tmp_path / "q.db"), Clock()
    put(queue, "evt_1", "customer.subscription.deleted", 10)

    def handle(event):
        raise WaitForCheckout("no checkout yet for acme")

    w = worker(queue, handle, clock, max_attempts=2, wait_attempts=3)
    w.process_due()
    got = queue.get("evt_1")
    assert (got.state, got.attempts, got.last_error) == ("queued", 1, "no checkout yet for acme")
    assert queue.due(T0 + 99) == [] and [q.id for q in queue.due(T0 + 100)] == ["evt_1"]   # backoff(0) = 100 s
    clock.now = T0 + 100
    w.process_due()
    got = queue.get("evt_1")
    assert (got.state, got.attempts) == ("queued", 2)           # max_attempts (2) would have ended it here
    assert queue.due(T0 + 299) == [] and len(queue.due(T0 + 300)) == 1                       # backoff(1) = 200 s
    clock.now = T0 + 300
    w.process_due()
    got = queue.get("evt_1")
    assert (got.state, got.attempts, got.last_error) == ("dead", 3, "no checkout yet for acme")


def test_a_transient_failure_is_retried_then_dead_lettered_at_max_attempts(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="clawtex.webhook")
    queue, clock, calls = EventQueue(tmp_path / "q.db"), Clock(), []
    put(queue, "evt_1", "checkout.session.completed", 10)

    def handle(event):
        calls.append(clock.now)
        raise ConnectionError("github down")

    w = worker(queue, handle, clock, max_attempts=2, wait_attempts=9)
    w.process_due()
    got = queue.get("evt_1")
    assert (got.state, got.attempts, got.last_error) == ("queued", 1, "ConnectionError: github down")
    clock.now = T0 + 50
    assert w.process_due() == 0                      # not due before its backoff
    clock.now = T0 + 100
    assert w.process_due() == 1
    got = queue.get("evt_1")
    assert (got.state, got.attempts, got.last_error) == ("dead", 2, "ConnectionError: github down")
    assert calls == [T0, T0 + 100]
    assert caplog.record_tuples == [
        ("clawtex.webhook", logging.INFO, "event evt_1 retry 1: ConnectionError: github down"),
        ("clawtex.webhook", logging.WARNING, "event evt_1 dead-lettered after 2 attempts: ConnectionError: github down")]


def test_an_invalid_customer_file_and_a_bad_event_are_dead_at_once(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="clawtex.webhook")
    queue, clock = EventQueue(tmp_path / "q.db"), Clock()
    put(queue, "evt_bad_file", "checkout.session.completed", 10)
    put(queue, "evt_bad_event", "checkout.session.completed", 11, customer="b")
    errors = {
        "evt_bad_file": CompileError([Diagnostic("customers/acme.yaml", 3, 5, "spec.tier", "unknown tier"),
                                      Diagnostic("customers/acme.yaml", 1, 1, "", "first")]),
        "evt_bad_event": OnboardError("no price id"),
    }

    def handle(event):
        raise errors[event["id"]]

    worker(queue, handle, clock, max_attempts=5).process_due()
    bad_file, bad_event = queue.get("evt_bad_file"), queue.get("evt_bad_event")
    assert (bad_file.state, bad_file.attempts, bad_file.last_error) == (
        "dead", 1, "customer file would not validate: customers/acme.yaml:1:1: first; "
                   "customers/acme.yaml:3:5: spec.tier: unknown tier")
    assert (bad_event.state, bad_event.attempts, bad_event.last_error) == ("dead", 1, "no price id")
    assert caplog.record_tuples == [
        ("clawtex.webhook", logging.WARNING, "event evt_bad_file dead-lettered: customer file would not validate: "
         "customers/acme.yaml:1:1: first; customers/acme.yaml:3:5: spec.tier: unknown tier"),
        ("clawtex.webhook", logging.WARNING, "event evt_bad_event dead-lettered: no price id")]


def test_an_event_another_worker_claimed_is_skipped(tmp_path, monkeypatch):
    queue, clock, seen = EventQueue(tmp_path / "q.db"), Clock(), []
    put(queue, "evt_1", "checkout.session.completed", 10)
    put(queue, "evt_2", "checkout.session.completed", 11, customer="b")
    real_claim = queue.claim
    monkeypatch.setattr(queue, "claim", lambda eid, now: None if eid == "evt_1" else real_claim(eid, now))

    def handle(event):
        seen.append(event["id"])
        return flow()

    assert worker(queue, handle, clock).process_due() == 1
    assert seen == ["evt_2"]


def test_the_default_backoff_doubles_from_30_s_up_to_an_hour(tmp_path):
    w = Worker(EventQueue(tmp_path / "q.db"), lambda e: flow())
    assert [w.backoff(n) for n in (0, 1, 2, 6, 7, 20)] == [30.0, 60.0, 120.0, 1920.0, 3600.0, 3600.0]
    assert (w.max_attempts, w.wait_attempts) == (8, 48)
    assert w.lock.lock_file == str(tmp_path / "q.db") + ".lock"


def test_the_signing_secret_comes_from_the_file_first_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(webhook.SECRET_FILE_ENV, raising=False)
    monkeypatch.delenv(webhook.SECRET_ENV, raising=False)
    with pytest.raises(SystemExit, match="set STRIPE_WEBHOOK_SECRET_FILE or STRIPE_WEBHOOK_SECRET"):
        webhook.signing_secret()
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_env")
    assert webhook.signing_secret() == "whsec_env"
    (tmp_path / "s").write_text("whsec_file\n", encoding="utf-8")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET_FILE", str(tmp_path / "s"))
    assert webhook.signing_secret() == "whsec_file"
    (tmp_path / "t").write_text(" whsec_arg ", encoding="utf-8")
    assert webhook.signing_secret(str(tmp_path / "t")) == "whsec_arg"


def test_the_tier_of_a_customer_file(tmp_path):
    assert webhook._tier_of(REPO / "customers" / "corner-garage.yaml") == "bronze"
    assert webhook._tier_of(tmp_path / "absent.yaml") is None
    (tmp_path / "bad.yaml").write_text("apiVersion: clawtex/v1\nkind: Customer\nspec: {tier: [\n", encoding="utf-8")
    assert webhook._tier_of(tmp_path / "bad.yaml") is None
    assert webhook._tier(REPO, None) is None and webhook._tier(REPO, "tin") is None
    assert webhook._tier(REPO, "gold").spec.rank == 3
    # well-formed YAML that is not a valid customer / tier: the loader's diagnostics are dropped, None comes back
    (tmp_path / "odd.yaml").write_text("apiVersion: clawtex/v1\nkind: Customer\nspec: {tier: silver}\n",
                                       encoding="utf-8")
    assert webhook._tier_of(tmp_path / "odd.yaml") is None
    (tmp_path / "tiers").mkdir()
    (tmp_path / "tiers" / "gold.yaml").write_text("apiVersion: clawtex/v1\nkind: Tier\nspec: {rank: first}\n",
                                                  encoding="utf-8")
    assert webhook._tier(tmp_path, "gold") is None


def test_the_worker_loop_survives_a_failed_pass_and_stops_when_told(tmp_path, caplog, monkeypatch):
    import threading
    stop, wake, passes = threading.Event(), threading.Event(), []
    w = worker(EventQueue(tmp_path / "q.db"), lambda e: flow(), Clock())

    def one_pass():
        passes.append(len(passes))
        if len(passes) == 1:
            raise RuntimeError("git index locked")
        if len(passes) == 2:
            wake.set()                        # an event arrived: the loop does not sleep, and clears the wake-up
        if len(passes) == 3:
            stop.set()
        return 0

    monkeypatch.setattr(w, "process_due", one_pass)
    caplog.set_level(logging.ERROR, logger="clawtex.webhook")
    thread = threading.Thread(target=w.run_forever, args=(stop, wake), kwargs={"poll": 0.05}, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and passes == [0, 1, 2]
    assert [(r.levelno, r.getMessage(), r.exc_info[1].args) for r in caplog.records] == [
        (logging.ERROR, "worker pass failed", ("git index locked",))]
    assert not wake.is_set()                  # the wake-up was consumed
    stop.clear()
    stop.set()
    w.run_forever(stop, wake, poll=0.05)      # told to stop before it starts: no pass at all
    assert passes == [0, 1, 2]
