"""The bundled examples: realistic coverage, schema-valid, editor-ready."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from compiler.load import load_document
from conftest import REPO

EXAMPLES = sorted((REPO / "customers").glob("*.yaml"))
SCHEMAS = REPO / "generated" / "schemas"


def data(path: Path):
    return load_document(path, path.name).data


def test_at_least_eight_examples_cover_tiers_providers_channels():
    docs = [data(p) for p in EXAMPLES]
    assert len(docs) >= 8
    assert {d["spec"]["tier"] for d in docs} == {"bronze", "silver", "gold", "platinum"}
    assert {d["spec"]["provider"] for d in docs} == {"hetzner", "digitalocean", "vultr"}
    channel_types = {ch["type"] for d in docs for ch in d["spec"]["channels"]}
    assert channel_types == {"discord", "telegram", "whatsapp", "signal", "slack", "msteams"}
    platinum = [d for d in docs if d["spec"]["tier"] == "platinum"]
    assert any(len(d["spec"]["regions"]) >= 2 for d in platinum)


def test_several_bronze_customers_share_a_host():
    placement = json.loads((REPO / "generated" / "placement.json").read_text())
    assert max(len(h["tenants"]) for h in placement["hosts"].values()) >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_valid_against_generated_schemas(path):
    first = path.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../generated/schemas/customer.schema.json"
    doc = data(path)
    for schema_file in ("customer.schema.json", f"customer-{doc['spec']['tier']}.schema.json"):
        schema = json.loads((SCHEMAS / schema_file).read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.Draft202012Validator(schema).validate(doc)


def test_tier_schema_rejects_what_the_tier_forbids():
    doc = data(REPO / "customers" / "pixel-bakery.yaml")
    doc["spec"]["channels"].append({"type": "slack", "botToken": {"source": "env", "id": "A"}, "appToken": {"source": "env", "id": "B"}})
    schema = json.loads((SCHEMAS / "customer-bronze.schema.json").read_text())
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    assert any("is too long" in e.message for e in errors)
    assert any("'slack' is not one of" in e.message for e in errors)
