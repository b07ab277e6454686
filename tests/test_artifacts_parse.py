"""Every generated file parses in its own format."""
from __future__ import annotations

from artifact_checks import parse_artifact
from conftest import REPO

GENERATED = REPO / "generated"


def test_every_generated_file_parses():
    files = sorted(p for p in GENERATED.rglob("*") if p.is_file())
    assert len(files) > 20
    for path in files:
        parse_artifact(path)
