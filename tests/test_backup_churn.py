"""Issue 24 item 5, "churn loses nothing by accident", for every provider (test_replacement.py
covers helios-energy, Vultr): the decommission record says until when the backups stay, and the
destroy keeps each backup bucket or box (it leaves the Terraform state before `terraform destroy`:
compiler/gitops/protection.py, run by scripts/gitops/apply-stack.sh), so the provider keeps it and
what protects its history (box snapshots, bucket versions) goes on. Expected values by hand from
customers/*.yaml and tiers/*.yaml (retentionDays: Silver 7, Gold and Platinum 30)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO, copy_repo
from gitops_helpers import edit

# stack -> the addresses that must leave the state (and so stay at the provider), by hand.
KEPT = {
    "acme-logistics": ["hcloud_storage_box.backup"],                                     # Hetzner, Gold
    "mapleleaf-dental": ["digitalocean_spaces_bucket.backup"],                           # DigitalOcean, Silver
    "orbital-health": ["digitalocean_spaces_bucket.backup", "digitalocean_spaces_bucket.backup_ams3"],  # both regions
    "helios-energy": ["vultr_object_storage.backup_store", "vultr_object_storage_bucket.backup"],      # Vultr, Gold
    "brightpath-tutors": ["vultr_object_storage.backup_store", "vultr_object_storage_bucket.backup"],  # Vultr, Silver
}


@pytest.mark.parametrize("stack", sorted(KEPT))
def test_the_destroy_keeps_every_backup_store(stack, tmp_path):
    path = REPO / "generated" / "terraform" / stack / "cdk.tf.json"
    out, forget = tmp_path / "lift.json", tmp_path / "forget.txt"
    subprocess.run([sys.executable, "-m", "compiler.gitops.protection", str(path), "--out", str(out), "--forget", str(forget)],
                   cwd=REPO, check=True, capture_output=True, text=True)
    assert sorted(forget.read_text().split()) == KEPT[stack]
    # nothing else is spared: every server and volume of the stack goes (no orphan billing on)
    lifted = json.loads(out.read_text())["resource"]
    still = sorted(f"{t}.{n}" for t, body in lifted.items() for n, r in body.items()
                   if (r.get("lifecycle") or {}).get("prevent_destroy"))
    assert set(still) <= set(KEPT[stack]), still


def test_the_decommission_record_says_until_when_for_each_provider(tmp_path):
    from compiler.pipeline import compile_repo
    repo = copy_repo(tmp_path / "repo")
    for cid in ("acme-logistics", "mapleleaf-dental", "orbital-health"):
        edit(repo / "customers" / f"{cid}.yaml", "\nspec:\n",
             '\nspec:\n  status: decommissioned\n  decommission: {approvedBy: Ops Lead, date: "2026-11-01"}\n')
    record = json.loads(compile_repo(repo, use_cache=False)["decommissions.json"])["customers"]
    got = {c: (r["backupsKeptUntil"], r["backupRetentionDays"], r["backups"], r["retainedResourceTypes"]) for c, r in record.items()}
    assert got == {
        # 2026-11-01 + 30 days; the box in Falkenstein
        "acme-logistics": ("2026-12-01", 30, [{"kind": "sftp", "name": "acme-logistics-backup", "region": "fsn1"}],
                           ["hcloud_storage_box"]),
        # 2026-11-01 + 7 days
        "mapleleaf-dental": ("2026-11-08", 7, [{"kind": "s3", "name": "clawtex-mapleleaf-dental-backup", "region": "nyc3"}],
                             ["digitalocean_spaces_bucket"]),
        # both regions' buckets stay
        "orbital-health": ("2026-12-01", 30, [{"kind": "s3", "name": "clawtex-orbital-health-backup", "region": "fra1"},
                                              {"kind": "s3", "name": "clawtex-orbital-health-backup-ams3", "region": "ams3"}],
                           ["digitalocean_spaces_bucket"]),
    }
