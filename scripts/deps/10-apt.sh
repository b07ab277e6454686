#!/usr/bin/env bash
# Debian packages: promtool/amtool (rule and config checks), systemd-analyze
# (OpenVAS timer calendar check).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install prometheus prometheus-alertmanager systemd
# The Debian packages start daemons we do not want; the binaries are enough.
systemctl stop prometheus prometheus-alertmanager prometheus-node-exporter >/dev/null 2>&1 || true
