#!/usr/bin/env bash
# The whole test suite: the fast checks, then the live suite (real consumers
# run the generated artifacts; see README "Live checks"), each timed.
# Extra arguments go to both pytest runs. Tests marked `rehearsal` (live tests written but
# not yet proven whole) are left out and counted; `python3 -m pytest -m rehearsal` runs them.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
python3 -m pytest -n 2 -m "not live and not rehearsal" "$@"; fast=$?
fast_s=$((SECONDS - start))
start=$SECONDS
python3 -m pytest -n 2 --dist loadgroup --durations=20 -m "live and not rehearsal" "$@"; live=$?
live_s=$((SECONDS - start))
rehearsals=$(python3 -m pytest -q --collect-only -m rehearsal 2>/dev/null | grep -c '::' || true)
echo "left out of this run (marked rehearsal, docs/backups.md, docs/journey.md): ${rehearsals} test(s)"
echo "fast suite: ${fast_s} s (exit $fast); live suite: ${live_s} s (exit $live)"
[ "$fast" -eq 0 ] && [ "$live" -eq 0 ]
