#!/usr/bin/env bash
# Regenerate requirements.lock: every Python dependency of clawtex and its test extra,
# transitively, pinned with sha256 hashes, for Python 3.11 on Linux (what CI and the
# install scripts run). scripts/deps/20-python.sh installs from it with --require-hashes.
# Run after changing dependencies in pyproject.toml; commit both files together.
# uv is run from a pinned wheel (PyPI `uv`), installed into a throwaway directory.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
tool="$(mktemp -d)"
trap 'rm -rf "$tool"' EXIT
python3 -m pip install -q --disable-pip-version-check --target "$tool" "uv==${UV_VERSION}"
"$tool/bin/uv" pip compile pyproject.toml --extra test --generate-hashes \
  --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
  --no-header --output-file requirements.lock
echo "wrote requirements.lock ($(grep -c '==' requirements.lock) pinned packages)"
