#!/usr/bin/env bash
# Installs everything clawtex and its test suite need on a fresh Debian machine
# (Python 3.11, Node 20, root), from package registries only, pinned.
# Each concern is one script under scripts/deps/, run in name order; each says
# what it installs and how long it took. Set CLAWTEX_DEPS="10-apt 20-python"
# to run only some of them.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
total_start=$SECONDS
for script in scripts/deps/[0-9][0-9]-*.sh; do   # lib.sh is sourced by them, not a step
  name=$(basename "$script" .sh)
  if [ -n "${CLAWTEX_DEPS:-}" ] && [[ " $CLAWTEX_DEPS " != *" $name "* ]]; then continue; fi
  start=$SECONDS
  echo "install-deps: $name ..." >&2
  bash "$script"
  echo "install-deps: $name done in $((SECONDS - start)) s" >&2
done
echo "install-deps: all done in $((SECONDS - total_start)) s" >&2
