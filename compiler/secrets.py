"""Secret sources, one backend per kind (as Kapitan keeps one backend per file
under refs/): how a customer's SecretRef becomes what each consumer reads.

A SecretRef names a secret; the value never enters clawtex. Each target asks
this module how its consumer resolves a reference:

| source | OpenClaw (SecretRef + provider)             | Ansible (controller lookup)        | Alertmanager (`*_file`)        | Wazuh (deploy-time placeholder)   |
|--------|---------------------------------------------|------------------------------------|--------------------------------|-----------------------------------|
| env    | {source: env, id: NAME}; provider source env | secret_env: NAME (lookup('env'))   | refused: it reads files only   | @@secret:env:<provider>:NAME@@    |
| file   | {source: file, id: /json/pointer}; provider  | secret_files: {provider, id, path} | <alertmanagerSecretsDir>/<id>  | @@secret:file:<provider>:<id>@@   |
|        | file <secretsDir>/<provider>.json, mode json |                                    |                                |                                   |

A new source kind is one more backend class here (and its literal in
models.SecretRef); the targets do not change.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from .models import SecretRef

# SecretBackend.to_wazuh's placeholder, read back as (source, provider, id) by the apply run
# (compiler/gitops/play_secrets.py) and the fresh-account replay.
WAZUH_PLACEHOLDER = re.compile(r"@@secret:(env|file):([^:@]+):([^@]+)@@")


class SecretBackend:
    source: str
    ansible_list: str            # the host variable list the openclaw role's secrets task reads

    def to_openclaw(self, ref: SecretRef) -> dict[str, str]:
        """The SecretRef the OpenClaw gateway resolves at startup."""
        raise NotImplementedError

    def openclaw_provider(self, ref: SecretRef, secrets_dir: str) -> dict[str, str]:
        """The `secrets.providers.<alias>` entry that lets the gateway resolve `ref`."""
        raise NotImplementedError

    def to_ansible(self, ref: SecretRef) -> Any:
        """The entry in `ansible_list`; the role looks the value up on the controller."""
        raise NotImplementedError

    def to_alertmanager(self, ref: SecretRef, secrets_dir: str) -> str:
        """The path an Alertmanager `*_file` setting names."""
        raise ValueError(f"Alertmanager reads secrets from files only; {self.source} ref {ref.id} cannot be used")

    def to_wazuh(self, ref: SecretRef) -> str:
        """The placeholder the deploy step replaces in the Wazuh manager config (WAZUH_PLACEHOLDER)."""
        return f"@@secret:{ref.source}:{ref.provider}:{ref.id}@@"


class EnvSecret(SecretBackend):
    """An environment variable (on the controller for Ansible, in the gateway's service environment)."""
    source = "env"
    ansible_list = "secret_env"

    def to_openclaw(self, ref: SecretRef) -> dict[str, str]:
        return {"source": "env", "provider": ref.provider, "id": ref.id}

    def openclaw_provider(self, ref: SecretRef, secrets_dir: str) -> dict[str, str]:
        return {"source": "env"}

    def to_ansible(self, ref: SecretRef) -> str:
        return ref.id


class FileSecret(SecretBackend):
    """A key in the provider's JSON file; `id` is a slash-separated path into it."""
    source = "file"
    ansible_list = "secret_files"

    def to_openclaw(self, ref: SecretRef) -> dict[str, str]:
        # OpenClaw's file provider in JSON mode takes a JSON pointer (RFC 6901: "~" is written "~0").
        return {"source": "file", "provider": ref.provider, "id": "/" + ref.id.replace("~", "~0")}

    def openclaw_provider(self, ref: SecretRef, secrets_dir: str) -> dict[str, str]:
        return {"source": "file", "path": f"{secrets_dir}/{ref.provider}.json", "mode": "json"}

    def to_ansible(self, ref: SecretRef) -> dict[str, Any]:
        return {"provider": ref.provider, "id": ref.id, "path": ref.id.split("/")}

    def to_alertmanager(self, ref: SecretRef, secrets_dir: str) -> str:
        return f"{secrets_dir.rstrip('/')}/{ref.id}"


BACKENDS: dict[str, SecretBackend] = {b.source: b for b in (EnvSecret(), FileSecret())}


def backend(ref: SecretRef) -> SecretBackend:
    return BACKENDS[ref.source]


def to_openclaw(ref: SecretRef) -> dict[str, str]:
    return backend(ref).to_openclaw(ref)


def openclaw_providers(refs: Iterable[SecretRef], secrets_dir: str) -> dict[str, Any]:
    """Every provider alias the refs name, declared (file refs fail closed without one)."""
    providers = {ref.provider: backend(ref).openclaw_provider(ref, secrets_dir) for ref in refs}
    return dict(sorted(providers.items()))


def to_ansible(refs: Iterable[SecretRef]) -> dict[str, list[Any]]:
    """{secret_env: [...], secret_files: [...]}, each sorted, duplicates once."""
    out: dict[str, list[Any]] = {b.ansible_list: [] for b in BACKENDS.values()}
    for ref in sorted(set(refs), key=lambda r: (r.source, r.provider, r.id)):
        out[backend(ref).ansible_list].append(backend(ref).to_ansible(ref))
    return out


def to_alertmanager(ref: SecretRef, secrets_dir: str) -> str:
    return backend(ref).to_alertmanager(ref, secrets_dir)


def to_prometheus(ref: SecretRef, secrets_dir: str) -> str:
    """The path a Prometheus `credentials_file` names: file refs only, like Alertmanager's `*_file`."""
    return backend(ref).to_alertmanager(ref, secrets_dir)


def to_wazuh(ref: SecretRef) -> str:
    return backend(ref).to_wazuh(ref)
