"""Parse every generated file by its format, and check that hostile customer
text stayed inert in it. Shared by the artifact, hostile-corpus and property tests."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable, Iterator

from ruamel.yaml import YAML


class Unsafe(str):
    """A YAML scalar Ansible reads with the !unsafe tag (never templated)."""


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.constructor.add_constructor("!unsafe", lambda loader, node: Unsafe(loader.construct_scalar(node)))
    return yaml


def parse_xml(text: str) -> ET.Element:
    # Wazuh rule/decoder files hold several top-level elements: parse them wrapped.
    return ET.fromstring(f"<root>{text}</root>")


def parse_yaml_stream(text: str) -> list[Any]:
    return list(_yaml().load_all(text))


PARSERS: dict[str, Callable[[str], Any]] = {
    ".json": json.loads,
    ".yml": parse_yaml_stream,
    ".yaml": parse_yaml_stream,
    ".xml": parse_xml,
    ".conf": parse_xml,   # Wazuh agent.conf / ossec fragments are XML
}


def parse_artifact(path: Path) -> Any:
    parser = PARSERS.get(path.suffix)
    if parser is None:
        raise AssertionError(f"no parser for {path}: add one to tests/artifact_checks.py")
    return parser(path.read_text(encoding="utf-8"))


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


def xml_strings(root: ET.Element) -> Iterator[str]:
    for el in root.iter():
        yield from (s for s in (el.text, el.tail) if s)
        yield from el.attrib.values()


def inert_problems(generated: Path, marker: str) -> list[str]:
    """Where text containing `marker` could be evaluated by the artifact's consumer."""
    problems = []
    for path in sorted(p for p in generated.rglob("*") if p.is_file()):
        raw = path.read_text(encoding="utf-8")
        data = parse_artifact(path)
        rel = path.relative_to(generated).as_posix()
        if marker not in raw:
            continue
        if path.suffix in (".xml", ".conf"):
            # Every occurrence must be element text or an attribute value, never markup.
            found = sum(s.count(marker) for s in xml_strings(data))
            if found != raw.count(marker):
                problems.append(f"{rel}: hostile text became XML markup")
            continue
        for s in strings(data):
            if marker not in s:
                continue
            if rel.startswith("terraform/") and re.search(r"(?<!\$)\$\{|(?<!%)%\{", s.replace("$${", "").replace("%%{", "")):
                problems.append(f"{rel}: Terraform would interpolate {s!r}")
            if rel.startswith("ansible/") and re.search(r"\{\{|\{%|\{#", s) and not isinstance(s, Unsafe):
                problems.append(f"{rel}: Ansible would template {s!r}")
    return problems
