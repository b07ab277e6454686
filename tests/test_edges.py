"""Edges that break next year (issue 31): dates, versions and the holiday calendar.

Every expected value here is written by hand (a calendar, OpenClaw's tag list), not computed
by the code under test."""
from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
import yaml

from compiler.gitops.pr_summary import _version_key
from conftest import CUSTOMER, REPO, run_clawtex

BRONZE = CUSTOMER.replace("{tier}", "bronze").replace("{price}", "75")


# ---------------------------------------------------------------- dates

@pytest.mark.parametrize("written", ['"2026-02-30"', "2026-02-30", '"2026-13-01"', "2026-2-3", "20260901"])
def test_impossible_onboarded_on_is_refused_at_its_line(repo: Path, written: str):
    (repo / "customers" / "leap.yaml").write_text(
        BRONZE.format(id="leap").replace('onboardedOn: "2026-09-01"', f"onboardedOn: {written}"), encoding="utf-8")
    result = run_clawtex(repo, "validate", str(repo / "customers/leap.yaml"))
    assert result.returncode == 1, result.stdout
    # onboardedOn is line 12, column 3 of the file above (counted by hand).
    assert re.search(r"customers/leap\.yaml:12:3: spec\.onboardedOn: .*(date|YYYY-MM-DD)", result.stderr), result.stderr


def test_a_real_leap_day_validates(repo: Path):
    (repo / "customers" / "leap.yaml").write_text(
        BRONZE.format(id="leap").replace('"2026-09-01"', "2028-02-29"), encoding="utf-8")
    result = run_clawtex(repo, "validate", str(repo / "customers/leap.yaml"))
    assert result.returncode == 0, result.stderr


def test_decommission_date_is_a_calendar_date(repo: Path):
    text = BRONZE.format(id="gone").replace("  onboardedOn:", "  status: decommissioned\n  decommission: "
                                            "{approvedBy: Ops, date: 2027-02-29}\n  onboardedOn:")
    (repo / "customers" / "gone.yaml").write_text(text, encoding="utf-8")
    result = run_clawtex(repo, "validate", str(repo / "customers/gone.yaml"))
    assert result.returncode == 1
    assert re.search(r"customers/gone\.yaml:13:35: spec\.decommission\.date: .*calendar date", result.stderr), result.stderr


def test_prices_taken_on_is_checked_at_its_line(repo: Path):
    path = repo / "tiers" / "providers.yaml"
    text = path.read_text(encoding="utf-8")
    line = text.splitlines().index('  pricesTakenOn: "2026-11-01"') + 1
    path.write_text(text.replace('pricesTakenOn: "2026-11-01"', 'pricesTakenOn: "2026-11-31"'), encoding="utf-8")
    result = run_clawtex(repo, "validate")
    assert result.returncode == 1
    assert f"tiers/providers.yaml:{line}:3: metadata.pricesTakenOn:" in result.stderr, result.stderr


# ---------------------------------------------------------------- versions

# openclaw's npm versions around releases with betas and corrections, oldest first
# (`npm view openclaw versions`, 2026-12-03; scheme: openclaw docs/install/development-channels.md).
ORDERED = ["2026.7.1-beta.1", "2026.7.1-beta.2", "2026.7.1-beta.10", "2026.7.1", "2026.7.1-1", "2026.7.1-2",
           "2026.7.2-beta.1", "2026.7.2", "2026.7.33", "2026.7.35", "2026.9.1-beta.1", "2026.9.1", "2026.9.6-beta.1",
           "2026.9.6", "2026.9.6-1", "2026.10.1", "2027.1.1-beta.1"]


@pytest.mark.parametrize("older,newer", list(zip(ORDERED, ORDERED[1:])))
def test_openclaw_versions_order_like_its_tags(older: str, newer: str):
    from compiler.versions import openclaw_version
    assert openclaw_version(older) < openclaw_version(newer)
    assert _version_key(older) < _version_key(newer)
    assert not _version_key(newer) < _version_key(older)


def test_a_beta_is_older_than_its_release_and_a_correction_newer():
    assert _version_key("2026.9.6-beta.1") < _version_key("2026.9.6")
    assert _version_key("2026.9.6-1") > _version_key("2026.9.6-beta.1")     # was a TypeError
    assert sorted(["2026.9.6-1", "2026.9.6", "2026.9.6-beta.1", "2026.7.35"], key=_version_key) == \
        ["2026.7.35", "2026.9.6-beta.1", "2026.9.6", "2026.9.6-1"]


@pytest.mark.parametrize("bad", ["2026.9", "2026.9.6-rc.1", "2026.09.6", "2026.9.6-beta", "latest", "2026.9.6.1"])
def test_clawtex_yaml_refuses_a_version_openclaw_never_tags(repo: Path, bad: str):
    path = repo / "clawtex.yaml"
    text = path.read_text(encoding="utf-8")
    line = text.splitlines().index('    version: "2026.9.6"') + 1
    path.write_text(text.replace('    version: "2026.9.6"', f'    version: "{bad}"', 1), encoding="utf-8")
    result = run_clawtex(repo, "validate")
    assert result.returncode == 1
    assert f"clawtex.yaml:{line}:5: spec.openclaw.version: '{bad}' is not an OpenClaw version" in result.stderr, result.stderr


# ---------------------------------------------------------------- holidays

# German nationwide public holidays that move with Easter, from a printed calendar:
# Easter Sunday 2028-04-16, 2029-04-01.
EASTER_BASED = {
    2028: ["2028-04-14", "2028-04-17", "2028-05-25", "2028-06-05"],   # Karfreitag, Ostermontag, Himmelfahrt, Pfingstmontag
    2029: ["2029-03-30", "2029-04-02", "2029-05-10", "2029-05-21"],
}
FIXED = ["01-01", "05-01", "10-03", "12-25", "12-26"]


def _muted_days(alertmanager: dict) -> set[str]:
    (interval,) = [i for i in alertmanager["time_intervals"] if i["name"] == "public-holidays"]
    out = set()
    for entry in interval["time_intervals"]:
        (y,), (m,), (d,) = entry["years"], entry["months"], entry["days_of_month"]
        out.add(f"{int(y):04d}-{int(m):02d}-{int(d):02d}")
    return out


def test_generated_alertmanager_mutes_easter_holidays_of_2028_and_2029():
    muted = _muted_days(yaml.safe_load((REPO / "generated/alertmanager/alertmanager.yml").read_text()))
    for year, days in EASTER_BASED.items():
        assert set(days) <= muted, (year, sorted(set(days) - muted))
        assert {f"{year}-{md}" for md in FIXED} <= muted
    assert len([d for d in muted if d.startswith("2029-")]) == 9     # nine nationwide holidays a year
    # Christmas 2028 is the day the hand-typed list left uncovered (issue 31).
    assert "2028-12-25" in muted


def test_a_subdivision_adds_its_own_holidays():
    from compiler.models import HolidayCalendar
    bavaria = {d.isoformat() for d, _ in HolidayCalendar(country="DE", subdivision="BY", firstYear=2028,
                                                         lastYear=2030).days()}
    assert "2028-01-06" in bavaria and "2028-06-15" in bavaria    # Heilige Drei Koenige; Fronleichnam (Easter + 60)
    nation = {d.isoformat() for d, _ in HolidayCalendar(country="DE", firstYear=2028, lastYear=2030).days()}
    assert "2028-06-15" not in nation


@pytest.mark.parametrize("fields,message", [
    ({"country": "DE", "firstYear": 2026, "lastYear": 2027}, "fewer than 3 calendar years"),
    ({"country": "XX", "firstYear": 2026, "lastYear": 2029}, "knows no country XX"),
    ({"country": "DE", "subdivision": "ZZ", "firstYear": 2026, "lastYear": 2029}, "DE has no subdivision ZZ"),
])
def test_the_calendar_is_checked(fields: dict, message: str):
    from compiler.models import HolidayCalendar
    with pytest.raises(ValueError, match=message):
        HolidayCalendar(**fields)


def test_horizon_is_measured_from_the_day_validate_runs():
    from compiler.models import HolidayCalendar
    cal = HolidayCalendar(country="DE", firstYear=2026, lastYear=2029)
    assert cal.horizon_problem(datetime.date(2029, 10, 2)) is None            # 90 days before 2029-12-31
    assert "ends 2029-12-31, 89 days from 2029-10-03" in cal.horizon_problem(datetime.date(2029, 10, 3))
    assert "0 days" in cal.horizon_problem(datetime.date(2030, 3, 1))


def test_validate_fails_when_the_calendar_runs_out(repo: Path):
    path = repo / "clawtex.yaml"
    text = path.read_text(encoding="utf-8")
    this_year = datetime.date.today().year
    text = re.sub(r"firstYear: \d+", f"firstYear: {this_year - 3}", text)
    text = re.sub(r"lastYear: \d+", f"lastYear: {this_year - 1}", text)     # ended last year
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index(f"      lastYear: {this_year - 1}") + 1
    result = run_clawtex(repo, "validate")
    assert result.returncode == 1
    assert f"clawtex.yaml:{line}:7: spec.support.holidays.lastYear: the public-holiday calendar ends " \
           f"{this_year - 1}-12-31" in result.stderr, result.stderr


def test_no_hand_typed_holiday_list_remains():
    from compiler.models import Settings
    settings = yaml.safe_load((REPO / "clawtex.yaml").read_text())
    assert set(settings["spec"]["support"]["holidays"]) <= {"country", "subdivision", "firstYear", "lastYear"}
    Settings.model_validate(settings)


# ---------------------------------------------------------------- retries

def test_deploy_times_push_backs_off_with_jitter(monkeypatch):
    """A rejected push is retried after growing, jittered pauses (not at once): the pauses are
    recorded at time.sleep, the one place tenacity waits."""
    import time as time_module

    from compiler.business import deploytime, recordbranch
    sleeps: list[float] = []
    monkeypatch.setattr(time_module, "sleep", lambda seconds: sleeps.append(seconds))
    calls = []

    def rejected(remote, branch, apply, message):
        calls.append(1)
        if len(calls) < 5:
            raise recordbranch._PushRejected() from RuntimeError("non-fast-forward")
        return 1
    monkeypatch.setattr(recordbranch, "_push_once", rejected)
    for _ in range(20):
        calls.clear()
        assert deploytime.push_records("unused", [], attempts=5) == 1
    assert len(sleeps) == 20 * 4 and all(s >= 0 for s in sleeps)
    assert len({round(s, 6) for s in sleeps}) > 40            # jitter: not a fixed schedule
    by_attempt = [sleeps[i::4] for i in range(4)]
    caps = [0.2, 0.4, 0.8, 1.6]                              # seconds: the doubling ceilings, by hand
    assert all(max(waits) <= cap for waits, cap in zip(by_attempt, caps))
    assert max(by_attempt[3]) > max(by_attempt[0])           # later retries may wait longer


def test_deploy_times_push_gives_up_after_its_attempts(monkeypatch):
    import time as time_module

    from compiler.business import deploytime, recordbranch
    monkeypatch.setattr(time_module, "sleep", lambda seconds: None)

    def rejected(remote, branch, apply, message):
        raise recordbranch._PushRejected() from RuntimeError("non-fast-forward")
    monkeypatch.setattr(recordbranch, "_push_once", rejected)
    with pytest.raises(RuntimeError, match="after 3 attempts: non-fast-forward"):
        deploytime.push_records("unused", [], attempts=3)
