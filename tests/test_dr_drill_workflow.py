"""Issue 24 item 3, the scheduled DR drill (.github/workflows/dr-drill.yml): its scratch server
stack (`clawtex dr-drill-stack`, compiler/gitops/drill_stack.py), its due list, and its record step
run by bash against a real bare git remote. Expected values by hand: the production servers' type,
image and region from customers/*.yaml and the provider catalogues as the generated stacks carry
them, read here once more from generated/terraform/<stack>/cdk.tf.json (the join)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import REPO
from compiler.business import drill
from compiler.gitops import drill_stack

# customer -> (stack, server resource type, production name, {attribute: value}), by hand.
SERVERS = {
    "acme-logistics": ("acme-logistics", "hcloud_server", "acme-logistics-oc-1",
                       {"server_type": "ccx23", "image": "ubuntu-24.04", "location": "nbg1"}),
    "mapleleaf-dental": ("mapleleaf-dental", "digitalocean_droplet", "mapleleaf-dental-oc-1",
                         {"size": "c-2", "image": "ubuntu-24-04-x64", "region": "nyc3"}),
    "brightpath-tutors": ("brightpath-tutors", "vultr_instance", "brightpath-tutors-oc-1",
                          {"plan": "voc-c-2c-4gb-50s-amd", "os_id": 2284, "region": "ams"}),
    "helios-energy": ("helios-energy", "vultr_instance", "helios-energy-oc-1",
                      {"plan": "voc-c-4c-8gb-75s-amd", "os_id": 2284, "region": "ewr"}),
}
# What production has that the scratch stack must not: DNS, reverse DNS, volumes, networks, backup stores.
NEVER = {"hcloud_zone_rrset", "hcloud_zone", "hcloud_rdns", "hcloud_volume", "hcloud_server_network", "hcloud_network",
         "hcloud_storage_box", "digitalocean_record", "digitalocean_domain", "digitalocean_volume",
         "digitalocean_volume_attachment", "digitalocean_spaces_bucket", "digitalocean_spaces_key", "vultr_dns_record",
         "vultr_dns_domain", "vultr_reverse_ipv4", "vultr_block_storage", "vultr_vpc", "vultr_object_storage",
         "vultr_object_storage_bucket"}


def _production(stack: str) -> dict:
    return json.loads((REPO / "generated" / "terraform" / stack / "cdk.tf.json").read_text())


@pytest.mark.parametrize("customer", sorted(SERVERS))
def test_the_scratch_server_is_productions_server_without_protection_dns_or_its_name(customer, tmp_path):
    stack, rtype, host, expected = SERVERS[customer]
    out = tmp_path / "stack"
    info = drill_stack.render(REPO, customer, out)
    assert info["host"] == host and info["scratch"] == f"{host}-dr-drill" and info["stack"] == stack
    cfg = json.loads((out / "cdk.tf.json").read_text())
    (server,) = cfg["resource"][rtype].values()
    assert {k: server[k] for k in expected} == expected
    prod = [b for b in _production(stack)["resource"][rtype].values() if host in (b.get("name"), b.get("label"))][0]
    assert {k: prod[k] for k in expected} == expected, "the hand-written values are production's as generated"
    names = {k: server[k] for k in ("name", "label", "hostname") if k in server}
    assert names and set(names.values()) == {f"{host}-dr-drill"}
    text = json.dumps(cfg)
    for word in ("delete_protection", "rebuild_protection", "prevent_destroy", "lifecycle", "vpc_ids"):
        assert word not in text, word
    assert not set(cfg["resource"]) & NEVER, set(cfg["resource"]) & NEVER
    assert set(cfg["resource"]) <= {rtype, "hcloud_firewall", "digitalocean_firewall", "vultr_firewall_group", "vultr_firewall_rule"}
    # Every name the account keeps unique differs from production's.
    prod_names = {b.get("name") for named in _production(stack)["resource"].values() for b in named.values()}
    assert not {b.get("name") for named in cfg["resource"].values() for b in named.values()} - {None} & prod_names
    # Its own state key; production's backend otherwise.
    assert cfg["terraform"]["backend"]["s3"]["key"] == f"dr-drills/{host}-dr-drill/terraform.tfstate"
    assert _production(stack)["terraform"]["backend"]["s3"]["key"] == f"stacks/{stack}/terraform.tfstate"
    # References resolve inside the scratch stack; cloud-init is the production module, from here.
    for ref in drill_stack.REF.findall(text):
        is_data, t, name = ref
        assert name in (cfg["data" if is_data else "resource"].get(t) or {}) or t in ("var", "module"), ref
    assert (out / cfg["module"]["cloud_init"]["source"]).resolve() == (REPO / "modules" / "terraform" / "cloud-init").resolve()
    assert cfg["output"]["ipv4"]["value"].startswith(f"${{{rtype}.dr_drill.")


def test_a_platinum_cluster_and_a_bronze_tenant_have_no_scratch_server(tmp_path):
    with pytest.raises(drill_stack.StackError, match="restores a cluster"):
        drill_stack.render(REPO, "orbital-health", tmp_path / "p")
    with pytest.raises(drill.DrillError, match="Bronze has no backups"):
        drill_stack.render(REPO, "corner-garage", tmp_path / "b")


def test_customers_are_due_by_their_tiers_drill_cadence(tmp_path):
    """By hand: Silver every 90 days, Gold and Platinum every 30 (tiers/*.yaml drillEveryDays);
    Bronze never (no backups). Gold acme-logistics drilled 29 days ago is not due, Silver
    mapleleaf-dental drilled 91 days ago is; the others never were."""
    now = datetime(2026, 12, 4, 3, 17, tzinfo=timezone.utc)
    records = tmp_path / "dr-drills"
    records.mkdir()
    (records / "acme-logistics.json").write_text(json.dumps({"drill_at": "2026-11-05T03:17:00Z", "healthy": True}))
    (records / "mapleleaf-dental.json").write_text(json.dumps({"drill_at": "2026-09-04T03:17:00Z", "healthy": True}))
    rows = {r["customer"]: (r["every_days"], r["path"]) for r in drill_stack.due(REPO, records, now)}
    assert rows == {"brightpath-tutors": (90, "server"), "helios-energy": (30, "server"),
                    "mapleleaf-dental": (90, "server"), "orbital-health": (30, "cluster")}


def test_a_failed_drill_is_retried_daily_until_one_succeeds(tmp_path):
    """By hand: Gold helios-energy (every 30 days) drilled successfully on 2026-10-01, due on
    2026-10-31; its drill failed on 2026-11-01 (restore) and on 2026-12-03 (converge). The last
    attempt is 1 day old, but the last success is 64 days old: due again (was: the last attempt
    restarted the cadence, so a failure put the customer off for 30 days). Silver brightpath-tutors
    (every 90 days) succeeded on 2026-11-01, then a dispatched drill failed on 2026-12-03: not due
    (its last success is 33 days old). Gold acme-logistics only ever failed: due, never drilled."""
    now = datetime(2026, 12, 4, 3, 17, tzinfo=timezone.utc)
    records = tmp_path / "dr-drills"
    ok = {"healthy": True, "failed_step": None}

    def history(customer, *lines):
        for line in lines:
            drill.write_record(records, {"customer": customer, **line})
    history("helios-energy", {**ok, "drill_at": "2026-10-01T03:17:00Z"},
            {"drill_at": "2026-11-01T03:17:00Z", "healthy": False, "failed_step": "restore"},
            {"drill_at": "2026-12-03T03:17:00Z", "healthy": False, "failed_step": "converge"})
    history("brightpath-tutors", {**ok, "drill_at": "2026-11-01T03:17:00Z"},
            {"drill_at": "2026-12-03T10:00:00Z", "healthy": False, "failed_step": "health"})
    history("acme-logistics", {"drill_at": "2026-12-03T03:17:00Z", "healthy": False, "failed_step": "up"})
    history("mapleleaf-dental", {**ok, "drill_at": "2026-12-01T03:17:00Z"})
    rows = {r["customer"]: (r["last_drill"], r["last_failed"]) for r in drill_stack.due(REPO, records, now)}
    assert rows == {"acme-logistics": (None, "2026-12-03T03:17:00Z at up"),
                    "helios-energy": ("2026-10-01T03:17:00Z", "2026-12-03T03:17:00Z at converge"),
                    "orbital-health": (None, None)}


# ------------------------------------------------------------ the record step, by bash, on a bare remote
RECORD = {"customer": "acme-logistics", "tier": "gold", "host": "acme-logistics-oc-1", "snapshot": "cd" * 32,
          "snapshot_time": "2026-12-04T02:00:00Z", "drill_at": "2026-12-04T03:20:00Z", "rpo_seconds": 4800.0,
          "rpo_promise_seconds": 3600, "rpo_met": False, "rto_seconds": 131.0, "rto_promise_seconds": None,
          "healthy": True, "databases": ["tracker"], "repository": "primary"}


def _record_step() -> dict:
    wf = YAML(typ="safe", pure=True).load((REPO / ".github/workflows/dr-drill.yml").read_text())
    (step,) = [s for s in wf["jobs"]["drill"]["steps"] if "dr-drill.sh record" in s.get("run", "")]
    return step


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["/usr/bin/git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def rig(tmp_path):
    bare = tmp_path / "fleet.git"
    _git("init", "-q", "--bare", "-b", "main", str(bare), cwd=tmp_path)
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "clawtex").write_text(f'#!/usr/bin/env bash\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m compiler.cli "$@"\n')
    (shims / "clawtex").chmod(0o755)
    runner = tmp_path / "runner"
    step = _record_step()

    def run(record: dict, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        records = runner / f"dr-drill-{record['customer']}" / "records"
        if records.exists():
            for f in records.iterdir():
                f.unlink()
        drill.write_record(records, record)           # what `clawtex dr-drill --records` leaves
        env = {"PATH": f"{shims}:{os.environ['PATH']}", "HOME": str(tmp_path), "RUNNER_TEMP": str(runner),
               "CUSTOMER": record["customer"], "REMOTE": str(bare), "GH_TOKEN": "not-a-real-token",
               "GIT_PYTHON_GIT_EXECUTABLE": "", **(extra_env or {})}
        env = {k: v for k, v in env.items() if v != ""}
        assert step["if"] == "always()" and set(step["env"]) == {"GH_TOKEN", "REMOTE"}
        return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
    return bare, run, tmp_path


def _branch(bare: Path, tmp: Path, name: str) -> Path:
    out = tmp / name
    _git("clone", "-q", "-b", "dr-drills", str(bare), str(out), cwd=tmp)
    return out


def test_the_first_record_creates_the_branch_and_the_next_appends(rig):
    bare, run, tmp = rig
    done = run(RECORD)
    assert done.returncode == 0, done.stdout + done.stderr
    first = _branch(bare, tmp, "first")
    assert json.loads((first / "acme-logistics.json").read_text()) == RECORD
    assert [json.loads(x) for x in (first / "acme-logistics.jsonl").read_text().splitlines()] == [RECORD]
    assert _git("ls-remote", "--heads", str(bare), cwd=tmp).strip().endswith("refs/heads/dr-drills"), "main untouched"
    second = {**RECORD, "drill_at": "2027-01-03T03:20:00Z", "rpo_seconds": 900.0, "rpo_met": True}
    done = run(second)
    assert done.returncode == 0, done.stdout + done.stderr
    after = _branch(bare, tmp, "second")
    assert json.loads((after / "acme-logistics.json").read_text()) == second
    assert [json.loads(x) for x in (after / "acme-logistics.jsonl").read_text().splitlines()] == [RECORD, second]
    assert "not-a-real-token" not in done.stdout + done.stderr


def _step_run(step: dict, env: dict, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("finished,step", [
    # By hand: the phases that finished (dr-drill.sh leaves <phase>.done) -> the one that did not.
    ((), "up"), (("up",), "converge"), (("up", "converge"), "drill")])
def test_a_drill_that_failed_before_clawtex_dr_drill_is_recorded_by_the_record_step(rig, tmp_path, finished, step):
    """The scratch server never came up, its converge failed, or `clawtex dr-drill` was killed: no
    record from the drill, so the record step commits a failure record naming that phase (was: a
    warning and nothing committed, so the reports kept showing the last successful drill)."""
    bare, run, tmp = rig
    work = tmp_path / "runner" / "dr-drill-acme-logistics"
    work.mkdir(parents=True)
    for phase in finished:
        (work / f"{phase}.done").write_text("")
    env = {"PATH": f"{tmp / 'shims'}:{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path / "runner"), "CUSTOMER": "acme-logistics",
           "REMOTE": str(bare), "HOME": str(tmp_path), "GH_TOKEN": "not-a-real-token", "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_REPOSITORY": "example/fleet", "GITHUB_RUN_ID": "4242"}
    done = _step_run(_record_step(), env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"::error::acme-logistics: the drill failed at {step}" in done.stdout
    branch = _branch(bare, tmp, "failed")
    rec = json.loads((branch / "acme-logistics.json").read_text())
    assert {k: rec[k] for k in ("customer", "tier", "host", "healthy", "failed_step", "reason", "snapshot", "rpo_seconds",
                                "rto_seconds", "rpo_met")} == {
        "customer": "acme-logistics", "tier": "gold", "host": "acme-logistics-oc-1", "healthy": False, "failed_step": step,
        "reason": f"the {step} phase did not finish; its log: https://github.com/example/fleet/actions/runs/4242",
        "snapshot": None, "rpo_seconds": None, "rto_seconds": None, "rpo_met": None}
    assert abs(datetime.now(timezone.utc) - datetime.fromisoformat(rec["drill_at"].replace("Z", "+00:00"))).total_seconds() < 300
    assert [json.loads(x) for x in (branch / "acme-logistics.jsonl").read_text().splitlines()] == [rec], "exactly one line"
    assert "not-a-real-token" not in done.stdout + done.stderr
    # The next day's drill succeeds: the history holds both, the failure stays, the success is the last.
    done = run(RECORD)
    assert done.returncode == 0, done.stdout + done.stderr
    after = _branch(bare, tmp, "after")
    assert [json.loads(x) for x in (after / "acme-logistics.jsonl").read_text().splitlines()] == [rec, RECORD]


# A scratch host stand-in behind `ssh ... clawops@<ip> sudo bash -c <script>` (the drill phase's --runner):
# ssh runs the rest of its arguments as the remote shell would, sudo is the host stand-in.
SSH = """#!/usr/bin/env bash
while [ $# -gt 0 ] && [[ "$1" != *@* ]]; do shift; done
shift
exec bash -c "$*"
"""
SUDO = r"""#!/usr/bin/env bash
shift 2
case "$1" in
  *"snapshots --json"*) echo '[{"id": "'"$(printf '7a%.0s' $(seq 32))"'", "time": "'"$(date -u -d '-10 min' +%Y-%m-%dT%H:%M:%SZ)"'"}]' ;;
  *pg_restore*) ;;
  *" restore "*) [ -n "$FAIL_RESTORE" ] && { echo "Fatal: unable to open repository at s3:https://AKIAEXAMPLE:s3cr3tKey@s3.example.com/acme" >&2; exit 1; } ;;
  *urllib*) echo '200 {"ok": true, "status": "live"}' ;;
esac
exit 0
"""


def test_a_drill_phase_that_fails_is_recorded_by_the_workflow_steps(rig, tmp_path):
    """dr-drill.yml's drill step then its record step, by bash, twice: a drill that succeeds (the
    phase leaves drill.done, a healthy record is pushed), then `clawtex dr-drill` over the ssh runner
    fails at the restore (the stand-in's restic refuses): the step fails, leaves no marker, and the
    record step pushes that failure record (step, redacted reason, the snapshot's RPO) to the bare
    remote; the history holds both, the success stays findable."""
    bare, run, tmp = rig
    shims = tmp / "shims"
    for name, text in (("ssh", SSH), ("sudo", SUDO)):
        (shims / name).write_text(text)
        (shims / name).chmod(0o755)
    wf = YAML(typ="safe", pure=True).load((REPO / ".github/workflows/dr-drill.yml").read_text())
    (drill_step,) = [s for s in wf["jobs"]["drill"]["steps"] if "dr-drill.sh drill" in s.get("run", "")]
    work = tmp_path / "runner" / "dr-drill-acme-logistics"
    work.mkdir(parents=True)
    (work / "ipv4").write_text("192.0.2.10\n")
    for phase in ("up", "converge"):
        (work / f"{phase}.done").write_text("")
    env = {"PATH": f"{shims}:{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path / "runner"), "CUSTOMER": "acme-logistics",
           "REMOTE": str(bare), "HOME": str(tmp_path), "GH_TOKEN": "not-a-real-token", "OPS_SSH_PRIVATE_KEY": "not-a-key"}
    # First a drill that succeeds: the phase leaves its marker, the record step pushes a healthy record.
    done = _step_run(drill_step, env)
    assert done.returncode == 0 and (work / "drill.done").exists(), done.stdout + done.stderr
    done = _step_run(_record_step(), env)
    assert done.returncode == 0 and "::error::" not in done.stdout, done.stdout + done.stderr
    good = json.loads((_branch(bare, tmp, "good") / "acme-logistics.json").read_text())
    assert (good["healthy"], good["failed_step"]) == (True, None)
    (work / "drill.done").unlink()
    env["FAIL_RESTORE"] = "1"
    done = _step_run(drill_step, env)
    assert done.returncode == 1 and "FAILED at restore" in done.stderr, done.stdout + done.stderr
    assert not (work / "drill.done").exists(), "a failed phase leaves no marker"
    done = _step_run(_record_step(), env)
    assert done.returncode == 0 and "::error::" not in done.stdout, done.stdout + done.stderr
    rec = json.loads((_branch(bare, tmp, "drilled") / "acme-logistics.json").read_text())
    assert (rec["healthy"], rec["failed_step"], rec["snapshot"], rec["rto_seconds"], rec["rpo_met"]) == (
        False, "restore", "7a" * 32, None, None)
    assert rec["reason"] == "restic restore failed (1): Fatal: unable to open repository at s3:https://***@s3.example.com/acme"
    assert 599 <= rec["rpo_seconds"] < 900, rec      # the stand-in's snapshot is 10 minutes old
    lines = [json.loads(x) for x in (_branch(bare, tmp, "history") / "acme-logistics.jsonl").read_text().splitlines()]
    assert lines == [good, rec] and drill.last_success(_branch(bare, tmp, "last"), "acme-logistics") == good


def test_a_concurrent_push_is_retried_and_both_records_stay(rig):
    """Another customer's drill pushes to dr-drills between this step's fetch and its push (a git
    shim runs that writer just before the first `git push`): the push is refused (non-fast-forward),
    fetched again, re-applied on top, pushed; both customers' records are on the branch."""
    bare, run, tmp = rig
    assert run({**RECORD, "customer": "mapleleaf-dental", "tier": "silver"}).returncode == 0     # the branch exists
    other = tmp / "other-writer"
    _git("clone", "-q", "-b", "dr-drills", str(bare), str(other), cwd=tmp)
    shim_dir = tmp / "gitshim"
    shim_dir.mkdir()
    pushes = tmp / "pushes.log"
    (shim_dir / "git").write_text(f"""#!/usr/bin/env bash
if [[ " $* " == *" push "* ]]; then
  echo push >> "{pushes}"
  if [ "$(wc -l < "{pushes}")" -eq 1 ]; then
    echo '{{"customer": "helios-energy"}}' > "{other}/helios-energy.json"
    /usr/bin/git -C "{other}" add -A && /usr/bin/git -C "{other}" -c user.name=o -c user.email=o@o commit -qm other
    /usr/bin/git -C "{other}" push -q origin HEAD:refs/heads/dr-drills
  fi
fi
exec /usr/bin/git "$@"
""")
    (shim_dir / "git").chmod(0o755)
    done = run(RECORD, {"PATH": f"{shim_dir}:{tmp / 'shims'}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert pushes.read_text().split() == ["push", "push"], "refused once, pushed again"
    final = _branch(bare, tmp, "final")
    assert sorted(p.name for p in final.iterdir() if p.name != ".git") == [
        "acme-logistics.json", "acme-logistics.jsonl", "helios-energy.json", "mapleleaf-dental.json", "mapleleaf-dental.jsonl"]
    assert json.loads((final / "acme-logistics.json").read_text()) == RECORD


def test_the_due_step_reads_the_branch_and_schedules_platinum_on_its_cluster_path(repo, tmp_path):
    """dr-drill.yml's due step, by bash in a clone whose origin has a dr-drills branch holding a
    fresh Gold drill: the matrix holds the other server customers and the Platinum one on the
    cluster path; nothing is named not built and the job does not fail. Dispatched for the Platinum
    customer: its cluster drill. Was: Platinum named in an ::error:: and NOT_BUILT failing the job
    every day (no path for a cluster)."""
    wf = YAML(typ="safe", pure=True).load((REPO / ".github/workflows/dr-drill.yml").read_text())
    steps = wf["jobs"]["due"]["steps"]
    (due,) = [s for s in steps if s.get("id") == "due"]
    (gate,) = [s for s in steps if s.get("if") == "env.NOT_BUILT != ''"]
    assert gate["run"].strip() == "exit 1"
    _git("init", "-q", "-b", "main", cwd=repo)
    _git("add", "-A", cwd=repo)
    _git("commit", "-q", "-m", "fleet", cwd=repo)
    _git("checkout", "-q", "--orphan", "dr-drills", cwd=repo)
    _git("rm", "-rq", "--cached", ".", cwd=repo)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    (tmp_path / "acme-logistics.json").write_text(json.dumps({**RECORD, "drill_at": now}))
    blob = _git("hash-object", "-w", str(tmp_path / "acme-logistics.json"), cwd=repo).strip()
    _git("update-index", "--add", "--cacheinfo", f"100644,{blob},acme-logistics.json", cwd=repo)
    _git("commit", "-q", "-m", "drill", cwd=repo)
    _git("checkout", "-q", "-f", "main", cwd=repo)
    clone = tmp_path / "clone"
    _git("clone", "-q", str(repo), str(clone), cwd=tmp_path)
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "clawtex").write_text(f'#!/usr/bin/env bash\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m compiler.cli "$@"\n')
    (shims / "clawtex").chmod(0o755)

    def run(customer: str) -> tuple[subprocess.CompletedProcess, dict, str]:
        out, env_file = tmp_path / f"out-{customer}", tmp_path / f"env-{customer}"
        for f in (out, env_file):
            f.write_text("")
        env = {"PATH": f"{shims}:{os.environ['PATH']}", "HOME": str(tmp_path), "INPUT_CUSTOMER": customer,
               "GITHUB_OUTPUT": str(out), "GITHUB_ENV": str(env_file), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", due["run"]], cwd=clone, env=env, capture_output=True, text=True)
        return done, dict(line.split("=", 1) for line in out.read_text().splitlines()), env_file.read_text()

    done, outputs, github_env = run("")
    assert done.returncode == 0, done.stderr
    assert [(m["customer"], m["path"]) for m in json.loads(outputs["matrix"])["include"]] == [
        ("brightpath-tutors", "server"), ("helios-energy", "server"), ("mapleleaf-dental", "server"), ("orbital-health", "cluster")]
    assert outputs["count"] == "4"
    assert "::error::" not in done.stdout and github_env == ""
    done, outputs, github_env = run("orbital-health")
    assert done.returncode == 0 and outputs["count"] == "1" and github_env == ""
    assert json.loads(outputs["matrix"])["include"] == [{"customer": "orbital-health", "tier": "platinum", "path": "cluster"}]
    done, outputs, github_env = run("acme-logistics")         # dispatched: drilled now, whatever the record says
    assert json.loads(outputs["matrix"])["include"] == [{"customer": "acme-logistics", "tier": "gold", "path": "server"}] \
        and github_env == ""
