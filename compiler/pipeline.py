"""The whole compile, stage by stage: load -> validate -> plan -> render -> write."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable

from .cache import Cache
from .gitops.decommission import check_decommissions
from .plan import WAZUH_BLOCKS_FILE, FleetPlan, build_plan
from .targets import render_all
from .validate import Inputs, validate_repo
from .write import GENERATED


def previous_lock(root: Path, relative: str) -> dict:
    """A committed allocation file from the last compile (placement, rule-id blocks)."""
    path = root / GENERATED / relative
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}  # a damaged lock file only loses stickiness; allocation stays deterministic
    return data if isinstance(data, dict) else {}


def previous_placement(root: Path) -> dict:
    return previous_lock(root, "placement.json")


def load_inputs(root: Path, files: Iterable[Path] | None = None, use_cache: bool = True) -> Inputs:
    inputs = validate_repo(root, files, use_cache=use_cache)
    return replace(inputs, previous_placement=previous_placement(root),
                   previous_wazuh_blocks=previous_lock(root, WAZUH_BLOCKS_FILE).get("blocks", {}))


def plan_repo(root: Path, use_cache: bool = True) -> FleetPlan:
    inputs = load_inputs(root, use_cache=use_cache)
    plan = build_plan(inputs)
    check_decommissions(root, inputs, plan)     # never drop a live customer's stack silently
    return plan


def compile_repo(root: Path, only: list[str] | None = None, use_cache: bool = True,
                 on_target: Callable[[str], None] | None = None) -> dict[str, bytes]:
    cache = Cache(root, "render", enabled=use_cache)
    return render_all(plan_repo(root, use_cache), only, on_target, cache)
