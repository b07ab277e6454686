#!/usr/bin/env bash
# Live hosts suite (tests/live/test_hosts.py): builds a Debian 12 root, boots it with
# systemd-nspawn in its own network namespace (slirp4netns), applies site.yml inside.
# The root itself (ansible-core pinned inside) is built once and cached under
# $CLAWTEX_CACHE/hosts by tests/live/hosts.py (about 2-4 minutes cold, 0 s warm).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install mmdebstrap systemd-container slirp4netns util-linux iproute2
if [ "$(id -u)" = 0 ]; then
  python3 -m tests.live.hosts build >/dev/null
fi
