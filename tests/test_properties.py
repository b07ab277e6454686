"""Property: any text in a free-text field either fails validation or yields
artifacts that all parse by their format, with the text inert in each.

Validation and planning run in memory on the example fleet with one customer's
free text replaced; most examples render every target but Terraform (CDKTF
costs ~2 s a run), a few render Terraform too."""
from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from artifact_checks import inert_problems
from compiler.load import Document
from compiler.models import Customer
from compiler.pipeline import load_inputs
from compiler.plan import build_plan
from compiler.targets import TARGETS, render_all
from compiler.validate import LoadedCustomer, find_plaintext_secrets, tier_rule_errors
from conftest import REPO

MARKER = "HOSTILE"
FAST_TARGETS = [name for name in TARGETS if name != "terraform"]
# Bronze (shared host, containers) and Platinum (Wazuh, compliance, k8s) cover every renderer.
CUSTOMERS = ["pixel-bakery", "orbital-health"]
FIELDS = [("metadata", "displayName"), ("metadata", "contacts", 0, "name")]

hostile_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=60) | st.sampled_from([
    "${file(\"/etc/passwd\")}", "%{ if true }x%{ endif }", "{{ lookup('pipe','id') }}", "{% raw %}", "</group><rule id=\"1\">",
    "<!-- -- -->", "\"} or vector(1)", "a\nb", "]]>", "&amp;", "'\"`", "\\", "\u202e", "\ufeff"])


@pytest.fixture(scope="module")
def inputs():
    # no cache: with_text edits the documents' data, which a cached verdict does not keep (load.SourceDocument)
    return load_inputs(REPO, use_cache=False)


def with_text(inputs, cid: str, path: tuple, text: str):
    """The fleet inputs with one free-text field replaced, or None if validation refuses it."""
    lc = next(c for c in inputs.customers if c.model.metadata.id == cid)
    data = copy.deepcopy(lc.doc.data)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = MARKER + text
    doc = Document(lc.doc.file, data, lc.doc.positions)
    try:
        model = Customer.model_validate(data)
    except ValueError:
        return None
    if list(find_plaintext_secrets(doc)) or list(tier_rule_errors(model, doc, inputs.tiers, inputs.catalog)):
        return None
    customers = tuple(LoadedCustomer(model, doc) if c is lc else c for c in inputs.customers)
    return replace(inputs, customers=customers)


def check_artifacts(inputs, tmp: Path, targets) -> None:
    files = render_all(build_plan(inputs), targets)
    for rel, content in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    assert inert_problems(tmp, MARKER) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_text, cid=st.sampled_from(CUSTOMERS), field=st.sampled_from(FIELDS))
def test_free_text_fails_validation_or_stays_inert(inputs, tmp_path_factory, text, cid, field):
    modified = with_text(inputs, cid, field, text)
    # assume(): hypothesis fails the test (Unsatisfiable) if too few inputs are accepted,
    # so a validator that refused everything could not pass it vacuously.
    assume(modified is not None)
    check_artifacts(modified, tmp_path_factory.mktemp("gen"), FAST_TARGETS)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_text.filter(lambda t: "\n" not in t))
def test_free_text_in_terraform_stays_literal(inputs, tmp_path_factory, text):
    modified = with_text(inputs, "orbital-health", ("metadata", "displayName"), "${" + text)
    assume(modified is not None)
    check_artifacts(modified, tmp_path_factory.mktemp("gen"), ["terraform"])


@pytest.mark.parametrize("text", ["${file(\"/etc/passwd\")}", "{{ lookup('pipe','id') }}", "</group><rule id=\"1\">", "\"} or vector(1)"])
def test_known_hostile_texts_are_accepted_and_checked(inputs, tmp_path, text):
    """These must be accepted (they are legal display names) and stay inert everywhere."""
    modified = with_text(inputs, "orbital-health", ("metadata", "displayName"), text)
    assert modified is not None, "validation refused a legal display name"
    check_artifacts(modified, tmp_path, list(TARGETS))
