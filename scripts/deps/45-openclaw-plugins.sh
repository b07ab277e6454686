#!/usr/bin/env bash
# The external channel plugins clawtex.yaml pins for each release channel
# (spec.openclaw.channelPlugins for stable, spec.openclaw.lts.channelPlugins),
# installed from the npm registry once, the way roles/openclaw/tasks/plugins.yml
# installs them on hosts, into $CLAWTEX_CACHE/openclaw-plugins-<openclaw version>/:
# the live gateway suite copies that state into every gateway it boots offline.
# Needs root (a mount namespace) and 40-openclaw. Cold about 10-20 min here
# (npm plus OpenClaw's per-install checks); warm it returns at once.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
CLAWTEX_CACHE=$CLAWTEX_CACHE python3 - <<'PY'
import sys
sys.path.insert(0, "tests")
from live.gateway import preinstall_plugins, release, settings
for channel in ["stable"] + (["lts"] if settings().get("lts") else []):
    preinstall_plugins(release(channel))
PY
