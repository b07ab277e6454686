#!/usr/bin/env bash
# Customer reports and the KPI page: headless Chromium renders them (PDF,
# screenshots in tests). matplotlib comes from PyPI via pyproject.toml.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
apt_install chromium fonts-dejavu-core
