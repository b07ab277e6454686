"""Every secret an apply run hands to Ansible that is not a Terraform output (issues 24 and 25).

    python -m compiler.gitops.play_secrets INVENTORY LIMIT OUTPUTS [--backup-only] -- ansible-playbook ...

runs the command with the secrets the roles of the hosts in LIMIT (comma-separated, as
`--limit`) read, added to its environment only, read from INVENTORY (an inventory directory, or
a hosts.yml whose host_vars/ sit beside it). The names come from the inventory (the compiler
publishes each once, compiler/targets/ansible.py); the values from where each lives
(docs/backups.md "Secrets of the play"):

- Derived on the runner (HMAC-SHA256, Python's hmac, RFC 2104, of a purpose and the customer id):
  - under the GitHub secret `CLAWTEX_BACKUP_MASTER_KEY`: the restic repository password
    (compiler/gitops/backup_secrets.py; also the Storage Box host key line);
  - under the GitHub secret `CLAWTEX_FLEET_MASTER_KEY`: the gateway token
    (`openclaw_gateway_token_env`, every Bronze tenant's `gateway_token_env`), the Wazuh
    enrollment password (`wazuh_registration_password_env`, the manager's authd.pass and every
    agent's) and the OpenVAS admin password (`openvas_admin_password_env`).
  Two keys, because they are kept differently: losing the backup key loses every backup (it is
  escrowed offline and never rotated lightly); the fleet key can be rotated at any time (the next
  converge rewrites every token and password from the new one).
- Fetched from the secret store (the customers' own credentials, which nothing can derive:
  channel bot tokens, app passwords, model API keys, the ops paging keys and webhooks): a private
  S3 bucket, `CLAWTEX_SECRET_STORE` (s3://bucket[/prefix], a GitHub variable) at
  `CLAWTEX_SECRET_STORE_ENDPOINT`, read with its own read-only key
  (`CLAWTEX_SECRET_STORE_ACCESS_KEY_ID`/`_SECRET_ACCESS_KEY`, GitHub secrets) by `aws s3 cp
  <object> -` (the value comes back on stdout, only the object's name is on the command line).
  An env SecretRef NAME is the object `env/NAME`; a file SecretRef {provider P, id I} the object
  `file/P/I`, written under a fresh 0700 directory that becomes the play's `CLAWTEX_SECRETS_DIR`
  (removed when the play ends). Only the objects the hosts in LIMIT reference are fetched.

A value already in the environment wins (an operator's run by hand, the live tests'). Nothing is
printed, logged or put on a command line: each value is masked first (`::add-mask::`, one line
at a time) and the child inherits them as environment; the master keys and the store's key are
not passed on to it. `--backup-only` (a departing customer's
final backup, `--tags backup`) supplies the backup role's secrets only.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..secrets import WAZUH_PLACEHOLDER
from . import backup_secrets

FLEET_KEY_ENV = "CLAWTEX_FLEET_MASTER_KEY"
STORE_ENV = "CLAWTEX_SECRET_STORE"
STORE_ENDPOINT_ENV = "CLAWTEX_SECRET_STORE_ENDPOINT"
STORE_KEYS = ("CLAWTEX_SECRET_STORE_ACCESS_KEY_ID", "CLAWTEX_SECRET_STORE_SECRET_ACCESS_KEY")
SECRETS_DIR_ENV = "CLAWTEX_SECRETS_DIR"
# One purpose per derived secret: the same key never gives two secrets the same value.
PURPOSES = {"gateway_token": b"clawtex openclaw gateway token v1\0",
            "wazuh_registration": b"clawtex wazuh enrollment password v1\0",
            "openvas_admin": b"clawtex openvas admin password v1\0"}


def derive(master_key: str, purpose: str, customer: str) -> str:
    return backup_secrets.derive_secret(master_key, PURPOSES[purpose], customer)


@dataclass
class Needs:
    """What the roles of the hosts in the limit read: env name -> (purpose, customer) for the
    derived ones; env names and (provider, id) files for the store's."""
    derived: dict[str, tuple[str, str]] = field(default_factory=dict)
    store_env: set[str] = field(default_factory=set)
    store_files: set[tuple[str, str]] = field(default_factory=set)


def _gateway(needs: Needs, customer: str, names: dict) -> None:
    needs.derived[names["gateway_token_env"]] = ("gateway_token", customer)
    needs.store_env.update(names.get("secret_env") or [])
    needs.store_files.update((f["provider"], f["id"]) for f in names.get("secret_files") or [])


def needs_of(inventory: Path, limit: list[str]) -> Needs:
    generated = backup_secrets.hosts_file(inventory).parent.parent.parent    # generated/ansible/inventory/hosts.yml
    needs = Needs()
    for _host, ivars, hv in backup_secrets.limited_hosts(inventory, limit):
        customer = ivars.get("clawtex_customer")
        roles = hv.get("clawtex_roles") or []
        if "openclaw" in roles:
            for tenant in ivars.get("openclaw_containers") or []:          # Bronze: one gateway per tenant
                _gateway(needs, tenant["customer"], tenant)
            if hv.get("openclaw_gateway_token_env") and customer:
                _gateway(needs, customer, {"gateway_token_env": hv["openclaw_gateway_token_env"],
                                           "secret_env": hv.get("openclaw_secret_env"),
                                           "secret_files": hv.get("openclaw_secret_files")})
        if customer and hv.get("wazuh_registration_password_env"):
            needs.derived[hv["wazuh_registration_password_env"]] = ("wazuh_registration", customer)
        if customer and hv.get("openvas_admin_password_env"):
            needs.derived[hv["openvas_admin_password_env"]] = ("openvas_admin", customer)
        if "wazuh_manager" in roles and customer:
            conf = generated / "wazuh" / "managers" / customer / "ossec-manager.conf"
            for source, provider, ident in WAZUH_PLACEHOLDER.findall(conf.read_text() if conf.exists() else ""):
                if source == "env":
                    needs.store_env.add(ident)
                else:
                    needs.store_files.add((provider, ident))
    return needs


def _store_get(key: str, environ: dict[str, str]) -> bytes:
    store = environ.get(STORE_ENV, "").rstrip("/")
    missing = [n for n in (STORE_ENV, STORE_ENDPOINT_ENV, *STORE_KEYS) if not environ.get(n)]
    if missing:
        raise SystemExit(f"secret store: {', '.join(missing)} not set (the apply step passes them) for {key}")
    if not store.startswith("s3://"):
        raise SystemExit(f"secret store: {STORE_ENV} must be s3://bucket[/prefix]")
    env = {**environ, "AWS_ACCESS_KEY_ID": environ[STORE_KEYS[0]], "AWS_SECRET_ACCESS_KEY": environ[STORE_KEYS[1]]}
    done = subprocess.run(["aws", "s3", "cp", "--only-show-errors", "--endpoint-url", environ[STORE_ENDPOINT_ENV],
                           f"{store}/{key}", "-"], env=env, capture_output=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"secret store: {store}/{key} could not be read: {done.stderr.decode(errors='replace').strip()[-300:]}")
    return done.stdout


def secret_env(inventory: Path, limit: list[str], environ: dict[str, str], secrets_dir: Path | None,
               backup_only: bool = False) -> dict[str, str]:
    """The variables to add to the play's environment; file secrets are written under secrets_dir."""
    out: dict[str, str] = {}
    if backup_only:
        return out
    needs = needs_of(inventory, limit)
    for name, (purpose, customer) in sorted(needs.derived.items()):
        if environ.get(name):
            continue
        if not environ.get(FLEET_KEY_ENV):
            raise SystemExit(f"{FLEET_KEY_ENV} is not set: the apply step passes it (GitHub secret) for {name}")
        out[name] = derive(environ[FLEET_KEY_ENV], purpose, customer)
    for name in sorted(needs.store_env):
        if not environ.get(name):
            value = _store_get(f"env/{name}", environ).decode()
            out[name] = value[:-1] if value.endswith("\n") else value
    if needs.store_files and not environ.get(SECRETS_DIR_ENV):
        assert secrets_dir is not None
        for provider, ident in sorted(needs.store_files):
            target = secrets_dir / provider / ident
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(_store_get(f"file/{provider}/{ident}", environ))
        out[SECRETS_DIR_ENV] = str(secrets_dir)
    return out


def mask(value: str) -> None:
    for line in value.splitlines():
        if line.strip():
            print(f"::add-mask::{line}", flush=True)


def main(argv: list[str]) -> int:
    if "--" not in argv or len(argv) < 5:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    split = argv.index("--")
    head, command = argv[:split], argv[split + 1:]
    backup_only = "--backup-only" in head
    positional = [a for a in head if a != "--backup-only"]
    if len(positional) != 3 or not command:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    inventory, limit = Path(positional[0]), [h for h in positional[1].split(",") if h]
    outputs = json.loads(Path(positional[2]).read_text())
    environ = dict(os.environ)
    secrets_dir = Path(tempfile.mkdtemp(prefix="clawtex-secrets-", dir=environ.get("RUNNER_TEMP") or None))
    try:
        added = backup_secrets.secret_env(inventory, limit, outputs, environ)
        for name, value in added.items():
            if not name.endswith("_KNOWN_HOSTS"):          # a public key: nothing to hide
                mask(value)
        more = secret_env(inventory, limit, environ, secrets_dir, backup_only)
        for name, value in more.items():
            if name != SECRETS_DIR_ENV:
                mask(value)
        for path in sorted(secrets_dir.rglob("*")):
            if path.is_file():
                mask(path.read_text(errors="replace"))
        # The play gets the values, never the keys they come from.
        play_env = {k: v for k, v in environ.items() if k not in (FLEET_KEY_ENV, backup_secrets.MASTER_KEY_ENV, *STORE_KEYS)}
        return subprocess.call(command, env={**play_env, **added, **more})
    finally:
        shutil.rmtree(secrets_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
