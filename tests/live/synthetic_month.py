"""A synthetic month of fleet metrics (October 2026) with known truth, written
as OpenMetrics, turned into a real TSDB by `promtool tsdb create-blocks-from
openmetrics` and served by Debian's `prometheus` on a random loopback port.

The truth (uptime, incidents, channel uptime, backups, region outages) is
computed here from the sample lists themselves, never by compiler code.
Labels mirror what clawtex's scrape config attaches (compiler/targets/
prometheus.py: job, customer, tier, host, region, role), written literally."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

START = int(datetime(2026, 10, 1, tzinfo=timezone.utc).timestamp())
END = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
STEP = 300
TIMES = list(range(START, END, STEP))
N = len(TIMES)


def at(day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(2026, 10, day, hour, minute, tzinfo=timezone.utc).timestamp())


def down(t: int, windows) -> bool:
    return any(a <= t < b for a, b in windows)


@dataclass
class Truth:
    uptime: float                       # ratio over the month
    incidents: list                     # [(start, end)] epoch seconds
    channels: dict                      # channel -> ratio connected
    channel_outages: dict               # channel -> number of disconnections
    slo30: float                        # ratio over the last 30 days of the month
    recorded: dict = field(default_factory=dict)        # window -> SLI (error ratio) at the month's last step
    backups_ok: int | None = None
    stale_steps: int | None = None
    regions: dict = field(default_factory=dict)         # region -> ratio up
    failovers: int | None = None
    cpu_busy: float | None = None


# customer -> (tier, host, region, probe outages, channel -> outages)
FLEET = {
    "corner-garage": ("bronze", "shared-digitalocean-fra1-01", "fra1",
                      [(at(10, 14), at(10, 16, 30)), (at(20, 3), at(20, 3, 20))],
                      {"signal": [(at(15, 8), at(15, 12))]}),
    "brightpath-tutors": ("silver", "brightpath-tutors-oc-1", "ams", [(at(5, 10), at(5, 11))],
                          {"discord": [(at(9, 6), at(9, 8))], "signal": []}),
    "acme-logistics": ("gold", "acme-logistics-oc-1", "nbg1", [(at(22, 2), at(22, 11))],
                       {"slack": [], "msteams": [(at(3, 0), at(3, 1)), (at(27, 9), at(27, 9, 45))], "telegram": []}),
    "orbital-health": ("platinum", "orbital-health-fra1", "fra1", [(at(18, 2), at(18, 2, 10))],
                       {"slack": [], "msteams": [(at(12, 1), at(12, 1, 30))]}),
}
BACKUP = {"brightpath-tutors": (24, [at(12, 1, 7)]),            # daily at 01:07, the 12 Oct run failed
          "acme-logistics": (1, [at(7, 5, 2), at(7, 6, 2)]),    # hourly at :02, two runs in a row failed
          "orbital-health": (1, [])}
BACKUP_GRACE = 1800
# What the generated recording rules would have written for the month's last hour (rule names
# and windows written literally from tiers/slo-windows.yaml; the SLI of a window is 1 - the mean
# probe_success in it), and the error budgets (tiers/*.yaml targetPercent; orbital-health's
# negotiated 99.95 from customers/orbital-health.yaml). Only the last hour: the dashboards are
# queried at the month's end (tests/live/test_customer_reports.py).
SLI_WINDOWS = {"5m": 300, "30m": 1800, "1h": 3600, "2h": 7200, "6h": 21600, "1d": 86400, "3d": 259200,
               "30d": 30 * 86400}
SLA_PERCENT = {"bronze": 95.0, "silver": 98.0, "gold": 99.5, "platinum": 99.9, "orbital-health": 99.95}
RECORDED_STEPS = 12
PROBE_SECONDS = {"corner-garage": 0.25, "brightpath-tutors": 0.125, "acme-logistics": 0.5, "orbital-health": 0.0625}
CERT_EXPIRY = {"acme-logistics": at(30, 0) + 20 * 86400, "orbital-health": at(31, 0) + 60 * 86400}   # custom domains
# A Gold customer with nothing but health probes, and only in September 2026 (outside every October
# figure): its September report has uptime and nothing else, and must say so section by section.
PROBE_ONLY = ("helios-energy", "gold", "helios-energy-oc-1", "ewr", "https://ai.helios-energy.example/healthz")
PROBE_ONLY_PERIOD = "2026-09"
SEPTEMBER = list(range(int(datetime(2026, 9, 1, tzinfo=timezone.utc).timestamp()), START - 3600, STEP))  # ends an hour early: no
# October query looks back into it
REGION_OUTAGES = {"fra1": [(at(18, 2), at(18, 4))], "ams3": [(at(25, 12), at(25, 12, 30))]}
CPU_IDLE_PER_SECOND = 0.7          # one CPU, 30 % busy


def _labels(**kw) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in kw.items()) + "}"


def backup_times(cid: str) -> list[int]:
    hours, failed = BACKUP[cid]
    minute = 7 if hours == 24 else 2
    first = START - 86400 + minute * 60 + (3600 if hours == 24 else 0)
    return [t for t in range(first, END, hours * 3600) if t not in failed]


def openmetrics() -> tuple[str, dict[str, Truth]]:
    fam: dict[str, list[str]] = {}
    truth: dict[str, Truth] = {}

    def series(metric: str, labels: str, values) -> None:
        fam.setdefault(metric, []).extend(f"{metric}{labels} {v} {t}" for t, v in zip(TIMES, values))

    for cid, (tier, host, region, outages, channels) in FLEET.items():
        base = dict(customer=cid, tier=tier, host=host, region=region)
        probe = [0 if down(t, outages) else 1 for t in TIMES]
        instance = f"https://{cid}.example/healthz"
        series("probe_success", _labels(job="openclaw-probe", instance=instance, **base), probe)
        series("probe_duration_seconds", _labels(job="openclaw-probe", instance=instance, **base),
               [PROBE_SECONDS[cid]] * N)
        if cid in CERT_EXPIRY:
            series("probe_ssl_earliest_cert_expiry", _labels(job="openclaw-probe", instance=instance, **base),
                   [CERT_EXPIRY[cid]] * N)
        recorded, ups = {}, [0]
        for v in probe:
            ups.append(ups[-1] + v)                        # ups[i]: probes up among the first i samples
        for w, seconds in SLI_WINDOWS.items():
            vals = []
            for i in range(N - RECORDED_STEPS, N):         # samples in (t - w, t]: indexes i-k+1 .. i
                k = min(seconds // STEP, i + 1)
                vals.append(round(1 - (ups[i + 1] - ups[i + 1 - k]) / k, 9))
            recorded[w] = vals[-1]
            fam.setdefault(f"clawtex:probe_error:ratio_rate{w}", []).extend(
                f"clawtex:probe_error:ratio_rate{w}{_labels(customer=cid, tier=tier)} {v} {t}"
                for t, v in zip(TIMES[N - RECORDED_STEPS:], vals))
        budget = round(1 - SLA_PERCENT.get(cid, SLA_PERCENT[tier]) / 100, 6)
        fam.setdefault("clawtex:customer_error_budget:ratio", []).extend(
            f"clawtex:customer_error_budget:ratio{_labels(customer=cid, tier=tier)} {budget} {t}"
            for t in TIMES[N - RECORDED_STEPS:])
        ch_truth, ch_outages = {}, {}
        for ch, windows in channels.items():
            vals = [0 if down(t, windows) else 1 for t in TIMES]
            series("openclaw_channel_connected", _labels(job="node", channel=ch, **base), vals)
            ch_truth[ch], ch_outages[ch] = sum(vals) / N, len(windows)
        last30 = [v for t, v in zip(TIMES, probe) if t >= END - 30 * 86400]
        truth[cid] = Truth(sum(probe) / N, outages, ch_truth, ch_outages, sum(last30) / len(last30), recorded)
        if tier != "bronze":
            node = _labels(job="node", role="openclaw" if tier != "platinum" else "k8s", **base)
            series("node_cpu_seconds_total", node[:-1] + ',cpu="0",mode="idle"}',
                   [round((t - START) * CPU_IDLE_PER_SECOND, 3) for t in TIMES])
            series("node_memory_MemTotal_bytes", node, [8e9] * N)
            series("node_memory_MemAvailable_bytes", node, [5e9] * N)
            fs = node[:-1] + ',mountpoint="/",fstype="ext4"}'
            series("node_filesystem_size_bytes", fs, [80e9] * N)
            series("node_filesystem_avail_bytes", fs, [60e9] * N)
            truth[cid].cpu_busy = 1 - CPU_IDLE_PER_SECOND
        if cid in BACKUP:
            done = backup_times(cid)
            vals, stale = [], 0
            hours = BACKUP[cid][0]
            for t in TIMES:
                last = max(b for b in done if b <= t)
                vals.append(last)
                stale += (t - last) > hours * 3600 + BACKUP_GRACE
            series("clawtex_backup_last_success_timestamp_seconds", _labels(job="node", **base), vals)
            truth[cid].backups_ok = sum(START <= b < END for b in done)
            truth[cid].stale_steps = stale
    cid, tier, host, region, instance = PROBE_ONLY
    fam["probe_success"].extend(f"probe_success{_labels(job='openclaw-probe', instance=instance, customer=cid, tier=tier, host=host, region=region)} 1 {t}"
                                for t in SEPTEMBER)
    # Platinum: three discovered nodes per region; a region is down when all its nodes are.
    cid = "orbital-health"
    region_vals = {}
    for region, windows in REGION_OUTAGES.items():
        region_vals[region] = [0 if down(t, windows) else 1 for t in TIMES]
        for i in (1, 2, 3):
            host = f"{cid}-{region}-c-4-7kq{i}x"    # a discovered node: the Droplet name DOKS gives it (<pool>-<suffix>)
            series("up", _labels(job="node", customer=cid, tier="platinum", host=host, region=region, role="k8s"),
                   region_vals[region])
    series("up", _labels(job="node", customer=cid, tier="platinum", host=f"{cid}-wazuh", region="fra1",
                         role="wazuh_manager"), [0] * N)   # must not count as a region
    truth[cid].regions = {r: sum(v) / N for r, v in region_vals.items()}
    truth[cid].failovers = sum(len(w) for w in REGION_OUTAGES.values())
    out = []
    for metric, lines in fam.items():
        kind = "counter" if metric.endswith("_total") else "gauge"
        name = metric[:-len("_total")] if kind == "counter" else metric
        out.append(f"# TYPE {name} {kind}")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n", truth


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrometheusServer:
    """Debian's prometheus on a TSDB built by promtool; stopped by stop()."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.proc = None
        self.url = ""

    def start(self, text: str) -> "PrometheusServer":
        om = self.workdir / "month.om"
        om.write_text(text)
        data = self.workdir / "tsdb"
        t0 = time.monotonic()
        subprocess.run([shutil.which("promtool"), "tsdb", "create-blocks-from", "openmetrics",
                        "--max-block-duration=744h", str(om), str(data)],
                       check=True, capture_output=True, text=True)
        self.backfill_seconds = time.monotonic() - t0
        config = self.workdir / "prometheus.yml"
        config.write_text("global: {scrape_interval: 15s}\nscrape_configs: []\n")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(self.workdir / "prometheus.log", "w")
        self.proc = subprocess.Popen([shutil.which("prometheus"), f"--config.file={config}",
                                      f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=100y",
                                      f"--web.listen-address=127.0.0.1:{port}", "--query.max-samples=50000000"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
            if self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError("prometheus did not become ready: " + (self.workdir / "prometheus.log").read_text()[-2000:])

    def query(self, q: str, t: float) -> list:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": q, "time": t})
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.load(r)["data"]["result"]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()


import urllib.parse  # noqa: E402
