"""The backup secrets an apply run hands to Ansible that are not Terraform outputs (issue 24 item 2).

compiler/gitops/play_secrets.py (the wrapper apply-stack.sh runs around ansible-playbook) adds
these to the play's environment, for the customers of the hosts in its LIMIT with the backup role:

- `CLAWTEX_<C>_RESTIC_PASSWORD`, the customer's repository password: HMAC-SHA256 (Python's
  hmac, RFC 2104) of the customer id under one GitHub secret, `CLAWTEX_BACKUP_MASTER_KEY`, which
  the apply step passes by name. The key never leaves the runner; a host learns only its own
  customer's password. A value already in the environment (an operator's override, the live
  tests') wins. Rotating the master key changes every password: add the new one to each
  repository first (`restic key add`), then rotate.
- Storage Box customers, `CLAWTEX_<C>_BACKUP_SFTP_KNOWN_HOSTS`, the box's host key line: the
  value ops recorded (secret store) when set; otherwise `ssh-keyscan -p 23 -t ed25519` of the
  box's host (the stack output in OUTPUTS, the play's -e @file) from the runner, trust on first
  use at every apply (no Terraform attribute carries the box's host key; docs/backups.md). The
  box's host, user and the key it trusts are stack outputs the role reads there itself.

No value is printed, logged or put on a command line: the play inherits them as environment,
and each is masked first (`::add-mask::`, GitHub workflow commands) in case a tool echoes it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Iterator

import yaml

from .artifacts import read_inventory

MASTER_KEY_ENV = "CLAWTEX_BACKUP_MASTER_KEY"
_CONTEXT = b"clawtex restic repository password v1\0"


def derive_secret(master_key: str, context: bytes, customer: str) -> str:
    """HMAC-SHA256 of a purpose's context and the customer id under a master key (unpadded urlsafe
    base64): the restic password here, the fleet's derived secrets in play_secrets."""
    mac = hmac.new(master_key.encode(), context + customer.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def restic_password(master_key: str, customer: str) -> str:
    return derive_secret(master_key, _CONTEXT, customer)


def hosts_file(inventory: Path) -> Path:
    """An inventory directory's hosts.yml, or the hosts.yml given (its host_vars/ sit beside it)."""
    return inventory / "hosts.yml" if inventory.is_dir() else inventory


def limited_hosts(inventory: Path, limit: list[str]) -> Iterator[tuple[str, dict, dict]]:
    """(host, its hosts.yml vars, its host_vars) for each host in `limit` (empty when absent)."""
    hosts = hosts_file(inventory)
    identity, _ = read_inventory(hosts.read_bytes())
    for host in limit:
        path = hosts.parent / "host_vars" / f"{host}.yml"
        hv = yaml.safe_load(path.read_text()) if path.exists() else {}
        yield host, (identity[host].vars if host in identity else {}), hv


def backup_hosts(inventory: Path, limit: list[str]) -> dict[str, tuple[str, dict]]:
    """host -> (customer, host_vars `backup`) for the hosts in `limit` with the backup role."""
    out = {}
    for host, ivars, hv in limited_hosts(inventory, limit):
        customer = ivars.get("clawtex_customer")
        if customer and "backup" in (hv.get("clawtex_roles") or []) and hv.get("backup"):
            out[host] = (customer, hv["backup"])
    return out


def scan_host_key(host: str) -> str:
    """The box's ed25519 host key line, as ssh-keyscan prints it (`[host]:23 ssh-ed25519 AAAA…`)."""
    import subprocess
    done = subprocess.run(["ssh-keyscan", "-p", "23", "-t", "ed25519", "-T", "15", host],
                          capture_output=True, text=True, timeout=60)
    lines = [line for line in done.stdout.splitlines() if line and not line.startswith("#") and " ssh-ed25519 " in line]
    if not lines:
        raise SystemExit(f"ssh-keyscan found no ed25519 host key on {host} port 23: {done.stderr.strip()[-300:]}")
    return lines[0]


def secret_env(inventory: Path, limit: list[str], outputs: dict, environ: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for host, (customer, backup) in sorted(backup_hosts(inventory, limit).items()):
        # The names the role reads: host_vars backup.secret_env (compiler/targets/ansible.py).
        name = backup["secret_env"]["restic_password"]
        if not environ.get(name) and name not in out:
            if not environ.get(MASTER_KEY_ENV):
                raise SystemExit(f"{MASTER_KEY_ENV} is not set: the apply step passes it (GitHub secret) for {name}")
            out[name] = restic_password(environ[MASTER_KEY_ENV], customer)
        known = backup["secret_env"].get("sftp_known_hosts")
        if known and not environ.get(known) and known not in out:
            box = ((outputs.get("clawtex_tf_outputs") or {}).get(backup["outputs_stack"]) or {}).get(backup["outputs"]["host"])
            if not box:
                raise SystemExit(f"{host}: output {backup['outputs_stack']}.{backup['outputs']['host']} is not in the outputs file")
            out[known] = scan_host_key(box)
    return out
