#!/usr/bin/env bash
# Apply (or destroy) ONE stack of the change set, as the `apply` workflow's batch
# jobs do for each stack of their batch in turn. Each stack has its own state key
# and lock file (generated/terraform/<stack>/cdk.tf.json's backend), so a batch is
# only a way to fit GitHub's 256-job matrix limit: a failing stack fails alone.
#
#   scripts/gitops/apply-stack.sh STACK CHANGED_JSON
# Environment: BASE (the change's base commit), GITHUB_SHA, the cloud and state
# credentials, OPS_SSH_PRIVATE_KEY, RUNNER_TEMP, and what compiler/gitops/play_secrets.py reads:
# CLAWTEX_BACKUP_MASTER_KEY, CLAWTEX_FLEET_MASTER_KEY, CLAWTEX_SECRET_STORE(_ENDPOINT) and the
# store's read-only key CLAWTEX_SECRET_STORE_ACCESS_KEY_ID/_SECRET_ACCESS_KEY.
set -euo pipefail
stack=$1
changed=$2
field() { jq -r --arg s "$stack" --arg f "$1" '.stacks[] | select(.stack == $s) | .[$f] // ""' "$changed"; }
action=$(field action)
limit=$(field limit)
removed=$(field removed)
dir="generated/terraform/$stack"
tmp="${RUNNER_TEMP:-/tmp}/apply-$stack"
mkdir -p "$tmp"
echo "== $action $stack (hosts: ${limit:-none}; departing: ${removed:-none})"

if [ -n "$removed" ]; then
  # The last configuration of departing customers: their hosts, and (for the final backup's play)
  # the whole inventory directory as it was, host_vars included.
  git show "$BASE:generated/ansible/inventory/hosts.yml" > "$tmp/inventory.yml"
  rm -rf "$tmp/base-inventory"
  mkdir -p "$tmp/base-inventory"
  git archive "$BASE" generated/ansible/inventory | tar -x -C "$tmp/base-inventory"
fi
# write_outputs (the stack's outputs, sensitive ones too, as a 0600 file) and ssh_key: scripts/gitops/lib.sh.
# shellcheck source=scripts/gitops/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ "$action" = destroy ]; then
  # A destroyed stack (a departing customer's, or a provider's fleet stack once its
  # last stack is gone) is no longer in generated/: its last configuration is in BASE.
  mkdir -p "$dir"
  git show "$BASE:$dir/cdk.tf.json" > "$dir/cdk.tf.json"
fi

terraform -chdir="$dir" init -input=false
if [ "$action" != destroy ]; then
  terraform -chdir="$dir" plan -input=false -out=tfplan
fi

# Refuse a stale apply: if main moved on and the newer commits change this stack,
# the newer push's run re-plans it.
latest=$(git rev-parse origin/main 2>/dev/null || git rev-parse HEAD)
if [ "$latest" != "$GITHUB_SHA" ]; then
  clawtex changed --base "$GITHUB_SHA" --head "$latest" --json > "$tmp/newer.json"
  if jq -e --arg s "$stack" '.stacks | map(.stack) | index($s) != null' "$tmp/newer.json" >/dev/null; then
    echo "::warning::main moved and changed stack $stack since this plan; refusing the stale apply (the newer run re-plans it)"
    exit 0
  fi
fi

# The hosts of LIMIT that run in INVENTORY: a suspended customer's servers are gone
# (their inventory entries stay, clawtex_running: false) and Ansible cannot reach them.
running_hosts() {
  [ -n "$2" ] || return 0
  python - "$1" "$2" <<'PY'
import sys, yaml
def hosts(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "hosts" and isinstance(value, dict):
                yield from value.items()
            else:
                yield from hosts(value)
running = {name for name, v in hosts(yaml.load(open(sys.argv[1]), Loader=yaml.BaseLoader))
           if isinstance(v, dict) and v.get("clawtex_running") == "true"}
print(",".join(h for h in sys.argv[2].split(",") if h in running))
PY
}
# Final backup of departing customers: before any destroy, apply or Ansible run.
final=""
if [ -n "$removed" ] && [ -n "$limit" ]; then final=$(running_hosts "$tmp/inventory.yml" "$limit"); fi
if [ -n "$final" ]; then
  ssh_key
  write_outputs
  # The backup role's secrets (restic password, Storage Box host key) join the play's environment only
  # (compiler/gitops/play_secrets.py --backup-only: this play runs --tags backup).
  python -m compiler.gitops.play_secrets "$tmp/base-inventory/generated/ansible/inventory" "$final" "$tmp/tf-outputs.json" --backup-only -- \
    ansible-playbook -i "$tmp/base-inventory/generated/ansible/inventory" modules/ansible/site.yml --limit "$final" \
    --tags backup -e clawtex_final_backup=true -e "clawtex_backup_customers=$removed" -e "@$tmp/tf-outputs.json"
fi
# Delete protection the provider's delete does not lift (compiler/gitops/protection.py):
# lifted first, on exactly the resources that go away, by an in-place apply of the
# last configuration that destroys nothing; then the real plan. A decommission keeps
# its backup stores for the tier's retention (state rm, never destroyed).
if git cat-file -e "$BASE:$dir/cdk.tf.json" 2>/dev/null; then
  git show "$BASE:$dir/cdk.tf.json" > "$tmp/base.tf.json"
  if [ "$action" = destroy ]; then head_cfg=(); else head_cfg=("$tmp/head.tf.json"); cp "$dir/cdk.tf.json" "$tmp/head.tf.json"; fi
  python -m compiler.gitops.protection "$tmp/base.tf.json" "${head_cfg[@]}" --out "$tmp/lift.tf.json" --forget "$tmp/forget.txt" > "$tmp/lift.txt"
  if [ -s "$tmp/lift.txt" ]; then
    echo "lifting delete protection first: $(tr '\n' ' ' < "$tmp/lift.txt")"
    cp "$tmp/lift.tf.json" "$dir/cdk.tf.json"
    targets=()
    while IFS= read -r address; do targets+=("-target=$address"); done < "$tmp/lift.txt"
    terraform -chdir="$dir" apply -input=false -auto-approve "${targets[@]}"
    if [ "$action" != destroy ]; then
      cp "$tmp/head.tf.json" "$dir/cdk.tf.json"
      terraform -chdir="$dir" plan -input=false -out=tfplan
    fi
  fi
fi
if [ "$action" = destroy ]; then
  cp "$tmp/lift.tf.json" "$dir/cdk.tf.json"
  while IFS= read -r address; do
    echo "keeping $address for the retention the tier promised (state rm, not destroyed)"
    terraform -chdir="$dir" state rm "$address"
  done < "$tmp/forget.txt"
  # Planned, checked, then applied: a destroy that would stop half-way (a protection still set,
  # a backup store) is refused before anything is destroyed (compiler/gitops/protection.py).
  terraform -chdir="$dir" plan -destroy -input=false -out=tfplan
  terraform -chdir="$dir" show -json tfplan > "$tmp/destroy-plan.json"
  python -m compiler.gitops.protection check-destroy "$tmp/destroy-plan.json"
  terraform -chdir="$dir" apply -input=false tfplan
  exit 0
fi
terraform -chdir="$dir" apply -input=false tfplan
# Vultr backup buckets: versioned at creation; their old versions expire after the tier's retention
# (S3 lifecycle rule set from here, the runner, with the subscription's key in the environment only;
# a bucket created unversioned is named in a warning). compiler/gitops/bucket_history.py.
mapfile -t history_buckets < <(jq -r '.resource.vultr_object_storage_bucket // {} | .[].name' "$dir/cdk.tf.json")
if [ "${#history_buckets[@]}" -gt 0 ]; then
  write_outputs
  python -m compiler.gitops.bucket_history generated/ansible/inventory "$stack" "$tmp/tf-outputs.json" "${history_buckets[@]}"
fi
# Onboarding record (the welcome job reads it): when the apply finished, the
# stack's non-sensitive outputs (artifacts are readable by everyone with read
# access), and when the smoke test passed.
onboarding="${RUNNER_TEMP:-/tmp}/onboarding"
mkdir -p "$onboarding/times" "$onboarding/outputs"
times="$onboarding/times/$stack.json"
jq -n --arg s "$stack" --arg t "$(date -u +%Y-%m-%dT%H:%M:%SZ)" '{stack: $s, apply_finished: $t}' > "$times"
terraform -chdir="$dir" output -json | jq 'with_entries(select(.value.sensitive | not))' > "$onboarding/outputs/$stack.json"
limit=$(running_hosts generated/ansible/inventory/hosts.yml "$limit")
if [ -n "$limit" ]; then
  ssh_key
  write_outputs
  # Every secret the roles read that is no stack output (gateway tokens, channel credentials from the
  # secret store, Wazuh/OpenVAS passwords, restic password, box host key) joins the play's environment
  # only, file secrets a 0700 directory removed after the play (compiler/gitops/play_secrets.py).
  ANSIBLE_HOST_KEY_CHECKING=True python -m compiler.gitops.play_secrets generated/ansible/inventory "$limit" "$tmp/tf-outputs.json" -- \
    ansible-playbook -i generated/ansible/inventory modules/ansible/site.yml --limit "$limit" -e "@$tmp/tf-outputs.json"
  # site.yml ends with the smoke_test role (gateway health, channels, backup): reaching this line means it passed.
  jq --arg t "$(date -u +%Y-%m-%dT%H:%M:%SZ)" '. + {smoke_passed: $t}' "$times" > "$times.new"
  mv "$times.new" "$times"
fi
