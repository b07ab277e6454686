"""Boot a Debian 12 root with systemd and converge one inventory host inside it.

    python3 -m tests.live.hosts build            # build (or reuse) the cached root
    python3 -m tests.live.hosts run HOST [HOST]  # boot a fresh copy per host, apply site.yml twice, run the checkers

The recipe (what `../shared/README.md` measured on this machine kind):
- `mmdebstrap --variant=important` with the Debian archive lines of *this machine's*
  apt sources (read at run time: no registry host is written into the repo), the
  machine's CA certificates copied in (the registries sit behind a TLS-intercepting
  proxy), and ansible-core (pinned, ANSIBLE_CORE below) in a venv at /opt/ansible.
- The root is built once and cached in ~/.cache/clawtex/hosts/root-<hash of the recipe>;
  each host boots on a throwaway copy (`cp --reflink=auto -a`), so every run starts clean.
- Its own network namespace (`ip netns` + `slirp4netns`) gives it the registries; ufw
  changes only that namespace. `systemd-nspawn -b` boots it; commands run with
  `nsenter -t <leader> -a`.
- apt's .deb cache and npm's cache are bind-mounted from ~/.cache/clawtex/hosts/ so a
  warm run downloads nothing twice.
- The repo is bind-mounted read-only at /repo: the playbook and generated/ are the
  repo's, unmodified.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "tests") not in sys.path:       # `python3 -m tests.live.hosts`: live.backups imports as under pytest
    sys.path.insert(0, str(REPO / "tests"))
CACHE = Path(os.environ.get("CLAWTEX_CACHE", Path.home() / ".cache" / "clawtex")) / "hosts"
# Newest ansible-core that installs on Debian 12's Python 3.11 (2.20 needs Python >= 3.12:
# ansible-core 2.20 changelog, "controller Python 3.12-3.14"); pyproject pins the same range.
ANSIBLE_CORE = "2.19.14"
PACKAGES = ["python3", "python3-apt", "python3-venv", "systemd", "systemd-sysv", "dbus", "sudo",
            "ca-certificates", "iproute2", "openssh-server"]
PREFIX = "hosts"  # nspawn machines and netns carry the branch name (brief)


def log(*args) -> None:
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def debian_sources() -> list[str]:
    """One-line `deb` entries for this machine's Debian archive (deb822 and .list files)."""
    lines: list[str] = []
    sources = Path("/etc/apt")
    files = sorted(sources.glob("sources.list.d/*.sources")) + sorted(sources.glob("sources.list.d/*.list"))
    if (sources / "sources.list").exists():
        files.append(sources / "sources.list")
    for path in files:
        text = path.read_text()
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line:
                        continue
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
                if "debian-archive-keyring" not in fields.get("signed-by", ""):
                    continue
                for uri in fields.get("uris", "").split():
                    for suite in fields.get("suites", "").split():
                        lines.append(f"deb {uri} {suite} {fields.get('components', 'main')}")
        else:
            for line in text.splitlines():
                parts = line.split()
                if parts[:1] == ["deb"] and any(s.startswith("bookworm") for s in parts[1:]) and "debian" in line:
                    lines.append(line.strip())
    if not lines:
        raise RuntimeError("no Debian archive in /etc/apt/sources.list.d: cannot build the host root")
    return lines


# apt inside mmdebstrap: a connection that stalls gives up after 60 s, and each download is retried.
MMDEBSTRAP_APT_OPTS = ('Acquire::http::Timeout "60"', 'Acquire::https::Timeout "60"', 'Acquire::Retries "3"')
BUILD_TIMEOUT = 1500       # seconds for one whole mmdebstrap run (about 3 minutes cold here)


def recipe() -> dict:
    return {"suite": "bookworm", "variant": "important", "packages": PACKAGES, "ansible_core": ANSIBLE_CORE,
            "sources": debian_sources(), "version": 2}


def root_path() -> Path:
    key = hashlib.sha256(json.dumps(recipe(), sort_keys=True).encode()).hexdigest()[:12]
    return CACHE / f"root-{key}"


def ca_files() -> list[Path]:
    local = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    return local


def build() -> Path:
    """The cached root, built when its recipe changed (about 3 minutes cold)."""
    root = root_path()
    if (root / ".clawtex-built").exists():
        return root
    from filelock import FileLock       # pinned in pyproject.toml
    CACHE.mkdir(parents=True, exist_ok=True)
    # Two xdist workers boot hosts at once (tests/live/groups.py): one builds, the other waits.
    with FileLock(str(CACHE / "root-build.lock")):
        if (root / ".clawtex-built").exists():
            return root
        return _build(root)


def _build(root: Path) -> Path:
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    apt_cache = CACHE / "apt-archives"
    apt_cache.mkdir(exist_ok=True)
    r = recipe()
    hooks = []
    # The machine's CA certificates, so apt/pip/npm inside trust the intercepting proxy.
    hooks.append('mkdir -p "$1/usr/local/share/ca-certificates"')
    for ca in ca_files():
        hooks.append(f'cp {ca} "$1/usr/local/share/ca-certificates/"')
    hooks.append('chroot "$1" update-ca-certificates')
    hooks.append('chroot "$1" python3 -m venv /opt/ansible')
    hooks.append(f'chroot "$1" env PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 '
                 f'/opt/ansible/bin/pip install --no-cache-dir --timeout 60 --retries 5 ansible-core=={ANSIBLE_CORE}')
    hooks.append('ln -sf /opt/ansible/bin/ansible-playbook /opt/ansible/bin/ansible "$1/usr/local/bin/"')
    # A booted root needs a machine id and no first-boot prompts.
    hooks.append('echo clawtex-host > "$1/etc/hostname"; : > "$1/etc/machine-id"')
    hooks.append('chroot "$1" systemctl mask systemd-firstboot.service console-getty.service')
    cmd = ["mmdebstrap", "--variant=" + r["variant"], "--include=" + ",".join(PACKAGES),
           # Keep the package lists, as a cloud image does: otherwise the lists directory is
           # minutes old and empty, and apt's cache_valid_time trusts it.
           "--skip=download/empty", "--skip=cleanup/apt/lists",
           # Bounded downloads: apt's per-connection timeout and retries (apt.conf(5) Acquire::*);
           # scripts/deps/50-hosts.sh bounds and retries the whole build.
           *[f"--aptopt={o}" for o in MMDEBSTRAP_APT_OPTS], f"--setup-hook=mkdir -p \"$1/var/cache/apt/archives\"",
           f"--setup-hook=sync-in {apt_cache} /var/cache/apt/archives",
           f"--customize-hook=sync-out /var/cache/apt/archives {apt_cache}",
           *[f"--customize-hook={h}" for h in hooks],
           r["suite"], str(tmp), *r["sources"]]
    log("building", root.name)
    started = time.monotonic()
    try:
        subprocess.run(cmd, check=True, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"host root: mmdebstrap {r['suite']} gave no result within {BUILD_TIMEOUT} s "
                           "(a stalled Debian download?)") from None
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"host root: mmdebstrap {r['suite']} failed (exit {e.returncode}); its output is above") from None
    (tmp / ".clawtex-built").write_text(json.dumps(r, indent=1) + "\n")
    tmp.rename(root)
    log(f"built {root} in {time.monotonic() - started:.0f}s")
    return root


# ---------------------------------------------------------------- one booted host

# Variables the live suite sets (README "Live checks -> Hosts"): clawtex_offline skips only
# what needs the open internet (ACME, GitHub clones, cloud object storage, chat platforms).
# clawtex_container_limits=false: nspawn on this cgroup-v1 machine mounts the controllers
# read-only, so podman cannot set a container's CPU/memory/pids limits (site.yml).
LIVE_VARS = {"ansible_connection": "local", "clawtex_offline": True, "clawtex_container_limits": False}


def inventory(host: str, repo: Path = REPO) -> tuple[dict, dict]:
    """(host_vars, identity from hosts.yml) of one host, read from <repo>/generated/ansible."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    inv = repo / "generated" / "ansible" / "inventory"
    hv = yaml.load((inv / "host_vars" / f"{host}.yml").read_text(), Loader) or {}
    identity: dict = {}
    for group in (yaml.load((inv / "hosts.yml").read_text(), Loader)["all"]["children"]).values():
        identity.update(((group or {}).get("hosts") or {}).get(host) or {})
    return hv, identity


HOSTILE_S3_SECRET = "Sk9 #s3$(id -un)'\"`y"


def tf_outputs(host: str, repo: Path = REPO) -> dict[str, dict[str, str]]:
    """Stand-in `terraform output -json` values of the host's stack, as scripts/gitops/apply-stack.sh
    hands them to the play (clawtex_tf_outputs[stack][name], -e @a 0600 file): the backup
    credentials under the output names host_vars `backup.outputs`/`copy_outputs` publish. The
    Storage Box's are the loopback box (tests/live/backups.py: host, user, the key it trusts)."""
    hv, _ = inventory(host, repo)
    b = hv.get("backup") if "backup" in hv.get("clawtex_roles", []) else None
    if not b:
        return {}
    if b["kind"] == "sftp":
        from live import backups
        values = {"host": "127.0.0.1", "user": backups.SFTP_USER, "key": backups.keys()["key"]}
    else:
        values = {"access_key": "dummy-key-id", "secret_key": HOSTILE_S3_SECRET}
    out = {b["outputs"][k]: v for k, v in values.items()}
    for k, v in (b.get("copy_outputs") or {}).items():
        out[v] = values[k] + "-copy"
    return {b["outputs_stack"]: out}


def secret_env(host: str, repo: Path = REPO) -> dict[str, str]:
    """Dummy values for every secret the host's roles read from the controller's environment.

    The restic password is hostile on purpose: a space, '#', '$(…)' and quotes, so a role
    that shell-sources it unquoted fails the run."""
    hv, identity = inventory(host, repo)
    hostile = "Xk9 #pa$(id -un)'\"`x"
    env: dict[str, str] = {}
    gateways = [hv] if "openclaw_gateway_token_env" in hv else []
    gateways += [{"openclaw_gateway_token_env": c["gateway_token_env"], "openclaw_secret_env": c["secret_env"]}
                 for c in identity.get("openclaw_containers", [])]
    for g in gateways:
        env[g["openclaw_gateway_token_env"]] = "dummy-gateway-token-" + hashlib.sha256(host.encode()).hexdigest()[:16]
        for name in g.get("openclaw_secret_env", []):
            env[name] = "dummy-" + name.lower()
    if "backup" in hv.get("clawtex_roles", []):
        # The names are the ones host_vars publishes (backup.secret_env); the credentials Terraform
        # creates come as stack outputs instead (tf_outputs below).
        names = hv["backup"]["secret_env"]
        env[names["restic_password"]] = hostile
        if hv["backup"]["kind"] == "sftp":
            from live import backups        # the Storage Box's host key line (tests/live/backups.py)
            env[names["sftp_known_hosts"]] = backups.keys()["known_hosts"]
    # The names host_vars publishes (compiler/targets/ansible.py), the ones the apply run sets.
    if "wazuh_agent" in hv.get("clawtex_roles", []) or identity.get("clawtex_role") == "wazuh_manager":
        env[hv["wazuh_registration_password_env"]] = "dummy-wazuh-enrollment"
    if "openvas" in hv.get("clawtex_roles", []):
        env[hv["openvas_admin_password_env"]] = hostile
    return env


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


class Host:
    """A fresh copy of the cached root, booted with systemd in its own network namespace."""

    def __init__(self, host: str, root: Path, repo: Path = REPO, machine: str = "", layers: list[Path] | None = None):
        """`machine` names a second machine of the same inventory host (its own directory, network
        namespace and lock); `layers` are read-only directories laid over the cached root, topmost
        first (a copy of another machine's overlay upper directory: tests/live/backups.py)."""
        self.host = host
        self.repo = repo              # bind-mounted read-only at /repo: its playbook and generated/
        unit = host + (f"-{machine}" if machine else "")
        self.name = f"{PREFIX}-{hashlib.sha256(unit.encode()).hexdigest()[:8]}"
        self.dir = CACHE / "run" / unit
        self.unit = unit
        self.root = root
        self.layers = layers or []
        self.procs: list[subprocess.Popen] = []
        self.leader: int | None = None
        self.mounted = False
        self.extra_vars: dict = {}     # more -e variables for apply() (tests/live/skills.py)

    def __enter__(self) -> "Host":
        try:
            return self._boot()
        except BaseException:
            self.__exit__()
            raise

    def _boot(self) -> "Host":
        started = time.monotonic()
        # One run per host at a time: a second one would unmount and delete the first one's root.
        import fcntl
        (CACHE / "run").mkdir(parents=True, exist_ok=True)
        self.lock = open(CACHE / "run" / f"{self.unit}.lock", "w")
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.lock.close()
            raise RuntimeError(f"{self.unit} is already running (lock {self.lock.name})") from None
        if (self.dir / "root").is_mount():
            run(["umount", str(self.dir / "root")])
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        # A fresh overlay on the cached root: the cache stays pristine, a run starts clean in ~0 s.
        for d in ("upper", "work", "root"):
            (self.dir / d).mkdir()
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={':'.join(str(p) for p in [*self.layers, self.root])},upperdir={self.dir / 'upper'},workdir={self.dir / 'work'}",
                        str(self.dir / "root")], check=True)
        self.mounted = True
        Path(self.dir / "root" / "etc" / "resolv.conf").unlink(missing_ok=True)
        (self.dir / "root" / "etc" / "resolv.conf").write_text("nameserver 10.0.2.3\n")  # slirp4netns's DNS
        (self.dir / "root" / "etc" / "hostname").write_text(self.host + "\n")
        run(["ip", "netns", "delete", self.name])
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.procs.append(subprocess.Popen(
            ["slirp4netns", "--configure", "--mtu=65520", "--netns-type=path", f"/run/netns/{self.name}", "tap0"],
            stdout=open(self.dir / "slirp4netns.log", "w"), stderr=subprocess.STDOUT))
        caches = []
        for what, inside in (("apt", "/var/cache/apt/archives"), ("npm", "/root/.npm")):
            d = CACHE / "caches" / self.unit / what
            d.mkdir(parents=True, exist_ok=True)
            caches.append(f"--bind={d}:{inside}")
        # Container storage on the machine's own filesystem, as on a VPS disk: the host's root
        # is an overlayfs, and overlay storage cannot be stacked on it (podman: "creating
        # overlay mount ... invalid argument"; fuse-overlayfs has no /dev/fuse in nspawn).
        (self.dir / "containers").mkdir()
        caches.append(f"--bind={self.dir / 'containers'}:/var/lib/containers")
        nspawn = subprocess.Popen(
            ["systemd-nspawn", "-b", "-q", "-D", str(self.dir / "root"), "-M", self.name,
             f"--network-namespace-path=/run/netns/{self.name}", "--capability=CAP_NET_ADMIN",
             # The kernel keyring is not namespaced, so nspawn's seccomp filter refuses it; crun
             # gives each container its own session keyring (podman, containers.conf keyring=true):
             # "crun: create keyring `<id>`: Operation not permitted".
             "--system-call-filter=@keyring",
             f"--bind-ro={self.repo}:/repo", *caches, "--register=no", "--keep-unit", "--console=pipe"],
            stdin=subprocess.DEVNULL, stdout=open(self.dir / "console.log", "w"), stderr=subprocess.STDOUT,
            preexec_fn=functools.partial(join_cgroups, own_cgroups(self.name)))
        self.procs.append(nspawn)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if nspawn.poll() is not None:
                raise RuntimeError(f"systemd-nspawn exited: see {self.dir / 'console.log'}")
            self.leader = self.leader or self._find_leader(nspawn.pid)
            if self.leader:
                state = self.sh("systemctl is-system-running").stdout.strip()
                if state in ("running", "degraded"):
                    log(f"{self.unit}: booted ({state}) in {time.monotonic() - started:.0f}s")
                    return self
            time.sleep(1)
        raise RuntimeError(f"{self.host} did not boot: see {self.dir / 'console.log'}")

    @staticmethod
    def _find_leader(nspawn_pid: int) -> int | None:
        """The container's PID 1: the process named systemd below systemd-nspawn."""
        children = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                comm = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append((int(stat.parent.name), comm))
        todo = [nspawn_pid]
        while todo:
            for pid, comm in children.get(todo.pop(), []):
                if comm == "systemd":
                    return pid
                todo.append(pid)
        return None

    def hostvars(self) -> dict:
        return inventory(self.host, self.repo)[0]

    def identity(self) -> dict:
        return inventory(self.host, self.repo)[1]

    def sh(self, script: str, env: dict[str, str] | None = None, timeout: float = 1800) -> subprocess.CompletedProcess:
        """Run a shell script inside the booted host (all its namespaces)."""
        assert self.leader
        inner = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
                 "LANG": "C.UTF-8", **(env or {})}
        return run(["nsenter", "-t", str(self.leader), "-a", "env", "-i", *[f"{k}={v}" for k, v in inner.items()],
                    "bash", "-c", script], timeout=timeout)

    def __exit__(self, *exc) -> None:
        if getattr(self, "lock", None) is None or self.lock.closed:
            return
        try:
            self._stop()
        finally:
            self.lock.close()

    def _stop(self) -> None:
        started = time.monotonic()
        if self.leader and POWEROFF_GRACE:
            run(["kill", "-RTMIN+4", str(self.leader)])   # systemd: poweroff
        for proc in reversed(self.procs):      # systemd-nspawn (powering off), then slirp4netns
            if proc.args[0] == "slirp4netns":
                proc.terminate()
            try:
                proc.wait(timeout=POWEROFF_GRACE)
            except subprocess.TimeoutExpired:
                if proc.args[0] == "systemd-nspawn" and self.leader:
                    # The machine's PID 1 killed: the kernel kills every process of its PID namespace.
                    run(["kill", "-KILL", str(self.leader)])
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        pass
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        log(f"{self.unit}: stopped in {time.monotonic() - started:.0f}s")
        remove_cgroups(self.name)
        run(["ip", "netns", "delete", self.name])
        if self.mounted:
            subprocess.run(["umount", str(self.dir / "root")], check=True)
            self.mounted = False
        if not os.environ.get("CLAWTEX_KEEP_HOSTS"):
            remove_later([self.dir / "upper", self.dir / "work", self.dir / "containers"])


# Each machine's own cgroup. `systemd-nspawn --keep-unit` runs the container in the cgroup of the
# process that starts it, split into `payload` (the container's systemd and every unit it starts) and
# `supervisor` (nspawn itself) (systemd v252 src/nspawn/nspawn-cgroup.c create_subcgroup()). This
# machine has no systemd: every process sits in the root cgroup, so every booted host shared ONE
# /payload, its system.slice and each unit's cgroup: two hosts running clawtex-backup.service at once
# (the Gold and Silver backup tests on two xdist workers) saw each other's processes in the unit
# (`State 'stop-sigterm' timed out`) and removed each other's unit cgroup when done (`status=219/CGROUP`
# on the next start): the Gold retention failures of 2026-12-04. Before exec, nspawn's process moves
# itself into <hierarchy>/clawtex-live/<machine> of each hierarchy systemd tracks processes in
# (name=systemd of cgroup v1, and the cgroup2 tree: hybrid's `unified` mount or a pure v2 root).
CGROUP_PARENT = "clawtex-live"


def cgroup_hierarchies() -> list[Path]:
    """The mounts of the hierarchies systemd uses to track processes, from this machine's mount table."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        sep = fields.index("-")
        fstype, options = fields[sep + 1], fields[sep + 3] if len(fields) > sep + 3 else ""
        if fstype == "cgroup2" or (fstype == "cgroup" and "name=systemd" in options.split(",")):
            found.append(Path(fields[4]))
    return sorted(set(found))


def own_cgroups(name: str) -> list[Path]:
    """Create (if missing) the machine's cgroup in each tracking hierarchy; their directories."""
    dirs = []
    for mount in cgroup_hierarchies():
        d = mount / CGROUP_PARENT / name
        d.mkdir(parents=True, exist_ok=True)
        dirs.append(d)
    return dirs


def join_cgroups(dirs: list[Path]) -> None:
    """In the child, before exec (preexec_fn): move this process into each of `dirs`."""
    for d in dirs:
        with open(d / "cgroup.procs", "w") as f:
            f.write("0")


def remove_cgroups(name: str) -> None:
    """The stopped machine's cgroups, deepest first (rmdir of an empty cgroup; a busy one stays)."""
    for mount in cgroup_hierarchies():
        top = mount / CGROUP_PARENT / name
        if not top.is_dir():
            continue
        for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True) + [top]:
            try:
                d.rmdir()
            except OSError:
                pass


TRASH = CACHE / "trash"


def remove_later(paths: list[Path]) -> None:
    """A stopped machine's disk, moved aside at once (a rename within the cache's filesystem) and deleted
    by a detached `rm -rf` at the lowest CPU and I/O priority. Deleting a converged root's upper directory
    (Node, OpenClaw's node_modules, apt's packages) in the test's teardown took 158.6 s at load 6
    (2026-12-03, the silver-gateway host), and the worker's next test waited for it. Leftovers of a run
    that was killed before its `rm` finished are swept by the next call."""
    TRASH.mkdir(parents=True, exist_ok=True)
    for p in paths:
        if p.exists():
            p.rename(TRASH / f"{p.parent.name}-{p.name}-{time.time_ns()}")
    doomed = sorted(str(p) for p in TRASH.iterdir())
    if doomed:
        subprocess.Popen(["nice", "-n", "19", "ionice", "-c", "3", "rm", "-rf", "--one-file-system", *doomed],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


# Seconds a clean poweroff may take before the machine is killed. Its disk is thrown away and no
# test reads anything after the poweroff (the Silver restore's fresh machine is layered on a copy
# taken while the host runs: tests/live/backups.py), so a clean stop proves nothing and the machine's
# PID 1 is killed at once: the kernel ends every process of its PID namespace. Until 2026-12-03 it
# had 15 s, which a converged host used up (gateways, containers, nginx stopping): about 15-20 s of
# a worker per host and CPU spent stopping services. Kept whole (90 s) when the run's files are kept
# for a person to read (CLAWTEX_KEEP_HOSTS).
POWEROFF_GRACE = 90 if os.environ.get("CLAWTEX_KEEP_HOSTS") else 0


RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)", re.M)


def recap(output: str, host: str) -> dict[str, int]:
    for m in RECAP.finditer(output):
        if m.group("host") == host:
            return {k: int(v) for k, v in m.groupdict().items() if k != "host"}
    raise AssertionError("no PLAY RECAP for " + host)


APPLY_CHECKOUT = "/srv/clawtex-apply"   # inside the host: an apply runner's checkout (apply(checkout=...))


def apply(h: Host, extra: list[str] | None = None, checkout: Path | None = None) -> tuple[dict[str, int], str]:
    """ansible-playbook site.yml --limit HOST inside the booted host; (recap, output).

    checkout: another checkout's modules/ and generated/ (an apply's merge commit, the
    journey's), copied into the running host at APPLY_CHECKOUT; default the bind-mounted repo."""
    repo, inside = h.repo, "/repo"
    if checkout is not None:
        repo, inside = checkout, APPLY_CHECKOUT
        target = h.dir / "root" / APPLY_CHECKOUT.lstrip("/")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for part in ("modules", "generated"):
            shutil.copytree(checkout / part, target / part, symlinks=True)
        if (checkout / "ansible.cfg").exists():
            shutil.copyfile(checkout / "ansible.cfg", target / "ansible.cfg")
    env = {**secret_env(h.host, repo), "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "PYTHONUNBUFFERED": "1",
           "CLAWTEX_SECRETS_DIR": "/root/clawtex-secrets", "ANSIBLE_LOCAL_TEMP": "/root/.ansible/tmp",
           # Modules run in the playbook's directory (/repo/modules/ansible, local connection), so the
           # git module's `git ls-remote` looks for a repository upwards and finds /repo/.git: in a git
           # worktree that is a file naming a directory outside this host ("fatal: not a git
           # repository: <main>/.git/worktrees/<name>", seen live). git stops its search below /repo.
           "GIT_CEILING_DIRECTORIES": inside}
    if (repo / "ansible.cfg").exists():
        # The repository's ansible.cfg, which the apply reads from its checkout's root (the
        # play runs from /root here, so ansible would not find it by itself).
        env["ANSIBLE_CONFIG"] = f"{inside}/ansible.cfg"
    if os.environ.get("CLAWTEX_ANSIBLE_PROFILE"):
        # Where a converge's time goes: ansible-core's own junit callback records each task's
        # duration (no collection needed); task_times() reads it back after the run.
        env.update({"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.junit", "JUNIT_OUTPUT_DIR": "/root/junit",
                    "JUNIT_TASK_CLASS": "yes"})
    from live import backups       # the one address overlay: an S3 endpoint on the host's loopback
    cmd = ["ansible-playbook", "-i", f"{inside}/generated/ansible/inventory", f"{inside}/modules/ansible/site.yml",
           "--limit", h.host, "-e", json.dumps({**LIVE_VARS, **backups.overlay(h.host, repo), **h.extra_vars}), *(extra or [])]
    # The stack's outputs as apply-stack.sh passes them: a 0600 file, never a command line.
    outputs = tf_outputs(h.host, repo)
    if outputs:
        f = h.dir / "root" / "root" / "tf-outputs.json"
        f.touch(mode=0o600)
        f.write_text(json.dumps({"clawtex_tf_outputs": outputs}))
        cmd[cmd.index("-e"):cmd.index("-e")] = ["-e", "@/root/tf-outputs.json"]
    # Dummy file secrets ($CLAWTEX_SECRETS_DIR/<provider>/<id>) for the placeholders of the
    # customer's Wazuh manager block (roles/wazuh_manager).
    hv, identity = inventory(h.host, repo)
    if "wazuh_manager" in hv.get("clawtex_roles", []):
        block = repo / "generated" / "wazuh" / "managers" / identity["clawtex_customer"] / "ossec-manager.conf"
        for _, provider, ref in re.findall(r"@@secret:(file):([^:@]+):([^@]+)@@", block.read_text()):
            path = h.dir / "root" / "root" / "clawtex-secrets" / provider / ref
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("dummy-" + ref.replace("/", "-"))
    started = time.monotonic()
    logfile = h.dir / f"ansible-{int(time.time())}.log"
    h.sh("cd /root && exec " + " ".join(shlex_quote(c) for c in cmd) + " >/root/ansible.log 2>&1", env=env)
    out = (h.dir / "root" / "root" / "ansible.log").read_text()
    logfile.write_text(out)
    log(f"{h.host}: ansible-playbook {' '.join(extra or [])} {time.monotonic() - started:.0f}s")
    if os.environ.get("CLAWTEX_ANSIBLE_PROFILE"):
        times = task_times(h)
        log(f"{h.host}: {len(times)} task runs, {sum(times.values()):.0f}s in tasks; slowest: "
            + "; ".join(f"{t:.1f}s {name}" for name, t in sorted(times.items(), key=lambda kv: -kv[1])[:15]))
    return recap(out, h.host), out


def task_times(h: Host) -> dict[str, float]:
    """Seconds per task of the newest ansible-playbook run (CLAWTEX_ANSIBLE_PROFILE: junit callback)."""
    import xml.etree.ElementTree as ET
    files = sorted((h.dir / "root" / "root" / "junit").glob("*.xml"), key=lambda f: f.stat().st_mtime)
    if not files:
        return {}
    times: dict[str, float] = {}
    for case in ET.parse(files[-1]).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}: {case.get('name', '')}"
        times[name] = times.get(name, 0.0) + float(case.get("time") or 0)
    for f in files:
        f.unlink()
    return times


# ---------------------------------------------------------------- checkers, run inside the host

HEALTH_GET = """
import json, ssl, sys, urllib.request
url, host = sys.argv[1], sys.argv[2]
ctx = ssl._create_unverified_context()   # offline: the self-signed stand-in certificate
req = urllib.request.Request(url, headers={"Host": host} if host else {})
with urllib.request.urlopen(req, timeout=20, context=ctx) as r:
    print(r.status, r.read().decode())
"""


def checks(h: Host) -> dict[str, subprocess.CompletedProcess]:
    """Each rendered file, read by its own program. Returns name -> result (rc 0 = pass)."""
    roles = set(h.hostvars().get("clawtex_roles", []))
    out: dict[str, subprocess.CompletedProcess] = {}
    units = "ls /etc/systemd/system/openclaw-*.service /etc/systemd/system/clawtex-*.service " \
            "/etc/systemd/system/clawtex-*.timer 2>/dev/null"
    if roles & {"openclaw", "backup", "openvas"}:   # the roles that write clawtex units
        out["systemd-analyze verify"] = h.sh(f"set -e; u=$({units}); test -n \"$u\"; systemd-analyze verify $u")
    if "hardening" in roles:
        out["sshd -t"] = h.sh("sshd -t")
        out["fail2ban-client -t"] = h.sh("fail2ban-client -t")
        out["ufw status"] = h.sh("ufw status verbose | tee /dev/stderr | grep -q 'Status: active'"
                                 " && ufw status verbose | grep -q 'deny (incoming)'")
    if "openclaw" in roles:
        out["nginx -t"] = h.sh("nginx -t")
    if "backup" in roles:
        env = secret_env(h.host, h.repo)
        password = next(v for k, v in env.items() if k.endswith("_RESTIC_PASSWORD"))
        out["rclone config"] = h.sh("rclone --config /etc/clawtex/backup/rclone.conf config dump"
                                    " | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"backup\"][\"type\"]'")
        # systemd reads restic.env (EnvironmentFile=), exactly as clawtex-backup.service does.
        r = h.sh("systemd-run --quiet --wait --pipe --collect -p EnvironmentFile=/etc/clawtex/backup/restic.env "
                 "printenv RESTIC_PASSWORD")
        if r.returncode == 0 and r.stdout.rstrip("\n") != password:
            r = subprocess.CompletedProcess(r.args, 1, r.stdout, f"RESTIC_PASSWORD read back as {r.stdout!r}")
        out["restic.env through systemd"] = r
        out["restic version"] = h.sh("restic version")
    return out


def health_through_proxy(h: Host, repo: Path | None = None) -> list[tuple[str, subprocess.CompletedProcess]]:
    """GET the gateway health path through nginx, as the blackbox probe does (the tenants of
    `repo`'s inventory: default the bind-mounted repo)."""
    hv, identity = inventory(h.host, repo or h.repo)
    path = hv.get("openclaw_health_path", "/healthz")
    urls: list[tuple[str, str]] = []
    if hv.get("openclaw_mode") == "containers":
        urls += [(f"http://127.0.0.1/{c['customer']}{path}", "") for c in identity.get("openclaw_containers", [])
                 if c.get("status") == "active"]
    elif hv.get("openclaw_mode") == "service":
        urls.append((f"http://127.0.0.1{path}", ""))
        if hv.get("tls_domain"):
            urls.append((f"https://127.0.0.1{path}", hv["tls_domain"]))
    return [(url, h.sh(f"python3 -c {shlex_quote(HEALTH_GET)} {shlex_quote(url)} {shlex_quote(host)}"))
            for url, host in urls]


def shlex_quote(s: str) -> str:
    import shlex
    return shlex.quote(s)


if __name__ == "__main__":
    if sys.argv[1] == "build":
        print(build())
    elif sys.argv[1] == "run":
        root = build()
        for name in sys.argv[2:]:
            with Host(name, root) as h:
                if os.environ.get("CLAWTEX_HOSTS_CHECK"):
                    r, out = apply(h, ["--check"])
                    print(name, "--check", r, flush=True)
                    print("\n".join(line for line in out.splitlines() if line.startswith(("fatal", "[ERROR]")))[-6000:])
                for attempt in ((1, 2) if not os.environ.get("CLAWTEX_HOSTS_ONLY_CHECK") else ()):
                    r, out = apply(h)
                    print(name, attempt, r, flush=True)
                    if r["failed"] or r["unreachable"]:
                        print(out[-6000:])
                        break
                for name_, res in checks(h).items():
                    print("check", name_, "ok" if res.returncode == 0 else f"FAILED {res.stdout[-800:]} {res.stderr[-800:]}")
                for url, res in health_through_proxy(h):
                    print("health", url, res.returncode, res.stdout[-300:], res.stderr[-500:])
                if os.environ.get("CLAWTEX_HOSTS_PAUSE"):
                    input("paused; enter to stop the host ")
