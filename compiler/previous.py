"""Stage 1 (load), the second half: what the last compile left in the committed
generated/ tree, read once, before anything is planned.

Three facts come back from the previous compile:
- placement.json: which shared-host tenant sits on which host (placement is sticky);
- wazuh/rule-blocks.json: which customer owns which Wazuh rule-id block (sticky too);
- the fleet index: which customers the committed tree still runs, and in which
  stacks (the decommission guard refuses to drop them silently);
- the Terraform resources of each stack (the stateful guard, compiler/stateful_guard.py,
  predicts what a new compile would replace or shrink).

The plan reads the first two as plain data and stays pure; the guard stage
(compiler/guard.py) reads the index. A missing or damaged file contributes
nothing: a damaged lock file only loses stickiness, a repository without
generated/ has nothing to protect yet.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .write import GENERATED, file_digests, recover

PLACEMENT_FILE = "placement.json"
WAZUH_BLOCKS_FILE = "wazuh/rule-blocks.json"
INVENTORY_FILE = "ansible/inventory/hosts.yml"


@dataclass(frozen=True)
class FleetIndex:
    """The customers the committed tree runs (an OpenClaw config, a Wazuh group, a
    stack or a shared-host slot), and the stacks or slots each one sits in."""

    customers: frozenset[str] = frozenset()
    stacks: dict[str, frozenset[str]] = field(default_factory=dict)

    def stacks_of(self, customer: str) -> set[str]:
        return set(self.stacks.get(customer, ()))


@dataclass(frozen=True)
class PreviousState:
    placement: dict[str, Any] = field(default_factory=dict)       # generated/placement.json as committed
    wazuh_blocks: dict[str, Any] = field(default_factory=dict)    # customer -> block index
    fleet: FleetIndex = field(default_factory=FleetIndex)
    terraform: dict[str, dict] = field(default_factory=dict)      # stack -> {"type.name": attributes}
    # stack -> SHA-256 of its committed cdk.tf.json: a stack compiled to the same bytes has
    # the same resources, so the stateful guard has nothing to compare (stateful_guard.py).
    terraform_digests: dict[str, bytes] = field(default_factory=dict)


def read_previous(root: Path, use_cache: bool = False) -> PreviousState:
    recover(root)       # a compile killed after its journal's commit is finished first (write.py)
    generated = root / GENERATED
    if not generated.is_dir():
        return PreviousState()
    if use_cache:
        # Parsing the inventory and every stack costs ~0.5 s at 1,000 customers; the
        # answer depends only on the bytes and names of the files read, so it is
        # reused while they are unchanged (compiler/incremental.py, shared facts).
        from .cache import Cache
        cache = Cache(root, "previous")
        key = cache.key(*_inputs(generated))
        hit = cache.get(key)
        if isinstance(hit, PreviousState):
            return hit
        state = read_previous(root)
        cache.put(key, state)
        return state
    placement = _json_object(generated / PLACEMENT_FILE)
    blocks = _json_object(generated / WAZUH_BLOCKS_FILE).get("blocks", {})
    terraform, digests = _terraform(generated)
    return PreviousState(placement, blocks if isinstance(blocks, dict) else {}, _fleet_index(generated, placement),
                         terraform, digests)


def _terraform(generated: Path) -> tuple[dict[str, dict], dict[str, bytes]]:
    import hashlib
    from .replacement import stack_resources
    resources, digests = {}, {}
    for path in sorted(generated.glob("terraform/*/cdk.tf.json")):
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        resources[path.parent.name] = stack_resources(_json_bytes(data))
        digests[path.parent.name] = hashlib.sha256(data).digest()
    return resources, digests


def _inputs(generated: Path) -> list[bytes]:
    """Every file _fleet_index and read_previous read (name and SHA-256 of its bytes, from
    the write's stat manifest where the file is unchanged: compiler/write.py), and the
    names of the files whose existence alone counts."""
    rels = [PLACEMENT_FILE, WAZUH_BLOCKS_FILE, INVENTORY_FILE,
            *(p.relative_to(generated).as_posix() for p in sorted(generated.glob("terraform/*/cdk.tf.json")))]
    parts = []
    for rel, digest in file_digests(generated.parent, rels).items():
        parts += [rel.encode(), digest if digest is not None else b"\0missing"]
    names = [p.relative_to(generated).as_posix() for d in (generated / "openclaw", generated / "wazuh" / "groups")
             for p in sorted(d.glob("*/**/*")) if p.is_file()]
    parts.append("\n".join(names).encode())
    return parts


def _json_object(path: Path) -> dict:
    try:
        return _json_bytes(path.read_bytes())
    except OSError:
        return {}


def _json_bytes(raw: bytes) -> dict:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _fleet_index(generated: Path, placement: dict) -> FleetIndex:
    customers: set[str] = set()
    stacks: dict[str, set[str]] = {}

    def runs(customer: Any, stack: str | None = None) -> None:
        customers.add(str(customer))
        sits_in(customer, stack)

    def sits_in(customer: Any, stack: str | None) -> None:
        if stack:
            stacks.setdefault(str(customer), set()).add(str(stack))

    for path in sorted(generated.glob("terraform/*/cdk.tf.json")):
        meta = (_json_object(path).get("//") or {}).get("clawtex") or {}
        for cid in meta.get("customers") or () if isinstance(meta, dict) else ():
            runs(cid, path.parent.name)
    hosts = placement.get("hosts")
    for host, entry in sorted(hosts.items()) if isinstance(hosts, dict) else ():
        for cid in (entry.get("tenants") or ()) if isinstance(entry, dict) else ():
            runs(cid, host)
    for host_vars in _inventory_hosts(generated / INVENTORY_FILE):
        stack = host_vars.get("clawtex_stack")
        if host_vars.get("clawtex_customer"):
            sits_in(host_vars["clawtex_customer"], stack)      # a host alone does not make a customer
        else:
            for entry in host_vars.get("openclaw_containers") or ():
                if isinstance(entry, dict):
                    sits_in(entry.get("customer"), stack)
    for directory in (generated / "openclaw", generated / "wazuh" / "groups"):
        for path in sorted(directory.glob("*/**/*")):
            if path.is_file():
                runs(path.relative_to(directory).parts[0])
    return FleetIndex(frozenset(customers), {cid: frozenset(s) for cid, s in sorted(stacks.items())})


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _inventory_hosts(path: Path) -> list[dict]:
    """Every host's variables, from any group of our own inventory."""
    try:
        doc = yaml.load(path.read_bytes(), Loader=_Loader)
    except (OSError, yaml.YAMLError):
        return []
    out: dict[str, dict] = {}

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        for host, hvars in (node.get("hosts") or {}).items():
            out.setdefault(str(host), {}).update(hvars if isinstance(hvars, dict) else {})
        for sub in (node.get("children") or {}).values():
            walk(sub)

    walk(doc.get("all") if isinstance(doc, dict) else None)
    return [out[h] for h in sorted(out)]
