"""OpenClaw's own validator (from the openclaw npm package) accepts every generated config."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import REPO, SHARED

VALIDATOR = SHARED / "tools" / "openclaw-validate" / "openclaw-validate"
CONFIGS = sorted((REPO / "generated" / "openclaw").glob("*/openclaw.json"))


def run_validator(files):
    if not VALIDATOR.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{VALIDATOR} is missing in CI")
        pytest.skip("../shared/tools/openclaw-validate not present")
    result = subprocess.run([str(VALIDATOR), *map(str, files)], capture_output=True, text=True, timeout=900)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.returncode, lines


def test_every_generated_openclaw_json_boots():
    assert len(CONFIGS) >= 8
    code, lines = run_validator(CONFIGS)
    bad = [line for line in lines if not line["valid"]]
    assert code == 0 and not bad and len(lines) == len(CONFIGS), bad


def test_validator_is_not_a_rubber_stamp(tmp_path):
    config = json.loads(CONFIGS[0].read_text())
    config["channels"][next(iter(config["channels"]))]["notARealKey"] = True
    path = tmp_path / "openclaw.json"
    path.write_text(json.dumps(config))
    code, lines = run_validator([path])
    assert code == 1 and lines and not lines[0]["valid"]


def test_openclaw_rejects_the_typo_clawtex_validate_refuses(tmp_path):
    """The same misspelled channel option test_openclaw.py shows `clawtex validate` refusing at file:line."""
    config = json.loads((REPO / "generated" / "openclaw" / "pixel-bakery" / "openclaw.json").read_text())
    config["channels"]["telegram"]["dmPolicyy"] = "open"
    path = tmp_path / "openclaw.json"
    path.write_text(json.dumps(config))
    code, lines = run_validator([path])
    assert code == 1 and any(i["path"].startswith("channels.telegram") for i in lines[0]["issues"]), lines


def test_openclaw_checks_declared_secret_providers(tmp_path):
    """Declared secret providers are checked by OpenClaw too: a wrong mode is refused."""
    config = json.loads((REPO / "generated" / "openclaw" / "orbital-health" / "openclaw.json").read_text())
    config["secrets"]["providers"]["vault"]["mode"] = "yaml"
    path = tmp_path / "openclaw.json"
    path.write_text(json.dumps(config))
    code, lines = run_validator([path])
    assert code == 1 and not lines[0]["valid"], lines
