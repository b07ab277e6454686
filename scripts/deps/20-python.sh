#!/usr/bin/env bash
# The clawtex package with its test extras (PyPI), every dependency from requirements.lock:
# exact versions with sha256 hashes, transitively (regenerate: scripts/lock-deps.sh).
# pip's own per-request timeout and retries, inside an overall bound.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bounded "clawtex dependencies (requirements.lock, PyPI)" 1800 2 python3 -m pip install -q --disable-pip-version-check \
  --timeout 60 --retries 5 --require-hashes -r requirements.lock 2> >(grep -v "^WARNING: Location" >&2)
# The package itself (editable, so the checkout is what runs); its dependencies are all above.
bounded "clawtex (editable)" 600 2 python3 -m pip install -q --disable-pip-version-check \
  --timeout 60 --retries 5 --no-deps -e '.[test]' 2> >(grep -v "^WARNING: Location" >&2)
python3 -c "import compiler.cli" || { echo "install-deps: clawtex: installed, yet 'import compiler.cli' fails" >&2; exit 1; }
