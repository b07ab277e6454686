"""Platinum's BackupStale, live (issue 24 "Bad input and faults": the backup-age metric goes stale
and the backup alert fires on the live Prometheus, to the right receiver), for a cluster.

A Platinum cluster has no host timer: its CronJob (roles/backup templates/clawtex-backup-k8s.yml.j2)
writes the hosts' metric file into the node's textfile directory (a hostPath), and the node_exporter
DaemonSet (roles/node_exporter templates/node-exporter-k8s.yml.j2) reads that directory. Here:
- the CronJob's container runs as the cluster would run it (tests/test_backup_role.py
  platinum_cronjob_then_drill_restore), its hostPath bound to a directory standing for node B;
- node A is the node the gateway ran on before (the volume moves with the pod): it keeps the same
  cluster's older file, three hours old;
- each node's node_exporter is Debian's, run with the DaemonSet's own arguments, every container
  path mapped to the node path its hostPath volume names (node A's and node B's textfile directory
  for the textfile volume), listening on the node's address (hostNetwork) 127.0.0.2 / 127.0.0.3;
- Prometheus runs the generated configuration: the generated `node-k8s-digitalocean` job finds the
  two nodes through the DigitalOcean droplets API stand-in of test_doks_discovery.py (droplets
  tagged with the generated Terraform's pool tags), the generated rules (test_monitoring.py's
  overlay: `for:` 5s, intervals), the generated Alertmanager with receivers to sinks.
Alertmanager's clock reads Sunday 03:00 in Berlin (live/clock.py): Platinum's on-call is every
day, all day. Contrast (a clock that silently fell back to the real one would not show it): a
Silver BackupStale posted to the same Alertmanager at that instant reaches nobody (Silver's
support hours are weekdays).

Receivers by hand (generated/alertmanager is the code under test): BackupStale is a ticket
(severity ticket): ops' Slack and email, and orbital-health's own Slack (customers/orbital-health.yaml
notifications); never its pager."""
from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from contextlib import ExitStack
from datetime import datetime
from urllib.parse import quote

import yaml

from live.backups import stale_deliveries
from live.clock import zoneinfo_at
from live.conftest import REPO, require_tool
from live.sinks import HttpSink, SmtpSink, free_port, make_ca
from live.test_doks_discovery import API_HOST, TOKEN, DropletsApi, _droplet, _pool_tags
from live.test_monitoring import GEN, INSTALL, TOOLS, alertmanager_overlay, process, prometheus_overlay, wait_http

CUSTOMER, CLUSTER, REGION = "orbital-health", "orbital-health-fra1", "fra1"
METRIC = "clawtex_backup_last_success_timestamp_seconds"
# Sunday 29 November 2026, 03:00 in Berlin: outside every weekday support window, not a holiday.
SUNDAY_NIGHT = datetime(2026, 11, 29, 3, 0)
NODES = {"a": "127.0.0.2", "b": "127.0.0.3"}


def backdate(text: str, ts: int) -> str:
    new, n = re.subn(rf"^({METRIC}\{{[^}}]*\}}) \S+$", lambda m: f"{m.group(1)} {ts}", text, flags=re.M)
    assert n == 1, text
    return new


def node_exporter_argv(daemonset: dict, textfile_dir, ip: str) -> list[str]:
    """The DaemonSet's container command line on one node: each path under a container mount is the
    node path of that mount's hostPath volume (the textfile volume: this node's directory)."""
    pod = daemonset["spec"]["template"]["spec"]
    [c] = pod["containers"]
    host_path = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
    mounts = sorted(((m["mountPath"], str(textfile_dir) if m["name"] == "textfile" else host_path[m["name"]])
                     for m in c["volumeMounts"]), key=lambda m: -len(m[0]))
    argv = [TOOLS["node"]]
    for arg in c["args"]:
        flag, _, value = arg.partition("=")
        if flag == "--web.listen-address":
            value = f"{ip}:{value.rsplit(':', 1)[1]}"          # hostNetwork: the node's own address
        else:
            for inside, node in mounts:
                if value == inside or value.startswith(inside.rstrip("/") + "/"):
                    value = (node.rstrip("/") + value[len(inside):]) or "/"
                    break
        argv.append(f"{flag}={value}")
    return argv


def test_platinum_backup_stale_fires_from_the_cluster_to_its_receivers(tmp_path):
    for tool in TOOLS.values():
        require_tool(tool, INSTALL)
    require_tool("openssl")
    from test_backup_role import platinum_cronjob_then_drill_restore
    t_start = time.monotonic()
    nodes = {n: tmp_path / f"node-{n}" for n in NODES}
    for d in nodes.values():
        d.mkdir()
    cron = platinum_cronjob_then_drill_restore(tmp_path / "cronjob", textfile_dir=nodes["b"])
    fresh = (nodes["b"] / "clawtex_backup.prom").read_text()
    assert f'{METRIC}{{customer="{CUSTOMER}",host="{CLUSTER}"}}' in fresh, fresh
    (nodes["a"] / "clawtex_backup.prom").write_text(backdate(fresh, int(time.time()) - 3 * 3600))

    settings = yaml.safe_load((REPO / "clawtex.yaml").read_text())["spec"]
    ops_email = settings["ops"]["alertEmail"]
    want = {"slack:ops", f"email:{ops_email}", f"slack:slack-{CUSTOMER}"}
    silver = sorted(p.stem for p in (REPO / "customers").glob("*.yaml")
                    if yaml.safe_load(p.read_text())["spec"]["tier"] == "silver")[0]
    stack = json.loads((GEN / "terraform" / CUSTOMER / "cdk.tf.json").read_text())
    tags = sorted(_pool_tags(stack, REGION))
    droplets = [_droplet(201 + i, f"{CLUSTER}-c-4-x{n}0{i}q", REGION, ip, ip,
                         ["k8s", f"k8s:cluster-{REGION}-uuid", "k8s:worker", *tags])
                for i, (n, ip) in enumerate(NODES.items())]
    ds_port = cron["daemonset"]["spec"]["template"]["spec"]["containers"][0]["ports"][0]["hostPort"]

    with ExitStack() as es:
        http_sink, smtp = HttpSink(), SmtpSink()
        es.callback(http_sink.close)
        es.callback(smtp.close)
        ca, cert, key = make_ca(tmp_path, f"DNS:{API_HOST}")
        api = DropletsApi(droplets, cert, key)
        es.callback(api.close)
        token = tmp_path / "do-token"
        token.write_text(TOKEN)
        am_port, prom_port = free_port(), free_port()
        prometheus_overlay(GEN / "prometheus", tmp_path / "prom", "127.0.0.1:1", f"127.0.0.1:{am_port}", lambda f, t: t)
        for f in (tmp_path / "prom" / "targets").glob("*.json"):
            f.write_text("[]")                   # only the cluster's nodes are scraped
        cfg = yaml.safe_load((tmp_path / "prom" / "prometheus.yml").read_text())
        job = next(j for j in yaml.safe_load((GEN / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
                   if "digitalocean_sd_configs" in j)
        (sd,) = job["digitalocean_sd_configs"]
        assert sd["port"] == ds_port, (sd, ds_port)          # the port Prometheus scrapes is the DaemonSet's
        sd.update({"proxy_url": f"http://127.0.0.1:{api.port}", "tls_config": {"ca_file": str(ca)}})
        sd["authorization"]["credentials_file"] = str(token)
        cfg["scrape_configs"].append(job)
        (tmp_path / "prom" / "prometheus.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        alertmanager_overlay(GEN / "alertmanager" / "alertmanager.yml", tmp_path / "alertmanager.yml",
                             tmp_path / "secrets", http_sink, smtp)
        for n, ip in NODES.items():
            ne = es.enter_context(process(node_exporter_argv(cron["daemonset"], nodes[n], ip), tmp_path / f"ne-{n}.log"))
            wait_http(f"http://{ip}:{ds_port}/metrics", 60, ne, tmp_path / f"ne-{n}.log",
                      ok=lambda status, body: status == 200 and METRIC.encode() in body)
        am = es.enter_context(process([TOOLS["alertmanager"], f"--config.file={tmp_path / 'alertmanager.yml'}",
                                       f"--storage.path={tmp_path / 'am-data'}", "--cluster.listen-address=",
                                       f"--web.listen-address=127.0.0.1:{am_port}"], tmp_path / "am.log",
                                      {**os.environ, "ZONEINFO": str(zoneinfo_at(tmp_path / "zoneinfo", SUNDAY_NIGHT))}))
        wait_http(f"http://127.0.0.1:{am_port}/-/ready", 60, am, tmp_path / "am.log")
        # The contrast: a Silver BackupStale at this instant (Silver's support hours are weekdays).
        post = urllib.request.Request(
            f"http://127.0.0.1:{am_port}/api/v2/alerts", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps([{"labels": {"alertname": "BackupStale", "customer": silver, "tier": "silver",
                                         "severity": "ticket", "host": f"{silver}-oc-1"}}]).encode())
        urllib.request.urlopen(post, timeout=5).close()
        prom = es.enter_context(process([TOOLS["prometheus"], f"--config.file={tmp_path / 'prom' / 'prometheus.yml'}",
                                         f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                                         f"--web.listen-address=127.0.0.1:{prom_port}"], tmp_path / "prom.log",
                                        {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}))
        wait_http(f"http://127.0.0.1:{prom_port}/-/ready", 60, prom, tmp_path / "prom.log")

        def query(q: str) -> list[dict]:
            with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/query?query={quote(q)}", timeout=5) as r:
                return json.load(r)["data"]["result"]

        def got(customer: str) -> dict[str, float]:
            return stale_deliveries(http_sink, smtp, customer, t0)

        # 1. Both nodes' files are scraped, each series naming the cluster the backup is of (its --host),
        #    not the node; node A's is three hours old, node B's the CronJob's fresh one: no alert.
        t0 = time.monotonic()
        deadline = t0 + 120
        series: list[dict] = []
        while time.monotonic() < deadline and len(series) < 2:
            series = query(f'{METRIC}{{customer="{CUSTOMER}"}}')
            time.sleep(1)
        assert len(series) == 2, (series, (tmp_path / "prom.log").read_text()[-2000:])
        assert {(s["metric"]["host"], s["metric"]["tier"], s["metric"]["instance"]) for s in series} == \
            {(CLUSTER, "platinum", f"{ip}:{ds_port}") for ip in NODES.values()}, series
        assert not [s for s in series if "exported_host" in s["metric"] or "exported_customer" in s["metric"]], series
        # The rule as it was (one series per node) finds node A's stale file: this setup would have caught it.
        old_rule = f'time() - {METRIC}{{tier=~"silver|gold|platinum"}} > on (tier) group_left () clawtex:backup_max_age:seconds'
        assert [s["metric"]["instance"] for s in query(old_rule)] == [f"{NODES['a']}:{ds_port}"]
        time.sleep(10)      # ten rule evaluations (1 s), twice the overlay's `for:`
        assert query('ALERTS{alertname="BackupStale"}') == [], "BackupStale on a node the gateway left"
        assert not got(CUSTOMER), got(CUSTOMER)

        # 2. The CronJob stops succeeding: its file on node B stays as the last success left it, here
        #    two hours ago (a failed run never rewrites it: set -e, the metric is the script's last step).
        (nodes["b"] / "clawtex_backup.prom").write_text(backdate(fresh, int(time.time()) - 2 * 3600))
        t_stale = time.monotonic()
        deadline = t_stale + 120
        while time.monotonic() < deadline and not want <= set(got(CUSTOMER)):
            time.sleep(1)
        alerts = query('ALERTS{alertname="BackupStale"}')
        assert want <= set(got(CUSTOMER)), (want, got(CUSTOMER), [a["metric"] for a in alerts])
        pagers = {r for r in got(CUSTOMER) if r.split(":")[0] in ("pagerduty", "opsgenie")}
        assert not pagers, f"BackupStale paged: {pagers}"
        assert [(a["metric"]["customer"], a["metric"]["tier"], a["metric"]["host"]) for a in alerts] == \
            [(CUSTOMER, "platinum", CLUSTER)], alerts
        assert not got(silver), f"the Silver contrast was delivered on a Sunday night: {got(silver)}"
    took = {r: round(t - (t_stale - t0), 1) for r, t in got(CUSTOMER).items()}
    print(f"\n{CLUSTER}: BackupStale (platinum) on Sunday 03:00 Berlin reached {sorted(took)} "
          f"{max(took.values()):.1f}s after node B's file went stale (overlay: for 5s); the Silver contrast reached "
          f"nobody; CronJob script {cron['backup_seconds']:.1f}s; whole test {time.monotonic() - t_start:.1f}s")
