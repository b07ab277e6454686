"""The whole compile, stage by stage: load -> validate -> plan -> render -> write."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Iterable

from .gitops.decommission import check_decommissions
from .plan import FleetPlan, build_plan
from .targets import render_all
from .validate import Inputs, validate_repo
from .write import GENERATED


def previous_placement(root: Path) -> dict:
    path = root / GENERATED / "placement.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}  # a damaged lock file only loses stickiness; placement stays deterministic
    return data if isinstance(data, dict) else {}


def load_inputs(root: Path, files: Iterable[Path] | None = None) -> Inputs:
    inputs = validate_repo(root, files)
    return replace(inputs, previous_placement=previous_placement(root))


def plan_repo(root: Path) -> FleetPlan:
    inputs = load_inputs(root)
    plan = build_plan(inputs)
    check_decommissions(root, inputs, plan)     # never drop a live customer's stack silently
    return plan


def compile_repo(root: Path, only: list[str] | None = None) -> dict[str, bytes]:
    return render_all(plan_repo(root), only)
