"""Two processes draining one webhook queue (issue 31): every event is handled exactly once.

The server's worker thread and `clawtex webhook --process-once` (a timer, or by hand) are separate
processes on one queue and one git checkout. The oracle is a log each handler appends to."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

from compiler.business.webhook import EventQueue
from conftest import REPO

EVENTS = 40

DRAIN = textwrap.dedent("""
    import json, os, sys, time
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from compiler.business.webhook import EventQueue, FlowResult, Worker
    from compiler.business.onboard import OnboardResult
    queue, log, mode = EventQueue(Path(sys.argv[1])), Path(sys.argv[2]), sys.argv[3]
    while not Path(sys.argv[4]).exists():      # start line: both processes begin together
        time.sleep(0.001)

    def handle(event):
        with open(log, "a") as f:
            f.write(event["id"] + " " + str(os.getpid()) + "\\n")
        time.sleep(0.01)                       # a handler takes time: the window a second process could use
        return FlowResult(OnboardResult("c", Path("c.yaml"), "updated", event["id"]), None)

    if mode == "worker":
        Worker(queue, handle).process_due()
    else:                                      # the claim alone, no worker lock: atomicity of the UPDATE
        for ready in queue.due(time.time()):
            item = queue.claim(ready.id, time.time())
            if item is not None:
                handle(json.loads(item.body))
                queue.finish(item.id, "done")
""")


def _queue(tmp_path: Path) -> Path:
    db = tmp_path / "queue.sqlite"
    q = EventQueue(db)
    for n in range(EVENTS):
        eid = f"evt_Race{n:06d}"
        q.enqueue(eid, "customer.subscription.updated", 1_700_000_000 + n, f"cus_Race{n:06d}",
                  json.dumps({"id": eid}), now=0.0)
    return db


def _drain_twice(tmp_path: Path, mode: str) -> Counter:
    db, log, go = _queue(tmp_path), tmp_path / "handled.log", tmp_path / "go"
    script = DRAIN.format(repo=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(db), str(log), mode, str(go)]) for _ in range(2)]
    go.touch()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    return Counter(line.split()[0] for line in log.read_text().splitlines())


def test_two_workers_handle_every_event_exactly_once(tmp_path):
    handled = _drain_twice(tmp_path, "worker")
    assert sorted(handled) == [f"evt_Race{n:06d}" for n in range(EVENTS)]
    assert set(handled.values()) == {1}, [e for e, n in handled.items() if n > 1]
    assert EventQueue(tmp_path / "queue.sqlite").status()["counts"] == {"done": EVENTS}


def test_the_claim_alone_is_atomic(tmp_path):
    handled = _drain_twice(tmp_path, "claim")
    assert len(handled) == EVENTS and set(handled.values()) == {1}


def test_an_event_left_working_by_a_dead_worker_is_handled_again(tmp_path):
    q = EventQueue(_queue(tmp_path))
    assert q.claim("evt_Race000000", now=1.0) is not None
    assert q.claim("evt_Race000000", now=1.0) is None          # taken
    assert q.release_orphans() == 1
    assert q.claim("evt_Race000000", now=1.0) is not None
