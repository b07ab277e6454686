"""Issue 24 item 3: "Gold and Platinum reports show the last drill". The customer report, run as
the reports workflow runs it (`--drills` on the dr-drills branch's records), shows the last drill's
RPO and RTO for Gold; a Silver report has no drill section; a Gold customer never drilled is told
so plainly. Was (before 2026-12-04): reports.yml never passed `--drills`, and the security
section's drill line read a field nothing filled, so every Gold/Platinum report said "No
disaster-recovery drill result is recorded" even beside a drill. Expected words by hand."""
from __future__ import annotations

import json
import subprocess

from conftest import REPO
from http_stub import serve
from test_report_truth import Healthy, _report, _text

# A record as `clawtex dr-drill` writes it (compiler/business/drill.py run_drill's keys), by hand.
RECORD = {"customer": "acme-logistics", "tier": "gold", "host": "acme-logistics-oc-1", "snapshot": "ab" * 32,
          "snapshot_time": "2026-10-30T02:00:00Z", "drill_at": "2026-10-30T02:30:00Z", "rpo_seconds": 1800.0,
          "rpo_promise_seconds": 3600, "rpo_met": True, "rto_seconds": 114.6, "rto_promise_seconds": None,
          "healthy": True, "databases": ["tracker"]}


def _records(tmp_path):
    d = tmp_path / "dr-drills"
    d.mkdir()
    (d / "acme-logistics.json").write_text(json.dumps(RECORD))
    return d


def test_a_gold_report_shows_the_last_drill(tmp_path):
    drills = _records(tmp_path)
    with serve(Healthy) as url:
        rc, html = _report(["acme-logistics", "--period", "2026-10", "--prometheus", url, "--drills", str(drills)], tmp_path)
    assert rc == 0
    text = _text(html)
    assert "Last disaster-recovery drill" in text
    assert "Data at risk (RPO) 30.0 min promised at most 60 min" in text       # 1800 s of a 3600 s promise
    assert "Restore to healthy (RTO) 1.9 min no restore time is promised by the tier" in text    # 114.6 s
    assert "Last drill: 2026-10-30T02:30:00Z, snapshot of 2026-10-30T02:00:00Z restored, gateway healthy in 1.9 min." in text
    assert "No disaster-recovery drill result is recorded" not in text


def test_a_gold_customer_never_drilled_is_told_so_and_silver_has_no_drill(tmp_path):
    drills = tmp_path / "empty"
    drills.mkdir()
    with serve(Healthy) as url:
        rc, html = _report(["acme-logistics", "--period", "2026-10", "--prometheus", url, "--drills", str(drills)], tmp_path)
        assert rc == 0
        text = _text(html)
        assert "No disaster-recovery drill is recorded for this customer yet" in text
        assert "No disaster-recovery drill result is recorded for this period." in text
        assert "Data at risk (RPO)" not in text
        rc, html = _report(["mapleleaf-dental", "--period", "2026-10", "--prometheus", url, "--drills", str(_records(tmp_path))],
                           tmp_path)
    assert rc == 0 and "disaster-recovery drill" not in _text(html).lower()


def test_the_reports_workflow_hands_the_drill_records_to_every_report(tmp_path):
    """reports.yml's own step, run by bash in a clone whose origin has a dr-drills branch."""
    from ruamel.yaml import YAML
    wf = YAML(typ="safe", pure=True).load((REPO / ".github/workflows/reports.yml").read_text())
    steps = {s.get("name"): s for s in wf["jobs"]["reports"]["steps"]}
    fetch = steps["DR drill records (Gold and Platinum reports show the last drill)"]["run"]
    render = steps["Render the reports (PDF by headless Chrome)"]["run"]
    assert "--drills dr-drills" in next(line for line in render.splitlines() if "clawtex customer-report" in line)
    git = lambda *a, cwd: subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *a], cwd=cwd, check=True,
                                         capture_output=True, text=True)
    origin, clone = tmp_path / "origin", tmp_path / "clone"
    origin.mkdir()
    git("init", "-q", "-b", "main", cwd=origin)
    git("commit", "-q", "--allow-empty", "-m", "main", cwd=origin)
    git("checkout", "-q", "--orphan", "dr-drills", cwd=origin)
    (origin / "acme-logistics.json").write_text(json.dumps(RECORD))
    git("add", "acme-logistics.json", cwd=origin)
    git("commit", "-q", "-m", "drill", cwd=origin)
    git("checkout", "-q", "main", cwd=origin)
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    r = subprocess.run(["bash", "-e", "-c", fetch], cwd=clone, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads((clone / "dr-drills" / "acme-logistics.json").read_text()) == RECORD
    # Without the branch: an empty directory and a warning, not a failure.
    git("branch", "-q", "-D", "-r", "origin/dr-drills", cwd=clone)
    (clone / "dr-drills" / "acme-logistics.json").unlink()
    r = subprocess.run(["bash", "-e", "-c", fetch], cwd=clone, capture_output=True, text=True)
    assert r.returncode == 0 and "::warning::no dr-drills branch" in r.stdout and not list((clone / "dr-drills").iterdir())


def test_the_kpi_page_shows_each_gold_and_platinum_customers_last_drill(tmp_path, capsys):
    """The KPI page reads the same records (drill.py says so; it did not read them before 2026-12-04)."""
    from compiler.cli import main
    drills = _records(tmp_path)
    assert main(["--root", str(REPO), "report", "--kpis", "--period", "2026-10", "--drills", str(drills)]) == 0
    rows = json.loads(capsys.readouterr().out)["drills"]
    # By hand: the active Gold and Platinum customers of customers/ (acme-logistics and helios-energy
    # Gold, orbital-health Platinum); only acme-logistics has a record.
    assert rows == [
        {"customer": "acme-logistics", "tier": "gold", "drillAt": "2026-10-30T02:30:00Z", "rpoSeconds": 1800.0,
         "rpoPromiseSeconds": 3600, "rpoMet": True, "rtoSeconds": 114.6},
        {"customer": "helios-energy", "tier": "gold", "drillAt": None},
        {"customer": "orbital-health", "tier": "platinum", "drillAt": None}]
    out = tmp_path / "kpis.html"
    assert main(["--root", str(REPO), "report", "--html", "--period", "2026-10", "--drills", str(drills), "--out", str(out)]) == 0
    text = _text(out.read_text())
    assert "acme-logistics gold 2026-10-30T02:30:00Z 30.0 min 60 min 1.9 min" in text
    assert "helios-energy gold no drill recorded" in text and "orbital-health platinum no drill recorded" in text


# ------------------------------------------------------------ a failed last attempt (issue 24 gap)
# By hand: the drill of 2026-10-31 failed at the restore; the last successful one is RECORD's (10-30).
FAILED = {**RECORD, "drill_at": "2026-10-31T03:17:00Z", "snapshot_time": "2026-10-31T03:00:00Z", "rpo_seconds": 1020.0,
          "rpo_met": None, "rto_seconds": None, "healthy": False, "failed_step": "restore",
          "reason": "restic restore failed (1): Fatal: <unable> to open s3:https://***@s3.example.com/acme"}
FAILED_LINE = ("Last drill FAILED on 2026-10-31T03:17:00Z at restore (restoring the latest backup): restic restore failed "
               "(1): Fatal: <unable> to open s3:https://***@s3.example.com/acme; last successful drill: 2026-10-30T02:30:00Z.")


def _failed_records(tmp_path, *lines):
    from compiler.business import drill
    d = tmp_path / "dr-drills"
    for line in lines:
        drill.write_record(d, line)
    return d


def test_a_gold_report_shows_a_failed_last_drill_plainly(tmp_path):
    """Was: the failure left no record, and when one is there the report showed its RPO as a result
    and 'gateway healthy' (the template read any record as a success)."""
    drills = _failed_records(tmp_path, RECORD, FAILED)
    with serve(Healthy) as url:
        rc, html = _report(["acme-logistics", "--period", "2026-10", "--prometheus", url, "--drills", str(drills)], tmp_path)
    assert rc == 0
    text = _text(html)
    assert text.count(FAILED_LINE) == 2, text          # the backups section and the drill section
    assert "&lt;unable&gt;" in html                     # the reason is escaped
    for word in ("Data at risk (RPO)", "Restore to healthy (RTO)", "gateway healthy", "17.0 min"):
        assert word not in text, word


def test_a_report_whose_customer_never_had_a_successful_drill_says_never(tmp_path):
    drills = _failed_records(tmp_path, {**FAILED, "failed_step": "converge", "snapshot": None, "snapshot_time": None,
                                        "rpo_seconds": None, "reason": "the converge phase did not finish"})
    with serve(Healthy) as url:
        rc, html = _report(["acme-logistics", "--period", "2026-10", "--prometheus", url, "--drills", str(drills)], tmp_path)
    assert rc == 0
    assert ("Last drill FAILED on 2026-10-31T03:17:00Z at converge (configuring the scratch server): the converge phase did "
            "not finish; last successful drill: never.") in _text(html)


def test_the_kpi_page_shows_a_failed_last_drill_not_its_rpo(tmp_path, capsys):
    from compiler.cli import main
    drills = _failed_records(tmp_path, RECORD, FAILED)
    assert main(["--root", str(REPO), "report", "--kpis", "--period", "2026-10", "--drills", str(drills)]) == 0
    rows = json.loads(capsys.readouterr().out)["drills"]
    assert rows[0] == {"customer": "acme-logistics", "tier": "gold", "drillAt": "2026-10-31T03:17:00Z", "healthy": False,
                       "failedStep": "restore", "failedStepText": "restoring the latest backup", "reason": FAILED["reason"],
                       "lastSuccessAt": "2026-10-30T02:30:00Z"}
    out = tmp_path / "kpis.html"
    assert main(["--root", str(REPO), "report", "--html", "--period", "2026-10", "--drills", str(drills), "--out", str(out)]) == 0
    text = _text(out.read_text())
    assert ("acme-logistics gold 2026-10-31T03:17:00Z FAILED at restore (restoring the latest backup): restic restore failed "
            "(1): Fatal: <unable> to open s3:https://***@s3.example.com/acme; last successful drill: 2026-10-30T02:30:00Z") in text
    assert "17.0 min" not in text and "helios-energy gold no drill recorded" in text

