#!/usr/bin/env bash
# The DR drill's gateway (roles/backup templates/clawtex-dr-drill-k8s.yml.j2, container `gateway`, the
# gateway image): boots `openclaw gateway` on the restored tree (its openclaw.json has every channel off),
# polls its health path until OpenClaw answers {"ok": true, "status": "live"}, prints ONE result line
#   CLAWTEX_DR_DRILL_RESULT {"healthy_at": <epoch>, "restore": <restore.json>}
# that `clawtex dr-drill-k8s-record` turns into the drill's record, then stops the gateway and exits 0.
# Not healthy within $CLAWTEX_DRILL_HEALTH_TIMEOUT seconds, or the gateway exits: exit 1, no result line.
# OPENCLAW_DRILL_GATEWAY (tests only): the gateway's command instead of `openclaw gateway`.
set -euo pipefail
: "${CLAWTEX_DRILL_HEALTH_URL:?}" "${CLAWTEX_DRILL_RESULT_DIR:?}"
timeout=${CLAWTEX_DRILL_HEALTH_TIMEOUT:-600}
restore="$CLAWTEX_DRILL_RESULT_DIR/restore.json"
[ -s "$restore" ] || { echo "clawtex-dr-drill: no restore result ($restore)" >&2; exit 1; }
# shellcheck disable=SC2086 # a test's command line, word-split on purpose
${OPENCLAW_DRILL_GATEWAY:-openclaw gateway} &
gateway=$!
trap 'kill "$gateway" 2>/dev/null || true' EXIT
# node is the gateway image's own runtime: an HTTP GET, exit 0 only on 200 {"ok": true, "status": "live"}.
live='fetch(process.argv[1]).then(async r => { const b = await r.json(); process.exit(r.status === 200 && b.ok === true && b.status === "live" ? 0 : 1) }).catch(() => process.exit(1))'
deadline=$((SECONDS + timeout))
until node -e "$live" "$CLAWTEX_DRILL_HEALTH_URL"; do
  if ! kill -0 "$gateway" 2>/dev/null; then echo "clawtex-dr-drill: the gateway exited before it was healthy" >&2; exit 1; fi
  if (( SECONDS >= deadline )); then echo "clawtex-dr-drill: not healthy within ${timeout}s ($CLAWTEX_DRILL_HEALTH_URL)" >&2; exit 1; fi
  sleep 2
done
printf 'CLAWTEX_DR_DRILL_RESULT {"healthy_at": %s, "restore": %s}\n' "$(date +%s.%N)" "$(cat "$restore")"
