#!/usr/bin/env bash
# The clawtex package with its test extras (PyPI), every dependency from requirements.lock:
# exact versions with sha256 hashes, transitively (regenerate: scripts/lock-deps.sh).
set -euo pipefail
pip_q() { python3 -m pip install -q --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location" >&2); }
pip_q --require-hashes -r requirements.lock
# The package itself (editable, so the checkout is what runs); its dependencies are all above.
pip_q --no-deps -e '.[test]'
