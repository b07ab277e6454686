"""A throwaway PostgreSQL server for fast tests: Debian's postgresql (scripts/deps/60-backups.sh),
initdb'd under a fresh temp directory as the package's `postgres` user (initdb refuses root), TLS on
(a self-signed certificate: the clients say PGSSLMODE=require, as against DigitalOcean's managed
PostgreSQL), password logins over 127.0.0.1 only, stopped and removed when the context ends. Never
the package's own cluster, never a system service."""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ci_rules import missing, require_tool

INSTALL = "scripts/deps/60-backups.sh"


@dataclass
class Server:
    port: int
    socket_dir: str

    def superuser(self, sql: str, db: str = "postgres") -> str:
        """psql as the server's superuser over its Unix socket (peer authentication)."""
        r = self.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql])
        return r.stdout

    def run(self, argv: list[str], stdin=None) -> subprocess.CompletedProcess:
        r = subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, stdin=stdin,
                           env={"PATH": os.environ["PATH"], "PGHOST": self.socket_dir, "PGPORT": str(self.port)}, timeout=120)
        assert r.returncode == 0, (argv, r.stdout, r.stderr)
        return r


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        missing(name, INSTALL)
    return found[-1]


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[Server]:
    require_tool("pg_dump", INSTALL)
    require_tool("openssl", INSTALL)
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(tempfile.mkdtemp(prefix="clawtex-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    shutil.chown(root, "postgres", "postgres")
    shutil.chown(sock, "postgres", "postgres")

    def as_postgres(*argv: str) -> None:
        r = subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, timeout=120,
                           env={"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"}, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, (argv, r.stdout, r.stderr)
    started = False
    try:
        as_postgres(initdb, "-D", str(data), "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8")
        as_postgres("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(data / "server.key"), "-out", str(data / "server.crt"))
        # Only TLS over TCP (as the managed cluster), the superuser over the socket.
        (data / "pg_hba.conf").write_text("local all postgres peer\nhostssl all all 127.0.0.1/32 scram-sha-256\n")
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{sock}'\n"
                       "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        as_postgres(pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "start")
        started = True
        yield Server(port, str(sock))
    finally:
        if started:
            as_postgres(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
