"""OpenClaw's own `openclaw config validate` accepts every generated config, run by the release its
customer runs (release channel: the generated host_vars say which; clawtex.yaml pins each channel), and
each config rendered for every release channel its tier allows.

The CLI comes from scripts/deps/40-openclaw.sh (clawtex.yaml spec.openclaw
version/nodeVersion, cached in ~/.cache/clawtex); `PATH=$(scripts/openclaw-env)`
puts it first. Missing, this fails under CI=true and skips locally with the
install command. The live suite (tests/live/test_gateway.py) boots the gateway
on the same files; this is the fast first line.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import REPO, missing

CONFIGS = sorted((REPO / "generated" / "openclaw").glob("*/openclaw.json"))


@pytest.fixture(scope="module")
def openclaw_env(tmp_path_factory) -> dict[str, str]:
    done = subprocess.run(["bash", str(REPO / "scripts" / "openclaw-env")], capture_output=True, text=True)
    path = done.stdout.strip()
    if done.returncode != 0 or shutil.which("openclaw", path=path) is None:
        missing("the pinned OpenClaw CLI", "run CLAWTEX_DEPS=40-openclaw bash scripts/install-deps.sh")
    state = tmp_path_factory.mktemp("openclaw-state")
    return {**os.environ, "PATH": path, "OPENCLAW_STATE_DIR": str(state), "HOME": str(state)}


def release_env(base: dict[str, str], rel: dict) -> dict[str, str]:
    """The environment that runs `rel`'s openclaw on its Node (scripts/deps/40-openclaw.sh caches both)."""
    from live.gateway import node_dir, openclaw_dir, openclaw_installed
    if openclaw_installed(rel) is not None:
        missing(f"OpenClaw {rel['version']} ({rel['channel']})", "run CLAWTEX_DEPS=40-openclaw bash scripts/install-deps.sh")
    return {**base, "PATH": f"{node_dir(rel)}/bin:{openclaw_dir(rel)}/node_modules/.bin:/usr/bin:/bin"}


def validate(env: dict[str, str], path) -> tuple[int, dict]:
    done = subprocess.run(["openclaw", "config", "validate", "--json"], capture_output=True, text=True,
                          timeout=300, env={**env, "OPENCLAW_CONFIG_PATH": str(path)})
    start = done.stdout.find("{")
    return done.returncode, json.loads(done.stdout[start:]) if start >= 0 else {"raw": done.stdout + done.stderr}


def test_every_generated_openclaw_json_validates(openclaw_env):
    from live.gateway import customer_release
    assert len(CONFIGS) >= 8
    envs = {p: release_env(openclaw_env, customer_release(p.parent.name)) for p in CONFIGS}
    assert len({e["PATH"] for e in envs.values()}) == 2       # the examples run both release channels
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(CONFIGS, pool.map(lambda p: validate(envs[p], p), CONFIGS)))
    bad = {str(p.relative_to(REPO)): r for p, r in results.items() if r[0] != 0 or r[1].get("valid") is not True}
    assert not bad, bad


def test_every_config_validates_on_every_release_its_tier_allows(openclaw_env, repo):
    """Every Silver+ example moved to lts (tiers allow it): the configs compiled for it pass lts's validator."""
    import yaml
    from conftest import run_clawtex
    from gitops_helpers import edit
    from live.gateway import release
    moved = []
    for path in sorted((repo / "customers").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())["spec"]
        tier = yaml.safe_load((repo / "tiers" / f"{spec['tier']}.yaml").read_text())["spec"]
        if "lts" in tier["releaseChannels"]["allowed"] and spec.get("releaseChannel") != "lts":
            edit(path, f"  tier: {spec['tier']}\n", f"  tier: {spec['tier']}\n  releaseChannel: lts\n")
            moved.append(path.stem)
    assert moved
    result = run_clawtex(repo, "compile")
    assert result.returncode == 0, result.stderr
    env = release_env(openclaw_env, release("lts"))
    configs = [repo / "generated" / "openclaw" / cid / "openclaw.json" for cid in moved]
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(moved, pool.map(lambda p: validate(env, p), configs)))
    bad = {cid: r for cid, r in results.items() if r[0] != 0 or r[1].get("valid") is not True}
    assert not bad, bad


def test_validator_is_not_a_rubber_stamp(openclaw_env, tmp_path):
    config = json.loads(CONFIGS[0].read_text())
    config["channels"][next(iter(config["channels"]))]["notARealKey"] = True
    path = tmp_path / "openclaw.json"
    path.write_text(json.dumps(config))
    code, body = validate(openclaw_env, path)
    assert code == 1 and body.get("valid") is False, body


def test_openclaw_rejects_the_typo_clawtex_validate_refuses(openclaw_env, tmp_path):
    """The same misspelled channel option test_openclaw.py shows `clawtex validate` refusing at file:line."""
    config = json.loads((REPO / "generated" / "openclaw" / "pixel-bakery" / "openclaw.json").read_text())
    config["channels"]["telegram"]["dmPolicyy"] = "open"
    path = tmp_path / "openclaw.json"
    path.write_text(json.dumps(config))
    code, body = validate(openclaw_env, path)
    assert code == 1 and any(i["path"].startswith("channels.telegram") for i in body["issues"]), body


def test_openclaw_checks_declared_secret_providers(openclaw_env, tmp_path):
    """Declared secret providers are checked by OpenClaw too: a wrong mode is refused."""
    config = json.loads((REPO / "generated" / "openclaw" / "orbital-health" / "openclaw.json").read_text())
    config["secrets"]["providers"]["vault"]["mode"] = "yaml"
    path = tmp_path / "openclaw.json"
    path.write_text(json.dumps(config))
    code, body = validate(openclaw_env, path)
    assert code == 1 and body.get("valid") is False, body
