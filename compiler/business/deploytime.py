"""Deployment time, measured: when each onboarding step happened, per customer.

Record format (read by `clawtex report` and anything else that wants it):

- Where: the branch `deploy-times` of the fleet repository (an orphan branch,
  nothing else on it), one file per customer, `<customer id>.jsonl`.
- Each line is one JSON object, keys sorted:
  `{"at": "2026-11-26T14:03:00Z", "customer": "lumen-studio", "event": "evt_…",
    "source": "webhook", "step": "event_received", "tier": "silver"}`
  `at` is UTC, ISO 8601 with a trailing Z, to the second. `step` is one of
  STEPS (compiler/business/steps.py), in the order they happen: event_received (the Stripe event reached
  the webhook), pr_opened, merged, apply_finished, smoke_passed,
  welcome_sent; `failed` is recorded instead of the later steps when a stack of
  the customer did not apply or did not pass its smoke test (apply.yml's welcome
  job): the onboarding stopped and ops were told (the failed stack's issue).
  `event` is the Stripe event that started the onboarding.
- Lines are only appended; the first line for a (customer, step) wins, so a
  re-run job that records a step again changes nothing.

Why it survives lost runners: every step is committed and pushed to the
remote branch by the machine that saw it happen, right when it happens
(`push_records`, retried on a concurrent push by re-fetching and re-applying;
appends never conflict because the lines are keyed and deduplicated). A
runner that dies loses only the steps it had not reached yet; those show as
pending in the report rather than silently vanishing, and a re-run records
them. Nothing lives only on a runner's disk or in a job's logs.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from . import recordbranch
from .steps import EVENT_RECEIVED, FAILED, SMOKE_PASSED, STEPS  # noqa: F401  (STEPS: this module's record format)

RECORD_BRANCH = "deploy-times"


@dataclass(frozen=True)
class Record:
    customer: str
    tier: str
    step: str
    at: str            # 2026-11-26T14:03:00Z
    event: str = ""
    source: str = ""

    def line(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True, separators=(", ", ": "))


def utc(ts: float | datetime | None = None) -> str:
    if ts is None:
        moment = datetime.now(timezone.utc)
    elif isinstance(ts, datetime):
        moment = ts.astimezone(timezone.utc)
    else:
        moment = datetime.fromtimestamp(ts, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(at: str) -> datetime:
    return datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def append(directory: Path, record: Record) -> bool:
    """Append to <directory>/<customer>.jsonl unless the step is already there; True if written."""
    if record.step not in STEPS:
        raise ValueError(f"unknown step {record.step!r} (steps: {', '.join(STEPS)})")
    _parse(record.at)
    path = directory / f"{record.customer}.jsonl"
    existing = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    if any(json.loads(line).get("step") == record.step for line in existing if line.strip()):
        return False
    directory.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(record.line() + "\n")
    return True


def load(directory: Path) -> dict[str, dict[str, Record]]:
    """customer -> step -> first record of that step."""
    out: dict[str, dict[str, Record]] = {}
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = Record(**json.loads(line))
                _parse(record.at)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a deployment-time record ({exc})") from None
            out.setdefault(record.customer, {}).setdefault(record.step, record)
    return out


def push_records(remote: str, records: Iterable[Record], attempts: int = 5, branch: str = RECORD_BRANCH,
                 wait: Any = None) -> int:
    """Commit the records to `branch` of `remote` and push; on a rejected push (someone
    else pushed first) fetch again and re-apply (compiler/business/recordbranch.py). Returns how
    many lines were new."""
    records = list(records)
    names = ", ".join(sorted({f"{r.customer} {r.step}" for r in records}))
    return recordbranch.push(remote, branch, lambda checkout: sum(append(checkout, r) for r in records),
                             f"deploy-times: {names}", attempts=attempts, wait=wait, what="deployment-time records")


# ---------------------------------------------------------------- report


@dataclass(frozen=True)
class TierTimes:
    tier: str
    target_hours: float
    done: int
    median_hours: float | None
    worst_hours: float | None
    over_target: list[tuple[str, float]]       # (customer, hours)
    pending: list[str]                         # received but no smoke pass yet (and not failed)
    failed: tuple[str, ...] = ()               # a stack failed to apply or its smoke test, no smoke pass


def hours_to_smoke(steps: dict[str, Record]) -> float | None:
    if EVENT_RECEIVED not in steps or SMOKE_PASSED not in steps:
        return None
    return (_parse(steps[SMOKE_PASSED].at) - _parse(steps[EVENT_RECEIVED].at)).total_seconds() / 3600


def summarize(records: dict[str, dict[str, Record]], targets: dict[str, float]) -> list[TierTimes]:
    """Per tier: event received -> smoke test passed, against the tier's deployment.targetHours."""
    by_tier: dict[str, list[tuple[str, float | None]]] = {}
    failed: set[str] = set()
    for customer, steps in sorted(records.items()):
        tier = next(iter(steps.values())).tier
        by_tier.setdefault(tier, []).append((customer, hours_to_smoke(steps)))
        if FAILED in steps and SMOKE_PASSED not in steps:
            failed.add(customer)
    rows = []
    for tier in sorted(by_tier, key=lambda t: (list(targets).index(t) if t in targets else len(targets), t)):
        done = [(c, h) for c, h in by_tier[tier] if h is not None]
        hours = [h for _, h in done]
        target = targets.get(tier, float("nan"))
        rows.append(TierTimes(tier, target, len(done), statistics.median(hours) if hours else None,
                              max(hours) if hours else None,
                              sorted([(c, h) for c, h in done if h > target], key=lambda x: -x[1]),
                              [c for c, h in by_tier[tier] if h is None and c not in failed],
                              tuple(c for c, _ in by_tier[tier] if c in failed)))
    return rows


def _h(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} h"


def render_text(rows: list[TierTimes]) -> str:
    lines = ["Deployment time (Stripe event received -> smoke test passed)",
             f"{'tier':<10} {'target':>8} {'done':>5} {'median':>9} {'worst':>9}  over target"]
    for r in rows:
        over = ", ".join(f"{c} ({h:.1f} h)" for c, h in r.over_target) or "-"
        lines.append(f"{r.tier:<10} {r.target_hours:>6g} h {r.done:>5} {_h(r.median_hours):>9} {_h(r.worst_hours):>9}  {over}")
    failed = [c for r in rows for c in r.failed]
    if failed:
        lines.append(f"failed (a stack did not apply or pass its smoke test; ops have an issue): {', '.join(failed)}")
    pending = [c for r in rows for c in r.pending]
    if pending:
        lines.append(f"still onboarding (no smoke pass recorded): {', '.join(pending)}")
    return "\n".join(lines) + "\n"
