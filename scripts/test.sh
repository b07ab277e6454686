#!/usr/bin/env bash
# The whole test suite: the fast checks, then the live suite (real consumers
# run the generated artifacts; see README "Live checks"), each timed.
# Extra arguments go to both pytest runs.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
python3 -m pytest -n 2 -m "not live" "$@"; fast=$?
fast_s=$((SECONDS - start))
start=$SECONDS
python3 -m pytest -n 2 --dist loadgroup -m live "$@"; live=$?
live_s=$((SECONDS - start))
echo "fast suite: ${fast_s} s (exit $fast); live suite: ${live_s} s (exit $live)"
[ "$fast" -eq 0 ] && [ "$live" -eq 0 ]
