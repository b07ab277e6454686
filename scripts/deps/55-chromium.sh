#!/usr/bin/env bash
# Headless Chromium (Debian) and a font: tests render the customer handoff
# document and screenshot it (tests/live/test_handoff_chromium.py).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install chromium fonts-dejavu-core
