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

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from .cache import Cache
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
    terraform: Mapping[str, dict] = field(default_factory=dict)   # stack -> {"type.name": attributes} (CommittedStacks)
    # stack -> SHA-256 of its committed cdk.tf.json: a stack compiled to the same bytes has
    # the same resources, so the stateful guard has nothing to compare (stateful_guard.py).
    terraform_digests: dict[str, bytes] = field(default_factory=dict)
    terraform_meta: dict[str, dict] = field(default_factory=dict)   # stack -> its "//".clawtex block


def read_previous(root: Path, use_cache: bool = False) -> PreviousState:
    recover(root)       # a compile killed after its journal's commit is finished first (write.py)
    generated = root / GENERATED
    if not generated.is_dir():
        return PreviousState()
    if use_cache:
        # Parsing the inventory and every stack costs ~0.5 s at 1,000 customers; the
        # answer depends only on the bytes and names of the files read, so it is
        # reused while they are unchanged (compiler/incremental.py, shared facts).
        cache = Cache(root, "previous")
        parts, digests = _inputs(generated)
        key, slot = cache.key(*parts), cache.key(b"last")
        last = cache.get(slot)          # (key, state): this compiler version's one entry
        last_key, last_state = last if isinstance(last, tuple) and len(last) == 2 else (None, None)
        if not isinstance(last_state, PreviousState):
            last_state = None
        if last_key == key and last_state is not None:
            return replace(last_state, terraform=CommittedStacks(generated, last_state.terraform_digests))
        # The tree changed: each stack whose bytes hash as in the state stored last time
        # is taken from it (its `//` block and digest), not read and parsed again (_stacks).
        state = _read(generated, Cache(root, "inventory"), last_state, digests)
        # The state of the tree on disk only, without the stacks' resources (CommittedStacks
        # reads the few a compile compares): 0.2 MB instead of 1.9 MB at 1,000 customers.
        _put_only(cache, slot, (key, replace(state, terraform={})))
        return state
    return _read(generated, None)


class CommittedStacks(Mapping):
    """stack -> the Terraform resources of its committed cdk.tf.json, each parsed when it is
    first read. The stateful guard reads only the stacks whose new bytes differ from the
    committed ones (stateful_guard.predictions: a handful per one-change compile), so the
    ~480 others at 1,000 customers are neither kept in the cached state nor parsed. A stack
    is read from generated/ and must still hash to the digest read_previous recorded (the
    `terraform_digests` of the same state); if another process rewrote it during this
    compile the compile stops rather than compare against bytes it did not start from."""

    def __init__(self, generated: Path, digests: Mapping[str, bytes], loaded: Mapping[str, dict] | None = None):
        self._generated, self._digests = generated, dict(digests)
        self._loaded: dict[str, dict] = dict(loaded or {})

    def __getitem__(self, name: str) -> dict:
        if name in self._loaded:
            return self._loaded[name]
        digest = self._digests[name]            # KeyError: not a committed stack
        from .replacement import stack_resources
        rel = f"terraform/{name}/cdk.tf.json"
        try:
            data = (self._generated / rel).read_bytes()
        except OSError:
            data = b""                          # as _stacks records an unreadable stack
        if hashlib.sha256(data).digest() != digest:
            raise RuntimeError(f"{GENERATED}/{rel} changed while this compile ran (another process wrote "
                               f"{GENERATED}/); compile again")
        self._loaded[name] = resources = stack_resources(_json_bytes(data))
        return resources

    def __iter__(self) -> Iterator[str]:
        return iter(self._digests)

    def __len__(self) -> int:
        return len(self._digests)

    def __contains__(self, name: object) -> bool:
        return name in self._digests

    def __repr__(self) -> str:
        return f"CommittedStacks({len(self._digests)} stacks, {len(self._loaded)} parsed)"

    def __reduce__(self):
        return (dict, (dict(self.items()),))    # pickled (were it ever) as the plain mapping it stands for


def _read(generated: Path, inventory_cache: Cache | None, last: PreviousState | None = None,
          digests: dict[str, bytes | None] | None = None) -> PreviousState:
    placement = _json_object(generated / PLACEMENT_FILE)
    blocks = _json_object(generated / WAZUH_BLOCKS_FILE).get("blocks", {})
    stacks = _stacks(generated, last, digests or {})
    return PreviousState(placement, blocks if isinstance(blocks, dict) else {},
                         _fleet_index(generated, placement, inventory_cache, stacks),
                         CommittedStacks(generated, {name: digest for name, (_, _, digest) in stacks.items()},
                                         {name: resources for name, (resources, _, _) in stacks.items()
                                          if resources is not None}),
                         {name: digest for name, (_, _, digest) in stacks.items()},
                         {name: meta for name, (_, meta, _) in stacks.items()})


def _stacks(generated: Path, last: PreviousState | None = None,
            digests: dict[str, bytes | None] | None = None) -> dict[str, tuple[dict | None, dict, bytes]]:
    """Each committed stack, parsed once: its resources, its `//` clawtex block, the
    SHA-256 of its bytes. A stack whose SHA-256 (`digests`: from the write's stat
    manifest, compiler/write.file_digests) is the one `last` recorded is taken from
    `last`: the same bytes parse to the same data; its resources are None (not parsed:
    CommittedStacks reads them if asked)."""
    from .replacement import stack_resources
    out = {}
    digests = digests or {}
    for path in sorted(generated.glob("terraform/*/cdk.tf.json")):
        name = path.parent.name
        known = digests.get(f"terraform/{name}/cdk.tf.json")
        if (last is not None and known is not None and last.terraform_digests.get(name) == known
                and name in last.terraform_meta):
            out[name] = (None, last.terraform_meta[name], known)
            continue
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        doc = _json_bytes(data)
        meta = (doc.get("//") or {}).get("clawtex") or {}
        out[path.parent.name] = (stack_resources(doc), meta, hashlib.sha256(data).digest())
    return out


def _inputs(generated: Path) -> tuple[list[bytes], dict[str, bytes | None]]:
    """Every file _fleet_index and read_previous read (name and SHA-256 of its bytes, from
    the write's stat manifest where the file is unchanged: compiler/write.py), and the
    names of the files whose existence alone counts."""
    rels = [PLACEMENT_FILE, WAZUH_BLOCKS_FILE, INVENTORY_FILE,
            *(p.relative_to(generated).as_posix() for p in sorted(generated.glob("terraform/*/cdk.tf.json")))]
    parts = []
    digests = file_digests(generated.parent, rels)
    for rel, digest in digests.items():
        parts += [rel.encode(), digest if digest is not None else b"\0missing"]
    names = [f"{d}/{rel}" for d in CUSTOMER_DIRS for rel in files_below(generated / d)]
    parts.append("\n".join(names).encode())
    return parts, digests


# Directories of generated/ with one subdirectory per customer that runs (its files make it one).
CUSTOMER_DIRS = ("openclaw", "wazuh/groups")


def files_below(directory: Path) -> list[str]:
    """The files of `directory` at depth two or more (inside a subdirectory), relative, in
    pathlib's order: what sorted(directory.glob("*/**/*")) filtered by is_file() gives
    (a symlinked first-level directory is listed, deeper ones are not), with one scandir
    per directory instead of pathlib's selectors (~0.1 s at 1,000 customers)."""
    out: list[tuple[str, ...]] = []

    def walk(path: str, parts: tuple[str, ...]) -> None:
        try:
            entries = list(os.scandir(path))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.is_file():
                    out.append((*parts, entry.name))
                elif entry.is_dir() and not entry.is_symlink():
                    walk(entry.path, (*parts, entry.name))
            except OSError:
                continue

    try:
        first = list(os.scandir(directory))
    except OSError:
        return []
    for entry in first:
        try:
            if entry.is_dir():
                walk(entry.path, (entry.name,))
        except OSError:
            continue
    return ["/".join(parts) for parts in sorted(out)]


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


def _fleet_index(generated: Path, placement: dict, inventory_cache: Cache | None = None,
                 stacks: dict[str, tuple[dict, dict, bytes]] | None = None) -> FleetIndex:
    customers: set[str] = set()
    stacks: dict[str, set[str]] = {}

    def runs(customer: Any, stack: str | None = None) -> None:
        customers.add(str(customer))
        sits_in(customer, stack)

    def sits_in(customer: Any, stack: str | None) -> None:
        if stack:
            stacks.setdefault(str(customer), set()).add(str(stack))

    for name, (_, meta, _) in sorted((stacks if stacks is not None else _stacks(generated)).items()):
        for cid in meta.get("customers") or () if isinstance(meta, dict) else ():
            runs(cid, name)
    hosts = placement.get("hosts")
    for host, entry in sorted(hosts.items()) if isinstance(hosts, dict) else ():
        for cid in (entry.get("tenants") or ()) if isinstance(entry, dict) else ():
            runs(cid, host)
    for customer, stack in _inventory_seats(generated, inventory_cache):
        sits_in(customer, stack)
    for directory in CUSTOMER_DIRS:
        for rel in files_below(generated / directory):
            runs(rel.split("/", 1)[0])
    return FleetIndex(frozenset(customers), {cid: frozenset(s) for cid, s in sorted(stacks.items())})


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def inventory_seats(doc: Any) -> tuple[tuple[Any, Any], ...]:
    """(customer, stack) for every customer the inventory document seats on a host: a
    dedicated host's clawtex_customer, a shared host's openclaw_containers (a host alone
    does not make a customer). `doc` is the parsed hosts.yml, or the data the Ansible
    target dumps to it (remember_inventory)."""
    seats = []
    for host_vars in _hosts_of(doc):
        stack = host_vars.get("clawtex_stack")
        if host_vars.get("clawtex_customer"):
            seats.append((host_vars["clawtex_customer"], stack))
        else:
            for entry in host_vars.get("openclaw_containers") or ():
                if isinstance(entry, dict):
                    seats.append((entry.get("customer"), stack))
    return tuple((_plain(c), _plain(s)) for c, s in seats)


def _plain(value: Any) -> Any:
    return str.__str__(value) if isinstance(value, str) else value


def _inventory_seats(generated: Path, cache: Cache | None) -> tuple[tuple[Any, Any], ...]:
    """inventory_seats of the committed hosts.yml. Parsing it is most of a fleet index
    (~0.45 s at 1,000 customers); with a cache, the seats are looked up by the SHA-256 of
    the file's bytes: the compile that wrote those bytes stored them (remember_inventory),
    or the last compile that parsed them did."""
    path = generated / INVENTORY_FILE
    try:
        data = path.read_bytes()
    except OSError:
        return ()
    key = cache.key(hashlib.sha256(data).digest()) if cache is not None else None
    if key is not None:
        hit = cache.get(key)
        if isinstance(hit, tuple):
            return hit
    seats = inventory_seats(_parse_inventory(data))
    if key is not None:
        _put_only(cache, key, seats)
    return seats


def remember_inventory(root: Path, data: bytes, doc: Callable[[], Any]) -> None:
    """Store the seats of hosts.yml's new bytes, taken from the data they are dumped
    from (`doc()`, built only when they are not stored yet), so the next compile does
    not parse the file this one writes. The seats of the data and of the YAML parse of
    its dump are the same (plain strings round-trip through the safe dumper;
    tests/test_incremental.py checks them against the parse after every compile)."""
    cache = Cache(root, "inventory")
    key = cache.key(hashlib.sha256(data).digest())
    if not (cache.directory / f"{key}.pickle").exists():
        _put_only(cache, key, inventory_seats(doc()))


def _put_only(cache: Cache, key: str, value: Any) -> None:
    """The namespace's one entry (the store does not grow with every tree compiled)."""
    cache.put(key, value)
    for old in cache.directory.glob("*.pickle"):
        if old.name != f"{key}.pickle":
            old.unlink(missing_ok=True)


def _parse_inventory(data: bytes) -> Any:
    try:
        return yaml.load(data, Loader=_Loader)
    except yaml.YAMLError:
        return None


def _inventory_hosts(path: Path) -> list[dict]:
    """Every host's variables, from any group of our own inventory."""
    try:
        doc = yaml.load(path.read_bytes(), Loader=_Loader)
    except (OSError, yaml.YAMLError):
        return []
    return _hosts_of(doc)


def _hosts_of(doc: Any) -> list[dict]:
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
