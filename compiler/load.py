"""Stage 1: read YAML documents into plain Python data plus source positions.

Customer files arrive through pull requests, so the loader is strict before any
schema runs: UTF-8 only, bounded size, no tabs for indentation, no anchors or
aliases (no "billion laughs"), no explicit tags (no `!!python/object`), no
duplicate keys. Every problem becomes a Diagnostic with file:line:column.
"""
from __future__ import annotations

import functools

import re
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Iterator

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
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


class SourceDocument(Document):
    """The Document of a cached verdict (validate.cached_customer_file): its file name and
    where to read the file again, without its data or positions. The verdict is stored by
    the file's bytes, so its validation is done and nothing reads the data again; a
    diagnostic about it (a rule across customers, the guards) needs a node's line and
    column, and only then is the file parsed again (the same bytes give the same
    positions; a file that no longer loads gives 1:1). Caching the data and positions of
    1,000 documents was 60 % of the verdict pack's bytes and ~0.03 s of every compile."""

    def __init__(self, file: str, source: Path):
        super().__init__(file, None)
        self._source, self._read = source, False

    def position(self, path: Path_) -> tuple[int, int]:
        if not self._read:
            self._read = True
            try:
                self.positions.update(load_document(self._source, self.file).positions)
            except (CompileError, OSError):
                pass
        return super().position(path)


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _TextDates(RoundTripConstructor):
    """Plain scalars that look like timestamps stay text: the models parse dates, so an
    impossible one (2026-02-30) is a validation error at its own line, not a loader crash."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        return self.construct_scalar(node)


_TextDates.add_constructor("tag:yaml.org,2002:timestamp", _TextDates.construct_yaml_timestamp)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _TextDates
    yaml.allow_duplicate_keys = False
    return yaml


def load_document(path: Path, display_name: str) -> Document:
    """Load one YAML file; raise CompileError with every problem found."""
    return load_bytes(path.read_bytes(), display_name)


def load_bytes(raw: bytes, display_name: str) -> Document:
    """load_document for bytes from elsewhere (a git blob): the same gates, the same loaders."""
    if len(raw) > MAX_FILE_BYTES:
        raise CompileError([Diagnostic(display_name, 1, 1, "", f"file is {len(raw)} bytes; the limit is {MAX_FILE_BYTES}")])
    text = _decode(raw, display_name)
    unprintable = _unprintable(text, display_name)
    if unprintable:
        raise CompileError(unprintable)
    events = _fast_events(text)
    problems = _lexical_problems(text, display_name, events)
    if problems:
        raise CompileError(problems)
    return _fast_document(text, events, display_name) or ruamel_document(text, display_name)


def ruamel_document(text: str, name: str) -> Document:
    """The reference loader: ruamel's round-trip constructor, for any YAML."""
    try:
        node = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        if "duplicate key" in message or "found duplicate key" in str(exc):
            message = "duplicate key " + _duplicate_key_name(str(exc))
            raise CompileError([Diagnostic(name, line, col, "", message)]) from None
        raise CompileError([_syntax_diagnostic(text, name, line, col, message)]) from None
    except Exception as exc:  # ruamel's own crashes on odd input (a sequence as a key): still an error, not a traceback
        raise CompileError([Diagnostic(name, 1, 1, "", f"unreadable YAML ({type(exc).__name__}: {exc})")]) from None
    doc = Document(name, None)
    try:
        doc.data = _plain(node, (), doc.positions)
    except _ComplexKey as key:
        raise CompileError([Diagnostic(name, key.line, key.column, key.where,
                                       "a mapping key must be plain text, not a list or mapping")]) from None
    doc.positions.setdefault((), (1, 1))
    return doc


def libyaml_document(text: str, name: str) -> Document | None:
    """The fast loader (see _from_events); None where it defers to ruamel."""
    return _fast_document(text, _fast_events(text), name)


_DEFER_TO_RUAMEL = re.compile("[\t\r\x85\u2028\u2029]")


def _fast_document(text: str, events: list[Any] | None, name: str) -> Document | None:
    # libyaml accepts tabs in places ruamel refuses ("k: [0<TAB>0]") and counts lines
    # differently around YAML 1.1's extra line breaks: leave such files to ruamel.
    if events is None or _DEFER_TO_RUAMEL.search(text):
        return None
    return _from_events(events, name)


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CompileError([Diagnostic(name, line, column, "", f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})")]) from None


# What YAML 1.2 lets a stream contain (section 5.1); anything else makes both parsers throw.
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _unprintable(text: str, name: str) -> list[Diagnostic]:
    problems = []
    for number, line in enumerate(text.split("\n"), start=1):
        for match in _NOT_PRINTABLE.finditer(line):
            problems.append(Diagnostic(name, number, match.start() + 1, "",
                                       f"control character U+{ord(match.group()):04X} is not allowed"))
    return problems


def _lexical_problems(text: str, name: str, events: list[Any] | None) -> list[Diagnostic]:
    """Refuse anchors, aliases, explicit tags and tab indentation before composing."""
    problems: list[Diagnostic] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            problems.append(Diagnostic(name, number, len(line) - len(stripped) + 1, "", "tab used for indentation; use spaces"))
    if problems:
        return problems
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
        problems.append(_syntax_diagnostic(text, name, line, col, " ".join(str(exc.problem or "invalid YAML").split())))
    return problems


def _syntax_diagnostic(text: str, name: str, line: int, col: int, message: str) -> Diagnostic:
    """A parser error, in plain words where it is a mis-indented line.

    The YAML parser reports indentation mistakes as "expected <block end>, but found
    '<block mapping start>'" or "mapping values are not allowed here", and where the
    first line of a block is the one indented wrongly, it points at the line after it.
    Both are re-read here from the lines themselves: the line to fix is the one whose
    indentation disagrees with its block (the parent's indentation plus the file's
    indentation step)."""
    if not (message.startswith("expected <block end>") or message == "mapping values are not allowed here"):
        return Diagnostic(name, line, col, "", message)
    found = _misindented_line(text.split("\n"), line)
    if found is None:
        return Diagnostic(name, line, col, "", message)
    number, have, levels = found
    around = " or ".join(str(level) for level in levels)
    return Diagnostic(name, number, have + 1, "",
                      f"indentation: this line is indented {have} space{'s' if have != 1 else ''} where its block "
                      f"uses {around}; YAML nests by indentation, so line it up with the other lines of its block")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _inner(line: str) -> int:
    """Where a line's mapping starts: its indentation, past any "- " item markers."""
    match = re.match(r" *(?:- +)*", line)
    return match.end() if match else 0


def _content(lines: list[str], before: int) -> int | None:
    """The 1-based number of the last line before `before` that holds YAML, not a comment."""
    for number in range(before - 1, 0, -1):
        stripped = lines[number - 1].strip()
        if stripped and not stripped.startswith("#"):
            return number
    return None


def _step(lines: list[str]) -> int:
    """The file's indentation step: the most common increase from one line to the next."""
    steps: dict[int, int] = {}
    previous = 0
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = _indent(line)
        if indent > previous:
            steps[indent - previous] = steps.get(indent - previous, 0) + 1
        previous = indent
    return max(sorted(steps), key=lambda k: steps[k]) if steps else 2


def _misindented_line(lines: list[str], line: int) -> tuple[int, int, list[int]] | None:
    """(line to fix, its indentation, the indentation(s) its block uses), or None when
    the error at `line` is not about indentation."""
    if not 1 <= line <= len(lines):
        return None
    previous = _content(lines, line)
    if previous is None:
        return None
    here, above, inner = _indent(lines[line - 1]), _indent(lines[previous - 1]), _inner(lines[previous - 1])
    parent = _content(lines, previous)
    expected = _indent(lines[parent - 1]) + _step(lines) if parent is not None else 0
    first_of_block = parent is not None and lines[parent - 1].split("#")[0].rstrip().endswith(":") \
        and _indent(lines[parent - 1]) < above
    # The line above is the first of its block and sits off the parent's step, while this
    # line sits on it: the line above is the one to fix (the parser reports this line).
    if first_of_block and above != expected and here in (expected, expected + inner - above) and here != inner:
        return previous, above, [expected]
    opens_block = lines[previous - 1].split("#")[0].rstrip().endswith(":")
    if here > inner and not opens_block:
        return line, here, [inner]                 # read as the value above continued
    if here < above or (here > above and here < inner):
        levels = _enclosing_levels(lines, line)
        below = [level for level in levels if level < here]
        higher = [level for level in levels if level > here]
        return line, here, ([below[-1]] if below else []) + ([higher[0]] if higher else [])
    return None


def _enclosing_levels(lines: list[str], line: int) -> list[int]:
    """The indentations of the blocks open above `line`, ascending."""
    levels: list[int] = []
    floor = None
    number = line
    while (number := _content(lines, number)) is not None:
        indent, inner = _indent(lines[number - 1]), _inner(lines[number - 1])
        if floor is None or indent < floor:
            levels.extend(level for level in (inner, indent) if level not in levels)
            floor = indent
        if indent == 0:
            break
    return sorted(levels)


# The same checks over either parser's events.
ALIAS_EVENTS = (AliasEvent, yaml.AliasEvent)
NODE_EVENTS = (NodeEvent, yaml.NodeEvent)
TAGGED_EVENTS = (ScalarEvent, CollectionStartEvent, yaml.ScalarEvent, yaml.CollectionStartEvent)


def _fast_events(text: str) -> list[Any] | None:
    """The event stream from libyaml: same anchors, aliases and tags as ruamel
    sees, in a fraction of the time (this pass runs over every customer file).
    None when libyaml refuses the text: ruamel then says what is wrong."""
    try:
        return list(yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.YAMLError:
        return None


class _NotSimple(Exception):
    """The document needs ruamel's full constructor (see _from_events)."""


_RESOLVER = VersionedResolver()        # ruamel's YAML 1.2 rules decide what a plain scalar is
_STR, _NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP = (f"tag:yaml.org,2002:{kind}"
                                               for kind in ("str", "null", "bool", "int", "float", "timestamp"))
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_POINT_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)\.[0-9]+")


def _from_events(events: list[Any], name: str) -> Document | None:
    """Build the document from libyaml's events, ~10x faster than ruamel composes it.

    Only for the plain shape customer files have: one document of mappings,
    sequences, plain or quoted strings, booleans, nulls, decimal integers and
    decimals like 99.95, with string keys that appear once. Anything else
    (exponents, dates, octal, block scalars, duplicate or merge keys, several
    documents) returns None and ruamel loads the file, so both paths give the
    same data and positions (tests/test_load.py compares them)."""
    if [type(e) for e in events[:2]] != [yaml.StreamStartEvent, yaml.DocumentStartEvent] or \
            [type(e) for e in events[-2:]] != [yaml.DocumentEndEvent, yaml.StreamEndEvent]:
        return None
    doc = Document(name, None)
    body = iter(events[2:-2])
    try:
        doc.data = _build(next(body), body, (), doc.positions)
        if next(body, None) is not None:
            return None
    except (_NotSimple, StopIteration):
        return None
    doc.positions.setdefault((), (1, 1))
    return doc


def _build(event: Any, rest: Iterator[Any], path: Path_, positions: dict[Path_, tuple[int, int]]) -> Any:
    if isinstance(event, yaml.ScalarEvent):
        return _scalar(event)
    if isinstance(event, yaml.SequenceStartEvent):
        items: list[Any] = []
        for item in rest:
            if isinstance(item, yaml.SequenceEndEvent):
                return items
            child = (*path, len(items))
            positions[child] = _where(item)
            items.append(_build(item, rest, child, positions))
    if isinstance(event, yaml.MappingStartEvent):
        out: dict[str, Any] = {}
        for key in rest:
            if isinstance(key, yaml.MappingEndEvent):
                return out
            name = _key(key)
            if name in out:
                raise _NotSimple
            child = (*path, name)
            positions[child] = _where(key)
            out[name] = _build(next(rest), rest, child, positions)
    raise _NotSimple


def _where(event: Any) -> tuple[int, int]:
    return (event.start_mark.line + 1, event.start_mark.column + 1)


def _key(event: Any) -> str:
    if not isinstance(event, yaml.ScalarEvent):
        raise _NotSimple
    value = _scalar(event)
    if not isinstance(value, str) or value == "<<":
        raise _NotSimple
    return value


@functools.lru_cache(maxsize=1 << 16)
def _plain_tag(value: str) -> Any:
    """ruamel's tag for a plain scalar. A function of the text alone here (this resolver has no
    loader, so the YAML version is always its default 1.2, and no path resolvers), asked for
    every plain scalar of every customer file, where keys and most values repeat: memoized."""
    return _RESOLVER.resolve(ScalarNode, value, (True, False))


def _scalar(event: Any) -> Any:
    if event.style in ("|", ">"):
        raise _NotSimple                    # libyaml forgives block headers ruamel refuses (">#")
    if not event.implicit[0]:
        return event.value                  # quoted: always text
    tag = _plain_tag(event.value)
    if tag == _STR:
        return event.value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return event.value.lower() == "true"
    if tag == _INT and _DECIMAL.fullmatch(event.value):
        return int(event.value)
    if tag == _FLOAT and _POINT_DECIMAL.fullmatch(event.value):
        return float(event.value)
    if tag == _TIMESTAMP:
        return event.value                  # dates stay text; the models check them (2026-02-30 at its line)
    raise _NotSimple


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


class _ComplexKey(Exception):
    def __init__(self, line: int, column: int, where: str):
        super().__init__(line, column, where)
        self.line, self.column, self.where = line, column, where


def _plain(node: Any, path: Path_, positions: dict[Path_, tuple[int, int]]) -> Any:
    """Turn ruamel's round-trip nodes into dict/list/scalars, recording positions."""
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            child = (*path, str(key))
            line, col = node.lc.key(key)
            if isinstance(key, (tuple, Mapping)):       # "? [a, b]" / "? {a: b}": ruamel's key seq/map
                raise _ComplexKey(line + 1, col + 1, dotted(path))
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
