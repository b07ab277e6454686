"""The hostile corpus (tests/hostile/cases.yaml): every case is refused with a
clear file:line error, or compiles to artifacts in which the hostile text is inert."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from artifact_checks import inert_problems
from compiler.load import MAX_FILE_BYTES
from compiler.write import read_tree
from conftest import run_clawtex

HOSTILE = Path(__file__).parent / "hostile"
CASES = YAML(typ="safe").load((HOSTILE / "cases.yaml").read_text())["cases"]
MARKER = "HOSTILE"


def generate(kind: str, dest: Path) -> None:
    base = (HOSTILE.parent.parent / "customers" / "pixel-bakery.yaml").read_bytes()
    if kind == "big":   # 10 MB: a long comment after a valid document
        dest.write_bytes(base.replace(b"pixel-bakery", b"huge") + b"# " + b"x" * (10 * 1024 * 1024) + b"\n")
        assert dest.stat().st_size > MAX_FILE_BYTES
    elif kind == "latin1":
        dest.write_bytes(base.replace(b"pixel-bakery", b"latin1").replace(b"Pixel Bakery", "Bäckerei Müller".encode("latin-1")))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_case(repo, case):
    customers = repo / "customers"
    for name in case["files"]:
        if case.get("generate"):
            generate(case["generate"], customers / name)
        else:
            shutil.copy(HOSTILE / name, customers / name)
    before = read_tree(repo / "generated")
    validate = run_clawtex(repo, "validate")
    compiled = run_clawtex(repo, "compile")
    if case["expect"] == "inert":
        assert validate.returncode == 0, validate.stderr
        assert compiled.returncode == 0, compiled.stderr
        generated = repo / "generated"
        reached = MARKER in "".join(p.read_text() for p in generated.rglob("*") if p.is_file())
        assert reached == case.get("reaches", True), "where the hostile text lands changed: update cases.yaml"
        assert inert_problems(generated, MARKER) == []
    else:
        for result in (validate, compiled):
            assert result.returncode == 1
            files = "|".join(re.escape(f) for f in case["files"])
            assert re.search(rf"customers/(?:{files}):\d+:\d+: .*{case['expect']}", result.stderr), result.stderr
        assert read_tree(repo / "generated") == before, "a refused compile must not touch generated/"


def test_inert_check_catches_live_interpolation(tmp_path):
    gen = tmp_path / "generated"
    (gen / "terraform" / "s").mkdir(parents=True)
    (gen / "terraform" / "s" / "cdk.tf.json").write_text('{"x": "HOSTILE ${file(\\"/etc/passwd\\")}"}')
    (gen / "ansible").mkdir()
    (gen / "ansible" / "hosts.yml").write_text("a: 'HOSTILE {{ lookup(\"pipe\", \"id\") }}'\nb: !unsafe 'HOSTILE {{ ok }}'\n")
    (gen / "wazuh").mkdir()
    (gen / "wazuh" / "a.xml").write_text('<g><rule id="1">HOSTILE</rule><x a="HOSTILE"/></g><!-- HOSTILE -->')
    problems = inert_problems(gen, MARKER)
    assert any("Terraform would interpolate" in p for p in problems)
    assert sum("Ansible would template" in p for p in problems) == 1
    assert any("became XML markup" in p for p in problems)
