"""What Terraform would replace, destroy or fail to shrink, predicted from two
generated Terraform trees (the committed one and a new compile) and the
providers' own rules (tiers/replacement-facts.yaml, read from each provider's
Go source at the pinned version).

No terraform binary runs here, so the prediction is the provider's schema
applied to our own JSON: a force-new attribute whose value changes, and that
lifecycle.ignore_changes does not cover, replaces the resource; an address that
disappears from a stack is destroyed; a size attribute that decreases (a volume,
or a server plan with a smaller disk) is a shrink the provider cannot do in place.
Values are compared as written: a changed `${...}` reference counts as a change
(Terraform only knows at plan time; the prediction errs on the loud side).

Pure: the facts file is data, both trees are dicts (compiler/previous.py reads
the committed one). The guard is compiler/stateful_guard.py; the PR comment
lists the same predictions (compiler/gitops/pr_summary.py)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

import yaml

FACTS_FILE = "tiers/replacement-facts.yaml"
STATEFUL = ("server", "volume", "cluster", "bucket", "storage_box", "database")

Resources = Mapping[str, Mapping[str, Any]]            # "type.name" -> attributes


@dataclass(frozen=True)
class Fact:
    rtype: str
    provider: str
    version: str
    file: str
    force_new: tuple[str, ...]
    stateful: Optional[str] = None
    shrink: Optional[Mapping[str, Any]] = None
    computed: tuple[str, ...] = ()          # force-new and Optional+Computed: unset -> set is not a change

    @property
    def source(self) -> str:
        return f"{self.provider} v{self.version} {self.file}"


@dataclass(frozen=True)
class Prediction:
    stack: str
    address: str
    action: str                      # replace | destroy | shrink
    attribute: str                   # what forces it ("" for destroy)
    before: Any = None
    after: Any = None
    stateful: Optional[str] = None   # server | volume | cluster | bucket | storage_box | database | None
    source: str = ""                 # provider version + file the rule comes from

    @property
    def rtype(self) -> str:
        return self.address.split(".", 1)[0]

    def describe(self) -> str:
        where = f"`{self.address}` in stack `{self.stack}`"
        if self.action == "destroy":
            return f"{where} is destroyed (its address leaves the stack)"
        change = f"`{self.attribute}` {_show(self.before)} → {_show(self.after)}"
        if self.action == "shrink":
            return f"{where} shrinks: {change} (providers cannot shrink in place: {self.source})"
        return f"{where} is replaced: {change} forces a new resource ({self.source})"


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_facts(root: Path) -> dict[str, Fact]:
    path = root / FACTS_FILE
    if not path.is_file():
        return {}       # e.g. a base commit older than the facts file (the PR summary plans it)
    return facts_from_text(path.read_text(encoding="utf-8"))


def facts_from_text(text: str) -> dict[str, Fact]:
    # libyaml's parser (the same safe constructor): the pure-Python one took ~0.1 s of every compile
    doc = yaml.load(text, Loader=_SafeLoader) if text.strip() else {}
    doc = doc if isinstance(doc, dict) else {}
    facts = {}
    for provider, entry in (doc.get("providers") or {}).items():
        for rtype, spec in (entry.get("resources") or {}).items():
            facts[rtype] = Fact(rtype, provider, str(entry["version"]), spec["file"], tuple(spec.get("forceNew") or ()),
                                spec.get("stateful"), spec.get("shrink"), tuple(spec.get("computed") or ()))
    return facts


def stack_resources(tf_json: Mapping[str, Any]) -> dict[str, dict]:
    """`cdk.tf.json` -> {"type.name": attributes}."""
    out = {}
    for rtype, entries in (tf_json.get("resource") or {}).items():
        for name, attrs in (entries or {}).items():
            out[f"{rtype}.{name}"] = attrs if isinstance(attrs, dict) else {}
    return out


def predict_fleet(before: Mapping[str, Resources], after: Mapping[str, Resources], facts: Mapping[str, Fact],
                  disk_of: Optional[Callable[[str, str], Optional[float]]] = None) -> list[Prediction]:
    """Predictions for every stack present in both trees (a whole stack that leaves
    is a decommission: compiler/guard.py)."""
    out: list[Prediction] = []
    for stack in sorted(set(before) & set(after)):
        out += predict(stack, before[stack], after[stack], facts, disk_of)
    return out


def predict(stack: str, before: Resources, after: Resources, facts: Mapping[str, Fact],
            disk_of: Optional[Callable[[str, str], Optional[float]]] = None) -> list[Prediction]:
    out = []
    for address in sorted(before):
        fact = facts.get(address.split(".", 1)[0])
        if address not in after:
            out.append(Prediction(stack, address, "destroy", "", stateful=fact and fact.stateful,
                                  source=fact.source if fact else ""))
            continue
        if fact is None:
            continue
        old, new = before[address], after[address]
        ignored = _ignored(new)
        for path in fact.force_new:
            if _covered(path, ignored):
                continue
            a, b = _values(old, path), _values(new, path)
            if not a and path in fact.computed:
                continue    # the state holds the provider's computed value, which our JSON never showed
            if a != b:
                out.append(Prediction(stack, address, "replace", path, _unwrap(a), _unwrap(b), fact.stateful, fact.source))
        shrink = _shrink(stack, address, fact, old, new, ignored, disk_of)
        if shrink:
            out.append(shrink)
    return out


def _shrink(stack: str, address: str, fact: Fact, old: Mapping, new: Mapping, ignored: set[str],
            disk_of: Optional[Callable[[str, str], Optional[float]]]) -> Optional[Prediction]:
    rule = fact.shrink
    if not rule or _covered(rule["attribute"], ignored):
        return None
    attribute = rule["attribute"]
    a, b = old.get(attribute), new.get(attribute)
    if a == b or a is None or b is None:
        return None
    if rule.get("diskOf"):
        if disk_of is None:
            return None
        da, db = disk_of(fact.provider, str(a)), disk_of(fact.provider, str(b))
        if da is None or db is None or db >= da:
            return None
        return Prediction(stack, address, "shrink", f"{attribute} (disk)", f"{a} ({da:g} GB)", f"{b} ({db:g} GB)",
                          fact.stateful, f"{fact.source}: {rule.get('why', '')}".rstrip(": "))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b < a:
        return Prediction(stack, address, "shrink", attribute, a, b, fact.stateful,
                          f"{fact.source}: {rule.get('why', '')}".rstrip(": "))
    return None


def _ignored(attrs: Mapping[str, Any]) -> set[str]:
    """lifecycle.ignore_changes as plain dotted paths (`node_pool[0].size` -> `node_pool.size`)."""
    lifecycle = attrs.get("lifecycle") or {}
    raw = lifecycle.get("ignore_changes") or []
    if raw == "all" or raw == ["all"]:
        return {"*"}
    return {re.sub(r"\[[^\]]*\]", "", str(p)) for p in raw}


def _covered(path: str, ignored: Iterable[str]) -> bool:
    return any(i == "*" or path == i or path.startswith(i + ".") for i in ignored)


def _values(attrs: Any, path: str) -> list[str]:
    """Every value at a dotted path, through nested blocks (lists of objects), as JSON text."""
    nodes = [attrs]
    for part in path.split("."):
        nxt = []
        for node in nodes:
            if isinstance(node, list):
                nxt += [n.get(part) for n in node if isinstance(n, dict)]
            elif isinstance(node, dict):
                nxt.append(node.get(part))
        nodes = [n for n in nxt if n is not None]
        nodes = [x for n in nodes for x in (n if isinstance(n, list) and n and isinstance(n[0], dict) else [n])]
    return [json.dumps(n, sort_keys=True) for n in nodes]


def _unwrap(values: list[str]) -> Any:
    decoded = [json.loads(v) for v in values]
    return None if not decoded else decoded[0] if len(decoded) == 1 else decoded


def _show(value: Any) -> str:
    return "(unset)" if value is None else str(value) if not isinstance(value, (dict, list)) else json.dumps(value, sort_keys=True)
