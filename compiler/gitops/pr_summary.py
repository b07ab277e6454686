"""`clawtex pr-summary`: the one PR comment a reviewer approves from.

Summary first (affected customers with tier, provider, size, price and
estimated infra cost; destructive rows first; unchanged customers counted),
red flags, then the change by meaning: resources by address and attribute,
host variables, monitoring targets and alerts, Wazuh groups and rule ids.
Kept under GitHub's comment limit; the untruncated text is the artifact."""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from ..costs import customer_costs
from ..diagnostics import CompileError
from ..escape import markdown_text
from ..pipeline import load_inputs
from ..plan import ROLE_SHARED_BRONZE, CustomerPlan, FleetPlan, build_plan
from ..providers import PLUGINS
from ..versions import openclaw_version
from ..replacement import FACTS_FILE, Prediction, facts_from_text, predict_fleet
from .artifacts import Fleet, Stack
from .changed import ChangeSet, detect
from .snapshot import WORKTREE, files_at, open_repo

MARKER = "<!-- clawtex-pr-summary -->"
COMMENT_LIMIT = 65535                  # GitHub's maximum comment body, in characters
_HEADLINE_KEYS = ("name", "server_type", "size", "plan", "region", "location", "image")
_WORLD = {"0.0.0.0/0", "::/0"}
_VALUE_WIDTH = 60
_MAX_DIFFS = 20                        # attribute changes listed per config before "… N more"


@dataclass(frozen=True)
class Side:
    """One end of the change: its generated/ facts and (if it compiles) its plan."""

    fleet: Fleet
    plan: Optional[FleetPlan]

    def customer(self, cid: str) -> Optional[CustomerPlan]:
        return next((c for c in self.plan.customers if c.id == cid), None) if self.plan else None

    def cost(self, cid: str) -> Optional[Decimal]:
        return customer_costs(self.plan).get(cid) if self.plan else None

    def rank(self, tier: str) -> int:
        return self.plan.tiers[tier].spec.rank if self.plan and tier in self.plan.tiers else 0

    def size(self, c: CustomerPlan) -> str:
        host = self.plan.host(c.hosts[0]) if c.hosts else None
        if host is None:
            return "-"
        return f"shared {host.size.slug}" if host.role == ROLE_SHARED_BRONZE else host.size.slug


def _plan_of(files: dict[str, bytes]) -> Optional[FleetPlan]:
    with tempfile.TemporaryDirectory(prefix="clawtex-pr-") as tmp:
        for rel, data in files.items():
            if rel.startswith("generated/") and rel != "generated/placement.json":
                continue    # the planner reads only the placement lock from generated/
            path = Path(tmp) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            return build_plan(load_inputs(Path(tmp)))
        except (CompileError, SystemExit):
            return None     # e.g. a base the current compiler no longer accepts: costs shown as n/a


def summary(root: Path, base: str, head: str | None = WORKTREE, cost_threshold: float = 10.0,
            artifact_url: str | None = None, limit: int | None = COMMENT_LIMIT, plans: Path | None = None) -> str:
    """`plans`: a directory of `terraform show -json` files, one <stack>.json per planned stack."""
    from .plan_summary import load_plans
    repo = open_repo(root)
    base_files, head_files = files_at(repo, root, base), files_at(repo, root, head)
    changes = detect(base_files, head_files)
    facts = facts_from_text(head_files.get(FACTS_FILE, b"").decode("utf-8", "replace"))
    text = render(changes, Side(changes.base, _plan_of(base_files)), Side(changes.head, _plan_of(head_files)),
                  cost_threshold, load_plans(plans, root / "generated") if plans else None, facts)
    return truncate(text, limit, artifact_url) if limit else text


def truncate(text: str, limit: int, artifact_url: str | None) -> str:
    if len(text) <= limit:
        return text
    where = f"[the full summary]({artifact_url})" if artifact_url else "the full summary in the workflow artifacts"
    note = f"\n\n**Truncated** at {limit:,} characters: see {where}.\n"
    cut = text.rfind("\n", 0, limit - len(note))
    return text[:max(cut, 0)] + note


# ---------------------------------------------------------------- rendering


def render(changes: ChangeSet, base: Side, head: Side, cost_threshold: float, plans: list | None = None,
           facts: Optional[dict] = None) -> str:
    data = changes.as_dict()
    predicted = replacement_predictions(changes, head, facts or {})
    actions = [s["action"] for s in data["stacks"]]
    everyone = base.fleet.customers | head.fleet.customers
    unchanged = len(everyone - set(changes.customers))
    out = [MARKER, "## clawtex: what this change does", "",
           f"**{len(actions)} stack(s)** ({actions.count('create')} create, {actions.count('update')} update, "
           f"{actions.count('destroy')} destroy) · **{len(changes.customers)} customer(s) affected** · "
           f"{unchanged} unchanged", ""]
    out += _red_flags(changes, base, head, cost_threshold, predicted)
    if plans is not None:
        from .plan_summary import render as render_plans
        out += render_plans(plans)
    out += _customer_table(changes, base, head, unchanged)
    out += _release_section(base, head)
    out += _stack_sections(changes, predicted)
    out += _host_section(changes)
    out += _openclaw_section(changes)
    out += _monitoring_section(changes, head)
    out += _wazuh_section(changes)
    if changes.fleet:
        out += ["### Fleet-wide", ""] + [f"- {item}" for item in sorted(changes.fleet)] + [""]
    return "\n".join(out).rstrip() + "\n"


def _money(value: Optional[float]) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def _arrow(before: Any, after: Any, fmt=str) -> str:
    if before is None:
        return fmt(after)
    if after is None:
        return f"~~{fmt(before)}~~"
    return fmt(after) if before == after else f"{fmt(before)} → {fmt(after)}"


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    text = markdown_text(text)      # values are Markdown text: [links], *emphasis*, <html> stay literal
    return text if len(text) <= _VALUE_WIDTH else text[:_VALUE_WIDTH - 1] + "…"


def _red_flags(changes: ChangeSet, base: Side, head: Side, threshold: float,
               predicted: Sequence[Prediction] = ()) -> list[str]:
    flags = [f"**destroy**: stack `{s.stack}` ({', '.join(sorted(s.customers)) or 'no customer'}): "
             "the apply takes a final backup, then destroys" for s in _sorted_stacks(changes) if s.action == "destroy"]
    destroyed = {c for s in changes.stacks.values() if s.action == "destroy" for c in s.customers}
    flags += [f"**customer removed**: `{cid}` leaves the fleet (final backup of its data, then removal)"
              for cid in changes.removed_customers if cid not in destroyed]
    for stack in _sorted_stacks(changes):
        before, after = base.fleet.stacks.get(stack.stack), head.fleet.stacks.get(stack.stack)
        if before and after:
            removed = sorted(set(before.resources) - set(after.resources))
            flags += [f"**destroy**: `{addr}` in stack `{stack.stack}`" for addr in removed]
            flags += replacement_flags([p for p in predicted if p.stack == stack.stack])
            flags += [f"**firewall opening** in stack `{stack.stack}`: {rule}"
                      for rule in sorted(inbound_rules(after) - inbound_rules(before))]
    notes: list[str] = []
    for cid in sorted(set(changes.customers) | _shared_neighbours(changes, base, head)):
        old, new = base.customer(cid), head.customer(cid)
        if old and new and head.rank(new.tier_name) < base.rank(old.tier_name):
            flags.append(f"**tier downgrade**: `{cid}` {old.tier_name} → {new.tier_name}")
        before, after = base.cost(cid), head.cost(cid)
        if before and after and (after - before) / before * 100 > threshold:
            why = _shared_host_split(base, head, old, new)
            if why:
                notes.append(f"`{cid}`: est. share {_money(before)} → {_money(after)} — {why}")
                continue
            flags.append(f"**cost increase** over {threshold:g}%: `{cid}` {_money(before)} → {_money(after)} "
                         f"(+{(after - before) / before * 100:.0f}%)")
    explained = (["Shared-host cost shares (not a change to these customers' service):", ""]
                 + [f"- {n}" for n in notes] + [""]) if notes else []
    if not flags:
        return ["### Red flags", "", "None: no destroy, replacement, shrink, tier downgrade, firewall opening or cost jump.", ""] + explained
    return ["### :warning: Red flags", ""] + [f"- {flag}" for flag in flags] + [""] + explained


def _shared_neighbours(changes: ChangeSet, base: Side, head: Side) -> set[str]:
    """Tenants sharing a host with a customer this change touches (their cost share moves)."""
    out: set[str] = set()
    for side in (base, head):
        for cid in changes.customers:
            c = side.customer(cid)
            host = side.plan.host(c.hosts[0]) if c and c.hosts and side.plan else None
            if host is not None and host.role == ROLE_SHARED_BRONZE:
                out |= set(host.tenants)
    return out


def _shared_host_split(base: Side, head: Side, old: Optional[CustomerPlan], new: Optional[CustomerPlan]) -> str:
    """Why a shared-host tenant's estimated cost moved without anything of its own changing:
    the host's cost is split over its tenants, and the count changed. '' when that is not it."""
    if not (old and new and old.hosts and new.hosts and old.hosts == new.hosts and base.plan and head.plan):
        return ""
    h0, h1 = base.plan.host(old.hosts[0]), head.plan.host(new.hosts[0])
    if not (h0 and h1 and h0.role == ROLE_SHARED_BRONZE and h1.role == ROLE_SHARED_BRONZE) or \
            (old.tier_name, old.provider) != (new.tier_name, new.provider) or len(h0.tenants) == len(h1.tenants):
        return ""
    left = sorted(set(h0.tenants) - set(h1.tenants))
    joined = sorted(set(h1.tenants) - set(h0.tenants))
    moves = ", ".join([f"`{c}` left" for c in left] + [f"`{c}` joined" for c in joined])
    return (f"shared host `{h1.name}` ({moves}): its unchanged cost is now split over {len(h1.tenants)} tenant(s) "
            f"instead of {len(h0.tenants)}; this customer's server, port and price are unchanged")


def _customer_table(changes: ChangeSet, base: Side, head: Side, unchanged: int) -> list[str]:
    rows = []
    for cid, change in changes.customers.items():
        old, new = base.customer(cid), head.customer(cid)
        downgrade = bool(old and new and head.rank(new.tier_name) < base.rank(old.tier_name))
        destructive = change.change == "removed" or downgrade
        status = f" ({old.status} → {new.status})" if old and new and old.status != new.status else ""
        cells = [":red_circle:" if destructive else "", f"`{cid}`", change.change + status,
                 _arrow(old and old.tier_name, new and new.tier_name),
                 _arrow(old and old.provider, new and new.provider),
                 _arrow(old and base.size(old), new and head.size(new)),
                 _arrow(old and old.monthly_price, new and new.monthly_price, _money),
                 _arrow(base.cost(cid) if old else None, head.cost(cid) if new else None, _money)]
        rows.append((not destructive, cid, "| " + " | ".join(c or "-" for c in cells) + " |"))
    out = ["### Customers", ""]
    if rows:
        out += ["| risk | customer | change | tier | provider | size | price/mo | est. infra/mo |",
                "|---|---|---|---|---|---|---|---|"] + [row for _, _, row in sorted(rows)]
    else:
        out.append("No customer is affected.")
    return out + ["", _totals(base, head), "", f"_{unchanged} unchanged customer(s) not shown._", ""]


def _version_key(version: str):
    """OpenClaw's release order (compiler/versions.py): 2026.9.6-beta.1 < 2026.9.6 < 2026.9.6-1."""
    return openclaw_version(version)


def _release_section(base: Side, head: Side) -> list[str]:
    """Customers whose OpenClaw (or its Node.js) changes: a moved release-channel pin or a changed
    releaseChannel. New and removed customers are in the table above."""
    if not (base.plan and head.plan):
        return []
    rows = []
    for new in sorted(head.plan.customers, key=lambda c: c.id):
        old = base.customer(new.id)
        if old is None or (old.openclaw_version, old.node_version, old.release_channel) == \
                (new.openclaw_version, new.node_version, new.release_channel):
            continue
        kind = ("upgrade" if _version_key(new.openclaw_version) > _version_key(old.openclaw_version) else
                "**downgrade**" if _version_key(new.openclaw_version) < _version_key(old.openclaw_version) else "change")
        channel = _arrow(old.release_channel, new.release_channel)
        node = "" if old.node_version == new.node_version else f", Node.js {old.node_version} → {new.node_version}"
        rows.append(f"- `{new.id}` ({channel}): OpenClaw {kind} {_arrow(old.openclaw_version, new.openclaw_version)}{node}")
    return (["### OpenClaw release", ""] + rows + [""]) if rows else []


def _totals(base: Side, head: Side) -> str:
    """The whole fleet's monthly revenue and estimated infra cost, before and after."""
    from ..business.report import build_report      # the same MRR and cost as `clawtex report`

    def sums(side: Side) -> tuple[Optional[float], Optional[float]]:
        if side.plan is None:
            return None, None
        report = build_report(side.plan)
        return report.mrr, report.infraCost
    (mrr0, cost0), (mrr1, cost1) = sums(base), sums(head)

    def delta(a: Optional[float], b: Optional[float]) -> str:
        if a is None or b is None:
            return f"{_money(a)} → {_money(b)}"
        sign = "+" if b - a >= 0 else "-"
        return f"{_money(a)} → {_money(b)} ({sign}{_money(abs(b - a))})"
    return f"**Fleet total**: MRR {delta(mrr0, mrr1)} · est. infra/mo {delta(cost0, cost1)}"


def _sorted_stacks(changes: ChangeSet):
    order = {"destroy": 0, "create": 1, "update": 2}
    return sorted(changes.stacks.values(), key=lambda s: (order[s.action], s.stack))


def _stack_sections(changes: ChangeSet, predicted: Sequence[Prediction] = ()) -> list[str]:
    out: list[str] = []
    for stack in _sorted_stacks(changes):
        before = changes.base.stacks.get(stack.stack)
        after = changes.head.stacks.get(stack.stack)
        lines = resource_changes(before, after, {p.address: p for p in predicted if p.stack == stack.stack and p.action != "destroy"})
        title = f"#### stack `{stack.stack}` ({stack.action}, {stack.tier or '-'})"
        out += [title, ""] + (lines or ["- no Terraform change (configuration or module only)"]) + [""]
    return (["### Terraform resources", ""] + out) if out else []


def resource_changes(before: Optional[Stack], after: Optional[Stack],
                     predicted: Optional[dict[str, Prediction]] = None) -> list[str]:
    """`predicted`: address -> its replacement or shrink, so such a line never reads as a plain change."""
    old = before.resources if before else {}
    new = after.resources if after else {}
    predicted = predicted or {}
    lines = [f"- **removed** `{a}`{_headline(old[a])}" for a in sorted(set(old) - set(new))]
    lines += [f"- added `{a}`{_headline(new[a])}" for a in sorted(set(new) - set(old))]
    for address in sorted(set(old) & set(new)):
        diffs = _attribute_diff(flatten(old[address]), flatten(new[address]))
        if diffs:
            verb = _PREDICTED_VERB.get(predicted[address].action, "changed") if address in predicted else "changed"
            lines.append(f"- {verb} `{address}`: " + "; ".join(diffs))
    return lines


def _headline(attrs: dict) -> str:
    keys = [f"{k}={_short(attrs[k])}" for k in _HEADLINE_KEYS if k in attrs]
    return f" ({', '.join(keys)})" if keys else ""


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        out = {}
        for i, sub in enumerate(value):
            out.update(flatten(sub, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _attribute_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [_value_diff(k, old.get(k, "(unset)"), new.get(k, "(unset)"))
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def _value_diff(key: str, before: Any, after: Any) -> str:
    """A list of plain values (tags, IP ranges) as what was added and removed; a long
    value from where it starts to differ, so a shared prefix never hides the change."""
    if isinstance(before, list) and isinstance(after, list):
        added = [v for v in after if v not in before]
        removed = [v for v in before if v not in after]
        parts = [f"+{_short(v)}" for v in added] + [f"-{_short(v)}" for v in removed]
        return f"`{key}` " + (", ".join(parts) if parts else "reordered")
    old, new = (json.dumps(v, sort_keys=True) if not isinstance(v, str) else v for v in (before, after))
    if max(len(old), len(new)) > _VALUE_WIDTH:
        start = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
        start = max(0, start - 10)
        if start:
            return f"`{key}` …{_short(old[start:])} → …{_short(new[start:])}"
    return f"`{key}` {_short(before)} → {_short(after)}"


def inbound_rules(stack: Stack) -> set[str]:
    """Normalised inbound firewall rules of a stack, whatever the provider."""
    out = set()
    for address, attrs in stack.resources.items():
        rtype = address.split(".", 1)[0]
        rules = next((r for p in PLUGINS.values() if (r := p.inbound_rules(rtype, attrs)) is not None), None)
        if rules is None:
            continue
        for protocol, port, sources in rules:
            world = " (whole internet)" if set(sources or ()) & _WORLD else ""
            # no source at all admits nothing (every provider's rule needs one); never "from any"
            out.add(f"{protocol}/{port or 'any'} from {', '.join(sorted(sources)) if sources else 'no source'}{world}")
    return out


def _host_section(changes: ChangeSet) -> list[str]:
    base, head = changes.base, changes.head
    out = []
    if base.fleet_vars != head.fleet_vars:
        out += [f"- fleet variables: " + "; ".join(_attribute_diff(flatten(base.fleet_vars), flatten(head.fleet_vars)))]
    for name in sorted(set(base.hosts) | set(head.hosts)):
        old, new = base.hosts.get(name), head.hosts.get(name)
        if old == new:
            continue
        if old is None or new is None:
            host = new or old
            verb = "added" if old is None else "**removed**"
            out.append(f"- {verb} host `{name}` (stack {host.stack}, groups {', '.join(host.groups)})")
            continue
        old_containers, new_containers = _containers(old.vars), _containers(new.vars)
        diffs = _attribute_diff(flatten(_without_containers(old.vars)), flatten(_without_containers(new.vars)))
        diffs += [f"container `{c}` added" for c in sorted(set(new_containers) - set(old_containers))]
        diffs += [f"container `{c}` **removed**" for c in sorted(set(old_containers) - set(new_containers))]
        for c in sorted(set(old_containers) & set(new_containers)):
            diffs += [f"container `{c}`: {d}" for d in _attribute_diff(flatten(old_containers[c]), flatten(new_containers[c]))]
        if old.groups != new.groups:
            diffs.append(f"groups {', '.join(old.groups)} → {', '.join(new.groups)}")
        out.append(f"- `{name}`: " + "; ".join(diffs))
    return (["### Host variables (Ansible inventory)", ""] + out + [""]) if out else []


def _containers(host_vars: dict) -> dict[str, dict]:
    """Shared-host containers keyed by customer, so a diff names the customer, not a list index."""
    return {str(c.get("customer")): c for c in host_vars.get("openclaw_containers") or [] if isinstance(c, dict)}


def _without_containers(host_vars: dict) -> dict:
    return {k: v for k, v in host_vars.items() if k != "openclaw_containers"}


def _openclaw_section(changes: ChangeSet) -> list[str]:
    base, head = changes.base.openclaw_configs, changes.head.openclaw_configs
    out = []
    for cid in sorted(set(base) | set(head)):
        if cid not in base or cid not in head:
            out.append(f"- `{cid}`: gateway config {'added' if cid in head else '**removed**'}")
        elif base[cid] != head[cid]:
            diffs = _attribute_diff(flatten(base[cid]), flatten(head[cid]))
            shown = diffs[:_MAX_DIFFS] + ([f"… {len(diffs) - _MAX_DIFFS} more"] if len(diffs) > _MAX_DIFFS else [])
            out.append(f"- `{cid}`: " + "; ".join(shown))
    return (["### OpenClaw gateway config", ""] + out + [""]) if out else []


def _monitoring_section(changes: ChangeSet, head: Side) -> list[str]:
    base_f, head_f = changes.base, changes.head
    out = []
    for path in sorted(set(base_f.targets) | set(head_f.targets)):
        old, new = base_f.targets.get(path, {}), head_f.targets.get(path, {})
        for cid in sorted(set(old) | set(new)):
            added, removed = _count_diff(old.get(cid, []), new.get(cid, []))
            if added or removed:
                out.append(f"- `{path}`: `{cid}` +{added} / -{removed} target(s)")
    out += [f"- alert added: `{a.name}` (group {a.group}{_alert_scope(a)})" for a in _sorted(head_f.alerts - base_f.alerts)]
    out += [f"- **alert removed**: `{a.name}` (group {a.group}{_alert_scope(a)})"
            for a in _sorted(base_f.alerts - head_f.alerts)]
    for cid, change in sorted(changes.customers.items()):
        customer = head.customer(cid)
        if change.change == "added" and customer:
            alerts = sorted({a.name for a in head_f.alerts
                             if a.label("customer") == cid
                             or (a.label("customer") is None and a.covers_tier(customer.tier_name))})
            out.append(f"- alerts covering new customer `{cid}`: " + (", ".join(f"`{a}`" for a in alerts) or "none"))
    return (["### Monitoring (Prometheus)", ""] + out + [""]) if out else []


def _alert_scope(alert) -> str:
    scope = [f"{k}={v}" for k, v in alert.labels if k in ("tier", "customer", "severity")]
    return f", {', '.join(scope)}" if scope else ""


def _sorted(alerts: Iterable) -> list:
    return sorted(alerts, key=lambda a: (a.group, a.name, a.labels))


def _count_diff(old: list[str], new: list[str]) -> tuple[int, int]:
    return len(set(new) - set(old)), len(set(old) - set(new))


def _wazuh_section(changes: ChangeSet) -> list[str]:
    base, head = changes.base, changes.head
    out = [f"- agent group added: `{g}`" for g in sorted(head.wazuh_groups - base.wazuh_groups)]
    out += [f"- **agent group removed**: `{g}`" for g in sorted(base.wazuh_groups - head.wazuh_groups)]
    added, removed = head.wazuh_rule_ids - base.wazuh_rule_ids, base.wazuh_rule_ids - head.wazuh_rule_ids
    if added:
        out.append("- rule ids added: " + ", ".join(sorted(added, key=int)))
    if removed:
        out.append("- **rule ids removed**: " + ", ".join(sorted(removed, key=int)))
    return (["### Wazuh", ""] + out + [""]) if out else []


# ------------------------------------------------ replacement prediction (issue 24)
# What Terraform would replace or fail to shrink, from the providers' rules
# (tiers/replacement-facts.yaml via compiler/replacement.py): the same prediction the
# compile-time guard (compiler/stateful_guard.py) refuses without an approval.

_PREDICTED_VERB = {"replace": "**replaced**", "shrink": "**shrinks**"}
_KIND = {"volume": "volume", "server": "disk"}


def replacement_predictions(changes: ChangeSet, head: Side, facts: dict) -> list[Prediction]:
    if not facts:
        return []
    before = {name: stack.resources for name, stack in changes.base.stacks.items()}
    after = {name: stack.resources for name, stack in changes.head.stacks.items()}
    disk_of = None
    if head.plan is not None:
        from ..stateful_guard import disk_lookup
        disk_of = disk_lookup(head.plan)
    return [p for p in predict_fleet(before, after, facts, disk_of) if p.action != "destroy"]


def replacement_flags(predicted: Sequence[Prediction]) -> list[str]:
    """One loud line per predicted replacement or shrink (destroys are the lines above)."""
    out = []
    for p in predicted:
        if p.action == "shrink":
            kind = _KIND.get(p.stateful or "", p.stateful or "resource")
            unit = " GB" if isinstance(p.before, (int, float)) else ""
            out.append(f"**{kind} shrink**: `{p.address}` in stack `{p.stack}` {p.before}{unit} → {p.after}{unit} via "
                       f"`{p.attribute}` (cannot shrink in place: expect a failed apply, or a replacement that loses "
                       f"the data; {p.source})")
        else:
            what = f" ({p.stateful.replace('_', ' ')}: its data goes with it)" if p.stateful else ""
            out.append(f"**replace**: `{p.address}` in stack `{p.stack}`{what}: `{p.attribute}` "
                       f"{_short(p.before)} → {_short(p.after)} forces a new resource ({p.source})")
    return out
