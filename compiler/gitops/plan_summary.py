"""What the clouds will do: per-stack summaries of `terraform show -json` plans.

The PR's plan job runs, per affected stack and with read-only credentials,
`terraform plan -out=tfplan` and `terraform show -json tfplan > <stack>.json`;
`clawtex pr-summary --plans DIR` renders those files into the one comment.

Reads Terraform's documented JSON output format
(developer.hashicorp.com/terraform/internals/json-format): `format_version`
"1.x"; `resource_changes[]` with `address`, `type`, `change.actions` (one of
["no-op"], ["create"], ["read"], ["update"], ["delete", "create"],
["create", "delete"], ["delete"]), `change.before`, `change.after`, and
`action_reason` / `change.replace_paths` where Terraform gives them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..providers import PLUGINS

# Resizes that power the server off, as each provider plug-in documents them
# (ProviderPlugin.rebooting_resize: server resource type -> size attribute).
REBOOTING_RESIZES = {p.server_type: p.rebooting_resize for p in PLUGINS.values() if p.rebooting_resize}
_ORDER = {"replace": 0, "delete": 1, "create": 2, "update": 3}
_SIGN = {"replace": "-/+", "delete": "-", "create": "+", "update": "~"}
_WORD = {"replace": "replace", "delete": "destroy", "create": "create", "update": "update in place"}


@dataclass
class ResourcePlan:
    address: str
    kind: str                      # replace | delete | create | update
    type: str
    why: list[str] = field(default_factory=list)
    reboot: str | None = None      # "server_type cx22 → cx32" when a resize powers the server off
    protected: bool = False        # the resource carries lifecycle.prevent_destroy


@dataclass
class StackPlan:
    stack: str
    resources: list[ResourcePlan]
    error: str | None = None

    def count(self, kind: str) -> int:
        return sum(1 for r in self.resources if r.kind == kind)

    @property
    def destructive(self) -> bool:
        return any(r.kind in ("replace", "delete") for r in self.resources)


def kind_of(actions: list[str]) -> str | None:
    """The documented action lists, by what a reviewer must know."""
    if "delete" in actions and "create" in actions:
        return "replace"
    if actions == ["delete"]:
        return "delete"
    if actions == ["create"]:
        return "create"
    if actions == ["update"]:
        return "update"
    return None                    # no-op, read


def summarize(stack: str, plan: dict, protected: set[str] = frozenset()) -> StackPlan:
    version = str(plan.get("format_version", ""))
    if not version.startswith("1."):
        return StackPlan(stack, [], f"unsupported plan format_version {version or '(missing)'}")
    out = []
    for rc in plan.get("resource_changes") or []:
        if rc.get("mode", "managed") != "managed":
            continue
        change = rc.get("change") or {}
        kind = kind_of(list(change.get("actions") or []))
        if kind is None:
            continue
        r = ResourcePlan(str(rc.get("address")), kind, str(rc.get("type", "")))
        r.protected = _base_address(r.address) in protected
        if kind == "replace":
            paths = [".".join(str(p) for p in path) for path in change.get("replace_paths") or []]
            r.why = [f"forced by {', '.join(paths)}"] if paths else []
            if rc.get("action_reason"):
                r.why.append(str(rc["action_reason"]))
        attribute = REBOOTING_RESIZES.get(r.type)
        before, after = change.get("before") or {}, change.get("after") or {}
        if attribute and kind == "update" and attribute in before and attribute in after \
                and before[attribute] != after[attribute]:
            r.reboot = f"{attribute} {before[attribute]} → {after[attribute]}"
        out.append(r)
    out.sort(key=lambda r: (_ORDER[r.kind], r.address))
    return StackPlan(stack, out)


def _base_address(address: str) -> str:
    """`<type>.oc["x"]` → `<type>.oc` (lifecycle is per resource block)."""
    return address.split("[", 1)[0]


def protected_addresses(cdktf: dict) -> set[str]:
    """Resources of a generated stack (Terraform JSON) that carry lifecycle.prevent_destroy."""
    found = set()
    for rtype, named in (cdktf.get("resource") or {}).items():
        for name, body in (named or {}).items():
            if isinstance(body, dict) and (body.get("lifecycle") or {}).get("prevent_destroy") is True:
                found.add(f"{rtype}.{name}")
    return found


def load_plans(directory: Path, generated: Path | None = None) -> list[StackPlan]:
    """Every <stack>.json in `directory`; prevent_destroy read from generated/terraform/<stack>."""
    plans = []
    for path in sorted(directory.glob("*.json")):
        stack = path.stem
        protected: set[str] = set()
        if generated is not None:
            stack_file = generated / "terraform" / stack / "cdk.tf.json"
            if stack_file.exists():
                protected = protected_addresses(json.loads(stack_file.read_text(encoding="utf-8")))
        try:
            plans.append(summarize(stack, json.loads(path.read_text(encoding="utf-8")), protected))
        except (ValueError, AttributeError, TypeError) as exc:
            plans.append(StackPlan(stack, [], f"unreadable plan JSON ({exc})"))
    return plans


def render(plans: list[StackPlan]) -> list[str]:
    """Markdown lines: stacks with replacements or destroys first, and within a stack
    replacements (-/+), then destroys (-), then creates (+) and in-place updates (~)."""
    if not plans:
        return []
    plans = sorted(plans, key=lambda p: (p.error is None, not p.destructive, p.stack))
    totals = {k: sum(p.count(k) for p in plans) for k in _ORDER}
    out = ["### What the clouds will do (terraform plan)", "",
           f"{len(plans)} stack(s) planned: **{totals['replace']} to replace**, **{totals['delete']} to destroy**, "
           f"{totals['create']} to create, {totals['update']} to update in place", ""]
    flags = []
    for p in plans:
        for r in p.resources:
            if r.reboot:
                flags.append(f"- **reboot**: `{r.address}` in stack `{p.stack}`: {r.reboot} powers the server off to resize")
            if r.protected and r.kind in ("replace", "delete"):
                flags.append(f"- **prevent_destroy**: `{r.address}` in stack `{p.stack}` would be "
                             f"{_WORD[r.kind]}d; Terraform refuses this apply until the plan changes")
            elif r.protected:
                flags.append(f"- **protected resource changes**: `{r.address}` in stack `{p.stack}` ({_WORD[r.kind]}; "
                             "it carries prevent_destroy)")
    if flags:
        out += flags + [""]
    for p in plans:
        if p.error:
            out += [f"#### `{p.stack}`", "", f"- **no plan**: {p.error}", ""]
            continue
        if not p.resources:
            out += [f"#### `{p.stack}`: no changes", ""]
            continue
        out += [f"#### `{p.stack}`", ""]
        for r in p.resources:
            why = f" ({'; '.join(r.why)})" if r.why else ""
            note = f" **reboot**: {r.reboot}" if r.reboot else ""
            out.append(f"- `{_SIGN[r.kind]}` {_WORD[r.kind]} `{r.address}`{why}{note}")
        out.append("")
    return out
