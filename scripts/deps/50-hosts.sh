#!/usr/bin/env bash
# Live hosts suite (tests/live/test_hosts.py): builds a Debian 12 root, boots it with
# systemd-nspawn in its own network namespace (slirp4netns), applies site.yml inside.
# The root itself (ansible-core pinned inside) is built once and cached under
# $CLAWTEX_CACHE/hosts by tests/live/hosts.py (about 2-4 minutes cold, 0 s warm).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install mmdebstrap systemd-container slirp4netns util-linux iproute2
if [ "$(id -u)" = 0 ]; then
  # mmdebstrap downloads the Debian root (apt with its own Acquire timeouts and retries, see
  # tests/live/hosts.py) and pip installs ansible-core inside it; the whole build is bounded
  # and retried here (each try starts from an empty root).
  bounded "Debian 12 host root (mmdebstrap bookworm + ansible-core, tests/live/hosts.py)" 1800 2 \
    python3 -m tests.live.hosts build >/dev/null
fi
