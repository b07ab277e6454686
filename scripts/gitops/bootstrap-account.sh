#!/usr/bin/env bash
# One-time, per cloud account, before the first apply: what Terraform cannot create
# for itself. Only the S3 bucket that holds every stack's state (clawtex.yaml
# spec.terraformState): a backend cannot live in the state it stores. Versioning on,
# so an overwritten or deleted state can be recovered. Everything else an account
# needs (the ops SSH keys, the fleet DNS zones) is in the fleet-<provider> stacks,
# which the apply workflow runs first (docs/fresh-account.md).
#
#   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… scripts/gitops/bootstrap-account.sh
# (the state credentials, the TFSTATE_* secrets of the workflows; aws CLI v2).
set -euo pipefail
cd "$(dirname "$0")/../.."
read -r bucket endpoint region < <(python3 - <<'PY'
import yaml
state = yaml.safe_load(open("clawtex.yaml"))["spec"]["terraformState"]
print(state["bucket"], state["endpoint"], state["region"])
PY
)
if aws s3api head-bucket --bucket "$bucket" --endpoint-url "$endpoint" >/dev/null 2>&1; then
  echo "state bucket $bucket exists"
else
  aws s3api create-bucket --bucket "$bucket" --endpoint-url "$endpoint" --region "$region"
fi
aws s3api put-bucket-versioning --bucket "$bucket" --endpoint-url "$endpoint" --versioning-configuration Status=Enabled
