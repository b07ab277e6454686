"""Every generated file parses in its own format."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from ruamel.yaml import YAML

from conftest import REPO

GENERATED = REPO / "generated"


def test_every_generated_file_parses():
    files = sorted(p for p in GENERATED.rglob("*") if p.is_file())
    assert len(files) > 20
    yaml = YAML(typ="safe")
    yaml.constructor.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            json.loads(text)
        elif path.suffix in (".yml", ".yaml"):
            yaml.load(text)
        elif path.suffix in (".conf", ".xml"):
            # Wazuh files may hold several top-level elements: parse them wrapped.
            ET.fromstring(f"<root>{text.split('?>', 1)[-1]}</root>")
        else:
            raise AssertionError(f"no parser for {path}")
