"""Deployment time: records on a real bare git remote, and the per-tier report on a recorded history."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import git
import pytest

from compiler.business import deploytime
from compiler.business.deploytime import Record
from conftest import REPO, run_clawtex

# A recorded history (hours after the event in the comments; expected values worked out by hand).
HISTORY = {
    "b-one": ("bronze", {"event_received": "2026-11-02T09:00:00Z", "pr_opened": "2026-11-02T09:00:40Z",
                         "merged": "2026-11-02T09:06:00Z", "apply_finished": "2026-11-02T09:30:00Z",
                         "smoke_passed": "2026-11-02T09:45:00Z", "welcome_sent": "2026-11-02T09:45:30Z"}),  # 0.75 h
    "b-two": ("bronze", {"event_received": "2026-11-03T10:00:00Z", "smoke_passed": "2026-11-03T11:30:00Z"}),  # 1.5 h
    "b-slow": ("bronze", {"event_received": "2026-11-04T08:00:00Z", "smoke_passed": "2026-11-04T11:00:00Z"}),  # 3 h > 2
    "b-open": ("bronze", {"event_received": "2026-11-05T08:00:00Z", "pr_opened": "2026-11-05T08:01:00Z"}),
    "s-one": ("silver", {"event_received": "2026-11-06T08:00:00Z", "smoke_passed": "2026-11-06T10:00:00Z"}),  # 2 h
    "g-one": ("gold", {"event_received": "2026-11-07T08:00:00Z", "smoke_passed": "2026-11-08T14:00:00Z"}),  # 30 h > 24
}


def _write_history(directory: Path) -> None:
    for customer, (tier, steps) in HISTORY.items():
        for step, at in steps.items():
            assert deploytime.append(directory, Record(customer, tier, step, at, "evt_x", "test"))


def test_summary_per_tier_on_a_recorded_history(tmp_path):
    _write_history(tmp_path)
    rows = {r.tier: r for r in deploytime.summarize(deploytime.load(tmp_path),
                                                    {"bronze": 2, "silver": 4, "gold": 24, "platinum": 336})}
    assert (rows["bronze"].done, rows["bronze"].median_hours, rows["bronze"].worst_hours) == (3, 1.5, 3.0)
    assert rows["bronze"].over_target == [("b-slow", 3.0)] and rows["bronze"].pending == ["b-open"]
    assert (rows["silver"].median_hours, rows["silver"].over_target) == (2.0, [])
    assert rows["gold"].over_target == [("g-one", 30.0)]


def test_report_cli_reads_tier_targets_from_tiers(tmp_path):
    _write_history(tmp_path / "times")
    out = run_clawtex(REPO, "report", "--deploy-times", str(tmp_path / "times"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    bronze = next(line for line in lines if line.startswith("bronze"))
    assert bronze.split()[:8] == ["bronze", "2", "h", "3", "1.5", "h", "3.0", "h"]
    assert "b-slow (3.0 h)" in bronze
    assert "g-one (30.0 h)" in next(line for line in lines if line.startswith("gold"))
    assert "still onboarding (no smoke pass recorded): b-open" in out.stdout


def test_a_step_is_recorded_once(tmp_path):
    rec = Record("c", "bronze", "merged", "2026-11-02T09:06:00Z")
    assert deploytime.append(tmp_path, rec)
    assert not deploytime.append(tmp_path, Record("c", "bronze", "merged", "2026-11-02T10:00:00Z"))
    assert deploytime.load(tmp_path)["c"]["merged"].at == "2026-11-02T09:06:00Z"
    with pytest.raises(ValueError, match="unknown step"):
        deploytime.append(tmp_path, Record("c", "bronze", "deployed", "2026-11-02T09:06:00Z"))


def test_records_reach_the_remote_branch_from_concurrent_writers(tmp_path):
    """Writers on different machines push to one bare remote; none is lost (rejected pushes retry)."""
    origin = tmp_path / "origin.git"
    git.Repo.init(origin, bare=True, initial_branch="main")
    steps = deploytime.STEPS
    errors: list[Exception] = []

    def writer(i: int) -> None:
        try:
            deploytime.push_records(str(origin), [Record(f"cust-{i % 2}", "bronze", steps[i], f"2026-11-02T09:0{i}:00Z",
                                                         "evt_x", f"writer-{i}")], attempts=10)
        except Exception as exc:     # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(steps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    checkout = tmp_path / "checkout"
    git.Repo.clone_from(str(origin), checkout, branch=deploytime.RECORD_BRANCH)
    loaded = deploytime.load(checkout)
    assert sorted(loaded) == ["cust-0", "cust-1"]
    assert sum(len(s) for s in loaded.values()) == len(steps)
    line = (checkout / "cust-0.jsonl").read_text().splitlines()[0]
    assert list(json.loads(line)) == ["at", "customer", "event", "source", "step", "tier"]
    # Recording the same step again pushes nothing new.
    assert deploytime.push_records(str(origin), [Record("cust-0", "bronze", "event_received", "2026-11-02T10:00:00Z")]) == 0


# ---------------------------------------------------------------- one list of steps
# The steps as the record format documents them (compiler/business/deploytime.py docstring), written here.
DOCUMENTED_STEPS = ("event_received", "pr_opened", "merged", "apply_finished", "smoke_passed", "welcome_sent", "failed")
DISTINCT = {"event_received", "pr_opened", "apply_finished", "smoke_passed", "welcome_sent"}   # not ordinary words


def step_literals(source: str, filename: str) -> list[str]:
    """Where `source` spells the steps itself: a literal holding two or more step names, or a
    distinctive step name as a string of its own."""
    import ast
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            names = [e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in DOCUMENTED_STEPS]
            if len(names) >= 2:
                found.append(f"{filename}:{node.lineno}: a list of steps {names}")
        elif isinstance(node, ast.Constant) and node.value in DISTINCT:
            found.append(f"{filename}:{node.lineno}: step {node.value!r} spelled out")
    return sorted(set(found))


def test_the_steps_are_written_in_one_place():
    from compiler.business import steps
    assert steps.STEPS == DOCUMENTED_STEPS
    found = [hit for path in sorted((REPO / "compiler").rglob("*.py")) if path.name != "steps.py" or path.parent.name != "business"
             for hit in step_literals(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())]
    assert not found, "\n".join(found)


def test_the_step_check_can_fail():
    cli_before = ('dt.add_argument("step", choices=("event_received", "pr_opened", "merged"), help="x")\n'
                  'self.record([rec("event_received", 1), rec("pr_opened", 2)])\n'
                  'ok = "smoke_passed" not in steps\n')
    assert {hit.split(":")[1] for hit in step_literals(cli_before, "cli.py")} == {"1", "2", "3"}


def test_the_command_line_offers_exactly_the_record_steps():
    from compiler.business import steps
    from compiler.cli import parser
    sub = next(a for a in parser()._actions if a.dest == "command")      # argparse has no public accessor
    (step,) = [a for a in sub.choices["deploytime"]._actions if a.dest == "step"]
    assert step.choices is steps.STEPS and deploytime.STEPS is steps.STEPS


def test_the_workflows_record_only_known_steps():
    import re
    used = [m.group(1) for p in sorted((REPO / ".github" / "workflows").glob("*.yml"))
            for m in re.finditer(r"clawtex deploytime (\S+)", p.read_text(encoding="utf-8"))]
    assert len(used) >= 5 and set(used) <= set(DOCUMENTED_STEPS), used
