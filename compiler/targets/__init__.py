"""Stage 4: one module per target. Each exposes `render(plan) -> {path: bytes}`,
paths relative to generated/. Targets read the plan only and never import
each other."""
from __future__ import annotations

from typing import Callable

from ..plan import FleetPlan
from . import alertmanager, ansible, grafana, openclaw, openvas, placement, prometheus, schemas, terraform, wazuh

Renderer = Callable[[FleetPlan], dict[str, bytes]]

TARGETS: dict[str, Renderer] = {
    "schemas": schemas.render,
    "placement": placement.render,
    "terraform": terraform.render,
    "ansible": ansible.render,
    "openclaw": openclaw.render,
    "prometheus": prometheus.render,
    "alertmanager": alertmanager.render,
    "grafana": grafana.render,
    "wazuh": wazuh.render,
    "openvas": openvas.render,
}


def render_all(plan: FleetPlan, only: list[str] | None = None,
               on_target: Callable[[str], None] | None = None) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, render in TARGETS.items():
        if only and name not in only:
            continue
        if on_target:
            on_target(name)
        for path, content in render(plan).items():
            if path in files:
                raise RuntimeError(f"two targets write {path}")
            files[path] = content
    return files
