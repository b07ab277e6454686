"""Golden in/out pairs, one directory per feature (as Sloth's testdata/in-*.yaml -> out-*):

    tests/golden/<case>/in/*.yaml      customer files (the repo's clawtex.yaml and tiers/ complete the input)
    tests/golden/<case>/pins.txt       the generated/ paths this case pins, one per line
    tests/golden/<case>/out/<path>     the expected bytes of each pinned path

Each case compiles into a fresh repository (no previous generated/) and is
compared byte for byte. The expected files were reviewed by eye once; when an
intended change moves them, re-pin every case with one command and review the diff:

    UPDATE_GOLDEN=1 python3 -m pytest tests/test_golden.py -q
"""
from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest

from compiler.pipeline import compile_repo
from conftest import REPO

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = sorted(d.name for d in GOLDEN.iterdir() if (d / "in").is_dir())
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def pins(case: Path) -> list[str]:
    lines = (case / "pins.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def compile_case(case: Path, tmp: Path) -> dict[str, bytes]:
    root = tmp / "repo"
    root.mkdir()
    shutil.copy2(REPO / "clawtex.yaml", root / "clawtex.yaml")
    shutil.copytree(REPO / "tiers", root / "tiers")
    shutil.copytree(REPO / "modules", root / "modules")
    (root / "customers").mkdir()
    for path in sorted((case / "in").glob("*.yaml")):
        shutil.copy2(path, root / "customers" / path.name)
    return compile_repo(root, use_cache=False)


def test_there_are_cases():
    assert {"bronze-no-paging", "gold-paging", "platinum-white-label", "hostile-text"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_golden_case(name, tmp_path):
    case = GOLDEN / name
    files = compile_case(case, tmp_path)
    wanted = pins(case)
    assert wanted, f"{name}: pins.txt names no file"
    unknown = [p for p in wanted if p not in files]
    assert not unknown, f"{name}: pinned paths the compile no longer writes: {unknown}"
    out = case / "out"
    if UPDATE:
        shutil.rmtree(out, ignore_errors=True)
        for path in wanted:
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            (out / path).write_bytes(files[path])
        return
    stray = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) if out.is_dir() else []
    assert sorted(stray) == sorted(wanted), f"{name}: out/ holds {stray}, pins.txt names {wanted}; re-pin with UPDATE_GOLDEN=1"
    for path in wanted:
        expected = (out / path).read_bytes()
        if files[path] != expected:
            diff = "".join(list(difflib.unified_diff(expected.decode(errors="replace").splitlines(True),
                                                     files[path].decode(errors="replace").splitlines(True),
                                                     f"golden/{name}/out/{path}", f"compiled {path}"))[:60])
            pytest.fail(f"{name}: {path} differs from its golden copy (intended? UPDATE_GOLDEN=1 "
                        f"python3 -m pytest tests/test_golden.py, then review the diff):\n{diff}")
