"""Read a generated/ tree (relative path -> bytes) back into the facts GitOps
needs: stacks and their resources, hosts and their variables, placement,
monitoring targets and alerts, Wazuh groups and rule ids.

Every reader tolerates a missing or damaged file (it then contributes nothing):
a base commit may predate a target."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..previous import INVENTORY_FILE as INVENTORY, PLACEMENT_FILE as PLACEMENT  # where the targets write them

TERRAFORM = "terraform/"
TARGETS = "prometheus/targets/"
RULES = "prometheus/rules/"
WAZUH = "wazuh/"
OPENCLAW = "openclaw/"
_RULE_ID = re.compile(rb"<rule\b[^>]*\bid=\"(\d+)\"")


@dataclass(frozen=True)
class Stack:
    name: str
    customers: tuple[str, ...]
    resources: dict[str, dict]           # "type.name" -> attributes (CDKTF metadata dropped)
    module_sources: tuple[str, ...]
    kind: str = ""                       # the target's //.clawtex.kind: dedicated | shared | fleet


@dataclass(frozen=True)
class Host:
    name: str
    vars: dict[str, Any]
    groups: tuple[str, ...]

    @property
    def stack(self) -> str | None:
        return self.vars.get("clawtex_stack")

    @property
    def customers(self) -> tuple[str, ...]:
        if self.vars.get("clawtex_customer"):
            return (str(self.vars["clawtex_customer"]),)
        return tuple(str(c.get("customer")) for c in self.vars.get("openclaw_containers") or [] if isinstance(c, dict))

    @property
    def roles(self) -> tuple[str, ...] | None:
        roles = self.vars.get("clawtex_roles")
        return tuple(str(r) for r in roles) if isinstance(roles, list) else None


@dataclass(frozen=True)
class Alert:
    group: str
    name: str
    labels: tuple[tuple[str, str], ...]
    tiers: tuple[str, ...] | None = None      # the tiers its expression selects (tier="x" / tier=~"x|y"); None: all

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)

    def covers_tier(self, tier: str) -> bool:
        if self.label("tier") is not None and self.label("tier") != tier:
            return False
        return self.tiers is None or tier in self.tiers


# A PromQL equality or regex matcher on the tier label: tier="gold", tier=~"gold|platinum".
_TIER_MATCHER = re.compile(r'\btier\s*(=~|=)\s*"([A-Za-z0-9_|]*)"')


def expression_tiers(expr: str) -> tuple[str, ...] | None:
    found = _TIER_MATCHER.findall(expr)
    if not found:
        return None
    tiers: set[str] | None = None
    for _, value in found:                   # several matchers in one expression: all must hold
        names = set(value.split("|"))
        tiers = names if tiers is None else tiers & names
    return tuple(sorted(tiers or ()))


@dataclass
class Fleet:
    """The facts of one generated/ tree."""

    stacks: dict[str, Stack] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    fleet_vars: dict[str, Any] = field(default_factory=dict)
    placement: dict[str, tuple[str, ...]] = field(default_factory=dict)
    targets: dict[str, dict[str, list[str]]] = field(default_factory=dict)   # file -> customer -> entries
    alerts: set[Alert] = field(default_factory=set)
    wazuh_groups: set[str] = field(default_factory=set)
    wazuh_rule_ids: set[str] = field(default_factory=set)
    openclaw: set[str] = field(default_factory=set)
    openclaw_configs: dict[str, Any] = field(default_factory=dict)   # customer -> parsed openclaw.json

    @property
    def customers(self) -> set[str]:
        out = set(self.openclaw) | self.wazuh_groups
        for stack in self.stacks.values():
            out.update(stack.customers)
        for tenants in self.placement.values():
            out.update(tenants)
        return out

    def stacks_of(self, customer: str) -> set[str]:
        out = {s.name for s in self.stacks.values() if customer in s.customers}
        out |= {h.stack for h in self.hosts.values() if customer in h.customers and h.stack}
        out |= {host for host, tenants in self.placement.items() if customer in tenants}
        return out

    def hosts_of(self, stack: str) -> list[str]:
        return sorted(h.name for h in self.hosts.values() if h.stack == stack)

    def tier_of_stack(self, stack: str) -> str | None:
        tiers = sorted({str(h.vars.get("clawtex_tier")) for h in self.hosts.values() if h.stack == stack})
        return tiers[0] if tiers else None      # one tier per stack


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


# Our own output, read back with libyaml: a pure-Python parser took seconds on
# a 1,000-customer inventory.
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _yaml(data: bytes) -> Any:
    try:
        return yaml.load(data, Loader=_Loader)
    except yaml.YAMLError:
        return None


def read_stack(name: str, data: bytes) -> Stack:
    doc = _json(data)
    doc = doc if isinstance(doc, dict) else {}
    meta = (doc.get("//") or {}).get("clawtex") or {}
    resources: dict[str, dict] = {}
    for rtype, by_name in sorted((doc.get("resource") or {}).items()):
        for rname, attrs in sorted((by_name or {}).items()):
            resources[f"{rtype}.{rname}"] = {k: v for k, v in attrs.items() if k != "//"}
    sources = tuple(sorted(str(m.get("source", "")) for m in (doc.get("module") or {}).values() if isinstance(m, dict)))
    return Stack(name, tuple(meta.get("customers") or ()), resources, sources, str(meta.get("kind") or ""))


def read_inventory(data: bytes) -> tuple[dict[str, Host], dict[str, Any]]:
    doc = _yaml(data)
    root = doc.get("all") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        return {}, {}
    host_vars: dict[str, dict] = {}
    host_groups: dict[str, set[str]] = {}

    def walk(group: str, node: Any) -> None:
        if not isinstance(node, dict):
            return
        for host, hvars in (node.get("hosts") or {}).items():
            host_groups.setdefault(host, set()).add(group)
            host_vars.setdefault(host, {}).update(hvars or {})
        for child, sub in (node.get("children") or {}).items():
            walk(child, sub)

    walk("all", root)
    hosts = {h: Host(h, host_vars[h], tuple(sorted(host_groups[h] - {"all"}))) for h in sorted(host_vars)}
    return hosts, dict(root.get("vars") or {})


def read_placement(data: bytes) -> dict[str, tuple[str, ...]]:
    doc = _json(data)
    hosts = doc.get("hosts") if isinstance(doc, dict) else None
    if not isinstance(hosts, dict):
        return {}
    return {h: tuple(v.get("tenants") or ()) for h, v in sorted(hosts.items()) if isinstance(v, dict)}


def read_targets(data: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for entry in _json(data) or []:
        if isinstance(entry, dict):
            customer = str((entry.get("labels") or {}).get("customer", ""))
            out.setdefault(customer, []).append(json.dumps(entry, sort_keys=True))
    return {c: sorted(v) for c, v in sorted(out.items())}


def read_alerts(data: bytes) -> set[Alert]:
    doc = _yaml(data)
    groups = doc.get("groups") if isinstance(doc, dict) else None
    out: set[Alert] = set()
    for group in groups if isinstance(groups, list) else []:
        for rule in group.get("rules") or [] if isinstance(group, dict) else []:
            if isinstance(rule, dict) and "alert" in rule:
                labels = tuple(sorted((str(k), str(v)) for k, v in (rule.get("labels") or {}).items()))
                out.add(Alert(str(group.get("name")), str(rule["alert"]), labels,
                              expression_tiers(str(rule.get("expr") or ""))))
    return out


def read_fleet(tree: dict[str, bytes]) -> Fleet:
    """`tree`: paths relative to generated/."""
    fleet = Fleet()
    for path, data in sorted(tree.items()):
        parts = path.split("/")
        if path.startswith(TERRAFORM) and parts[-1] == "cdk.tf.json" and len(parts) == 3:
            fleet.stacks[parts[1]] = read_stack(parts[1], data)
        elif path == INVENTORY:
            fleet.hosts, fleet.fleet_vars = read_inventory(data)
        elif path == PLACEMENT:
            fleet.placement = read_placement(data)
        elif path.startswith(TARGETS) and path.endswith(".json"):
            fleet.targets[path] = read_targets(data)
        elif path.startswith(RULES) and path.endswith((".yml", ".yaml")):
            fleet.alerts |= read_alerts(data)
        elif path.startswith(WAZUH):
            if parts[:2] == ["wazuh", "groups"] and len(parts) > 3:
                fleet.wazuh_groups.add(parts[2])
            fleet.wazuh_rule_ids.update(m.decode() for m in _RULE_ID.findall(data))
        elif path.startswith(OPENCLAW) and len(parts) > 2:
            fleet.openclaw.add(parts[1])
            if parts[-1] == "openclaw.json":
                fleet.openclaw_configs[parts[1]] = _json(data)
    return fleet
