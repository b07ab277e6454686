"""The scheduled DR drill of a Platinum customer (.github/workflows/dr-drill.yml, scripts/gitops/dr-drill.sh):
a Job in a scratch namespace of the cluster a lost region leaves, no scratch server.

    clawtex dr-drill-k8s <customer> --out DIR           # DIR/vars.json, DIR/openclaw.json; a JSON line
    clawtex dr-drill-k8s-record <customer> --log FILE --records DIR

A Platinum customer's drill target is its first region's cluster (drill.target: the cluster in the primary
bucket's region); its snapshots are read from the copy in the other region's bucket. The drill runs in the
other region's cluster (the one such a loss leaves), in the namespace `<customer>-dr-drill`, which
dr-drill.sh deletes after every run. What this module computes, from the published inventory:
- which cluster (the copy region's control target) and its kubeconfig (a stack output, by name);
- the namespace and the restic lock name (drill.LOCK_HOSTNAME_SUFFIX), handed to the Ansible play
  modules/ansible/dr-drill-k8s.yml (vars.json), which renders the Job from the role variables the CronJob
  and the gateway's Deployment are rendered from (roles/backup templates/clawtex-dr-drill-k8s.yml.j2);
- the compiled openclaw.json with every channel off (the same change roles/openclaw tasks/channels_off.yml
  makes on a scratch server: tests/test_dr_drill_k8s.py joins the two);
- the record, from the Job's one result line, by drill.record (the same builder as Silver's and Gold's).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..business import drill

RESULT_PREFIX = "CLAWTEX_DR_DRILL_RESULT "      # roles/openclaw files/clawtex-dr-drill-gateway.sh


class DrillK8sError(RuntimeError):
    pass


def namespace(customer: str) -> str:
    return customer + drill.LOCK_HOSTNAME_SUFFIX


def channels_off(config: dict) -> dict:
    """The compiled openclaw.json with `channels.<id>.enabled: false` for every channel, the rest as compiled."""
    out = dict(config)
    if config.get("channels"):
        out["channels"] = {cid: {**(body or {}), "enabled": False} for cid, body in config["channels"].items()}
    return out


def render(root: Path, customer: str, out: Path) -> dict:
    t = drill.target(root, customer)
    if t.hostvars.get("openclaw_mode") != "kubernetes" or not t.from_copy:
        raise DrillK8sError(f"{customer}: a {t.tier} drill restores a server ({t.host}), not a cluster: "
                            "`clawtex dr-drill-stack` builds its scratch server")
    region = t.hostvars["backup"]["copy_region"]
    hosts, _ = drill.inventory(root)
    clusters = [h for h, hv in hosts.items() if hv.get("clawtex_customer") == customer
                and hv.get("openclaw_mode") == "kubernetes" and hv.get("clawtex_region") == region]
    if len(clusters) != 1:
        raise DrillK8sError(f"{customer}: expected one cluster in {region} (the copy's region), found {clusters}")
    cluster = clusters[0]
    kube = hosts[cluster]["openclaw_k8s_kubeconfig"]
    config = json.loads((root / "generated" / t.hostvars["openclaw_config_file"]).read_text())
    out.mkdir(parents=True, exist_ok=True)
    (out / "openclaw.json").write_text(json.dumps(channels_off(config), indent=2, sort_keys=True) + "\n")
    ns = namespace(customer)
    (out / "vars.json").write_text(json.dumps({
        "clawtex_dr_drill_namespace": ns, "clawtex_dr_drill_lock_suffix": drill.LOCK_HOSTNAME_SUFFIX,
        "clawtex_dr_drill_health_timeout": drill.HEALTH_TIMEOUT_SECONDS, "clawtex_dr_drill_out": str(out.resolve())},
        indent=1, sort_keys=True) + "\n")
    return {"customer": customer, "tier": t.tier, "host": t.host, "cluster": cluster, "region": region,
            "namespace": ns, "stack": kube["stack"], "kubeconfig_output": kube["output"]}


def record_from_log(root: Path, customer: str, log: str) -> dict:
    """The drill's record from the gateway container's log: its one result line (module doc)."""
    lines = [line[len(RESULT_PREFIX):] for line in log.splitlines() if line.startswith(RESULT_PREFIX)]
    if len(lines) != 1:
        raise DrillK8sError(f"{customer}: expected one {RESULT_PREFIX.strip()} line in the drill's log, found {len(lines)}")
    result = json.loads(lines[0])
    restore = result["restore"]
    snaps = [s for s in restore["snapshots"] if s["id"] == restore["snapshot_id"]]
    if len(snaps) != 1:
        raise DrillK8sError(f"{customer}: the result names snapshot {restore['snapshot_id']!r}, not among those listed")
    t = drill.target(root, customer)
    rto = float(result["healthy_at"]) - float(restore["restore_started"])
    # databases: those loaded into a database by the drill; the cluster drill loads none (module doc).
    return drill.record(t, snaps[0], float(restore["drill_started"]), rto, [])
