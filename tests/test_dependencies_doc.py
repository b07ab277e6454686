"""docs/dependencies.md says what each dependency is for (issue 31: "the README's dependency
section says what each library is for"): every runtime dependency in pyproject.toml has a row
in its Runtime table with a purpose and a place, and every test-extra package is named."""
from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement

from conftest import REPO

DOC = REPO / "docs" / "dependencies.md"


def _names(specs: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", Requirement(s).name).lower() for s in specs}


def _section(text: str, title: str) -> str:
    part = text.split(f"## {title}\n", 1)[1]
    return part.split("\n## ", 1)[0]


def runtime_rows() -> dict[str, tuple[str, str]]:
    """Library name -> (what for, where), from the Runtime table."""
    rows = {}
    for line in _section(DOC.read_text(encoding="utf-8"), "Runtime").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in {"library", "---"} or set(cells[0]) <= {"-"}:
            continue
        for name in re.sub(r"\(.*?\)", "", cells[0]).split(","):
            rows[re.sub(r"[-_.]+", "-", name.strip()).lower()] = (cells[1], cells[2])
    return rows


def test_every_runtime_dependency_says_what_it_is_for():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    rows = runtime_rows()
    missing = sorted(_names(project["dependencies"]) - rows.keys())
    assert not missing, f"docs/dependencies.md Runtime table lacks: {missing}"
    thin = sorted(n for n in _names(project["dependencies"]) if len(rows[n][0]) < 15 or not rows[n][1])
    assert not thin, f"rows without a purpose or a place: {thin}"


def test_the_table_names_no_dependency_that_is_gone():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = _names(project["dependencies"]) | {"decimal", "sqlite3"}   # standard library rows
    assert not sorted(runtime_rows().keys() - declared - {"text-unidecode"})   # python-slugify's transliteration


def test_every_test_extra_package_is_named():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    text = _section(DOC.read_text(encoding="utf-8"), "Test extra").lower()
    named = set(re.findall(r"[a-z0-9][a-z0-9_.-]*", text))
    missing = sorted(n for n in _names(project["optional-dependencies"]["test"]) if n not in named)
    assert not missing, f"docs/dependencies.md Test extra lacks: {missing}"
