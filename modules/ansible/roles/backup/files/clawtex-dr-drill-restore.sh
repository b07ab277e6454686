#!/usr/bin/env bash
# The DR drill's restore of a Platinum cluster (templates/clawtex-dr-drill-k8s.yml.j2, container `restore`,
# backup image): the latest snapshot of $CLAWTEX_DRILL_HOST in $RESTIC_REPOSITORY (the other region's copy)
# restored onto / (the pod's emptyDir at the hosts' paths), and each declared PostgreSQL dump read back by
# pg_restore --list (a readable archive; NOT loaded into a database: the managed PostgreSQL is production's).
# Leaves $CLAWTEX_DRILL_RESULT_DIR/restore.json for the gateway container's result line. restic runs under
# its own host name (compiler/business/drill.py LOCK_HOSTNAME_SUFFIX: production's `restic unlock` never
# takes the drill's locks for stale), in a UTS namespace of its own when the pod may not set its own.
set -euo pipefail
: "${RESTIC_REPOSITORY:?}" "${RESTIC_PASSWORD:?}" "${CLAWTEX_DRILL_HOST:?}" "${CLAWTEX_DRILL_RESULT_DIR:?}"
lock_host=${CLAWTEX_DRILL_LOCK_HOSTNAME:-$CLAWTEX_DRILL_HOST-dr-drill}
now() { date +%s.%N; }
r() {
  if [ "$(hostname)" = "$lock_host" ]; then restic "$@"
  else unshare --uts bash -c 'hostname "$0" && exec restic "$@"' "$lock_host" "$@"; fi
}
drill_started=$(now)
snapshots=$(r snapshots --json --latest 1 --host "$CLAWTEX_DRILL_HOST")
id=$(printf '%s' "$snapshots" | grep -o '"id":"[0-9a-f]\{64\}"' | head -n1 | cut -d'"' -f4 || true)
if [ -z "$id" ]; then
  echo "clawtex-dr-drill: no snapshot of $CLAWTEX_DRILL_HOST in the copy repository: nothing to restore" >&2
  exit 1
fi
restore_started=$(now)
r restore "$id" --target /
for db in ${CLAWTEX_DRILL_DATABASES:-}; do
  dump="${CLAWTEX_DRILL_DUMP_DIR:?}/$db.pgdump"
  if ! pg_restore --list "$dump" >/dev/null; then
    echo "clawtex-dr-drill: the dump of database $db ($dump) is missing or unreadable" >&2
    exit 1
  fi
  echo "database $db: dump restored and read (pg_restore --list); not loaded into a database"
done
tmp="$CLAWTEX_DRILL_RESULT_DIR/.restore.json"
printf '{"snapshots": %s, "snapshot_id": "%s", "drill_started": %s, "restore_started": %s, "databases_checked": "%s"}\n' \
  "$snapshots" "$id" "$drill_started" "$restore_started" "${CLAWTEX_DRILL_DATABASES:-}" >"$tmp"
mv "$tmp" "$CLAWTEX_DRILL_RESULT_DIR/restore.json"
echo "restored snapshot $id of $CLAWTEX_DRILL_HOST"
