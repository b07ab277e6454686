"""Stage 4: one module per target. Each exposes `render(plan) -> {path: bytes}`,
paths relative to generated/. Targets read the plan only and never import
each other."""
from __future__ import annotations

import threading
from typing import Callable

from ..cache import Cache, Pack
from ..incremental import Memo, memoizing
from ..plan import FleetPlan
from . import (alertmanager, ansible, decommission_record, grafana, openclaw, openvas, placement_record, prometheus, schemas,
               terraform, wazuh)

Renderer = Callable[[FleetPlan], dict[str, bytes]]

TARGETS: dict[str, Renderer] = {
    "schemas": schemas.render,
    "placement": placement_record.render,
    "decommissions": decommission_record.render,
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
    names = [name for name in TARGETS if not only or name in only]
    reuse = {name: _Reuse(PARTIAL[name], plan, cache) for name in names if cache and name in PARTIAL}
    if any(r.missing for r in reuse.values()):
        # Units must be rendered: start their runtime (jsii) on a thread now and render
        # them last, so it starts while the other targets render. Order does not change output.
        for r in reuse.values():
            if r.missing and hasattr(r.module, "prestart"):
                threading.Thread(target=r.module.prestart, name="clawtex-prestart", daemon=True).start()
        names = [n for n in names if n not in reuse] + [n for n in names if n in reuse]
    for name in names:
        if on_target:
            on_target(name)
        if name in reuse:
            output = reuse[name].render()
        elif cache:
            output = _render_memoized(name, TARGETS[name], plan, cache)
        else:
            output = TARGETS[name](plan)
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


class _Reuse:
    """A PARTIAL target's units: the cached ones looked up at once, the rest rendered by render()."""

    def __init__(self, module, plan: FleetPlan, cache: Cache):
        self.module, self.plan = module, plan
        units = module.units(plan)
        # One file for all units: a thousand stacks are one read, not a thousand opens.
        self.cache = Pack(cache, module.__name__.rsplit(".", 1)[-1])
        self.keys = {unit: self.cache.key(unit.encode(), fingerprint) for unit, fingerprint in units.items()}
        self.out: dict[str, bytes] = {}
        self.missing = []
        adapt = getattr(module, "adapt", None)     # what a unit's fingerprint leaves out, set on a hit
        for unit, key in self.keys.items():
            hit = self.cache.get(key)
            if hit is None:
                self.missing.append(unit)
                continue
            if adapt is not None:
                adapted = adapt(plan, unit, hit)
                if adapted is not hit:
                    self.cache.put(key, adapted)     # kept when the pack is next written (a key changes)
                hit = adapted
            self.out.update(hit)

    def render(self) -> dict[str, bytes]:
        if self.missing:
            for unit, part in self.module.render_units(self.plan, self.missing).items():
                self.cache.put(self.keys[unit], part)
                self.out.update(part)
        self.cache.save()
        return self.out
