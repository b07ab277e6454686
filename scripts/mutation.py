#!/usr/bin/env python3
"""Mutation testing of the modules that decide things (issue 28), with mutmut
(PyPI, pinned in pyproject.toml's `mutation` extra).

    python3 scripts/mutation.py [MODULE ...] [--budget SECONDS] [--out DIR] [--jobs N] [--only GLOB ...]

For each module (default: every one in MODULES) it copies the repository into
a scratch directory, writes mutmut's settings there ([tool.mutmut]: the one
source file to mutate and the tests that cover it), runs `mutmut run` under a
time limit (its share of the budget that is left, at most --budget in all,
default 3600 s) on --jobs cores (default 2), and counts the verdicts. A module
cut off by its limit reports what it checked and how many it did not.

It writes DIR/mutation-report.md and DIR/mutation-report.json: killed,
survived, timeout, no tests, not checked and the score (killed / checked)
per module, and the names of the survivors. Survivors known to be equivalent
mutants are listed in EQUIVALENT below with the reason; they count as
survivors in the numbers, and the report marks them.

--tests PATH (repeatable) runs those test files instead of the module's own list.
--only GLOB (repeatable) restricts a module to the mutants whose mutmut name matches
(fnmatch, e.g. 'compiler.gitops.changed.x_batches*'): for a module too large for its time,
the functions that decide things; the report then says so and counts only those.

Not part of .ci/run: the weekly workflow .github/workflows/mutation.yml runs it.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# module -> (source file, the tests that exercise it in-process). mutmut records
# which tests reach which function by tracing the test process, so a module's
# tests should call it in-process (a `python -m compiler.cli` subprocess is not
# traced and kills nothing here).
MODULES: dict[str, tuple[str, list[str]]] = {
    "guard": ("compiler/guard.py", ["tests/test_approvals.py", "tests/test_architecture.py"]),
    "changed": ("compiler/gitops/changed.py", ["tests/test_changed_batches.py", "tests/test_gitops_changed.py",
                                              "tests/test_gitops_fleet_scale.py"]),
    "placement": ("compiler/placement.py", ["tests/test_placement.py"]),
    "plan": ("compiler/plan.py", ["tests/test_plan_by_hand.py", "tests/test_architecture.py", "tests/test_properties.py",
                                  "tests/test_probe_join.py"]),
    "costs": ("compiler/costs.py", ["tests/test_costs.py"]),
    "secrets": ("compiler/secrets.py", ["tests/test_secrets.py"]),
    "validate": ("compiler/validate.py", ["tests/test_validate_by_hand.py", "tests/test_validate.py", "tests/test_properties.py"]),
    "onboard": ("compiler/business/onboard.py", ["tests/test_onboard_by_hand.py", "tests/test_onboard.py",
                                                "tests/test_approvals.py"]),
    "webhook": ("compiler/business/webhook.py", ["tests/test_webhook_by_hand.py", "tests/test_webhook_worker_by_hand.py",
                                                "tests/test_webhook_queue.py",
                                                "tests/test_webhook.py"]),
    "kpis": ("compiler/business/kpis.py", ["tests/test_kpis_by_hand.py", "tests/test_kpis.py"]),
    "deploytime": ("compiler/business/deploytime.py", ["tests/test_deploytime_summary.py", "tests/test_deploytime.py",
                                                     "tests/test_kpis.py"]),
    "sla": ("compiler/business/sla.py", ["tests/test_sla.py"]),
}

# Surviving mutants that cannot be killed because they do not change behaviour,
# by mutmut name, with the reason (reviewed by hand).
EQUIVALENT: dict[str, str] = {
    "compiler.placement.x_place__mutmut_61": (
        "range(1, len(used) + 3) instead of + 2 when numbering a new host: `used` holds len(used) numbers, so "
        "range(1, len(used) + 2) already holds a free one and next() returns the lowest free number either way"),
    **{f"compiler.gitops.changed.x_batches__mutmut_{n}": (
        "the batch size's start value becomes max(1, <= 0) = 1 instead of ceil(stacks / max_jobs): that start is "
        "only a lower bound (any smaller size needs more than max_jobs jobs, since the jobs are at least "
        "stacks / size), and the while loop then raises the size to the same smallest one that fits")
       for n in (26, 28)},
    "compiler.business.deploytime.x__parse__mutmut_1": (
        "tzinfo=None instead of UTC: _parse's results are only validated or subtracted from each other "
        "(hours_to_smoke), and two naive datetimes differ by the same timedelta as two UTC ones"),
    **{f"compiler.business.deploytime.x_{f}__mutmut_{n}": (
        "encoding 'UTF-8' for 'utf-8' is the same codec (names are case-insensitive); encoding None or absent is "
        "the locale's, which is UTF-8 on every machine that runs this (Python 3.7+ coerces the C locale to "
        "UTF-8, PEP 538/540), so no test here can tell them apart")
       for f, n in (("append", 11), ("append", 13), ("append", 28), ("append", 30), ("append", 34),
                    ("load", 10), ("load", 12))},
    "compiler.business.deploytime.x_summarize__mutmut_43": (
        'float("NAN") is float("nan"): the same not-a-number (the spelling is case-insensitive)'),
    "compiler.business.onboard.x_tier_for__mutmut_6": (
        'price_map.get(price_id or "XXXX") instead of or "": without a price id neither "" nor "XXXX" is a key of '
        "billing/stripe-prices.yaml, whose keys are Stripe price ids (price_...), so both find nothing"),
    **{f"compiler.business.webhook.xǁEventQueueǁ{m}": (
        "the SQL text in other letter case only (keywords, table and column names, pragma names and values): "
        "SQLite reads them case-insensitively; the quoted state values, which are case-sensitive, are unchanged")
       for m in ("__init____mutmut_10", "__init____mutmut_11", "_db__mutmut_10", "_db__mutmut_11", "claim__mutmut_4",
                 "claim__mutmut_11", "claim__mutmut_14", "claim__mutmut_15", "claim__mutmut_18", "claim__mutmut_24",
                 "due__mutmut_7", "due__mutmut_8", "due__mutmut_10", "enqueue__mutmut_11", "enqueue__mutmut_12",
                 "enqueue__mutmut_14", "enqueue__mutmut_15", "finish__mutmut_8", "finish__mutmut_9", "get__mutmut_7",
                 "get__mutmut_8", "get__mutmut_10", "get__mutmut_11", "newest_applied__mutmut_7", "requeue__mutmut_7",
                 "requeue__mutmut_10", "requeue__mutmut_11", "retry_later__mutmut_6", "status__mutmut_5",
                 "status__mutmut_6", "status__mutmut_10", "status__mutmut_13", "status__mutmut_14", "status__mutmut_18",
                 "status__mutmut_21", "status__mutmut_22")},
    **{f"compiler.business.webhook.x_{f}__mutmut_{n}": (
        "load_document's display name None instead of the file name: it appears only in the loader's diagnostics, "
        "which _tier/_tier_of drop (they answer None for any file that does not load)")
       for f, n in (("_tier", 17), ("_tier_of", 11))},
    **{f"compiler.business.webhook.x_signing_secret__mutmut_{n}": (
        'os.environ.get(SECRET_ENV, None) / get(SECRET_ENV) instead of get(SECRET_ENV, ""): unset gives None '
        'instead of "", and `not secret` refuses both the same way')
       for n in (10, 12)},
    **{f"compiler.business.webhook.x_signing_secret__mutmut_{n}": (
        'read_text(encoding="UTF-8" or None) instead of "utf-8": the same codec, or the locale\'s, which is UTF-8 '
        "wherever Python 3.7+ runs here (C-locale coercion, PEP 538/540)")
       for n in (4, 7)},
    "compiler.business.webhook.xǁWorkerǁrun_forever__mutmut_1": (
        "the idle poll's default 6 s instead of 5 s: no test can tell one second of an idle wait apart "
        "(an arriving event sets `wake`, which ends the wait at once either way)"),
    "compiler.business.webhook.xǁEventQueueǁ_db__mutmut_7": (
        "a 31 s instead of 30 s wait for SQLite's lock: no test can tell one second of a bound apart"),
    **{f"compiler.validate.x_secret_owner_errors__mutmut_{n}": (
        "the message of the owner's diagnostic becomes None or 'XXXX': that diagnostic is built only to read its "
        "file, line and column for the other customer's message; its own message is never shown")
       for n in (23, 28)},
    "compiler.validate.x_find_secrets_in_text__mutmut_21": (
        "'#' <= match.start() instead of <: no SECRET_PATTERNS match begins with '#', so the comment's '#' is never "
        "at the match's first character"),
    "compiler.validate.x_openclaw_rule_errors__mutmut_36": (
        "rpartition('/') instead of partition('/'): a model is provider/model with exactly one '/' (ModelChoice's "
        "pattern ^[a-z0-9-]+/[A-Za-z0-9._:-]+$), so both split at the same place"),
    **{f"compiler.validate.x_tier_rule_errors__mutmut_{n}": (
        "difflib.get_close_matches without n=1, with n=2, or without cutoff=0.6 (its default): the hint reads close[0], "
        "the best match, which is the same in every case")
       for n in (12, 13, 16)},
    "compiler.validate.x_tier_rule_errors__mutmut_242": (
        "`spec.provider in PLUGINS or True`: a validated customer's provider is Literal[PROVIDER_NAMES], the keys of "
        "PLUGINS (compiler/providers/__init__.py), so the test is always true already"),
    **{f"compiler.validate.x_secrets_in_file__mutmut_{n}": (
        "encoding 'UTF-8' for 'utf-8' (the same codec) or the locale's (UTF-8 on every machine that runs this: "
        "PEP 538/540); see deploytime's same mutants")
       for n in (2, 4, 7)},
    "compiler.validate.x_secrets_in_file__mutmut_11": (
        "the text of a file that cannot be read becomes 'XXXX' instead of '': neither holds anything SECRET_PATTERNS "
        "matches, so both find no secret"),
    **{f"compiler.plan.x__customer_plan__mutmut_{n}": (
        "the default of _customer_plan's ready_path: its only caller, build_plan, always passes the settings' readyPath")
       for n in (1, 2)},
    "compiler.plan.x__dedicated_stack__mutmut_87": (
        "volume_gb=0 dropped from the Wazuh host: HostPlan's default volume_gb is 0"),
    "compiler.plan.x_probe_endpoint__mutmut_29": (
        "rstrip('XX/XX') instead of rstrip('/'): the prefix is /<id>/ and a customer id is lowercase letters, digits "
        "and hyphens (ID_PATTERN), so there is never an 'X' to strip"),
    "compiler.plan.x_build_plan__mutmut_99": (
        "tiers=None passed to _shared_stacks: it never reads that argument (each tenant's CustomerPlan carries its tier)"),
    "compiler.plan.x_backup_targets__mutmut_9": (
        "len(regions) >= 1 instead of > 1: with one region regions[:2] is [regions[0]], the same list as the else branch"),
    **{f"compiler.plan.x_scan_schedule__mutmut_{n}": (
        "split('=') with no limit, limit 2, or rsplit('=', 1): every part of a scan rule is KEY=VALUE with one '=' "
        "(the tier's openvasSchedule must match models.SCAN_RRULE; DEFAULT_SCAN_RRULE does), so all split alike")
       for n in (7, 8, 10)},
    "compiler.validate.x_find_plaintext_secrets__mutmut_16": (
        "return instead of break after a string's first match: walk() recurses, so that return only ends the walk of "
        "this one string, which has nothing left to do after the loop either way"),
    "compiler.validate.x_tier_rule_errors__mutmut_446": (
        "'XX, XX' instead of ', ' joining the tier's allowed release channels in the refusal: there are two channels "
        "(models.ReleaseChannel), so a tier that refuses one allows only the other and the join has one item (a tier "
        "file listing the same channel twice aside)"),
    "compiler.costs.x_stack_cost__mutmut_4": (
        "sum(items) instead of sum(items, ZERO): stack_cost_items always returns the five COST_ITEMS, each a "
        "Decimal, and 0 + Decimal(x) is Decimal(x) exactly, so the sum is the same Decimal"),
}

# What the scratch copy needs besides compiler/ and tests/ (inputs the tests read).
COPY = ["pyproject.toml", ".gitignore", ".ci", "clawtex.yaml", "tiers", "customers", "modules", "generated", "billing", "reference",
        "bench", "scripts", ".github", "docs"]
MUTMUT_VERSION = "3.8.1"
SHOWN = 25


def mutmut_settings(source: str, tests: list[str]) -> str:
    listed = ", ".join(json.dumps(t) for t in tests)
    return f"""
[tool.mutmut]
source_paths = ["compiler"]
only_mutate = [{json.dumps(source)}]
also_copy = [{", ".join(json.dumps(c) for c in COPY if c != "pyproject.toml")}]
pytest_add_cli_args_test_selection = [{listed}]
pytest_add_cli_args = ["-p", "no:randomly", "-p", "no:cacheprovider", "-q", "-x"]
use_git_change_detection = false
"""


def scratch_copy(dest: Path, source: str, tests: list[str]) -> None:
    shutil.copytree(REPO / "compiler", dest / "compiler", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "tests", dest / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    for name in COPY:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    text = (dest / "pyproject.toml").read_text()
    text = re.sub(r"\n\[tool\.mutmut\][^\[]*", "\n", text)
    (dest / "pyproject.toml").write_text(text + mutmut_settings(source, tests))


def verdicts(work: Path) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=work,
                          capture_output=True, text=True, timeout=300)
    out = {}
    for line in done.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name:
            out[name] = status.strip()
    return out


def show(work: Path, mutant: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mutmut", "show", mutant], cwd=work, capture_output=True,
                          text=True, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith(("-", "+", "@@")) and
             not line.startswith(("---", "+++"))]
    return "\n".join(lines[:12])


def module_prefix(source: str) -> str:
    return source.removesuffix(".py").replace("/", ".") + "."


def run_module(name: str, limit: float, jobs: int, only: list[str] | None = None,
               tests_override: list[str] | None = None) -> dict:
    source, tests = MODULES[name]
    tests = tests_override or tests
    only = [g for g in (only or []) if g.startswith(module_prefix(source))]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"clawtex-mutation-{name}-") as tmp:
        work = Path(tmp)
        scratch_copy(work, source, tests)
        env = {**os.environ, "PYTHONHASHSEED": "0", "CI": ""}     # CI="": a missing tool skips its test
        # (it then kills no mutant) instead of failing the baseline run that every mutant needs
        # Its own process group: on the time limit the whole group (mutmut and the workers it
        # forked) is stopped, so no worker outlives the limit or holds the output pipe open.
        proc = subprocess.Popen([sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs), *only], cwd=work,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                start_new_session=True)
        try:
            output, _ = proc.communicate(timeout=max(30.0, limit))
            cut_off = False
        except subprocess.TimeoutExpired:
            cut_off, output = True, ""
            for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 20)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    output, _ = proc.communicate(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    output = ""
        tail = (output or "")[-1500:]
        found = verdicts(work)
        if only:
            found = {k: v for k, v in found.items() if any(fnmatch.fnmatch(k, g) for g in only)}
        # `mutmut show` takes seconds each: the first SHOWN survivors get their diff in the report
        diffs = {k: show(work, k) for k in sorted(k for k, v in found.items() if v in ("survived", "no tests"))[:SHOWN]}
    counts: dict[str, int] = {}
    for status in found.values():
        counts[status] = counts.get(status, 0) + 1
    killed = counts.get("killed", 0) + counts.get("caught by type check", 0)
    survived = counts.get("survived", 0)
    timeout = counts.get("timeout", 0)
    # A mutant no selected test reaches is a survivor too: nothing would notice it.
    checked = (killed + survived + timeout + counts.get("no tests", 0) + counts.get("suspicious", 0)
               + counts.get("segfault", 0))
    survivors = sorted(k for k, v in found.items() if v in ("survived", "no tests"))
    return {
        "module": name, "source": source, "tests": tests, "only": only, "seconds": round(time.monotonic() - started, 1),
        "limit_seconds": round(limit), "cut_off": cut_off, "total": len(found),
        "killed": killed, "survived": survived, "timeout": timeout, "no_tests": counts.get("no tests", 0),
        "not_checked": counts.get("not checked", 0), "other": {k: v for k, v in counts.items() if k not in (
            "killed", "caught by type check", "survived", "timeout", "no tests", "not checked")},
        # timeouts count as killed (the mutant made the tests hang), as mutmut's own score does
        "score": round(100.0 * (killed + timeout) / checked, 1) if checked else None,
        "survivors": [{"name": s, "status": found[s], "equivalent": EQUIVALENT.get(s), "diff": diffs.get(s, "")}
                      for s in survivors],
        "log_tail": tail if (cut_off or not found or counts.get("not checked")) else "",
    }


def markdown(results: list[dict], budget: float, jobs: int) -> str:
    lines = [f"# Mutation report (mutmut {MUTMUT_VERSION}, {jobs} cores, budget {budget:.0f} s)", "",
             "| module | mutants | killed | survived | timeout | no tests | not checked | score % | time s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['module']}{' (restricted)' if r.get('only') else ''} | {r['total']} | {r['killed']} | {r['survived']} | {r['timeout']} | "
                     f"{r['no_tests']} | {r['not_checked']}{' (cut off)' if r['cut_off'] else ''} | "
                     f"{r['score'] if r['score'] is not None else '-'} | {r['seconds']} |")
    lines += ["", "score = (killed + timeout) / (every mutant checked, 'no tests' included). Goal (issue 28): >= 85 % per module; each survivor is "
              "killed by a test or listed as equivalent with the reason (scripts/mutation.py EQUIVALENT).", ""]
    for r in results:
        if r.get("only"):
            lines.append(f"- {r['module']}: restricted to the mutants matching {', '.join(f'`{g}`' for g in r['only'])}")
        lines.append(f"- {r['module']}: tests {', '.join(r['tests'])}")
    lines.append("")
    for r in results:
        if r["survivors"]:
            lines.append(f"## {r['module']}: survivors ({r['source']})")
            for s in r["survivors"]:
                lines.append(f"- `{s['name']}` ({s['status']})"
                             + (f" - equivalent: {s['equivalent']}" if s["equivalent"] else ""))
                if s["diff"]:
                    lines += ["  ```diff"] + [f"  {d}" for d in s["diff"].splitlines()] + ["  ```"]
            lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", help=f"default: all ({', '.join(MODULES)})")
    ap.add_argument("--budget", type=float, default=3600.0, help="seconds for all modules together")
    ap.add_argument("--out", default="mutation-report", help="directory for the report")
    ap.add_argument("--jobs", type=int, default=2, help="mutants tested in parallel")
    ap.add_argument("--tests", action="append", default=[], metavar="PATH",
                    help="run these test files instead of the module's (e.g. its fast in-process ones)")
    ap.add_argument("--only", action="append", default=[], metavar="GLOB",
                    help="only the mutants whose name matches (fnmatch), for the module the glob names")
    args = ap.parse_args(argv)
    chosen = args.modules or list(MODULES)
    unknown = [m for m in chosen if m not in MODULES]
    if unknown:
        ap.error(f"unknown module(s) {unknown}; known: {', '.join(MODULES)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget
    results = []
    for i, name in enumerate(chosen):
        left = deadline - time.monotonic()
        limit = left / (len(chosen) - i)
        print(f"mutation: {name} ({MODULES[name][0]}), at most {limit:.0f} s ...", file=sys.stderr, flush=True)
        result = run_module(name, limit, args.jobs, args.only, args.tests)
        results.append(result)
        print(f"mutation: {name}: {result['killed']} killed, {result['survived']} survived, {result['timeout']} "
              f"timeout, {result['no_tests']} no tests, {result['not_checked']} not checked"
              f"{' (cut off)' if result['cut_off'] else ''}; score {result['score']} % in {result['seconds']} s",
              file=sys.stderr, flush=True)
        (out / "mutation-report.json").write_text(json.dumps(results, indent=2) + "\n")
        (out / "mutation-report.md").write_text(markdown(results, args.budget, args.jobs))
    print(markdown(results, args.budget, args.jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
