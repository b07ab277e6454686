"""Local stand-ins for the far ends of the monitoring stack, all on loopback:

- HttpSink: records every POST (PagerDuty events API, Opsgenie alerts API,
  Slack/Discord webhooks) with its path, JSON body and arrival time.
- SmtpSink: a small SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA,
  RSET, NOOP, QUIT) recording each message; Alertmanager's email receiver
  talks to it as to any smarthost.
- LoopbackProxy: serves the routes a host's nginx config serves (parsed from
  the rendered role templates, tests/proxy_config.py) on a loopback port,
  forwarding to the live gateway; TLS servers use a throwaway CA.
"""
from __future__ import annotations

import http.client
import json
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Delivery:
    path: str
    body: object
    at: float


class HttpSink:
    def __init__(self):
        self.deliveries: list[Delivery] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                sink.deliveries.append(Delivery(self.path, body, time.monotonic()))
                reply = b'{"status":"success","message":"Event processed","result":"ok"}'
                self.send_response(202 if self.path.startswith("/pagerduty") else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    data: str
    at: float


class SmtpSink:
    def __init__(self):
        self.messages: list[Mail] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str):
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self):
                sender, rcpts = "", []
                self.reply("220 sink ESMTP")
                while line := self.rfile.readline():
                    cmd = line.decode(errors="replace").strip()
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.reply("250-sink")
                        self.reply("250 8BITMIME")
                    elif verb == "HELO":
                        self.reply("250 sink")
                    elif verb == "MAIL":
                        sender, rcpts = cmd.split(":", 1)[1].strip(" <>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        rcpts.append(cmd.split(":", 1)[1].strip(" <>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with .")
                        lines = []
                        while (l := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                            lines.append(l.decode(errors="replace"))
                        sink.messages.append(Mail(sender, rcpts, "".join(lines), time.monotonic()))
                        self.reply("250 OK queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def make_ca(tmp: Path, san: str = "IP:127.0.0.1") -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 (openssl), valid 90 days
    (beyond TLSCertificateExpiring's 14), or for `san` (e.g. DNS:api.digitalocean.com).
    Returns (ca, cert, key)."""
    def run(*argv):
        subprocess.run(["openssl", *argv], check=True, capture_output=True, cwd=tmp)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "90", "-subj", "/CN=clawtex test CA",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "srv.key", "-out", "srv.csr")
    (tmp / "san.ext").write_text(f"subjectAltName={san}\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "90",
        "-extfile", "san.ext", "-out", "srv.pem")
    return tmp / "ca.pem", tmp / "srv.pem", tmp / "srv.key"


class LoopbackProxy:
    """One nginx `server` (port + ssl) of one host, on a loopback port.

    `route(path)` gives (upstream port, upstream path) as the parsed nginx
    locations do; `upstreams` maps the config's upstream ports to where the
    live gateway listens."""

    def __init__(self, route, upstreams: dict[int, int], tls: tuple[Path, Path] | None = None):
        self.requests: list[tuple[str, int | None]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                target = route(self.path)
                status, body = 404, b"no location\n"
                if target and target[0] in upstreams:
                    try:
                        conn = http.client.HTTPConnection("127.0.0.1", upstreams[target[0]], timeout=3)
                        conn.request("GET", target[1])
                        resp = conn.getresponse()
                        status, body = resp.status, resp.read()
                        conn.close()
                    except OSError:
                        status, body = 502, b"bad gateway\n"      # what nginx answers when the upstream is down
                proxy.requests.append((self.path, status))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
