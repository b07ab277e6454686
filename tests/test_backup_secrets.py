"""compiler/gitops/backup_secrets.py (run by play_secrets.py): the restic passwords and Storage Box host keys an apply run
hands to Ansible through the play's environment only (issue 24 item 2)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

INVENTORY = REPO / "generated" / "ansible" / "inventory"
SILVER, GOLD = "brightpath-tutors-oc-1", "acme-logistics-oc-1"      # Vultr S3, Hetzner Storage Box


def run(tmp_path: Path, limit: str, env: dict, outputs: dict | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    """The wrapper around a child that dumps its environment and argv to a file."""
    (tmp_path / "outputs.json").write_text(json.dumps(outputs or {"clawtex_tf_outputs": {}}))
    dump = tmp_path / "child.json"
    child = [sys.executable, "-c", "import json, os, sys; json.dump({'env': dict(os.environ), 'argv': sys.argv}, "
             f"open({str(dump)!r}, 'w'))"]
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    scan = bin_ / "ssh-keyscan"
    scan.write_text('#!/bin/sh\necho "$*" >> "$(dirname "$0")/scans"\nfor a; do h=$a; done\n'
                    'echo "# $h:23 SSH-2.0-OpenSSH"\necho "[$h]:23 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIboxkey"\n')
    scan.chmod(0o755)
    # The wrapper apply-stack.sh runs (compiler/gitops/play_secrets.py); --backup-only: the backup role's part.
    done = subprocess.run([sys.executable, "-m", "compiler.gitops.play_secrets", str(INVENTORY), limit,
                           str(tmp_path / "outputs.json"), "--backup-only", "--", *child], capture_output=True, text=True, cwd=REPO,
                          env={"PATH": f"{bin_}:{os.environ['PATH']}", "PYTHONPATH": str(REPO), **env})
    return done, (json.loads(dump.read_text()) if dump.exists() else {})


def test_each_customer_gets_its_own_password_from_the_one_named_secret(tmp_path):
    done, child = run(tmp_path, f"{SILVER},helios-energy-oc-1", {"CLAWTEX_BACKUP_MASTER_KEY": "master-1"})
    assert done.returncode == 0, done.stderr
    a, b = child["env"]["CLAWTEX_BRIGHTPATH_TUTORS_RESTIC_PASSWORD"], child["env"]["CLAWTEX_HELIOS_ENERGY_RESTIC_PASSWORD"]
    assert a != b and len(a) >= 40 and "master-1" not in a
    # Only the customers of the hosts in the limit; never on the child's command line.
    assert not [k for k in child["env"] if k.endswith("_RESTIC_PASSWORD") and k not in (
        "CLAWTEX_BRIGHTPATH_TUTORS_RESTIC_PASSWORD", "CLAWTEX_HELIOS_ENERGY_RESTIC_PASSWORD")]
    assert not [x for x in child["argv"] if a in x or b in x]
    # Masked for the runner before the play starts; printed nowhere else.
    assert f"::add-mask::{a}" in done.stdout.splitlines() and f"::add-mask::{b}" in done.stdout.splitlines()
    assert a not in done.stderr
    # The same key gives the same password on the next apply (the repository stays readable) ...
    again = run(tmp_path, SILVER, {"CLAWTEX_BACKUP_MASTER_KEY": "master-1"})[1]
    assert again["env"]["CLAWTEX_BRIGHTPATH_TUTORS_RESTIC_PASSWORD"] == a
    # ... another key another one; a value set by ops wins over the derivation.
    other = run(tmp_path, SILVER, {"CLAWTEX_BACKUP_MASTER_KEY": "master-2"})[1]
    assert other["env"]["CLAWTEX_BRIGHTPATH_TUTORS_RESTIC_PASSWORD"] != a
    kept = run(tmp_path, SILVER, {"CLAWTEX_BACKUP_MASTER_KEY": "master-1", "CLAWTEX_BRIGHTPATH_TUTORS_RESTIC_PASSWORD": "ops"})[1]
    assert kept["env"]["CLAWTEX_BRIGHTPATH_TUTORS_RESTIC_PASSWORD"] == "ops"


def test_without_the_named_secret_the_run_stops_and_says_which(tmp_path):
    done, child = run(tmp_path, SILVER, {})
    assert done.returncode != 0 and not child
    assert "CLAWTEX_BACKUP_MASTER_KEY is not set" in done.stderr + done.stdout
    # A host without backups (Bronze) needs nothing.
    bronze = next(p.stem for p in (INVENTORY / "host_vars").glob("*.yml") if "backup:" not in p.read_text()
                  and "clawtex_roles" in p.read_text() and "shared" in p.stem)
    done, child = run(tmp_path, bronze, {})
    assert done.returncode == 0 and child, done.stderr


def test_a_storage_box_host_key_is_read_from_the_box_the_stack_output_names(tmp_path):
    outputs = {"clawtex_tf_outputs": {"acme-logistics": {"backup_endpoint": "u123.your-storagebox.de"}}}
    done, child = run(tmp_path, GOLD, {"CLAWTEX_BACKUP_MASTER_KEY": "k"}, outputs)
    assert done.returncode == 0, done.stderr
    assert child["env"]["CLAWTEX_ACME_LOGISTICS_BACKUP_SFTP_KNOWN_HOSTS"] == \
        "[u123.your-storagebox.de]:23 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIboxkey"
    assert (tmp_path / "bin" / "scans").read_text().split() == ["-p", "23", "-t", "ed25519", "-T", "15", "u123.your-storagebox.de"]
    # A host key ops recorded wins: no scan.
    (tmp_path / "bin" / "scans").unlink()
    done, child = run(tmp_path, GOLD, {"CLAWTEX_BACKUP_MASTER_KEY": "k", "CLAWTEX_ACME_LOGISTICS_BACKUP_SFTP_KNOWN_HOSTS": "pinned"}, outputs)
    assert child["env"]["CLAWTEX_ACME_LOGISTICS_BACKUP_SFTP_KNOWN_HOSTS"] == "pinned" and not (tmp_path / "bin" / "scans").exists()
