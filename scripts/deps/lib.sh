# Sourced by scripts/deps/*.sh: small helpers shared by the install steps.
# Where downloads are cached between runs (CI keeps it warm).
CLAWTEX_CACHE=${CLAWTEX_CACHE:-$HOME/.cache/clawtex}

# bounded NAME SECONDS TRIES CMD...: runs CMD with a time limit (coreutils
# `timeout`, then KILL 30 s later), up to TRIES times with a growing pause.
# A stalled download cannot hold the install: when every try fails, it says
# which package gave up and why, and returns 1 (the step then fails).
# BOUNDED_PAUSE (default 10 s) is the pause unit between tries (tests set 0).
bounded() {
  local name=$1 limit=$2 tries=$3 try rc why=""
  shift 3
  for ((try = 1; try <= tries; try++)); do
    rc=0
    timeout --kill-after=30 "$limit" "$@" || rc=$?
    [ "$rc" -eq 0 ] && return 0
    case $rc in
      124|137) why="no result within ${limit} s (a stalled download?)" ;;
      *) why="exit status $rc" ;;
    esac
    echo "  $name: try $try of $tries failed: $why" >&2
    [ "$try" -lt "$tries" ] && sleep $((try * ${BOUNDED_PAUSE:-10}))
  done
  echo "install-deps: giving up on $name: $why, after $tries tries of at most ${limit} s: $*" >&2
  return 1
}

# npm, with its own per-request limits (npm config fetch-timeout, fetch-retries,
# docs.npmjs.com/cli/v10/using-npm/config) inside bounded's overall one.
NPM_FLAGS=(--silent --no-save --no-audit --no-fund --fetch-timeout=60000 --fetch-retries=2
           --fetch-retry-mintimeout=5000 --fetch-retry-maxtimeout=30000)

# apt_install PKG...: installs the Debian packages that are missing (one apt-get
# update per run), waiting for the dpkg lock rather than failing on it. The
# downloads are bounded and retried (apt's Acquire timeouts, then bounded);
# the unpacking that follows needs no network and is never killed half-way.
APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::http::Timeout=60 -o Acquire::https::Timeout=60 -o Acquire::Retries=3)
# installed PKG: dpkg says so (a string test, not `| grep -q`, which under pipefail can turn
# dpkg-query's SIGPIPE into a wrong answer).
installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == *"install ok installed"* ]]
}
apt_install() {
  local missing=()
  for pkg in "$@"; do
    installed "$pkg" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "  apt: ${missing[*]}" >&2
  if [ ! -f /tmp/.clawtex-apt-updated ]; then
    bounded "apt-get update" 600 3 apt-get "${APT_OPTS[@]}" update -qq && touch /tmp/.clawtex-apt-updated
  fi
  bounded "apt download of ${missing[*]}" 1200 3 env DEBIAN_FRONTEND=noninteractive \
    apt-get "${APT_OPTS[@]}" install -y -qq --download-only --no-install-recommends "${missing[@]}" >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null  # unbounded-ok: unpacks what the bounded --download-only fetched (no network)
  for pkg in "${missing[@]}"; do
    installed "$pkg" \
      || { echo "install-deps: $pkg is still not installed after the install" >&2; return 1; }
  done
}

# setting KEY: a value of clawtex.yaml's spec.openclaw (the one place versions are pinned).
setting() {
  python3 - "$1" <<'PY'
import sys, yaml
print(yaml.safe_load(open("clawtex.yaml"))["spec"]["openclaw"][sys.argv[1]])
PY
}

# release_pins: one line "<openclaw version> <node version>" per release channel
# clawtex.yaml pins (stable: spec.openclaw.version/nodeVersion, then lts).
release_pins() {
  python3 - <<'PY'
import yaml
o = yaml.safe_load(open("clawtex.yaml"))["spec"]["openclaw"]
for pin in (o, o.get("lts")):
    if pin:
        print(pin["version"], pin["nodeVersion"])
PY
}
