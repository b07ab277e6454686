"""The loader refuses hostile or sloppy YAML with file:line before any schema runs."""
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from compiler.diagnostics import CompileError
from compiler.load import MAX_FILE_BYTES, libyaml_document, load_document, ruamel_document
from conftest import REPO


def load_text(tmp_path: Path, content: bytes):
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    return load_document(path, "customers/c.yaml")


@pytest.mark.parametrize("content, expected", [
    (b"a: &x [1]\nb: *x\n", "customers/c.yaml:1:4: YAML anchor &x is not allowed"),
    (b"a: 1\nb: 2\na: 3\n", "customers/c.yaml:3:1: duplicate key"),
    (b"a: !!python/object:os.system x\n", "customers/c.yaml:1:4: YAML tag tag:yaml.org,2002:python/object:os.system"),
    (b"a:\n\tb: 1\n", "customers/c.yaml:2:1: tab used for indentation"),
    (b"a: ok\nb: \xff\xfe\n", "customers/c.yaml:2:4: file is not valid UTF-8"),
    (b"a: [1, 2\n", "customers/c.yaml:"),
    (b"? {a: [b]}\n: c\n", "customers/c.yaml:1:1: unreadable YAML (TypeError"),
    (b"x:\n  ? [a]\n  : b\n", "customers/c.yaml:2:5: x: a mapping key must be plain text"),
    (b"?\n  a: b\n: c\n", "a mapping key must be plain text"),
    (b"a: ok\nb: x\x08y\n", "customers/c.yaml:2:5: control character U+0008 is not allowed"),
])
def test_refused(tmp_path, content, expected):
    with pytest.raises(CompileError) as exc:
        load_text(tmp_path, content)
    assert expected in str(exc.value)


def test_billion_laughs_is_refused_without_expansion(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    with pytest.raises(CompileError) as exc:
        load_text(tmp_path, "\n".join(lines).encode())
    assert "anchor &a is not allowed" in str(exc.value)


def test_oversized_file(tmp_path):
    with pytest.raises(CompileError, match="limit is"):
        load_text(tmp_path, b"a: " + b"x" * (MAX_FILE_BYTES + 1) + b"\n")


def test_positions_and_plain_types(tmp_path):
    doc = load_text(tmp_path, b"top:\n  flag: true\n  n: 3\n  items:\n    - x\n    - 1.5\n")
    assert doc.data == {"top": {"flag": True, "n": 3, "items": ["x", 1.5]}}
    assert type(doc.data["top"]["flag"]) is bool and type(doc.data["top"]["n"]) is int
    assert doc.position(("top", "items", 1)) == (6, 7)
    assert doc.position(("top", "n")) == (3, 3)
    assert doc.position(("top", "missing", 3)) == doc.position(("top",)) == (1, 1)


# -- the libyaml fast path must give exactly what ruamel gives, or defer to it

REPO_YAML = sorted(p for folder in ("customers", "tiers", "billing", "tests/hostile")
                   for p in (REPO / folder).glob("*.y*ml")) + [REPO / "clawtex.yaml"]

TRICKY = [
    "a: 1\nb:\n  - x\n  - k: v\n    m: n\n  -   z\nc: {p: q, r: [1, 2]}\n\"q\": lit\n",
    "a: yes\nb: on\nc: 'true'\nd: True\ne: ~\nf:\ng: null\nh: -3\ni: +4\nj: 0\n",
    "- [a, {b: c}]\n- {}\n- []\n- ''\n",
    "key with spaces: \"esc\\u00e9\\n\"\n'single': 'it''s'\n",
    "# comment only before\na: b # trailing\n",
    "a: 1.5\nb: -0.25\nc: 99.95\n",
    # dates stay text on both paths (the models parse them; 2026-02-30 fails validation at its line)
    "a: 2026-01-02\nb: 2026-02-30\nc: '2026-01-02'\n",
]
DEFERRED = [
    "a: 1e3\n", "a: 0o17\n", "a: 0777\n", "a: 1_000\n", "a: .inf\n",
    "1: a\n", "true: a\n", "a: 1\na: 2\n", "<<: {a: b}\n", "--- a\n--- b\n", "", "[a]: b\n", "k: [0\t0]\n", "n: [\x850]\n", "a: b\r\n", "a: >-\n  folded\n", "k: >#\n",
]


def _accepted(text: str) -> bool:
    """load_document's gates (control characters, anchors, tags…) run before either loader."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_document(path, "f.yaml")
        except CompileError:
            return False
    return True


def _both(text: str):
    return libyaml_document(text, "f.yaml"), ruamel_document(text, "f.yaml")


@pytest.mark.parametrize("path", REPO_YAML, ids=lambda p: str(p.relative_to(REPO)))
def test_fast_loader_matches_ruamel_on_repo_files(path):
    assert_loaders_agree(path.read_text(encoding="utf-8"), ruamel_refusal_binds=True)


@pytest.mark.parametrize("text", TRICKY)
def test_fast_loader_matches_ruamel_on_tricky_yaml(text):
    fast, reference = _both(text)
    assert fast is not None, "expected the fast path to take this document"
    assert (fast.data, fast.positions) == (reference.data, reference.positions)


@pytest.mark.parametrize("text", DEFERRED)
def test_fast_loader_defers_what_it_does_not_model(text):
    assert libyaml_document(text, "f.yaml") is None


def test_fast_path_covers_the_example_customers():
    """Otherwise the speed-up silently stops applying."""
    for path in sorted((REPO / "customers").glob("*.yaml")):
        assert libyaml_document(path.read_text(encoding="utf-8"), path.name) is not None, path.name


def assert_loaders_agree(text: str, ruamel_refusal_binds: bool) -> None:
    """Where load_document's gates pass and both loaders read `text`, same data and
    positions; with ruamel_refusal_binds, what ruamel refuses the fast path leaves alone."""
    if not _accepted(text):        # anchors (billion laughs), tags… never reach ruamel's composer
        return
    fast = libyaml_document(text, "f.yaml")
    try:
        reference = ruamel_document(text, "f.yaml")
    except CompileError:
        assert fast is None or not ruamel_refusal_binds, "the fast path accepted YAML that ruamel refuses"
        return
    if fast is not None:
        assert (fast.data, fast.positions) == (reference.data, reference.positions)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24),
       st.sampled_from(["k: {}\n", "l:\n  - {}\n", "m: {{a: {}}}\n", "n: [{}]\n"]))
def test_fast_loader_agrees_with_ruamel_on_any_scalar(value, shape):
    assert_loaders_agree(shape.format(value), ruamel_refusal_binds=True)


EXAMPLE = (REPO / "customers" / "orbital-health.yaml").read_text(encoding="utf-8")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(EXAMPLE)), st.text(alphabet=" \n-:#'\"[]{},&*!|>?%@`abc019.", max_size=8))
def test_fast_loader_agrees_with_ruamel_on_damaged_documents(at, insert):
    """Random YAML punctuation spliced into a real customer file: where both loaders
    read it, they agree on the data and positions. (libyaml reads a few corner
    forms ruamel refuses, such as `["":x]`; those still go through the schema.)"""
    assert_loaders_agree(EXAMPLE[:at] + insert + EXAMPLE[at:], ruamel_refusal_binds=False)
