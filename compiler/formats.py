"""Canonical serializers: the same data always gives the same bytes."""
from __future__ import annotations

import io
import json
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.representer import RoundTripRepresenter


def dump_json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


class Unsafe(str):
    """Text Ansible must never template: rendered with the `!unsafe` tag."""


def _represent_unsafe(representer: RoundTripRepresenter, value: Unsafe):
    return representer.represent_scalar("!unsafe", str(value), style="'")


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(Unsafe, _represent_unsafe)
    return yaml


def dump_yaml(data: Any, header: str = "") -> bytes:
    buffer = io.StringIO()
    if header:
        buffer.write("".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()))
    buffer.write("---\n")
    _yaml().dump(_plain(data), buffer)
    return buffer.getvalue().encode("utf-8")


def _plain(data: Any) -> Any:
    """Dicts keep their insertion order (callers sort where order is meaningless)."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return data
