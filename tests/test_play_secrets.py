"""compiler/gitops/play_secrets.py: every secret the roles read that is no Terraform output reaches
the play's environment (and file secrets a private directory), from where it lives (issue 24)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import REPO

INVENTORY = REPO / "generated" / "ansible" / "inventory"
GOLD, GOLD_WAZUH = "acme-logistics-oc-1", "acme-logistics-wazuh"
PLATINUM = "orbital-health-fra1"     # the fra1 cluster's control target
SHARED = "shared-hetzner-fsn1-01"
KEYS = {"CLAWTEX_BACKUP_MASTER_KEY": "backup-master", "CLAWTEX_FLEET_MASTER_KEY": "fleet-master",
        "CLAWTEX_SECRET_STORE": "s3://clawtex-secrets/fleet", "CLAWTEX_SECRET_STORE_ENDPOINT": "https://store.example",
        "CLAWTEX_SECRET_STORE_ACCESS_KEY_ID": "store-id", "CLAWTEX_SECRET_STORE_SECRET_ACCESS_KEY": "store-key",
        # Storage Box host key as ops recorded it: no ssh-keyscan here.
        "CLAWTEX_ACME_LOGISTICS_BACKUP_SFTP_KNOWN_HOSTS": "[box]:23 ssh-ed25519 AAAA"}


def run(tmp_path: Path, limit: str, env: dict, store: dict[str, str] | None = None):
    """The wrapper around a child that dumps its environment, argv and CLAWTEX_SECRETS_DIR's files;
    `aws` is a stand-in serving `store` (object key -> value) and logging each call and its key."""
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    (tmp_path / "store.json").write_text(json.dumps(store or {}))
    aws = bin_ / "aws"
    aws.write_text(f"""#!{sys.executable}
import json, os, sys
with open({str(tmp_path / 'aws.log')!r}, 'a') as log:
    log.write(json.dumps({{'argv': sys.argv[1:], 'key': os.environ.get('AWS_ACCESS_KEY_ID')}}) + '\\n')
obj = sys.argv[-2].removeprefix('s3://clawtex-secrets/fleet/')
store = json.load(open({str(tmp_path / 'store.json')!r}))
if obj not in store:
    sys.exit('fatal error: An error occurred (404) when calling the HeadObject operation: Key "' + obj + '" does not exist')
sys.stdout.write(store[obj])
""")
    aws.chmod(0o755)
    dump = tmp_path / "child.json"
    child = [sys.executable, "-c",
             "import json, os, sys, pathlib\n"
             "d = os.environ.get('CLAWTEX_SECRETS_DIR')\n"
             "files = {str(p.relative_to(d)): [p.read_text(), oct(p.stat().st_mode & 0o777)] for p in pathlib.Path(d).rglob('*') if p.is_file()} if d else {}\n"
             "mode = oct(pathlib.Path(d).stat().st_mode & 0o777) if d else None\n"
             f"json.dump({{'env': dict(os.environ), 'argv': sys.argv, 'files': files, 'dir_mode': mode}}, open({str(dump)!r}, 'w'))"]
    (tmp_path / "outputs.json").write_text(json.dumps({"clawtex_tf_outputs": {}}))
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir(exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "compiler.gitops.play_secrets", str(INVENTORY), limit,
                           str(tmp_path / "outputs.json"), "--", *child], capture_output=True, text=True, cwd=REPO,
                          env={"PATH": f"{bin_}:{os.environ['PATH']}", "PYTHONPATH": str(REPO),
                               "RUNNER_TEMP": str(runner_temp), **env})
    calls = [json.loads(line) for line in (tmp_path / "aws.log").read_text().splitlines()] if (tmp_path / "aws.log").exists() else []
    return done, (json.loads(dump.read_text()) if dump.exists() else {}), calls, runner_temp


def _hv(host: str) -> dict:
    return yaml.safe_load((INVENTORY / "host_vars" / f"{host}.yml").read_text())


def test_derived_secrets_per_customer_and_purpose_the_manager_and_its_agents_agree(tmp_path):
    store = {f"env/{n}": f"value-of-{n}\n" for n in _hv(GOLD)["openclaw_secret_env"]}
    # The manager's integrations (customers/acme-logistics.yaml paging.keyRef, notifications.webhookRef).
    store.update({"file/ops/pagerduty/acme-logistics.key": "pd-key", "file/ops/slack/acme-logistics.url": "https://hooks.example/x"})
    done, child, calls, runner_temp = run(tmp_path, f"{GOLD},{GOLD_WAZUH}", KEYS, store)
    assert done.returncode == 0, done.stderr
    env = child["env"]
    token = env["CLAWTEX_ACME_LOGISTICS_GATEWAY_TOKEN"]
    enroll = env["CLAWTEX_ACME_LOGISTICS_WAZUH_REGISTRATION_PASSWORD"]
    openvas = env["CLAWTEX_ACME_LOGISTICS_OPENVAS_PASSWORD"]
    restic = env["CLAWTEX_ACME_LOGISTICS_RESTIC_PASSWORD"]
    values = [token, enroll, openvas, restic]
    assert len(set(values)) == 4 and all(len(v) >= 40 for v in values)
    # The names the roles read are the ones the compiler published for these hosts (agent and manager alike).
    assert _hv(GOLD)["wazuh_registration_password_env"] == _hv(GOLD_WAZUH)["wazuh_registration_password_env"] \
        == "CLAWTEX_ACME_LOGISTICS_WAZUH_REGISTRATION_PASSWORD"
    assert _hv(GOLD_WAZUH)["openvas_admin_password_env"] == "CLAWTEX_ACME_LOGISTICS_OPENVAS_PASSWORD"
    # The customer's channel credentials, from the store, one trailing newline dropped.
    for name in _hv(GOLD)["openclaw_secret_env"]:
        assert env[name] == f"value-of-{name}"
    # Only the objects these hosts name, read with the store's own key (not the state's).
    assert sorted(c["argv"][-2] for c in calls) == sorted(f"s3://clawtex-secrets/fleet/{k}" for k in store)
    assert {c["key"] for c in calls} == {"store-id"}
    # Masked before the play starts; never on its command line; the keys they come from not passed on.
    lines = done.stdout.splitlines()
    for value in values[:3] + [f"value-of-{n}" for n in _hv(GOLD)["openclaw_secret_env"]]:
        assert f"::add-mask::{value}" in lines
        assert not [a for a in child["argv"] if value in a]
    for key in ("CLAWTEX_FLEET_MASTER_KEY", "CLAWTEX_BACKUP_MASTER_KEY", "CLAWTEX_SECRET_STORE_SECRET_ACCESS_KEY",
                "CLAWTEX_SECRET_STORE_ACCESS_KEY_ID"):
        assert key not in env
    # Same key, same values at the next apply; another fleet key changes them, not the restic password.
    again = run(tmp_path, f"{GOLD},{GOLD_WAZUH}", KEYS, store)[1]["env"]
    assert [again[k] for k in ("CLAWTEX_ACME_LOGISTICS_GATEWAY_TOKEN", "CLAWTEX_ACME_LOGISTICS_WAZUH_REGISTRATION_PASSWORD")] == [token, enroll]
    other = run(tmp_path, f"{GOLD},{GOLD_WAZUH}", {**KEYS, "CLAWTEX_FLEET_MASTER_KEY": "rotated"}, store)[1]["env"]
    assert other["CLAWTEX_ACME_LOGISTICS_GATEWAY_TOKEN"] != token and other["CLAWTEX_ACME_LOGISTICS_RESTIC_PASSWORD"] == restic


def test_file_secrets_land_in_a_private_directory_removed_after_the_play(tmp_path):
    hv = _hv(PLATINUM)
    wanted = {f"{f['provider']}/{f['id']}" for f in hv["openclaw_secret_files"]}
    assert wanted, "the Platinum example names file SecretRefs"
    store = {f"file/{k}": f"secret {k}\n" for k in wanted}
    store.update({f"env/{n}": "v" for n in hv["openclaw_secret_env"]})
    done, child, calls, runner_temp = run(tmp_path, PLATINUM, {k: v for k, v in KEYS.items() if "ACME" not in k}, store)
    assert done.returncode == 0, done.stderr
    assert child["files"] == {k: [f"secret {k}\n", "0o600"] for k in wanted}
    assert child["dir_mode"] == "0o700" and child["env"]["CLAWTEX_SECRETS_DIR"].startswith(str(runner_temp))
    assert not Path(child["env"]["CLAWTEX_SECRETS_DIR"]).exists(), "removed when the play ended"
    assert list(runner_temp.iterdir()) == []


def test_every_bronze_tenant_of_a_shared_host_gets_its_gateway_token(tmp_path):
    tenants = _find(yaml.load((INVENTORY / "hosts.yml").read_text(), Loader=yaml.BaseLoader)["all"], SHARED)["openclaw_containers"]
    store = {f"env/{n}": "v" for t in tenants for n in t["secret_env"]}
    done, child, _, _ = run(tmp_path, SHARED, KEYS, store)
    assert done.returncode == 0, done.stderr
    tokens = [child["env"][t["gateway_token_env"]] for t in tenants]
    assert len(tenants) >= 2 and len(set(tokens)) == len(tenants)


def _find(node, host):
    if isinstance(node, dict):
        entry = (node.get("hosts") or {}).get(host)
        if isinstance(entry, dict) and entry.get("openclaw_containers"):
            return entry
        for child in (node.get("children") or {}).values():
            found = _find(child, host)
            if found:
                return found
    return None


def test_a_missing_key_or_store_object_stops_the_run_and_names_it(tmp_path):
    done, child, _, _ = run(tmp_path, GOLD_WAZUH, {k: v for k, v in KEYS.items() if k != "CLAWTEX_FLEET_MASTER_KEY"})
    assert done.returncode != 0 and not child
    assert "CLAWTEX_FLEET_MASTER_KEY is not set" in done.stderr
    done, child, _, _ = run(tmp_path, GOLD, KEYS, {})
    assert done.returncode != 0 and not child
    assert "ACME_SLACK_BOT_TOKEN" not in done.stderr.replace("env/ACME_MSTEAMS_APP_PASSWORD", "")
    assert "env/ACME_MSTEAMS_APP_PASSWORD" in done.stderr and "does not exist" in done.stderr
    # A value the operator set wins: nothing fetched for it.
    preset = {n: "mine" for n in _hv(GOLD)["openclaw_secret_env"]}
    (tmp_path / "again").mkdir()
    done, child, calls, _ = run(tmp_path / "again", GOLD, {**KEYS, **preset}, {})
    assert done.returncode == 0, done.stderr
    assert not calls and child["env"]["ACME_SLACK_BOT_TOKEN"] == "mine"
