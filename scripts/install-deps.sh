#!/usr/bin/env bash
# Installs everything clawtex and its test suite need on a fresh Debian machine
# (Python 3.11, Node 20, root): the Python package with test extras, the
# ecosystem validators, and OpenClaw's own config validator (cached).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v amtool >/dev/null || need_apt+=(prometheus-alertmanager)
command -v systemd-analyze >/dev/null || need_apt+=(systemd)   # checks the OpenVAS timer's OnCalendar
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # The Debian packages start daemons we do not want; the binaries are enough.
  systemctl stop prometheus prometheus-alertmanager prometheus-node-exporter >/dev/null 2>&1 || true
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'

# checkov pins many libraries; keep it in its own virtualenv so it cannot
# downgrade what clawtex runs on.
if [ ! -x .tools/checkov/bin/checkov ]; then
  python3 -m venv .tools/checkov
  .tools/checkov/bin/pip install -q --disable-pip-version-check checkov
fi

# OpenClaw's validator installs the openclaw npm package once into ~/.cache/clawtex.
validator=../shared/tools/openclaw-validate/setup.sh
if [ -x "$validator" ] || [ -f "$validator" ]; then
  bash "$validator" >/dev/null
fi
