#!/usr/bin/env bash
# checkov pins many libraries; keep it in its own virtualenv so it cannot
# downgrade what clawtex runs on.
set -euo pipefail
if [ ! -x .tools/checkov/bin/checkov ]; then
  python3 -m venv .tools/checkov
  .tools/checkov/bin/pip install -q --disable-pip-version-check checkov 2> >(grep -v "^WARNING: Location" >&2)
fi
