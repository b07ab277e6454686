#!/usr/bin/env bash
# The clawtex package with its test extras (PyPI). pip's own per-request timeout
# and retries, inside an overall bound.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bounded "clawtex[test] (PyPI)" 1800 2 python3 -m pip install -q --disable-pip-version-check \
  --timeout 60 --retries 5 -e '.[test]' 2> >(grep -v "^WARNING: Location" >&2)
python3 -c "import compiler.cli" || { echo "install-deps: clawtex: installed, yet 'import compiler.cli' fails" >&2; exit 1; }
