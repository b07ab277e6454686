"""The channel-status collector (Ansible openclaw role) and how Prometheus
labels its samples: the only source of openclaw_channel_connected."""
from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import REPO

COLLECTOR = REPO / "modules" / "ansible" / "roles" / "openclaw" / "files" / "clawtex-channel-status"
CONFIG = {"channels": {"telegram": {"enabled": True}, "slack": {}, "discord": {"enabled": False}}}


def collect(tmp_path: Path, health: object, customer: str = "tenant-one", exit_code: int = 0) -> str:
    config = tmp_path / "openclaw.json"
    config.write_text(json.dumps(CONFIG))
    out = tmp_path / "channels.prom"
    fake = f"import json, sys; print(json.dumps({health!r})); sys.exit({exit_code})"
    result = subprocess.run([sys.executable, str(COLLECTOR), "--customer", customer, "--config", str(config),
                             "--out", str(out), "--", sys.executable, "-c", fake], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    return text


def samples(text: str) -> dict[str, str]:
    return {line.split('channel="')[1].split('"')[0]: line.rsplit(" ", 1)[1]
            for line in text.splitlines() if not line.startswith("#")}


@pytest.mark.parametrize("health, expected", [
    ({"channels": {"telegram": {"connected": True}, "slack": {"accounts": {"a": {"connected": False}, "b": {"connected": True}}}}},
     {"telegram": "1", "slack": "1"}),
    ({"channels": {"telegram": {"connected": True, "ingressUnavailable": True}, "slack": {"running": True}}},
     {"telegram": "0", "slack": "0"}),
    ({"ok": True, "channels": {}}, {"telegram": "0", "slack": "0"}),
])
def test_collector_reports_each_configured_channel(tmp_path, health, expected):
    # Disabled channels (discord) get no sample; missing or unhealthy ones get 0.
    assert samples(collect(tmp_path, health)) == expected


def test_collector_reports_zero_when_the_gateway_cannot_be_asked(tmp_path):
    text = collect(tmp_path, {"channels": {"telegram": {"connected": True}}}, exit_code=1)
    assert samples(text) == {"telegram": "0", "slack": "0"}


def test_collector_escapes_label_values(tmp_path):
    text = collect(tmp_path, {}, customer='evil"}\nx')
    assert 'customer="evil\\"}\\nx"' in text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(body: bytes) -> http.server.HTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_prometheus_files_a_shared_hosts_channel_samples_under_the_tenant(tmp_path):
    """A shared Bronze host's node target says customer="shared"; the generated node
    job must put the tenant named by the collector back into `customer`."""
    exporter = serve(collect(tmp_path, {"channels": {"telegram": {"connected": False}}}).encode())
    generated = yaml.safe_load((REPO / "generated" / "prometheus" / "prometheus.yml").read_text())
    node_job = next(j for j in generated["scrape_configs"] if j["job_name"] == "node")
    node_job.pop("file_sd_configs")
    node_job["static_configs"] = [{"targets": [f"127.0.0.1:{exporter.server_port}"],
                                   "labels": {"customer": "shared", "tier": "bronze", "host": "shared-x-01"}}]
    node_job["scrape_interval"] = "1s"
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"scrape_interval": "1s"}, "scrape_configs": [node_job]}))
    port = free_port()
    server = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                               f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        result = []
        deadline = time.monotonic() + 60
        while not result and time.monotonic() < deadline:
            time.sleep(1)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?query=openclaw_channel_connected") as r:
                    result = json.load(r)["data"]["result"]
            except OSError:
                continue
    finally:
        server.terminate()
        server.wait(timeout=30)
        exporter.shutdown()
    labels = {tuple(sorted(s["metric"].items())) for s in result}
    assert labels, "prometheus scraped nothing in 60 s"
    for sample in result:
        assert sample["metric"]["customer"] == "tenant-one", sample
        assert "exported_customer" not in sample["metric"], sample
        assert sample["metric"]["tier"] == "bronze"
