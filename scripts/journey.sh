#!/usr/bin/env bash
# Rehearse a customer's journey on loopback (docs/journey.md): signed Stripe event ->
# `clawtex webhook` (uvicorn) -> branch pushed to a git http-backend remote -> PR on a
# GitHub stand-in -> pr.yml's check steps -> auto-merge -> `clawtex changed` -> fake-cloud
# outputs -> apply.yml's welcome job -> aiosmtpd -> `clawtex report --deploy-times`.
#   scripts/journey.sh [--tiers bronze,silver] [--keep DIR]
# With --live (as root, tools from scripts/install-deps.sh) the configure step runs
# Ansible on booted Debian roots (tests/live/hosts.py) instead of being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
exec env PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" python3 tests/journey_rig.py "$@"
