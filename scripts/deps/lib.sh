# Sourced by scripts/deps/*.sh: small helpers shared by the install steps.
# Where downloads are cached between runs (CI keeps it warm).
CLAWTEX_CACHE=${CLAWTEX_CACHE:-$HOME/.cache/clawtex}

# apt_install PKG...: installs the Debian packages that are missing (one apt-get
# update per run), waiting for the dpkg lock rather than failing on it.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "  apt: ${missing[*]}" >&2
  if [ ! -f /tmp/.clawtex-apt-updated ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq && touch /tmp/.clawtex-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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
