"""Monitoring, live: Debian's Prometheus, blackbox exporter, node exporter and
Alertmanager run the generated prometheus.yml, rules and alertmanager.yml
against a live OpenClaw gateway behind the routes its hosts' nginx serve.

The test overlay (README "Live checks → Monitoring") changes only:
- addresses: every file_sd target, the blackbox and Alertmanager addresses
  point at loopback ports (scheme and path kept); the DOKS discovery job is left out
  (tests/live/test_doks_discovery.py runs it against a stand-in of the DigitalOcean API);
- intervals: scrape 2s (the blackbox timeout follows it), evaluation 1s, every rule's `for:` 5s, Alertmanager
  group_wait/group_interval 1s;
- receivers: PagerDuty `url`, Opsgenie `api_url`, the secret files' paths (a
  temp dir holding dummy keys and the Slack/Discord sink URLs), the SMTP
  smarthost (a local SMTP sink, `smtp_require_tls: false`);
- clock: Alertmanager runs with ZONEINFO pointing at a zone database in which
  Europe/Berlin reads Wednesday 10:30 (tests/live/clock.py), a time every
  tier's support coverage includes, so the routes' active_time_intervals let
  every tier through (test_support_hours.py tests the hours themselves).
Then: every target is discovered with its labels; every probe of the live
gateway succeeds; the gateway is killed and each customer's outage page must
reach its receivers by tier (Gold: PagerDuty/Opsgenie, its Slack, ops; Bronze
and Silver: ops only), timed from the kill.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from datetime import datetime
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import yaml

from live.clock import zoneinfo_at
from live.conftest import REPO, openclaw_path, require_tool
from live.gateway import running_gateway
from compiler.plan import ALERT_BURN_FAST
from live.sinks import HttpSink, LoopbackProxy, SmtpSink, free_port, make_ca
from proxy_config import Location, Server, host_variables, proxy_servers, route

GEN = REPO / "generated"
# The live gateway: a Bronze customer's generated config, booted unmodified by the shared helper.
GATEWAY_CONFIG = GEN / "openclaw" / "pixel-bakery" / "openclaw.json"
# Debian's packaged blackbox configuration (prometheus-blackbox-exporter): the
# generated prometheus.yml asks it for its stock modules http_2xx and tcp_connect.
DEBIAN_BLACKBOX_CONFIG = Path("/etc/prometheus/blackbox.yml")
DELIVERY_TIMEOUT = 240
TOOLS = {"prometheus": "prometheus", "alertmanager": "prometheus-alertmanager",
         "blackbox": "prometheus-blackbox-exporter", "node": "prometheus-node-exporter"}
INSTALL = "run CLAWTEX_DEPS=50-monitoring bash scripts/install-deps.sh"
# A Berlin time inside every tier's support coverage (not a German holiday).
STAFFED = datetime(2026, 11, 25, 10, 30)


# ------------------------------------------------------------ processes

@contextmanager
def process(argv: list[str], log: Path, env: dict | None = None):
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        yield proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)


def wait_http(url: str, timeout: float, proc=None, log: Path | None = None, ok=lambda status, body: status == 200):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{proc.args[0]} exited {proc.returncode}: {log.read_text()[-2000:] if log else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if ok(r.status, r.read()):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready after {timeout}s: {log.read_text()[-2000:] if log else ''}")


# ------------------------------------------------------------ overlay

def prometheus_overlay(src: Path, dst: Path, blackbox: str, alertmanager: str, rewrite) -> None:
    """Copy generated/prometheus with the overlay applied (module docstring)."""
    shutil.copytree(src, dst)
    cfg = yaml.safe_load((dst / "prometheus.yml").read_text())
    cfg["global"].update({"scrape_interval": "2s", "evaluation_interval": "1s"})
    cfg["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [alertmanager]
    # DOKS nodes are discovered through the DigitalOcean API (job node-k8s-digitalocean): run against a
    # stand-in of that API by test_doks_discovery.py, not here (it would call the real one).
    cfg["scrape_configs"] = [j for j in cfg["scrape_configs"] if "digitalocean_sd_configs" not in j]
    for job in cfg["scrape_configs"]:
        for r in job.get("relabel_configs", []):
            if r.get("target_label") == "__address__":
                r["replacement"] = blackbox
    (dst / "prometheus.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    for f in (dst / "targets").glob("*.json"):
        groups = json.loads(f.read_text())
        for g in groups:
            g["targets"] = [rewrite(f.name, t) for t in g["targets"]]
        f.write_text(json.dumps(groups))
    rules = yaml.safe_load((dst / "rules" / "slo.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "5s"
    (dst / "rules" / "slo.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    shutil.rmtree(dst / "tests")


def alertmanager_overlay(src: Path, dst: Path, secrets: Path, sink: HttpSink, smtp: SmtpSink) -> dict:
    cfg = yaml.safe_load(src.read_text())
    cfg["global"]["smtp_smarthost"] = f"127.0.0.1:{smtp.port}"
    cfg["global"]["smtp_require_tls"] = False
    cfg["route"]["group_wait"] = "1s"
    cfg["route"]["group_interval"] = "1s"

    def local(path: str, content: str) -> str:
        target = secrets / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        return str(target)

    for r in cfg["receivers"]:
        for c in r.get("pagerduty_configs", []):
            c["routing_key_file"] = local(c["routing_key_file"], f"key-{r['name']}")
            c["url"] = f"{sink.url}/pagerduty/{r['name']}"
        for c in r.get("opsgenie_configs", []):
            c["api_key_file"] = local(c["api_key_file"], f"key-{r['name']}")
            c["api_url"] = f"{sink.url}/opsgenie/{r['name']}/"
        for c in r.get("slack_configs", []):
            c["api_url_file"] = local(c["api_url_file"], f"{sink.url}/slack/{r['name']}")
    dst.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return cfg


# ------------------------------------------------------------ the test

def receivers_of(kind: str, path: str) -> str:
    return path.split("/")[2] if path.startswith(f"/{kind}/") else ""




def test_live_outage_reaches_the_right_receivers(tmp_path):
    for tool in TOOLS.values():
        require_tool(tool, INSTALL)
    require_tool("openssl")
    if not DEBIAN_BLACKBOX_CONFIG.exists():
        pytest.fail(f"{DEBIAN_BLACKBOX_CONFIG} missing: the prometheus-blackbox-exporter package ships it")
    probes = json.loads((GEN / "prometheus" / "targets" / "openclaw-probes.json").read_text())
    am_generated = yaml.safe_load((GEN / "alertmanager" / "alertmanager.yml").read_text())
    tiers = {g["labels"]["customer"]: g["labels"]["tier"] for g in probes}
    # Oracle for routing: tiers/*.yaml (which tiers page) and customers/*.yaml (who pages where).
    tier_pages = {yaml.safe_load(p.read_text())["metadata"]["name"]: bool(yaml.safe_load(p.read_text())["spec"]["paging"]["providers"])
                  for p in (REPO / "tiers").glob("*.yaml") if yaml.safe_load(p.read_text())["kind"] == "Tier"}
    customer_spec = {yaml.safe_load(p.read_text())["metadata"]["id"]: yaml.safe_load(p.read_text())["spec"]
                     for p in (REPO / "customers").glob("*.yaml")}

    with ExitStack() as stack:
        tmp = tmp_path
        ca, cert, key = make_ca(tmp)
        http_sink, smtp = HttpSink(), SmtpSink()
        stack.callback(http_sink.close)
        stack.callback(smtp.close)
        openclaw_path()          # the pinned OpenClaw is installed (else: fail in CI, skip locally)
        gw = stack.enter_context(running_gateway(GATEWAY_CONFIG))
        gw_port = urlsplit(gw.url).port
        t_boot = time.monotonic()

        # One loopback listener per (host, nginx server) the probes go through.
        listeners: dict[tuple[str, str, int], LoopbackProxy] = {}
        def listener_for(url: str, host: str) -> LoopbackProxy:
            u = urlsplit(url)
            port = u.port or {"http": 80, "https": 443}[u.scheme]
            k = (host, u.hostname, port)
            if k not in listeners:
                v = host_variables(host)
                if v.get("openclaw_mode") == "kubernetes":
                    # No nginx on Platinum: the cluster ingress terminates TLS for the domain.
                    servers = [Server(443, True, (v["tls_domain"],), (Location("/", v["openclaw_gateway_port"], "/"),))]
                else:
                    servers = proxy_servers(host)
                upstreams = {l.upstream_port: gw_port for s in servers for l in s.locations}
                scheme = u.scheme
                p = LoopbackProxy(lambda path, s=servers, h=u.hostname, sc=scheme, pt=port:
                                  route(s, f"{sc}://{h}:{pt}{path}"), upstreams,
                                  tls=(cert, key) if scheme == "https" else None)
                stack.callback(p.close)
                listeners[k] = p
            return listeners[k]

        host_of = {g["targets"][0]: g["labels"]["host"] for g in probes}
        ne_port, bb_port, am_port, prom_port = free_port(), free_port(), free_port(), free_port()

        def rewrite(file: str, target: str) -> str:
            if file == "node.json":
                return f"127.0.0.1:{ne_port}"
            if file == "openclaw-probes.json":
                u = urlsplit(target)
                return f"{u.scheme}://127.0.0.1:{listener_for(target, host_of[target]).port}{u.path}"
            if file == "openclaw-ready.json":      # the same route as the liveness probe, readyPath
                u = urlsplit(target)
                url = next(t for t in host_of if urlsplit(t)[:2] == u[:2])
                return f"{u.scheme}://127.0.0.1:{listener_for(url, host_of[url]).port}{u.path}"
            host, port = target.rsplit(":", 1)       # openclaw-tcp.json: the probe's host and port
            url = next(t for t in host_of if urlsplit(t).hostname == host)
            return f"127.0.0.1:{listener_for(url, host_of[url]).port}"

        prometheus_overlay(GEN / "prometheus", tmp / "prom", f"127.0.0.1:{bb_port}", f"127.0.0.1:{am_port}", rewrite)
        secrets = tmp / "secrets"
        am_cfg = alertmanager_overlay(GEN / "alertmanager" / "alertmanager.yml", tmp / "alertmanager.yml", secrets,
                                      http_sink, smtp)

        env = {**os.environ, "SSL_CERT_FILE": str(ca)}      # blackbox trusts the throwaway CA like a public one
        ne = stack.enter_context(process([TOOLS["node"], f"--web.listen-address=127.0.0.1:{ne_port}"], tmp / "ne.log"))
        bb = stack.enter_context(process([TOOLS["blackbox"], f"--config.file={DEBIAN_BLACKBOX_CONFIG}",
                                          f"--web.listen-address=127.0.0.1:{bb_port}"], tmp / "bb.log", env))
        for port, proc, log in ((ne_port, ne, "ne.log"), (bb_port, bb, "bb.log")):
            wait_http(f"http://127.0.0.1:{port}/metrics", 60, proc, tmp / log)

        def start_monitoring(run: int) -> ExitStack:
            """Alertmanager and Prometheus with fresh storage (run: 0, 1, ...)."""
            mon = ExitStack()
            zoneinfo = zoneinfo_at(tmp / f"zoneinfo-{run}", STAFFED)
            am = mon.enter_context(process([TOOLS["alertmanager"], f"--config.file={tmp / 'alertmanager.yml'}",
                                            f"--storage.path={tmp / f'am-data-{run}'}", "--cluster.listen-address=",
                                            f"--web.listen-address=127.0.0.1:{am_port}"], tmp / f"am-{run}.log",
                                           {**os.environ, "ZONEINFO": str(zoneinfo)}))
            prom = mon.enter_context(process([TOOLS["prometheus"], f"--config.file={tmp / 'prom' / 'prometheus.yml'}",
                                              f"--storage.tsdb.path={tmp / f'prom-data-{run}'}",
                                              f"--web.listen-address=127.0.0.1:{prom_port}"], tmp / f"prom-{run}.log"))
            for port, proc, log in ((am_port, am, f"am-{run}.log"), (prom_port, prom, f"prom-{run}.log")):
                wait_http(f"http://127.0.0.1:{port}/-/ready", 60, proc, tmp / log)
            return mon

        mon = start_monitoring(0)
        stack.callback(lambda: mon.close())
        api = f"http://127.0.0.1:{prom_port}/api/v1"

        def get(path: str):
            with urllib.request.urlopen(api + path, timeout=5) as r:
                return json.load(r)["data"]

        def query(promql: str) -> list:
            return get("/query?query=" + quote(promql))["result"]

        # 1. Every generated target is discovered with its labels.
        expected = set()
        for job, file in (("node", "node.json"), ("openclaw-probe", "openclaw-probes.json"),
                          ("openclaw-tcp", "openclaw-tcp.json"), ("openclaw-ready", "openclaw-ready.json")):
            for g in json.loads((GEN / "prometheus" / "targets" / file).read_text()):
                expected.add((job, tuple(sorted(g["labels"].items()))))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            active = get("/targets")["activeTargets"]
            found = {(t["labels"]["job"], tuple(sorted((k, v) for k, v in t["labels"].items()
                                                       if k not in ("job", "instance"))))
                     for t in active}
            if found == expected:
                break
            time.sleep(1)
        assert found == expected, (sorted(expected - found), sorted(found - expected))
        print(f"\ngateway {GATEWAY_CONFIG.parent.name} booted in {gw.boot_seconds:.1f}s")
        print(f"discovered {len(active)} targets ({len(expected)} label sets) as generated")

        # 2. Every probe of the live gateway succeeds, through the scheme/port/path the generated config uses.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            results = {(r["metric"]["job"], r["metric"]["customer"]): r["value"][1]
                       for r in query('probe_success{job!="openclaw-ready"}')}
            if len(results) == 2 * len(probes) and set(results.values()) == {"1"}:
                break
            time.sleep(1)
        assert len(results) == 2 * len(probes) and set(results.values()) == {"1"}, results
        served = {(path, status) for p in listeners.values() for path, status in p.requests}
        for g in probes:       # the proxies saw the generated paths, not a rewritten one
            assert (urlsplit(g["targets"][0]).path, 200) in served, g["targets"][0]
        print(f"{len(probes)} HTTP + {len(probes)} TCP probes succeed "
              f"({sorted({urlsplit(g['targets'][0]).scheme for g in probes})}); "
              f"stack up {time.monotonic() - t_boot:.1f}s after the gateway")

        # 3. A clean baseline: fresh Prometheus and Alertmanager state in which every probe so far
        # succeeded and nothing pages. (With minutes of history, one probe timing out under load
        # would page on its own and hide the outage's notification.)
        for run in range(1, 4):
            mon.close()
            http_sink.deliveries.clear()
            smtp.messages.clear()
            mon = start_monitoring(run)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                counts = query('count_over_time(probe_success{job="openclaw-probe"}[1h])')
                if len(counts) == len(probes) and min(float(r["value"][1]) for r in counts) >= 5:
                    break
                time.sleep(1)
            failed = query('min_over_time(probe_success{job!="openclaw-ready"}[1h]) == 0')
            firing = query(f'ALERTS{{alertname="{ALERT_BURN_FAST}"}}')
            if not failed and not firing:
                break
            print(f"baseline run {run}: {len(failed)} probes failed, {len(firing)} pages pending; fresh start")
        assert not failed and not firing, (failed, firing)
        # The readiness probes go the liveness route to readyPath; channels cannot reach their
        # networks here, so the gateway answers 503 (not ready) and the non-paging
        # OpenClawNotReady ticket is the one notification expected: ops only, never a page.
        for g in json.loads((GEN / "prometheus" / "targets" / "openclaw-ready.json").read_text()):
            path = urlsplit(g["targets"][0]).path
            assert {(path, 200), (path, 503)} & {(p_, s_) for p in listeners.values() for p_, s_ in p.requests}, path
        not_ready = [d for d in http_sink.deliveries if "OpenClawNotReady" in json.dumps(d.body)]
        assert all(d.path.split("/")[1] == "slack" and d.path.split("/")[2] == "ops" for d in not_ready), \
            sorted({d.path for d in not_ready})
        others = [d for d in http_sink.deliveries if "OpenClawNotReady" not in json.dumps(d.body)]
        mails = [m for m in smtp.messages if "OpenClawNotReady" not in m.data]
        assert not others and not mails, "notified while every probe succeeded"

        # 4. Outage: stop the gateway; every customer's page reaches its receivers by tier.
        t_stop = time.monotonic()
        stopping = threading.Thread(target=gw.stop)   # unreachable at once; SIGTERM, SIGKILL after a grace
        stopping.start()
        stack.callback(stopping.join)

        def page_deliveries():
            out: dict[str, dict[str, float]] = {}
            for d in http_sink.deliveries:
                if ALERT_BURN_FAST not in json.dumps(d.body) or d.at < t_stop:
                    continue
                kind, name = d.path.split("/")[1:3]
                for c in (c for c in tiers if c in json.dumps(d.body)):
                    out.setdefault(c, {}).setdefault(f"{kind}:{name}", d.at)
            for m in smtp.messages:
                if ALERT_BURN_FAST in m.data and m.at >= t_stop:
                    for c in (c for c in tiers if c in m.data):
                        out.setdefault(c, {}).setdefault(f"email:{','.join(m.recipients)}", m.at)
            return out

        def expected_receivers(c: str) -> set[str]:
            spec = customer_spec[c]
            want = {"slack:ops", f"email:{yaml.safe_load((REPO / 'clawtex.yaml').read_text())['spec']['ops']['alertEmail']}"}
            if tier_pages[tiers[c]]:
                provider = spec["paging"]["provider"]
                want.add(f"{provider}:page-{c}")
                if spec.get("notifications"):
                    want.add(f"slack:slack-{c}")
            return want

        want = {c: expected_receivers(c) for c in tiers}
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while time.monotonic() < deadline:
            got = page_deliveries()
            if all(want[c] <= set(got.get(c, {})) for c in want):
                break
            time.sleep(1)
        got = page_deliveries()
        if not all(want[c] <= set(got.get(c, {})) for c in want):
            # Say what the stack saw, so a miss is diagnosable from the CI log.
            probes_now = {r["metric"].get("instance"): r["value"][1] for r in query('probe_success{job="openclaw-probe"}')}
            alerts_now = sorted({(r["metric"].get("alertname"), r["metric"].get("customer"), r["metric"].get("alertstate"))
                                 for r in query("ALERTS")})
            print(f"after {DELIVERY_TIMEOUT}s: gateway stopper alive={stopping.is_alive()}; probe_success={probes_now}; "
                  f"ALERTS={alerts_now}; deliveries={len(http_sink.deliveries)} http, {len(smtp.messages)} mail")
        for c in sorted(want):
            assert want[c] <= set(got.get(c, {})), (c, tiers[c], sorted(want[c]), sorted(got.get(c, {})))
            extra = {r for r in got[c] if r.split(":")[0] in ("pagerduty", "opsgenie") or r.startswith("slack:slack-")}
            assert extra <= want[c], (c, tiers[c], "paged or notified beyond its tier", sorted(extra - want[c]))
        for c in sorted(want):
            took = {r: f"{at - t_stop:.1f}s" for r, at in sorted(got[c].items())}
            print(f"{tiers[c]:>8} {c}: {took}")
        print(f"gateway stop -> last expected delivery: "
              f"{max(at for c in want for r, at in got[c].items() if r in want[c]) - t_stop:.1f}s")
