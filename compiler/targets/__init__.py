"""Stage 4: one module per target. Each exposes `render(plan) -> {path: bytes}`,
paths relative to generated/. Targets read the plan only and never import
each other."""
from __future__ import annotations

from typing import Callable

from ..cache import Cache, Pack
from ..incremental import Memo, memoizing
from ..plan import FleetPlan
from . import alertmanager, ansible, grafana, openclaw, openvas, placement_record, prometheus, schemas, terraform, wazuh

Renderer = Callable[[FleetPlan], dict[str, bytes]]

TARGETS: dict[str, Renderer] = {
    "schemas": schemas.render,
    "placement": placement_record.render,
    "terraform": terraform.render,
    "ansible": ansible.render,
    "openclaw": openclaw.render,
    "prometheus": prometheus.render,
    "alertmanager": alertmanager.render,
    "grafana": grafana.render,
    "wazuh": wazuh.render,
    "openvas": openvas.render,
}


# Targets that can render part of their output (Terraform: one stack) expose
# units(plan) -> {unit: fingerprint} and render_units(plan, [unit]) -> {unit: files};
# with a cache,
# only units whose fingerprint changed are rendered again.
PARTIAL = {"terraform": terraform}


def render_all(plan: FleetPlan, only: list[str] | None = None,
               on_target: Callable[[str], None] | None = None, cache: Cache | None = None) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, render in TARGETS.items():
        if only and name not in only:
            continue
        if on_target:
            on_target(name)
        if cache and name in PARTIAL:
            output = _render_reusing(PARTIAL[name], plan, cache)
        elif cache:
            output = _render_memoized(name, render, plan, cache)
        else:
            output = render(plan)
        for path, content in output.items():
            if path in files:
                raise RuntimeError(f"two targets write {path}")
            files[path] = content
    return files


def _render_memoized(name: str, render: Renderer, plan: FleetPlan, cache: Cache) -> dict[str, bytes]:
    """The whole target rendered again, each file's bytes reused where its data is
    unchanged (compiler/incremental.py: one entry per target, holding this compile's files)."""
    key = cache.key(b"memo", name.encode())
    previous = cache.get(key)
    memo = Memo(previous if isinstance(previous, dict) else None)
    with memoizing(memo):
        output = render(plan)
    if memo.changed:
        cache.put(key, memo.entries)
    return output


def _render_reusing(module, plan: FleetPlan, cache: Cache) -> dict[str, bytes]:
    units = module.units(plan)
    # One file for all units: a thousand stacks are one read, not a thousand opens.
    cache = Pack(cache, module.__name__.rsplit(".", 1)[-1])
    keys = {unit: cache.key(unit.encode(), fingerprint) for unit, fingerprint in units.items()}
    out: dict[str, bytes] = {}
    missing = []
    for unit, key in keys.items():
        hit = cache.get(key)
        if hit is None:
            missing.append(unit)
        else:
            out.update(hit)
    if missing:
        for unit, part in module.render_units(plan, missing).items():
            cache.put(keys[unit], part)
            out.update(part)
    cache.save()
    return out
