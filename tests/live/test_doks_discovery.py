"""DOKS nodes, live: Debian's Prometheus runs the generated `node-k8s-digitalocean` scrape config
(digitalocean_sd_configs + relabeling) and discovers the nodes of a Platinum cluster from a
loopback stand-in of the DigitalOcean droplets API.

Prometheus's DigitalOcean discovery has no base-URL setting: it builds a godo client with
the default https://api.digitalocean.com/ (discovery/digitalocean/digitalocean.go, NewDiscovery).
Its HTTP client config does take `proxy_url` and `tls_config`, so the overlay adds only those
two (a loopback CONNECT proxy that answers for api.digitalocean.com with a throwaway CA's
certificate) and points `credentials_file` at a temporary token file. Everything else (the
keep rule, the labels, the private address, the port, job `node`) is the generated config.

The stand-in's droplets are what DOKS would make of the generated Terraform (oracle: the
pools' `tags` in generated/terraform/<customer>/cdk.tf.json, and DigitalOcean's automatic
pool tags k8s, k8s:<cluster id>, k8s:worker), with node names the autoscaler would pick
(never a name of ours), next to droplets that must not be scraped: another customer's,
one with a near-miss tag. Expected labels and addresses come from customers/*.yaml and
clawtex.yaml (privateNetwork), not from the compiler.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from live.conftest import REPO, require_tool
from live.sinks import free_port, make_ca

GEN = REPO / "generated"
API_HOST = "api.digitalocean.com"
TOKEN = "dop_v1_loopback-stand-in-not-a-token"


class DropletsApi:
    """A CONNECT proxy that terminates TLS for api.digitalocean.com and answers GET /v2/droplets."""

    def __init__(self, droplets: list[dict], cert: Path, key: Path):
        self.requests: list[tuple[str, str, str]] = []      # (CONNECT target, path, Authorization)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        api = self
        body = json.dumps({"droplets": droplets, "links": {}, "meta": {"total": len(droplets)}}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_CONNECT(self):
                target = self.path
                self.send_response(200, "Connection established")
                self.end_headers()
                self.wfile.flush()
                conn = ctx.wrap_socket(self.connection, server_side=True)
                reader = conn.makefile("rb")
                while True:
                    line = reader.readline()
                    if not line:
                        break
                    method, path, _ = line.decode().split(" ", 2)
                    headers = {}
                    while (h := reader.readline()) not in (b"\r\n", b"\n", b""):
                        k, v = h.decode().split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                    api.requests.append((target, f"{method} {path}", headers.get("authorization", "")))
                    ok = method == "GET" and path.split("?")[0] == "/v2/droplets"
                    payload = body if ok else b'{"id":"not_found"}'
                    conn.sendall(f"HTTP/1.1 {200 if ok else 404} X\r\nContent-Type: application/json\r\n"
                                 f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
                    break
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _droplet(did: int, name: str, region: str, public: str, private: str, tags: list[str]) -> dict:
    return {"id": did, "name": name, "status": "active", "region": {"slug": region}, "size_slug": "c-4",
            "image": {"slug": "", "name": "doks"}, "features": ["private_networking"], "tags": tags,
            "vpc_uuid": f"vpc-{region}", "networks": {"v4": [{"ip_address": public, "type": "public"},
                                                               {"ip_address": private, "type": "private"}], "v6": []}}


def _pool_tags(stack: dict, region: str) -> set[str]:
    """The tags the generated Terraform gives the cluster's pools in `region` (default + workload)."""
    res = stack["resource"]
    cluster = res["digitalocean_kubernetes_cluster"][f"k8s_{region}"]
    tags = set(cluster["node_pool"][0].get("tags") or [])
    for pool in res.get("digitalocean_kubernetes_node_pool", {}).values():
        if pool["cluster_id"] == f"${{digitalocean_kubernetes_cluster.k8s_{region}.id}}":
            tags |= set(pool.get("tags") or [])
    return tags


def test_prometheus_discovers_autoscaled_doks_nodes(tmp_path):
    require_tool("prometheus", "run CLAWTEX_DEPS=50-monitoring bash scripts/install-deps.sh")
    require_tool("openssl")
    t0 = time.monotonic()
    settings = yaml.safe_load((REPO / "clawtex.yaml").read_text())["spec"]
    net = settings["ops"]["prometheus"].get("privateNetwork") or {}
    customers = [yaml.safe_load(p.read_text()) for p in sorted((REPO / "customers").glob("*.yaml"))]
    doks = [c for c in customers if c["spec"]["tier"] == "platinum" and c["spec"]["provider"] == "digitalocean"
            and c["spec"].get("status", "active") == "active"]
    assert doks, "the example fleet has a Platinum customer on DigitalOcean"

    droplets, expected, n = [], {}, 100
    for c in doks:
        cid, stack = c["metadata"]["id"], json.loads((GEN / "terraform" / c["metadata"]["id"] / "cdk.tf.json").read_text())
        for i, region in enumerate(c["spec"]["regions"]):
            tags = sorted(_pool_tags(stack, region))
            assert tags, (cid, region)
            for k in range(2):          # two nodes the autoscaler named, per cluster
                n += 1
                name, public, private = f"{cid}-{region}-c-4-x{n:03d}q", f"198.51.100.{n}", f"10.{110 + i}.0.{n}"
                droplets.append(_droplet(n, name, region, public, private,
                                         ["k8s", f"k8s:cluster-{region}-uuid", "k8s:worker", *tags]))
                address = private if net.get("provider") == "digitalocean" and net.get("region") == region else public
                expected[f"{address}:9100"] = {"customer": cid, "tier": "platinum", "provider": "digitalocean",
                                               "region": region, "host": name, "role": "k8s", "job": "node"}
            # a near-miss tag and a plain Droplet in the same region: never scraped by this job
            n += 1
            droplets.append(_droplet(n, f"{cid}-{region}-stray", region, f"198.51.100.{n}", f"10.9.0.{n}",
                                     [f"{tags[0]}-old", "k8s"]))
    n += 1
    droplets.append(_droplet(n, "someone-else-oc-1", "fra1", f"198.51.100.{n}", f"10.9.0.{n}", ["customer:someone-else"]))

    ca, cert, key = make_ca(tmp_path, f"DNS:{API_HOST}")
    api = DropletsApi(droplets, cert, key)
    token = tmp_path / "do-token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    cfg = yaml.safe_load((GEN / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in cfg["scrape_configs"] if "digitalocean_sd_configs" in j)
    (sd,) = job["digitalocean_sd_configs"]
    assert sd["authorization"]["credentials_file"].startswith("/"), sd     # a file on the ops host, never a value
    assert set(sd) == {"authorization", "port"}, sd
    sd.update({"proxy_url": f"http://127.0.0.1:{api.port}", "tls_config": {"ca_file": str(ca)}})
    sd["authorization"]["credentials_file"] = str(token)
    cfg["scrape_configs"] = [job]
    cfg.pop("rule_files", None)
    cfg.pop("alerting", None)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")], check=True, capture_output=True)

    port = free_port()
    log = tmp_path / "prom.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()})
    try:
        deadline, active, dropped = time.monotonic() + 60, [], []
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/targets", timeout=5) as r:
                    data = json.load(r)["data"]
                active, dropped = data["activeTargets"], data["droppedTargets"]
                if len(active) == len(expected):
                    break
            except OSError:
                pass
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
        found = {t["scrapeUrl"].split("//")[1].split("/")[0]: {k: v for k, v in t["labels"].items() if k != "instance"}
                 for t in active}
        assert found == expected, (found, expected, log.read_text()[-2000:])
        assert len(dropped) == len(droplets) - len(expected), dropped
        assert all(t["scrapeUrl"].endswith(":9100/metrics") for t in active)
        # the token reached the API as a bearer credential, through the CONNECT to api.digitalocean.com:443
        assert api.requests and all(r == (f"{API_HOST}:443", r[1], f"Bearer {TOKEN}") for r in api.requests), api.requests
        assert any(r[1].startswith("GET /v2/droplets") for r in api.requests), api.requests
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        api.close()
    print(f"\nnode-k8s-digitalocean: {len(expected)} nodes discovered, {len(dropped)} droplets dropped, "
          f"{time.monotonic() - t0:.1f}s")
    shutil.rmtree(tmp_path / "data", ignore_errors=True)
