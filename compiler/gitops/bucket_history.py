"""Backup history a compromised host cannot erase with a plain DELETE, for buckets whose provider
has no Terraform lifecycle resource (issue 24 item 2; the provider plug-in's bucket, provider-facts row 35).

    python -m compiler.gitops.bucket_history INVENTORY_DIR STACK TF_OUTPUTS_JSON BUCKET...

Run by scripts/gitops/apply-stack.sh after the stack's `terraform apply`, on the runner (never on a
host), with the names of the stack's buckets that need it (read from the stack's cdk.tf.json by the
script: this module names no provider). For each of them that is a backup bucket of the stack
(host_vars `backup`, kind s3, `bucket` or `copy_bucket`):
- the bucket was created versioned (the provider plug-in's create-time switch): a host's
  `restic forget --prune` or a plain DELETE only adds a delete marker; the old version stays;
- this sets the bucket's S3 lifecycle rule: noncurrent versions expire `retention_days` (the tier's)
  after they stopped being current, delete markers with nothing left behind them go, and unfinished
  multipart uploads after a day. So a deleted or overwritten pack can be restored for the tier's
  retention, and versions are not kept (and billed) forever;
- a bucket created before (no versioning: `get-bucket-versioning` says nothing) is left as it is
  (turning versioning on would replace it, its backups with it) and named in a `::warning::`.
What this does not stop: the host's key can delete versions by id (`rclone purge` does) or change the
rule (tiers/provider-facts.md row 35).

Calls `aws s3api` (the runner's AWS CLI, as scripts/gitops/bootstrap-account.sh does) with the
subscription's key in the environment only (never on a command line), at the bucket's endpoint.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .artifacts import read_inventory
from .backup_secrets import hosts_file, limited_hosts

RULE_ID = "clawtex-backup-history"
SIGNING_REGION = "us-east-1"     # the signature's region name; the endpoint picks the site


def lifecycle(retention_days: int) -> dict:
    return {"Rules": [{
        "ID": RULE_ID, "Status": "Enabled", "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": int(retention_days)},
        "Expiration": {"ExpiredObjectDeleteMarker": True},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]}


def buckets(inventory: Path, stack: str, names: set[str]) -> list[dict]:
    """The stack's backup buckets among `names`: name, endpoint, retention, the outputs naming its key."""
    identity, _ = read_inventory(hosts_file(inventory).read_bytes())
    out: dict[str, dict] = {}
    for _, _, hv in limited_hosts(inventory, [h for h, host in identity.items() if host.vars.get("clawtex_stack") == stack]):
        b = (hv or {}).get("backup")
        if b and b["kind"] == "s3" and b["bucket"] in names:
            out[b["bucket"]] = {"bucket": b["bucket"], "endpoint": b["endpoint"], "retention_days": b["retention_days"],
                                "stack": b["outputs_stack"], "outputs": b["outputs"]}
    return [out[k] for k in sorted(out)]


def s3api(args: list[str], endpoint: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["aws", "s3api", *args, "--endpoint-url", endpoint, "--output", "json"],
                          capture_output=True, text=True, env=env, timeout=120)


def protect(target: dict, outputs: dict) -> str | None:
    """Sets the lifecycle rule on a versioned bucket; returns a warning for an unversioned one."""
    values = outputs.get(target["stack"], {})
    missing = [n for n in target["outputs"].values() if not values.get(n)]
    if missing:
        raise SystemExit(f"bucket_history: Terraform output(s) {', '.join(missing)} of stack {target['stack']} missing")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": values[target["outputs"]["access_key"]],
           "AWS_SECRET_ACCESS_KEY": values[target["outputs"]["secret_key"]]}
    env.setdefault("AWS_DEFAULT_REGION", SIGNING_REGION)
    bucket, endpoint = target["bucket"], target["endpoint"]
    r = s3api(["get-bucket-versioning", "--bucket", bucket], endpoint, env)
    if r.returncode != 0:
        raise SystemExit(f"bucket_history: get-bucket-versioning {bucket} failed: {r.stderr.strip()[-500:]}")
    status = (json.loads(r.stdout) if r.stdout.strip() else {}).get("Status")
    if status != "Enabled":
        return (f"backup bucket {bucket} is not versioned (versioning: {status or 'never enabled'}; created before "
                "clawtex turned it on): a compromised host can erase its history. Versioning cannot be turned on "
                "for it without replacing it (docs/backups.md, 'History a host cannot erase').")
    wanted = lifecycle(target["retention_days"])
    r = s3api(["put-bucket-lifecycle-configuration", "--bucket", bucket, "--lifecycle-configuration",
               json.dumps(wanted, sort_keys=True)], endpoint, env)
    if r.returncode != 0:
        raise SystemExit(f"bucket_history: put-bucket-lifecycle-configuration {bucket} refused: {r.stderr.strip()[-500:]}")
    r = s3api(["get-bucket-lifecycle-configuration", "--bucket", bucket], endpoint, env)
    rules = json.loads(r.stdout).get("Rules", []) if r.returncode == 0 and r.stdout.strip() else []
    ours = next((x for x in rules if x.get("ID") == RULE_ID), None)
    if not ours or ours.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") != int(target["retention_days"]):
        raise SystemExit(f"bucket_history: {bucket}'s lifecycle rule does not read back as set "
                         f"(NoncurrentDays {target['retention_days']}): {r.stdout.strip()[-500:] or r.stderr.strip()[-500:]}")
    print(f"backup bucket {bucket}: versioned, old versions kept {target['retention_days']} days")
    return None


def main(argv: list[str]) -> int:
    inventory, stack, outputs_file = Path(argv[0]), argv[1], Path(argv[2])
    targets = buckets(inventory, stack, set(argv[3:]))
    if not targets:
        return 0
    outputs = json.loads(outputs_file.read_text())["clawtex_tf_outputs"]
    for target in targets:
        warning = protect(target, outputs)
        if warning:
            print(f"::warning::{warning}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
