"""Golden in/out pairs, one directory per feature (as Sloth's testdata/in-*.yaml -> out-*):

    tests/golden/<case>/in/*.yaml      customer files
    tests/golden/<case>/clawtex.yaml   the case's own settings (a copy, pinned with the case)
    tests/golden/<case>/tiers/         the case's own tier and provider data (a copy)
    tests/golden/<case>/pins.txt       the generated/ paths this case pins, one per line
    tests/golden/<case>/out/<path>     the expected bytes of each pinned path

Each case is self-contained: it compiles into a fresh repository (no previous
generated/) from its own settings and tiers, so editing the repository's
clawtex.yaml or tiers/ moves no case. Only the compiler (and modules/) do.
Re-pin one case at a time; the diff against the old pin is printed first:

    UPDATE_GOLDEN=<case> python3 -m pytest tests/test_golden.py -q -s -k <case>

To move a case onto the repository's current settings and tiers too (their diff
is printed as well): GOLDEN_SETTINGS=repo UPDATE_GOLDEN=<case> ...
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
UPDATE = os.environ.get("UPDATE_GOLDEN", "")
SETTINGS = ("clawtex.yaml", "tiers")


def pins(case: Path) -> list[str]:
    lines = (case / "pins.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def compile_case(case: Path, tmp: Path) -> dict[str, bytes]:
    root = tmp / "repo"
    root.mkdir()
    shutil.copy2(case / "clawtex.yaml", root / "clawtex.yaml")          # the case's own copies
    shutil.copytree(case / "tiers", root / "tiers")
    shutil.copytree(REPO / "modules", root / "modules")
    (root / "customers").mkdir()
    for path in sorted((case / "in").glob("*.yaml")):
        shutil.copy2(path, root / "customers" / path.name)
    return compile_repo(root, use_cache=False)


def unified(old: bytes, new: bytes, before: str, after: str, limit: int | None = 60) -> str:
    lines = list(difflib.unified_diff(old.decode(errors="replace").splitlines(True),
                                      new.decode(errors="replace").splitlines(True), before, after))
    return "".join(lines[:limit])


def tree(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def settings_from_repo(case: Path) -> str:
    """Copies the repository's clawtex.yaml and tiers/*.yaml into the case; returns their diff."""
    report = []
    for name in SETTINGS:
        old, new = tree(case / name), tree(REPO / name)
        if name == "tiers":
            new = {k: v for k, v in new.items() if k.endswith(".yaml")}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                report.append(unified(old.get(key, b""), new.get(key, b""), f"golden/{case.name}/{name}/{key}",
                                      f"{name}/{key}", None))
        if name == "tiers":
            shutil.rmtree(case / name, ignore_errors=True)
            (case / name).mkdir()
            for key, data in new.items():
                (case / name / key).write_bytes(data)
        else:
            shutil.copy2(REPO / name, case / name)
    return "".join(report)


def repin(name: str, case: Path, files: dict[str, bytes], wanted: list[str]) -> str:
    """Writes the case's out/ from `files`; returns what changed, as a unified diff per file."""
    out = case / "out"
    before = tree(out) if out.is_dir() else {}
    report = [f"re-pinned golden case {name}:"]
    for path in sorted(set(before) | set(wanted)):
        new = files[path] if path in wanted else b""
        if before.get(path) != new:
            report.append(f"  {'changed' if path in before and path in wanted else 'added' if path in wanted else 'removed'}: {path}")
            report.append(unified(before.get(path, b""), new, f"golden/{name}/out/{path} (old pin)", f"compiled {path}", None))
    if len(report) == 1:
        report.append("  no change")
    shutil.rmtree(out, ignore_errors=True)
    for path in wanted:
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_bytes(files[path])
    return "\n".join(report)


def test_there_are_cases():
    assert {"bronze-no-paging", "gold-paging", "platinum-white-label", "hostile-text"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_each_case_carries_its_own_settings_and_tiers(name):
    case = GOLDEN / name
    assert (case / "clawtex.yaml").is_file(), f"{name}: no clawtex.yaml of its own"
    assert {p.name for p in (case / "tiers").glob("*.yaml")} >= {"bronze.yaml", "silver.yaml", "gold.yaml",
                                                                 "platinum.yaml", "providers.yaml"}, name


def test_re_pinning_is_one_case_at_a_time():
    assert UPDATE in ("", *CASES), (f"UPDATE_GOLDEN={UPDATE!r}: name one case ({', '.join(CASES)}); "
                                    "re-pinning every case at once is not offered")


@pytest.mark.parametrize("name", CASES)
def test_golden_case(name, tmp_path, capsys):
    case = GOLDEN / name
    if UPDATE == name and os.environ.get("GOLDEN_SETTINGS") == "repo":
        changed = settings_from_repo(case)
        with capsys.disabled():
            print(f"\n{name}: settings and tiers copied from the repository\n{changed or '  (no change)'}")
    files = compile_case(case, tmp_path)
    wanted = pins(case)
    assert wanted, f"{name}: pins.txt names no file"
    unknown = [p for p in wanted if p not in files]
    assert not unknown, f"{name}: pinned paths the compile no longer writes: {unknown}"
    out = case / "out"
    if UPDATE == name:
        report = repin(name, case, files, wanted)
        with capsys.disabled():
            print("\n" + report)
        return
    stray = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) if out.is_dir() else []
    assert sorted(stray) == sorted(wanted), (f"{name}: out/ holds {stray}, pins.txt names {wanted}; "
                                             f"re-pin with UPDATE_GOLDEN={name}")
    for path in wanted:
        expected = (out / path).read_bytes()
        if files[path] != expected:
            diff = unified(expected, files[path], f"golden/{name}/out/{path}", f"compiled {path}")
            pytest.fail(f"{name}: {path} differs from its golden copy (intended? UPDATE_GOLDEN={name} "
                        f"python3 -m pytest tests/test_golden.py -s -k {name}, then review the diff):\n{diff}")
