"""`clawtex dr-drill`, fast checks: it refuses without --wipe-scratch and for customers without
backups, picks the backed-up gateway host, and writes its record where the reports read it.
The drill itself runs live (tests/live/test_hosts.py: the backup test restores through it)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from compiler.business import drill
from conftest import REPO


def clawtex(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler.cli", "--root", str(REPO), *args],
                          capture_output=True, text=True, cwd=REPO)


def test_refuses_without_the_scratch_confirmation(tmp_path):
    r = clawtex("dr-drill", "acme-logistics", "--runner", "false", "--records", str(tmp_path))
    assert r.returncode == 2 and "--wipe-scratch" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_customer_without_backups(tmp_path):
    r = clawtex("dr-drill", "pixel-bakery", "--runner", "false", "--wipe-scratch", "--records", str(tmp_path))
    assert r.returncode == 1 and "no gateway host with backups" in r.stderr   # Bronze: tiers/bronze.yaml backups: null


@pytest.mark.parametrize("customer,host,tier,hours", [
    # By hand: customers/*.yaml tiers and tiers/*.yaml spec.backups.intervalHours.
    ("acme-logistics", "acme-logistics-oc-1", "gold", 1),
    ("brightpath-tutors", "brightpath-tutors-oc-1", "silver", 24),
])
def test_target_is_the_backed_up_gateway_host(customer, host, tier, hours):
    t = drill.target(REPO, customer)
    assert (t.host, t.tier, t.interval_hours) == (host, tier, hours)


def test_a_failed_listing_is_an_error_not_a_record(tmp_path):
    r = clawtex("dr-drill", "acme-logistics", "--runner", "false", "--wipe-scratch", "--records", str(tmp_path))
    assert r.returncode == 1 and "listing the snapshots failed" in r.stderr
    assert not (tmp_path / "acme-logistics.json").exists()


def test_record_is_written_and_read_back(tmp_path):
    record = {"customer": "acme-logistics", "tier": "gold", "host": "acme-logistics-oc-1", "snapshot": "ab" * 32,
              "snapshot_time": "2026-12-03T02:00:00Z", "drill_at": "2026-12-03T02:30:00Z", "rpo_seconds": 1800.0,
              "rpo_promise_seconds": 3600, "rpo_met": True, "rto_seconds": 42.0, "rto_promise_seconds": None,
              "healthy": True, "databases": ["tracker"]}
    drill.write_record(tmp_path, record)
    drill.write_record(tmp_path, {**record, "rpo_seconds": 7200.0, "rpo_met": False})
    assert drill.last_drill(tmp_path, "acme-logistics")["rpo_seconds"] == 7200.0
    assert len((tmp_path / "acme-logistics.jsonl").read_text().splitlines()) == 2
    assert drill.last_drill(tmp_path, "brightpath-tutors") is None
    text = drill.summary(record)
    assert "RPO 1800 s (within the 3600 s backup interval)" in text and "no RTO promise" in text
    assert json.loads((tmp_path / "acme-logistics.json").read_text())["rpo_met"] is False
