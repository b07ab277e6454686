"""Canonical serializers: the same data always gives the same bytes."""
from __future__ import annotations

import io
import json
from typing import Any

import yaml

from .incremental import serialize


def dump_json(data: Any) -> bytes:
    return serialize("json", (data,), _dump_json)


def _dump_json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


class Unsafe(str):
    """Text Ansible must never template: rendered with the `!unsafe` tag."""


# libyaml's emitter: ~10x faster than a pure-Python one, which dominated
# compiles of large fleets (hundreds of host_vars files).
class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    pass


_Dumper.add_representer(Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value), style="'"))


def dump_yaml(data: Any, header: str = "") -> bytes:
    return serialize("yaml", (data, header), _dump_yaml)


def _dump_yaml(data: Any, header: str) -> bytes:
    buffer = io.StringIO()
    if header:
        buffer.write("".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()))
    buffer.write("---\n")
    buffer.write(yaml.dump(_plain(data), Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                           allow_unicode=True, width=4096))
    return buffer.getvalue().encode("utf-8")


# A line of an entry dumped alone longer than this may have been folded at the emitter's
# width (4096) or would be once indented: such a document is dumped whole instead.
_SPLIT_MAX_LINE = 2000


def dump_yaml_split(data: Any, header: str, levels: int) -> bytes:
    """dump_yaml(data, header), byte for byte, with each entry `levels` mappings down
    serialized alone and memoized (incremental.serialize): a change to one host of the
    Ansible inventory re-represents that host, not the other ~17,000 lines.

    Why the pieces join to the whole: PyYAML's block emitter writes each key/value of a
    block mapping independently, at the mapping's indent (the parent's + 2), so a nested
    entry is its own dump with every non-empty line indented by 2 per level (empty lines
    of multi-line scalars are bare line breaks in both). The cases where that is not so
    fall back to the whole dump: a line long enough to be folded at the width, an entry
    that ends the stream open ("..."), a key that is not a one-line simple key, a line
    break the emitter writes as itself other than \n (U+2028, U+2029, U+0085, \r).
    tests/test_formats_split.py checks the join against the whole dump on hostile data."""
    parts: list[bytes] = []
    if not (isinstance(data, dict) and data and _split(parts, data, levels, b"")):
        return dump_yaml(data, header)
    return _header(header).encode("utf-8") + b"---\n" + b"".join(parts)


def _split(parts: list[bytes], mapping: dict, levels: int, indent: bytes) -> bool:
    for key, value in mapping.items():
        if levels > 0 and isinstance(value, dict) and value:
            line = serialize("yaml-key", (key,), _key_line)
            if not line:
                return False
            parts.append(indent + line)
            if not _split(parts, value, levels - 1, indent + b"  "):
                return False
            continue
        entry = serialize("yaml-entry", (key, value), _entry)
        if not entry:
            return False
        parts.append(b"\n".join(indent + line if line else line for line in entry.split(b"\n")) if indent else entry)
    return True


def _key_line(key: Any) -> bytes:
    """`key:` as the emitter writes it before a nested block mapping; b"" where it would not be one line."""
    text = _dump_bare({str(key): None})
    if not text.endswith(b": null\n") or text.count(b"\n") != 1 or text.startswith(b"?"):
        return b""
    return text[:-len(b" null\n")] + b"\n"


def _entry(key: Any, value: Any) -> bytes:
    """One key/value of a block mapping dumped alone; b"" where it would not join (see dump_yaml_split)."""
    text = _dump_bare({str(key): value})
    if text.startswith(b"?") or text.endswith(b"...\n") or any(len(line) > _SPLIT_MAX_LINE for line in text.split(b"\n")):
        return b""
    return text


def _dump_bare(data: Any) -> bytes:
    text = yaml.dump(_plain(data), Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=4096)
    if len(text.splitlines()) != text.count("\n"):
        return b"?"       # a line break other than \n (U+2028, U+0085, \r...): its next line is indented too
    return text.encode("utf-8")


def _header(header: str) -> str:
    return "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) if header else ""


def _plain(data: Any) -> Any:
    """Dicts keep their insertion order (callers sort where order is meaningless)."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    # Plain builtins only: the safe dumper refuses subclasses (ruamel scalars, enums).
    if isinstance(data, Unsafe):
        return data
    if isinstance(data, str):
        return str.__str__(data)  # the text itself, even for a str-based Enum
    for kind in (bool, int, float):
        if isinstance(data, kind):
            return kind(data)
    return data
