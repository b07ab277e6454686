"""The loader refuses hostile or sloppy YAML with file:line before any schema runs."""
from pathlib import Path

import pytest

from compiler.diagnostics import CompileError
from compiler.load import MAX_FILE_BYTES, load_document


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
