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
#
# DRILL_PATH=cluster (the matrix's `path`, `clawtex dr-drill-due`): a Platinum customer, whose gateway runs
# in two regional clusters. No scratch server: a scratch namespace <customer>-dr-drill in the cluster of the
# region the copy is in (the one a loss of the first region leaves; `clawtex dr-drill-k8s`,
# compiler/gitops/drill_k8s.py), reached with that cluster's kubeconfig (a sensitive stack output, read
# with `terraform output` into a 0600 file, never planned or applied here):
# up        the namespace (a dead run's deleted first); the Secrets clawtex-backup, openclaw-env and
#           openclaw-secret-files copied from the production namespace of the same cluster, by a pipe
#           (kubectl get -o json | jq | kubectl apply -f -: values never in argv or a log); the ConfigMap
#           clawtex-dr-drill (the two scripts, openclaw.json with every channel off); the Job rendered by
#           modules/ansible/dr-drill-k8s.yml from the first cluster's role variables.
# converge  nothing (the Job is the whole drill).
# drill     the Job applied and waited for (Complete or Failed); its gateway container's result line
#           becomes the record (`clawtex dr-drill-k8s-record`, drill.record()).
# down      `kubectl delete namespace`, always; nothing in production's namespace or the first cluster.
set -euo pipefail
phase=$1
customer=$2
work="${RUNNER_TEMP:-/tmp}/dr-drill-$customer"
mkdir -p "$work"
trap 'if [ "$?" -eq 0 ]; then : > "$work/$phase.done"; fi' EXIT   # for `record`: the phases that finished
# shellcheck source=scripts/gitops/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ "${DRILL_PATH:-server}" = cluster ]; then
  k8s="$work/k8s"
  kinfo() { jq -r --arg k "$1" '.[$k]' "$work/k8s.json"; }
  kubeconfig() {
    clawtex dr-drill-k8s "$customer" --out "$k8s" > "$work/k8s.json"
    stack=$(kinfo stack)
    dir="generated/terraform/$stack"
    tmp="$work"
    terraform -chdir="$dir" init -input=false
    write_outputs
    (umask 077; jq -r --arg s "$stack" --arg o "$(kinfo kubeconfig_output)" '.clawtex_tf_outputs[$s][$o]' \
      "$tmp/tf-outputs.json" > "$work/kubeconfig")
    rm -f "$tmp/tf-outputs.json"
  }
  export KUBECONFIG="$work/kubeconfig"
  case "$phase" in
  up)
    kubeconfig
    ns=$(kinfo namespace)
    echo "== DR drill of $customer ($(kinfo tier)): $(kinfo host)'s snapshots from the $(kinfo region) copy, in namespace $ns of $(kinfo cluster)"
    ANSIBLE_PYTHON_INTERPRETER="$(command -v python3)" ansible-playbook -i generated/ansible/inventory \
      modules/ansible/dr-drill-k8s.yml --limit "$(kinfo host)" -e "@$k8s/vars.json"
    prod=$(jq -r .production_namespace "$k8s/names.json")
    kubectl delete namespace "$ns" --ignore-not-found --wait=true
    kubectl create namespace "$ns"
    for secret in clawtex-backup openclaw-env openclaw-secret-files; do
      kubectl -n "$prod" get secret "$secret" -o json \
        | jq --arg ns "$ns" '{apiVersion, kind, type, data, metadata: {name: .metadata.name, namespace: $ns}}' \
        | kubectl apply -f - >/dev/null
      echo "secret $secret copied from namespace $prod"
    done
    kubectl -n "$ns" create configmap clawtex-dr-drill \
      --from-file=restore=modules/ansible/roles/backup/files/clawtex-dr-drill-restore.sh \
      --from-file=gateway=modules/ansible/roles/openclaw/files/clawtex-dr-drill-gateway.sh \
      --from-file=openclaw.json="$k8s/openclaw.json"
    ;;
  converge)
    echo "$customer: a cluster drill has nothing to converge (the Job is the drill)"
    ;;
  drill)
    ns=$(kinfo namespace)
    rm -rf "$work/records"
    kubectl -n "$ns" apply -f "$k8s/drill.yml"
    job=clawtex-dr-drill
    # Complete or Failed, whichever comes first (roles/backup tasks/kubernetes.yml: kubectl wait matches one
    # condition only); the Job's own activeDeadlineSeconds (3600) fails it before this gives up.
    deadline=$((SECONDS + 3900))
    while :; do
      conditions=$(kubectl -n "$ns" get job "$job" \
        -o 'jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}') || conditions=""
      case " $conditions " in
        *" Complete "*) break ;;
        *" Failed "*)
          echo "::error::$customer: the drill Job failed"
          kubectl -n "$ns" get job "$job" -o 'jsonpath={.status.conditions}' || true
          kubectl -n "$ns" logs "job/$job" -c restore --tail=50 || true
          kubectl -n "$ns" logs "job/$job" -c gateway --tail=50 || true
          exit 1 ;;
      esac
      if (( SECONDS >= deadline )); then echo "::error::$customer: the drill Job neither completed nor failed"; exit 1; fi
      sleep 5
    done
    kubectl -n "$ns" logs "job/$job" -c restore
    kubectl -n "$ns" logs "job/$job" -c gateway > "$work/gateway.log"
    grep '^CLAWTEX_DR_DRILL_RESULT ' "$work/gateway.log" || true
    clawtex dr-drill-k8s-record "$customer" --log "$work/gateway.log" --records "$work/records"
    ;;
  down)
    if [ ! -s "$work/kubeconfig" ]; then
      kubeconfig || { echo "::warning::$customer: no cluster credentials: no scratch namespace to delete"; exit 0; }
    fi
    [ -s "$work/k8s.json" ] || clawtex dr-drill-k8s "$customer" --out "$k8s" > "$work/k8s.json"
    kubectl delete namespace "$(kinfo namespace)" --ignore-not-found --wait=true --timeout=15m
    rm -f "$work/kubeconfig"
    ;;
  record) ;;   # as a server's, below
  *)
    echo "usage: $0 up|converge|drill|record|down CUSTOMER" >&2
    exit 2
    ;;
  esac
  [ "$phase" = record ] || exit 0
fi
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
