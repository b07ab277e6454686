"""The GitHub workflows (.github/workflows/{pr,apply,drift}.yml), checked by the
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
from compiler.gitops.changed import ENV_DEFAULT, ENV_PROTECTED

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
    assert [p.name for p in FILES] == ["apply.yml", "drift.yml", "pr.yml"]


def test_check_jsonschema_accepts_the_workflows():
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing():
    result = subprocess.run([tool("actionlint"), "-no-color", *map(str, FILES)], capture_output=True, text=True, cwd=REPO)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr


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
                                                                          "pr-summary", "deploytime", "welcome"}


def test_apply_matrix_comes_from_changed_and_is_isolated_per_stack():
    workflow = load(WORKFLOWS / "apply.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    job = workflow["jobs"]["stack"]
    assert job["strategy"]["fail-fast"] is False and 1 <= job["strategy"]["max-parallel"] <= 8
    assert job["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert job["concurrency"] == {"group": "apply-stack-${{ matrix.stack }}", "cancel-in-progress": False}
    assert job["environment"] == "${{ matrix.environment }}"
    header = (WORKFLOWS / "apply.yml").read_text().split("\nname:")[0]
    assert f"`{ENV_PROTECTED}`" in header and f"`{ENV_DEFAULT}`" in header, "environments documented"
    names = [s.get("name", s.get("uses", "")) for s in job["steps"]]
    backup = names.index("Final backup of departing customers")
    assert backup < min(names.index("terraform destroy"), names.index("terraform apply"),
                        names.index("Ansible (this stack's hosts only)"))
    assert job["steps"][backup]["if"].startswith("matrix.removed != ''")
    assert names.index("Refuse a stale apply") < names.index("terraform apply")
    failure = job["steps"][-1]
    assert failure["if"] == "failure()" and "gh issue create" in failure["run"]
    plan_run = "\n".join(s.get("run", "") for s in workflow["jobs"]["plan"]["steps"])
    assert "clawtex changed" in plan_run and "--json" in plan_run and "clawtex check-removals" in plan_run


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
