#!/usr/bin/env bash
# checkov pins many libraries; keep it in its own virtualenv so it cannot
# downgrade what clawtex runs on. Checks the binary and its version (not the
# directory) and reinstalls when they differ.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
CHECKOV_VERSION=3.3.30     # PyPI checkov, tested here (tests/test_terraform.py: terraform_json framework)
have=$(.tools/checkov/bin/checkov --version 2>/dev/null || true)
if [ "$have" != "$CHECKOV_VERSION" ]; then
  echo "  pip: checkov==$CHECKOV_VERSION (found: ${have:-none})" >&2
  rm -rf .tools/checkov
  python3 -m venv .tools/checkov
  bounded "checkov==$CHECKOV_VERSION (PyPI)" 1200 3 .tools/checkov/bin/pip install -q --disable-pip-version-check \
    --timeout 60 --retries 3 "checkov==$CHECKOV_VERSION" 2> >(grep -v "^WARNING: Location" >&2)
  have=$(.tools/checkov/bin/checkov --version 2>/dev/null || true)
  [ "$have" = "$CHECKOV_VERSION" ] || { echo "install-deps: checkov: installed, yet --version says '${have}'" >&2; exit 1; }
fi
