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
