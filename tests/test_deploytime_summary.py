"""Deployment time per tier, by hand (issue 28: mutation testing of compiler/business/deploytime.py):
hours from `event_received` to `smoke_passed`, median and worst per tier, who is over the tier's
target, who is still onboarding, who failed; the record file's rules (first line per step wins,
unknown steps and bad lines refused). In-process and fast; the git push path is
tests/test_deploytime.py."""
from __future__ import annotations

import pytest

from compiler.business.deploytime import Record, append, hours_to_smoke, load, render_text, summarize, utc

TARGETS = {"bronze": 1.0, "silver": 4.0, "gold": 24.0}       # tier order as the plan ranks them


def steps(cid, tier, **at):
    return {step: Record(cid, tier, step, f"2026-11-{day}Z") for step, day in at.items()}


def test_hours_to_smoke():
    assert hours_to_smoke(steps("a", "silver", event_received="02T10:00:00", smoke_passed="02T12:30:00")) == 2.5
    assert hours_to_smoke(steps("a", "silver", event_received="02T10:00:00")) is None
    assert hours_to_smoke(steps("a", "silver", smoke_passed="02T10:00:00")) is None
    assert hours_to_smoke(steps("a", "gold", event_received="01T23:00:00", smoke_passed="03T01:00:00")) == 26.0


def test_summary_per_tier_by_hand():
    records = {
        "s1": steps("s1", "silver", event_received="02T10:00:00", smoke_passed="02T11:00:00"),     # 1.0 h
        "s2": steps("s2", "silver", event_received="02T10:00:00", smoke_passed="02T15:00:00"),     # 5.0 h: over 4
        "s3": steps("s3", "silver", event_received="02T10:00:00", smoke_passed="02T13:00:00"),     # 3.0 h
        "s4": steps("s4", "silver", event_received="02T10:00:00", smoke_passed="02T16:00:00"),     # 6.0 h: over 4
        "s5": steps("s5", "silver", event_received="02T10:00:00"),                                  # pending
        "s6": steps("s6", "silver", event_received="02T10:00:00", failed="02T11:00:00"),            # failed
        "b1": steps("b1", "bronze", event_received="02T10:00:00", smoke_passed="02T11:00:00"),     # 1.0 h: at target
        "z1": steps("z1", "zinc", event_received="02T10:00:00", smoke_passed="02T10:30:00"),       # tier without target
        "g1": steps("g1", "gold", event_received="02T10:00:00", failed="02T11:00:00",
                    smoke_passed="02T12:00:00"),                                                     # passed after all
    }
    rows = summarize(records, TARGETS)
    assert [r.tier for r in rows] == ["bronze", "silver", "gold", "zinc"]
    bronze, silver, gold, zinc = rows
    assert (bronze.target_hours, bronze.done, bronze.median_hours, bronze.worst_hours, bronze.over_target,
            bronze.pending, bronze.failed) == (1.0, 1, 1.0, 1.0, [], [], ())
    # silver done: 1, 5, 3, 6 -> median (3 + 5) / 2 = 4.0, worst 6.0; over 4 h, worst first
    assert (silver.target_hours, silver.done, silver.median_hours, silver.worst_hours) == (4.0, 4, 4.0, 6.0)
    assert silver.over_target == [("s4", 6.0), ("s2", 5.0)]
    assert (silver.pending, silver.failed) == (["s5"], ("s6",))
    assert (gold.done, gold.median_hours, gold.failed, gold.pending) == (1, 2.0, (), [])
    assert zinc.done == 1 and zinc.median_hours == 0.5 and zinc.over_target == []
    assert zinc.target_hours != zinc.target_hours          # NaN: no target known


def test_text_report():
    records = {"s2": steps("s2", "silver", event_received="02T10:00:00", smoke_passed="02T15:00:00"),
               "s3": steps("s3", "silver", event_received="02T10:00:00", smoke_passed="02T16:30:00"),
               "s5": steps("s5", "silver", event_received="02T10:00:00"),
               "s7": steps("s7", "silver", event_received="02T10:00:00"),
               "s6": steps("s6", "silver", event_received="02T10:00:00", failed="02T11:00:00"),
               "s8": steps("s8", "silver", event_received="02T10:00:00", failed="02T11:00:00")}
    text = render_text(summarize(records, TARGETS))
    assert text == (
        "Deployment time (Stripe event received -> smoke test passed)\n"
        "tier         target  done    median     worst  over target\n"
        "silver          4 h     2     5.8 h     6.5 h  s3 (6.5 h), s2 (5.0 h)\n"
        "failed (a stack did not apply or pass its smoke test; ops have an issue): s6, s8\n"
        "still onboarding (no smoke pass recorded): s5, s7\n")
    empty = render_text(summarize({"s5": steps("s5", "silver", event_received="02T10:00:00")}, TARGETS))
    assert "silver          4 h     0         -         -  -\n" in empty and "failed" not in empty


def test_records_go_into_a_directory_that_does_not_exist_yet(tmp_path):
    assert append(tmp_path / "a" / "b", Record("c", "gold", "merged", "2026-11-02T10:00:00Z")) is True
    assert set(load(tmp_path / "a" / "b")["c"]) == {"merged"}


def test_the_first_record_of_a_step_wins(tmp_path):
    first = Record("c", "silver", "merged", "2026-11-02T10:00:00Z", "evt_1", "ci")
    assert append(tmp_path, first) is True
    assert append(tmp_path, Record("c", "silver", "merged", "2026-11-02T11:00:00Z")) is False
    assert append(tmp_path, Record("c", "silver", "pr_opened", "2026-11-02T09:00:00Z")) is True
    assert (tmp_path / "c.jsonl").read_text().splitlines()[0] == (
        '{"at": "2026-11-02T10:00:00Z", "customer": "c", "event": "evt_1", "source": "ci", "step": "merged", '
        '"tier": "silver"}')
    loaded = load(tmp_path)
    assert loaded["c"]["merged"].at == "2026-11-02T10:00:00Z" and set(loaded["c"]) == {"merged", "pr_opened"}


def test_bad_records_are_refused(tmp_path):
    with pytest.raises(ValueError) as e:
        append(tmp_path, Record("c", "silver", "deployed", "2026-11-02T10:00:00Z"))
    assert str(e.value) == ("unknown step 'deployed' (steps: event_received, pr_opened, merged, apply_finished, "
                            "smoke_passed, welcome_sent, failed)")
    with pytest.raises(ValueError, match="unknown step 'deployed'"):
        append(tmp_path, Record("c", "silver", "deployed", "2026-11-02T10:00:00Z"))
    with pytest.raises(ValueError):
        append(tmp_path, Record("c", "silver", "merged", "2026-11-02 10:00"))
    (tmp_path / "d.jsonl").write_text('{"at": "2026-11-02T10:00:00Z", "customer": "d", "step": "merged", '
                                      '"tier": "gold"}\n\n{"nope": 1}\n')
    with pytest.raises(ValueError, match=r"d.jsonl:3: not a deployment-time record"):
        load(tmp_path)


def test_utc_whatever_the_machine_zone(monkeypatch):
    import os
    import time
    from datetime import datetime, timedelta, timezone
    monkeypatch.setenv("TZ", "Asia/Tokyo")          # UTC+9: a local-time bug shows
    time.tzset()
    try:
        assert utc(0) == "1970-01-01T00:00:00Z"
        assert utc(1764684180.9) == "2025-12-02T14:03:00Z"
        assert utc(datetime(2026, 11, 2, 15, 0, 5, tzinfo=timezone(timedelta(hours=1)))) == "2026-11-02T14:00:05Z"
        before = datetime.now(timezone.utc).replace(microsecond=0)
        now = datetime.strptime(utc(), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        assert before <= now <= before + timedelta(seconds=5)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
