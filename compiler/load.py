"""Stage 1: read YAML documents into plain Python data plus source positions.

Customer files arrive through pull requests, so the loader is strict before any
schema runs: UTF-8 only, bounded size, no tabs for indentation, no anchors or
aliases (no "billion laughs"), no explicit tags (no `!!python/object`), no
duplicate keys. Every problem becomes a Diagnostic with file:line:column.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.events import AliasEvent, NodeEvent, ScalarEvent, CollectionStartEvent

from .diagnostics import CompileError, Diagnostic

MAX_FILE_BYTES = 256 * 1024
Path_ = tuple[str | int, ...]


@dataclass
class Document:
    """A loaded YAML file: its data as plain dicts/lists and where each node sits."""

    file: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path_) -> tuple[int, int]:
        """Line/column of the deepest node of `path` that exists (1-based)."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.positions:
                return self.positions[path[:end]]
        return (1, 1)

    def diagnostic(self, path: Path_, message: str) -> Diagnostic:
        line, column = self.position(path)
        return Diagnostic(self.file, line, column, dotted(path), message)


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def load_document(path: Path, display_name: str) -> Document:
    """Load one YAML file; raise CompileError with every problem found."""
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise CompileError([Diagnostic(display_name, 1, 1, "", f"file is {len(raw)} bytes; the limit is {MAX_FILE_BYTES}")])
    text = _decode(raw, display_name)
    problems = _lexical_problems(text, display_name)
    if problems:
        raise CompileError(problems)
    try:
        node = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        if "duplicate key" in message or "found duplicate key" in str(exc):
            message = "duplicate key " + _duplicate_key_name(str(exc))
        raise CompileError([Diagnostic(display_name, line, col, "", message)]) from None
    doc = Document(display_name, None)
    doc.data = _plain(node, (), doc.positions)
    doc.positions.setdefault((), (1, 1))
    return doc


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CompileError([Diagnostic(name, line, column, "", f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})")]) from None


def _lexical_problems(text: str, name: str) -> list[Diagnostic]:
    """Refuse anchors, aliases, explicit tags and tab indentation before composing."""
    problems: list[Diagnostic] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            problems.append(Diagnostic(name, number, len(line) - len(stripped) + 1, "", "tab used for indentation; use spaces"))
    if problems:
        return problems
    try:
        events = list(_fast_events(text))
    except yaml.YAMLError:
        events = None  # let ruamel, which composes the document below, say what is wrong
    try:
        for event in events if events is not None else _yaml().parse(text):
            mark = event.start_mark
            where = (mark.line + 1, mark.column + 1)
            if isinstance(event, ALIAS_EVENTS):
                problems.append(Diagnostic(name, *where, "", f"YAML alias *{event.anchor} is not allowed in clawtex files"))
            elif isinstance(event, NODE_EVENTS) and event.anchor:
                problems.append(Diagnostic(name, *where, "", f"YAML anchor &{event.anchor} is not allowed in clawtex files"))
            if isinstance(event, TAGGED_EVENTS) and event.tag and not _implicit(event):
                problems.append(Diagnostic(name, *where, "", f"YAML tag {event.tag} is not allowed in clawtex files"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(Diagnostic(name, line, col, "", " ".join(str(exc.problem or "invalid YAML").split())))
    return problems


# The same checks over either parser's events.
ALIAS_EVENTS = (AliasEvent, yaml.AliasEvent)
NODE_EVENTS = (NodeEvent, yaml.NodeEvent)
TAGGED_EVENTS = (ScalarEvent, CollectionStartEvent, yaml.ScalarEvent, yaml.CollectionStartEvent)


def _fast_events(text: str) -> Iterator[Any]:
    """The event stream from libyaml: same anchors, aliases and tags as ruamel
    sees, in a fraction of the time (this pass runs over every customer file)."""
    return yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _implicit(event: Any) -> bool:
    implicit = getattr(event, "implicit", None)
    if isinstance(implicit, tuple):
        return any(implicit)
    return bool(implicit)


def _duplicate_key_name(text: str) -> str:
    for line in text.splitlines():
        if "found duplicate key" in line:
            return line.split("found duplicate key", 1)[1].split("with value")[0].strip()
    return ""


def _plain(node: Any, path: Path_, positions: dict[Path_, tuple[int, int]]) -> Any:
    """Turn ruamel's round-trip nodes into dict/list/scalars, recording positions."""
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            child = (*path, str(key))
            line, col = node.lc.key(key)
            positions[child] = (line + 1, col + 1)
            out[str(key)] = _plain(node[key], child, positions)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            child = (*path, index)
            line, col = node.lc.item(index)
            positions[child] = (line + 1, col + 1)
            items.append(_plain(value, child, positions))
        return items
    if node is None:
        return None
    if isinstance(node, ScalarBoolean) or isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if hasattr(node, "isoformat"):  # dates stay as ISO text
        return node.isoformat()
    return str(node)
