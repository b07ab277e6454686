#!/usr/bin/env bash
# Mutation testing per module, bounded (default 60 min in all, 2 cores):
#   bash scripts/mutation.sh [MODULE ...] [--budget SECONDS] [--out DIR] [--jobs N]
# Writes DIR/mutation-report.md and .json (default DIR: mutation-report/).
# Needs mutmut: python3 -m pip install -e '.[test,mutation]'. See scripts/mutation.py.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import mutmut" 2>/dev/null || { echo "mutation: mutmut is not installed: python3 -m pip install 'mutmut==3.8.1' (pyproject extra 'mutation')" >&2; exit 1; }
exec python3 scripts/mutation.py "$@"
