#!/usr/bin/env bash
# The scheduled DR drill of ONE customer (.github/workflows/dr-drill.yml), one phase per step:
#
#   scripts/gitops/dr-drill.sh up|converge|drill|record|down CUSTOMER
#
# up        the scratch server: `clawtex dr-drill-stack` copies the customer's gateway server from
#           its generated stack (same provider, type, image, region; named <host>-dr-drill, no delete
#           protection, no DNS or reverse DNS; compiler/gitops/drill_stack.py), planned and applied
#           under its own state key; then waits until the ops key logs in (cloud-init done) and
#           records the new server's host key (first contact, over the provider's network).
# converge  Ansible, as apply-stack.sh runs it, with the customer's gateway host vars (--limit
#           <host>) against the scratch address (ansible_host), with the same secrets: the
#           production stack's outputs (read with `terraform output`, never planned or applied here)
#           and compiler/gitops/play_secrets.py's, so the same restic repository and password.
#           clawtex_running=false: the gateway and the backup timer are installed but not started
#           (a scratch host must not back up into the customer's repository, nor connect the
#           customer's channels before the drill); clawtex_offline=true: no ACME certificate for
#           the customer's domain (it points at production), no Wazuh enrollment, no skill clones
#           (the drill restores the skills from the backup).
# drill     `clawtex dr-drill` over ssh (sudo as the ops user: root logins are off), records into
#           a directory of its own: <customer>.json and this run's line of <customer>.jsonl.
# record    those records committed to the dr-drills branch ($REMOTE), retried on a concurrent push.
#           No record (up or converge failed, the drill was killed): a failure record naming the
#           first phase that did not finish (each finished phase leaves $work/<phase>.done).
# down      the scratch stack destroyed: planned, checked (compiler/gitops/protection.py: nothing
#           protected that would stop it half-way), applied. The workflow runs it always.
#
# Environment: RUNNER_TEMP, the cloud and state credentials, TF_VAR_ops_ssh_public_key,
# OPS_SSH_PRIVATE_KEY (up, converge, drill), play_secrets.py's (converge), REMOTE and GH_TOKEN (record).
set -euo pipefail
phase=$1
customer=$2
work="${RUNNER_TEMP:-/tmp}/dr-drill-$customer"
mkdir -p "$work"
trap 'if [ "$?" -eq 0 ]; then : > "$work/$phase.done"; fi' EXIT   # for `record`: the phases that finished
# shellcheck source=scripts/gitops/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
scratch_dir="$work/$customer-dr-drill"    # a directory per customer: its own .terraform and plan files
info() { jq -r --arg k "$1" '.[$k]' "$work/stack.json"; }
render() { clawtex dr-drill-stack "$customer" --out "$scratch_dir" > "$work/stack.json"; }
ssh_opts=(-o BatchMode=yes -o ConnectTimeout=10)

case "$phase" in
up)
  render
  echo "== scratch server $(info scratch) for $(info host) ($customer, $(info tier))"
  terraform -chdir="$scratch_dir" init -input=false
  terraform -chdir="$scratch_dir" plan -input=false -out=tfplan
  terraform -chdir="$scratch_dir" apply -input=false tfplan
  ip=$(terraform -chdir="$scratch_dir" output -json | jq -r '.ipv4.value')
  printf '%s\n' "$ip" > "$work/ipv4"
  ssh_key
  # ssh exits 255 on a connection or authentication failure (ssh(1) EXIT STATUS): the server is
  # still booting or cloud-init has not installed the ops key yet, so wait; any other status is
  # the remote command's own, and `true` failing there is no boot delay.
  for _ in $(seq 60); do
    rc=0
    ssh "${ssh_opts[@]}" -o StrictHostKeyChecking=accept-new "clawops@$ip" true || rc=$?
    if [ "$rc" -eq 0 ]; then exit 0; fi
    if [ "$rc" -ne 255 ]; then echo "::error::$(info scratch) ($ip): ssh exited $rc"; exit 1; fi
    sleep 10
  done
  echo "::error::$(info scratch) ($ip) did not accept the ops key within 10 minutes"
  exit 1
  ;;
converge)
  stack=$(info stack)
  host=$(info host)
  dir="generated/terraform/$stack"
  tmp="$work"
  terraform -chdir="$dir" init -input=false
  write_outputs
  ssh_key
  (umask 077; jq -n --arg ip "$(cat "$work/ipv4")" \
    '{ansible_host: $ip, clawtex_running: false, clawtex_offline: true, clawtex_channels_off: true}' > "$work/scratch-vars.json")
  ANSIBLE_HOST_KEY_CHECKING=True python -m compiler.gitops.play_secrets generated/ansible/inventory "$host" "$tmp/tf-outputs.json" -- \
    ansible-playbook -i generated/ansible/inventory modules/ansible/site.yml --limit "$host" \
    -e "@$tmp/tf-outputs.json" -e "@$work/scratch-vars.json"
  ;;
drill)
  ssh_key
  rm -rf "$work/records"
  clawtex dr-drill "$customer" --wipe-scratch --records "$work/records" \
    --runner "ssh ${ssh_opts[*]} -o StrictHostKeyChecking=yes clawops@$(cat "$work/ipv4") sudo"
  ;;
record)
  step=""
  if [ ! -s "$work/records/$customer.json" ]; then
    # clawtex dr-drill records its own failures (compiler/business/drill.py); no record: it never ran
    # or was killed. The first phase that did not finish is the failure, recorded all the same.
    step=drill
    for p in converge up; do [ -e "$work/$p.done" ] || step=$p; done
    echo "::error::$customer: the drill failed at $step (it left no record); recording the failure"
    reason="the $step phase did not finish${GITHUB_RUN_ID:+; its log: ${GITHUB_SERVER_URL:-}/${GITHUB_REPOSITORY:-}/actions/runs/$GITHUB_RUN_ID}"
  fi
  # The token reaches git as configuration in the environment (git config GIT_CONFIG_COUNT/KEY/VALUE,
  # as actions/checkout's http.extraheader), never in a URL or on a command line; printf is bash's builtin.
  if [ -n "${GH_TOKEN:-}" ]; then
    auth=$(printf 'x-access-token:%s' "$GH_TOKEN" | base64 -w0)
    printf '::add-mask::%s\n' "$auth"
    export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraheader GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $auth"
  fi
  if [ -n "$step" ]; then
    clawtex dr-drill-record "$customer" --from "$work/records" --remote "$REMOTE" --failed --step "$step" --reason "$reason"
  else
    clawtex dr-drill-record "$customer" --from "$work/records" --remote "$REMOTE"
  fi
  ;;
down)
  if [ ! -s "$work/stack.json" ]; then
    # `up` died before it rendered: render again. The state key is the same, so a server a dead
    # run left behind is found and destroyed here.
    render || { echo "::warning::$customer: no scratch stack to destroy"; exit 0; }
  fi
  terraform -chdir="$scratch_dir" init -input=false
  terraform -chdir="$scratch_dir" plan -destroy -input=false -out=tfplan
  terraform -chdir="$scratch_dir" show -json tfplan > "$work/destroy-plan.json"
  python -m compiler.gitops.protection check-destroy "$work/destroy-plan.json"
  terraform -chdir="$scratch_dir" apply -input=false tfplan
  ;;
*)
  echo "usage: $0 up|converge|drill|record|down CUSTOMER" >&2
  exit 2
  ;;
esac
