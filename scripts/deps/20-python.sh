#!/usr/bin/env bash
# The clawtex package with its test extras (PyPI).
set -euo pipefail
python3 -m pip install -q --disable-pip-version-check -e '.[test]' 2> >(grep -v "^WARNING: Location" >&2)
