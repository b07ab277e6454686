"""The whole compile, stage by stage:

    load (validate_repo + previous.read_previous) -> validate -> plan (pure)
      -> guard (decommission) -> render (targets/*) -> guard (stateful: replace/shrink)
      -> write (by the caller)

Core: nothing here imports compiler.gitops or compiler.business (tests/test_architecture.py)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable

from .cache import Cache
from .guard import check_decommissions
from .stateful_guard import check_replacements
from .plan import FleetPlan, build_plan
from .previous import INVENTORY_FILE, read_previous, remember_inventory
from .replacement import load_facts
from .targets import ansible, render_all
from .validate import Inputs, validate_repo


def load_inputs(root: Path, files: Iterable[Path] | None = None, use_cache: bool = True) -> Inputs:
    """Stages 1-2: the repository's files, validated, plus what the last compile committed."""
    inputs = validate_repo(root, files, use_cache=use_cache)
    return replace(inputs, previous=read_previous(root, use_cache=use_cache), replacement_facts=load_facts(root))


def plan_repo(root: Path, use_cache: bool = True) -> FleetPlan:
    inputs = load_inputs(root, use_cache=use_cache)
    plan = build_plan(inputs)
    check_decommissions(inputs, plan)     # never drop a live customer's stack silently
    return plan


def compile_repo(root: Path, only: list[str] | None = None, use_cache: bool = True,
                 on_target: Callable[[str], None] | None = None) -> dict[str, bytes]:
    cache = Cache(root, "render", enabled=use_cache)
    inputs = load_inputs(root, use_cache=use_cache)
    plan = build_plan(inputs)
    check_decommissions(inputs, plan)
    files = render_all(plan, only, on_target, cache)
    if use_cache and INVENTORY_FILE in files:
        # the next compile reads these bytes back (previous.py): their seats, without parsing them
        remember_inventory(root, files[INVENTORY_FILE], lambda: ansible.inventory(plan))
    check_replacements(inputs, plan, files)    # never replace or shrink stateful resources silently
    return files
