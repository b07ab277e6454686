"""Apply from an empty account (issue 25): the workflows' own steps, replayed in order.

The steps are read from .github/workflows/*.yml themselves (each job's `run:` steps
with their job and step `env`, `${{ secrets.* }}` becoming SIMSECRET-* values) and
run by bash in a git clone whose `origin` is a real bare remote, exactly as the
runner would run them; terraform, ansible-playbook, gh and aws are the account
model of tests/account_sim.py (no terraform binary exists here; see its docstring
for what is modelled and from which source). The scenario, over one account:

1. the one-time bootstrap script (scripts/gitops/bootstrap-account.sh);
2. the first push: apply.yml plan -> fleet-first -> every matrix batch -> fleet-last;
3. drift.yml over the account just built (every shard: clean, no error);
4. the PR plan (pr.yml changed + plan) of the change that suspends a Hetzner Gold customer;
5. dr-drill.yml dispatched for a Gold Hetzner, a Silver DigitalOcean and a Gold Vultr customer:
   scratch server up, converged, drilled over ssh, record pushed to dr-drills, destroyed; and for the
   Platinum customer: a scratch namespace in its second region's cluster (kubectl, modelled), the
   drill Job, the record, the namespace deleted;
6. that suspension's push (apply.yml);
7. the decommission push (apply.yml).

It fails when any variable or secret is missing, a data source or DNS zone finds
nothing, a name is taken twice, a destroy cannot proceed or stops half way, or a
secret reaches a command line. Plan-time refusals are recorded and the replay goes on
(SIM_KEEP_GOING), so one run lists every finding. SIM_LOG_OUT=<file> keeps the log.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

HERE = Path(__file__).resolve().parent
SIM = HERE / "account_sim.py"
WORKFLOWS = REPO / ".github" / "workflows"
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SECRET = "SIMSECRET-"
SUSPENDED = "acme-logistics"        # Hetzner Gold: servers with delete protection, a Storage Box
# DR drills replayed: Hetzner Gold (protection, rDNS, DNS zone, Storage Box), DigitalOcean Silver
# (a firewall that attaches itself, Spaces), Vultr Gold (rDNS, firewall rules, VPC).
DRILLED = ("acme-logistics", "mapleleaf-dental", "helios-energy")
# Platinum (two DOKS clusters): drilled in a scratch namespace of the other region's cluster.
DRILLED_CLUSTER = "orbital-health"


def evaluate(expr: str, ctx: dict) -> str:
    if expr.startswith("secrets."):
        return SECRET + expr.split(".", 1)[1]
    if expr == "vars.CLAWTEX_SECRET_STORE":
        return "s3://clawtex-secrets/fleet"
    if expr == "vars.OPS_SSH_PUBLIC_KEY":
        return "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIsimulatedopskey ops@clawtex"
    if expr.startswith("vars."):
        return "simvar-" + expr.split(".", 1)[1]
    if expr.startswith("needs.") and ".outputs." in expr:
        return str(ctx["outputs"].get(expr.rsplit(".", 1)[1], ""))
    if expr.startswith("inputs."):
        return str(ctx.get("inputs", {}).get(expr.split(".", 1)[1], ""))
    if expr.startswith("matrix."):
        return str(ctx["matrix"].get(expr.split(".", 1)[1], ""))
    simple = {"github.event.before": ctx.get("before", ""), "github.token": SECRET + "GITHUB_TOKEN",
              "github.server_url": "https://github.example", "github.repository": "clawtex/fleet", "github.run_id": "1",
              "github.event.head_commit.timestamp": "2026-12-03T00:00:00Z", "github.event.pull_request.number": "7"}
    if expr in simple:
        return simple[expr]
    raise AssertionError(f"the replay does not know the expression ${{{{ {expr} }}}}: add it")


def substitute(text: str, ctx: dict) -> str:
    return EXPR.sub(lambda m: evaluate(m.group(1), ctx), text)


class Replay:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.work = tmp / "work"
        self.runner_temp = tmp / "runner"
        self.artifacts = tmp / "artifacts"
        self.account = tmp / "account.json"
        self.shims = tmp / "shims"
        self.transcript: list[str] = []
        self.failures: list[str] = []
        for d in (self.work, self.runner_temp, self.artifacts, self.shims, tmp / "home"):
            d.mkdir(parents=True)
        for tool in ("terraform", "ansible-playbook", "gh", "aws", "ssh-keyscan", "ssh", "kubectl"):
            # account_sim imports compiler.secrets: the checkout's, never an installed copy (which may
            # point at another tree, or at none: the replay failed with ModuleNotFoundError there)
            self._shim(tool, f'PYTHONPATH="{REPO}" exec "{sys.executable}" "{SIM}" {tool} "$@"')
        # The code under test is the checkout's; the replay repository holds its data only.
        self._shim("clawtex", f'PYTHONPATH="{REPO}" exec "{sys.executable}" -m compiler.cli "$@"')
        self._shim("python", f'PYTHONPATH="{REPO}" exec "{sys.executable}" "$@"')
        self._shim("python3", f'PYTHONPATH="{REPO}" exec "{sys.executable}" "$@"')
        # The runner's pushes to the fleet repository (dr-drill.yml's record step) reach the bare remote.
        (tmp / "home" / ".gitconfig").write_text(f'[url "{tmp / "remote.git"}"]\n\tinsteadOf = https://github.example/clawtex/fleet.git\n')

    def _shim(self, name: str, line: str) -> None:
        path = self.shims / name
        path.write_text(f"#!/usr/bin/env bash\n{line}\n")
        path.chmod(0o755)

    # ------------------------------------------------------------ git
    def git(self, *args: str, cwd: Path | None = None) -> str:
        return subprocess.run(["git", *args], cwd=cwd or self.work, check=True, capture_output=True, text=True).stdout.strip()

    def init_repo(self) -> None:
        remote = self.tmp / "remote.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
        self.git("init", "-q", "-b", "main")
        for key, value in (("user.name", "replay"), ("user.email", "replay@clawtex.example"), ("commit.gpgsign", "false")):
            self.git("config", key, value)
        self.git("remote", "add", "origin", str(remote))
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                               capture_output=True, text=True).stdout.split("\n")
        for rel in filter(None, files):
            src = REPO / rel
            if src.is_file() and not rel.startswith(("tests/", "bench/", "docs/", "reference/")):
                dst = self.work / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        # The account before the first customer: no customer files, nothing generated.
        shutil.move(self.work / "customers", self.tmp / "customers")
        shutil.move(self.work / "generated", self.tmp / "generated")
        self.commit("empty account")
        shutil.move(self.tmp / "customers", self.work / "customers")
        shutil.move(self.tmp / "generated", self.work / "generated")

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def push(self, sha: str) -> None:
        self.git("push", "-q", "-f", "origin", f"{sha}:refs/heads/main")

    def change_customer(self, cid: str, extra: str, message: str) -> str:
        path = self.work / "customers" / f"{cid}.yaml"
        text = path.read_text()
        text = re.sub(r"^  status: .*\n(  decommission: .*\n)?", "", text, flags=re.M)
        path.write_text(text.replace("\nspec:\n", "\nspec:\n" + extra, 1))
        done = subprocess.run(["clawtex", "compile"], cwd=self.work, env=self.env({}), capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return self.commit(message)

    # ------------------------------------------------------------ steps
    def env(self, extra: dict) -> dict:
        base = {"PATH": f"{self.shims}:{os.environ['PATH']}", "HOME": str(self.tmp / "home"), "LANG": "C.UTF-8",
                "CI": "true", "SIM_ACCOUNT": str(self.account), "SIM_KEEP_GOING": "1", "RUNNER_TEMP": str(self.runner_temp),
                "GITHUB_REPOSITORY": "clawtex/fleet", "GITHUB_OUTPUT": str(self.tmp / "github_output"),
                "GITHUB_ENV": str(self.tmp / "github_env"),
                "GITHUB_STEP_SUMMARY": str(self.tmp / "step_summary"), "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
        return {**base, **extra}

    def sim_log(self, line: str) -> None:
        with self.account_file() as acc:
            acc["log"].append(line)

    def account_file(self):
        replay = self

        class _Ctx:
            def __enter__(self):
                self.d = json.loads(replay.account.read_text()) if replay.account.exists() else \
                    {"resources": [], "states": {}, "buckets": [], "log": [], "errors": []}
                return self.d

            def __exit__(self, *exc):
                replay.account.write_text(json.dumps(self.d, indent=1, sort_keys=True))
        return _Ctx()

    def run_job(self, workflow: str, job: str, sha: str, ctx: dict) -> dict[str, str]:
        """Every `run:` step of one job (pip installs and the test suite aside), in order;
        returns the GITHUB_OUTPUT values it wrote."""
        spec = yaml.safe_load((WORKFLOWS / workflow).read_text())["jobs"][job]
        self.git("checkout", "-q", "-f", "--detach", sha)
        self.git("clean", "-q", "-fdx")
        (self.tmp / "github_output").write_text("")
        job_env = {k: substitute(str(v), ctx) for k, v in (spec.get("env") or {}).items()}
        label = f"{workflow}:{job}" + (f" [{', '.join(f'{k}={v}' for k, v in ctx.get('matrix', {}).items())}]" if ctx.get("matrix") else "")
        self.sim_log(f"== {label} @ {sha[:8]}")
        tf_version = ""
        (self.tmp / "github_env").write_text("")
        failed = False
        for step in spec["steps"]:
            if not self._condition(step.get("if"), failed, job_env):
                continue
            uses = step.get("uses", "")
            if uses.startswith("hashicorp/setup-terraform"):
                tf_version = str(step["with"]["terraform_version"])
            elif uses.startswith("actions/upload-artifact"):
                self._upload(substitute(step["with"]["name"], ctx), self.work / step["with"]["path"].replace("${{ runner.temp }}", str(self.runner_temp)))
            elif uses.startswith("actions/download-artifact"):
                self._download(step["with"], ctx)
            if "run" not in step:
                continue
            script = substitute(step["run"], ctx)
            if script.lstrip().startswith(("python -m pip install", "sudo ")):
                continue        # installs (never here) and the test suite
            done = self.run_step(step, {**job_env, **self._github_env()}, ctx,
                                 {"GITHUB_SHA": sha, "SIM_TERRAFORM_VERSION": tf_version})
            self.transcript.append(f"--- {label}: {step.get('name', script.splitlines()[0])} (exit {done.returncode})\n"
                                   + done.stdout[-4000:] + done.stderr[-4000:])
            if "::warning::plan failed" in done.stdout or "::error::" in done.stdout:
                self.failures.append(f"{label}: {step.get('name')}: " + " ".join(
                    line for line in done.stdout.splitlines() if line.startswith(("::warning::plan failed", "::error::"))))
            if done.returncode != 0:
                self.failures.append(f"{label}: step '{step.get('name')}' exited {done.returncode}: {done.stderr.strip()[-600:]}")
                failed = True       # only `if: always()` steps run after a failed one, as on the runner
        outputs = {}
        for line in (self.tmp / "github_output").read_text().splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                outputs[key] = value
        return outputs

    def _github_env(self) -> dict:
        path = self.tmp / "github_env"
        lines = path.read_text().splitlines() if path.exists() else []
        return dict(line.split("=", 1) for line in lines if "=" in line)

    def _condition(self, cond, failed: bool, job_env: dict) -> bool:
        """A step's `if:` as the runner decides it, for the conditions the workflows use."""
        if cond is None:
            return not failed
        if cond == "always()":
            return True
        m = re.fullmatch(r"env\.([A-Z_]+) != ''", cond)
        if m:
            return not failed and bool({**job_env, **self._github_env()}.get(m.group(1), ""))
        raise AssertionError(f"the replay does not know the step condition {cond!r}: add it")

    def run_step(self, step: dict, job_env: dict, ctx: dict, extra: dict) -> subprocess.CompletedProcess:
        """One `run:` step as the runner runs it: bash -eo pipefail, the job's and the step's env."""
        env = self.env({**job_env, **{k: substitute(str(v), ctx) for k, v in (step.get("env") or {}).items()}, **extra})
        return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", substitute(step["run"], ctx)],
                              cwd=self.work, env=env, capture_output=True, text=True, timeout=900)

    def _upload(self, name: str, path: Path) -> None:
        target = self.artifacts / name
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
        elif path.exists():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / path.name)

    def _download(self, spec: dict, ctx: dict) -> None:
        into = self.work / spec.get("path", ".")
        into.mkdir(parents=True, exist_ok=True)
        if "name" in spec:
            sources = [self.artifacts / substitute(spec["name"], ctx)]
        else:
            pattern = spec["pattern"].replace("*", "")
            sources = [p for p in self.artifacts.iterdir() if p.name.startswith(pattern)]
        for src in sources:
            if src.exists():
                shutil.copytree(src, into, dirs_exist_ok=True)

    # ------------------------------------------------------------ workflows
    def bootstrap(self) -> None:
        script = self.work / "scripts" / "gitops" / "bootstrap-account.sh"
        self.sim_log("== one-time bootstrap")
        if not script.exists():
            self.failures.append("no one-time bootstrap script creates the state bucket (scripts/gitops/bootstrap-account.sh)")
            with self.account_file() as acc:
                acc["buckets"].append(yaml.safe_load((self.work / "clawtex.yaml").read_text())["spec"]["terraformState"]["bucket"])
            return
        env = self.env({"AWS_ACCESS_KEY_ID": SECRET + "TFSTATE_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY": SECRET + "TFSTATE_SECRET_ACCESS_KEY"})
        done = subprocess.run(["bash", str(script)], cwd=self.work, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    def fill_secret_store(self) -> None:
        """Ops put each customer's own credentials in the secret store (the ones nothing can derive:
        every SecretRef the customer files name), as `env/<id>` or `file/<provider>/<id>`."""
        def refs(node):
            if isinstance(node, dict):
                if node.get("source") in ("env", "file") and "id" in node:
                    yield node
                for value in node.values():
                    yield from refs(value)
            elif isinstance(node, list):
                for value in node:
                    yield from refs(value)
        store = {}
        for path in sorted((self.work / "customers").glob("*.yaml")):
            for ref in refs(yaml.safe_load(path.read_text())):
                key = f"env/{ref['id']}" if ref["source"] == "env" else f"file/{ref.get('provider', 'default')}/{ref['id']}"
                store[key] = f"{SECRET}store-{key}"
        self.sim_log(f"== ops fill the secret store: {len(store)} objects")
        with self.account_file() as acc:
            acc["secret_store"] = store

    def apply(self, before: str, sha: str) -> None:
        self.push(sha)
        ctx = {"before": before, "outputs": {}}
        out = self.run_job("apply.yml", "plan", sha, ctx)
        ctx["outputs"] = out
        if out.get("fleet_first", "0") != "0":
            self.run_job("apply.yml", "fleet-first", sha, ctx)
        for batch in json.loads(out.get("matrix") or '{"include": []}')["include"]:
            self.run_job("apply.yml", "stack", sha, {**ctx, "matrix": batch})
        if out.get("fleet_last", "0") != "0":
            self.run_job("apply.yml", "fleet-last", sha, ctx)

    def drift(self, sha: str) -> None:
        spec = yaml.safe_load((WORKFLOWS / "drift.yml").read_text())["jobs"]["plan"]
        for shard in spec["strategy"]["matrix"]["shard"]:
            self.run_job("drift.yml", "plan", sha, {"outputs": {}, "matrix": {"shard": shard}})
        statuses = {}
        for path in self.artifacts.glob("drift-shard-*/*.json"):
            record = json.loads(path.read_text())
            statuses[record["stack"]] = record["status"]
        self.sim_log(f"   drift status: {json.dumps(statuses, sort_keys=True)}")
        bad = {s: v for s, v in statuses.items() if v != "clean"}
        if bad or not statuses:
            self.failures.append(f"drift.yml right after the apply: {bad or 'no stack planned'}")

    def dr_drill(self, sha: str, customer: str) -> None:
        """dr-drill.yml dispatched for `customer`: the due job, then its drill job."""
        ctx = {"outputs": {}, "inputs": {"customer": customer}}
        out = self.run_job("dr-drill.yml", "due", sha, ctx)
        include = json.loads(out.get("matrix") or '{"include": []}')["include"]
        if [m["customer"] for m in include] != [customer]:
            self.failures.append(f"dr-drill.yml due: {customer} dispatched, matrix {include}")
        for entry in include:
            self.run_job("dr-drill.yml", "drill", sha, {"outputs": out, "matrix": entry})

    def pr_plan(self, sha: str) -> None:
        ctx = {"outputs": {}}
        out = self.run_job("pr.yml", "changed", sha, ctx)
        for batch in json.loads(out.get("matrix") or '{"include": []}')["include"]:
            self.run_job("pr.yml", "plan", sha, {"outputs": out, "matrix": batch})


def run_scenario(tmp: Path) -> Replay:
    r = Replay(tmp)
    r.init_repo()
    empty = r.git("rev-parse", "HEAD")
    full = r.commit("the fleet")
    r.bootstrap()
    r.fill_secret_store()
    r.apply(empty, full)
    r.drift(full)
    for customer in (*DRILLED, DRILLED_CLUSTER):
        r.dr_drill(full, customer)
    suspended = r.change_customer(SUSPENDED, "  status: suspended\n", f"suspend {SUSPENDED}")
    r.pr_plan(suspended)
    r.apply(full, suspended)
    gone = r.change_customer(SUSPENDED, "  status: decommissioned\n  decommission: {approvedBy: Ops Lead, date: \"2026-12-03\"}\n",
                             f"decommission {SUSPENDED}")
    r.apply(suspended, gone)
    return r


@pytest.fixture(scope="module")
def replay(tmp_path_factory) -> Replay:
    r = run_scenario(tmp_path_factory.mktemp("fresh-account"))
    account = json.loads(r.account.read_text())
    report = "\n".join(account["log"]) + "\n\nREFUSED:\n" + "\n".join(account["errors"] or ["(none)"]) + \
        "\n\nWORKFLOW FAILURES:\n" + "\n".join(r.failures or ["(none)"]) + "\n"
    print(report)
    if os.environ.get("SIM_LOG_OUT"):
        Path(os.environ["SIM_LOG_OUT"]).write_text(report + "\n\nTRANSCRIPT:\n" + "\n".join(r.transcript))
    r.account_data = account
    return r


def _errors(replay: Replay, needle: str) -> list[str]:
    return [e for e in replay.account_data["errors"] + replay.failures if needle in e]


def test_every_variable_of_every_stack_has_a_value(replay):
    """Blocker 1: a variable without a default that no workflow step sets (storage_box_password)."""
    assert _errors(replay, "No value for required variable") == []


def test_platinum_first_apply_finds_its_load_balancers(replay):
    """Blocker 2: a data source that only finds what Ansible creates after a successful apply."""
    assert _errors(replay, "no load balancer named") == []
    assert _errors(replay, "adopts load balancer") == []
    lbs = [r for r in replay.account_data["resources"] if r["type"] == "digitalocean_loadbalancer"]
    assert lbs and all(r["stack"] != "(cloud controller)" for r in lbs), "every load balancer is Terraform's"


def test_platinum_clusters_are_reached_through_their_kubeconfig(replay):
    """A Platinum cluster is a control target (no node of ours to log into): its play needs the
    cluster's kubeconfig, a sensitive output of its stack, handed over in the outputs file."""
    assert _errors(replay, "no kubeconfig") == [] and _errors(replay, "is not sensitive") == []
    hosts = yaml.safe_load((REPO / "generated" / "ansible" / "inventory" / "hosts.yml").read_text().replace("!unsafe ", ""))
    clusters = sorted(hosts["all"]["children"]["k8s"]["hosts"])
    assert clusters, "the example fleet has Platinum clusters"
    log = "\n".join(replay.account_data["log"])
    for name in clusters:
        region = hosts["all"]["children"]["k8s"]["hosts"][name]["clawtex_region"]
        assert f"  {name}: cluster API through the kubeconfig output {region}_kubeconfig" in log, name


def test_suspend_and_decommission_get_past_delete_protection(replay):
    """Blocker 3: hcloud deletes refused after the rDNS, records and attachments are gone."""
    assert _errors(replay, "refuses to delete a protected resource") == []
    assert _errors(replay, "prevent_destroy") == []
    states = replay.account_data["states"]
    assert states.get(SUSPENDED) == {}, "the decommissioned stack is empty"
    kept = [r for r in replay.account_data["resources"] if r["stack"] == SUSPENDED]
    assert [r["type"] for r in kept] == ["hcloud_storage_box"], "only the backups stay, for the tier's retention"


def test_ansible_runs_only_on_hosts_that_exist(replay):
    """A suspended customer's servers are gone (inventory: clawtex_running false): neither the
    configuration run nor a later decommission's final backup may target them."""
    assert _errors(replay, "unreachable") == []


def test_every_data_source_and_zone_finds_its_object(replay):
    assert _errors(replay, "data.") == []
    assert _errors(replay, "DNS zone") == []


def test_account_unique_names_are_unique_and_state_exists(replay):
    assert _errors(replay, "already exists in the account") == []
    assert _errors(replay, "state bucket") == [] and _errors(replay, "bootstrap") == []


def test_wazuh_agents_use_the_private_network(replay):
    assert _errors(replay, "over the public address") == []
    assert "Wazuh agent -> manager at sim(${hcloud_server_network.wazuh_private.ip})" in "\n".join(replay.account_data["log"])


def test_the_backup_role_gets_every_credential_from_the_run(replay):
    """Issue 24 item 2: every Ansible run of the replay (the configuration runs and the
    decommission's final backup) hands each backup host the stack outputs its host_vars name
    (Storage Box host/user/key, each bucket's or subscription's S3 keys) and has the secret-store
    values in the play's environment (restic password; Storage Box host key), from what the
    workflow step passes (account_sim._backup_credentials_missing). Was: no workflow step passed
    a restic password, and the role read one global S3 pair no step set."""
    assert _errors(replay, "backup credential") == [] and _errors(replay, "backup secret") == []
    log = "\n".join(replay.account_data["log"])
    assert "ssh-keyscan -p 23 -t ed25519" in log, "no Storage Box host key was read"


def test_vultr_backup_buckets_keep_their_history_for_the_tiers_retention(replay):
    """Issue 24 item 2, Vultr: the apply step (compiler/gitops/bucket_history.py from apply-stack.sh)
    finds each Vultr backup bucket versioned (created so: enable_versioning) and sets a lifecycle rule
    that keeps old versions for the tier's retention, with the subscription's key from the
    environment. By hand: customers/brightpath-tutors.yaml (Silver, Vultr: 7 days) and
    customers/helios-energy.yaml (Gold, Vultr: 30 days), tiers/*.yaml retentionDays. Was: no
    versioning, no rule (the step did not exist)."""
    assert _errors(replay, "AccessDenied") == [] and _errors(replay, "NoSuchBucket") == []
    rules = replay.account_data.get("lifecycles", {})
    expected = {"clawtex-brightpath-tutors-backup": 7, "clawtex-helios-energy-backup": 30}
    assert {b: r["Rules"][0]["NoncurrentVersionExpiration"]["NoncurrentDays"] for b, r in rules.items()} == expected
    for rule in rules.values():
        assert rule["Rules"][0]["Status"] == "Enabled" and rule["Rules"][0]["Filter"] == {"Prefix": ""}


def test_no_secret_on_a_command_line(replay):
    assert _errors(replay, "secret value on the command line") == []


def test_terraform_version_admits_the_configuration(replay):
    assert _errors(replay, "use_lockfile") == [] and _errors(replay, "required_version") == []


def test_every_workflow_step_succeeds(replay):
    assert replay.failures == []
    assert replay.account_data["errors"] == []
    log = "\n".join(replay.account_data["log"])
    for expected in ("== apply.yml:fleet-first", "== apply.yml:stack", "== drift.yml:plan", "== pr.yml:plan",
                     "== dr-drill.yml:due", "== dr-drill.yml:drill"):
        assert expected in log, f"the replay never ran {expected}"


def test_dr_drills_run_on_scratch_servers_and_leave_nothing_behind(replay):
    """Issue 24 item 3: dr-drill.yml, replayed for a Hetzner Gold, a DigitalOcean Silver and a Vultr
    Gold customer over the account the first apply built. Each scratch server gets every variable,
    credential and data source (the plan/apply checks above), a name production does not hold, no
    DNS record of production's, a converge with the customer's host vars and secrets on the scratch
    address only, the drill over ssh on it, its record on the dr-drills branch, and a destroy that
    goes through (no protection)."""
    assert _errors(replay, "dr-drill") == [] and _errors(replay, "production") == [] and _errors(replay, "DNS record") == []
    log = "\n".join(replay.account_data["log"])
    remote = replay.tmp / "remote.git"
    for customer in DRILLED:
        host = f"{customer}-oc-1"
        assert f"== dr-drill.yml:drill [customer={customer}," in log, customer
        assert f"  {host}: host vars converged on scratch server {host}-dr-drill" in log
        assert f"ssh clawops@{host}-dr-drill: sudo bash -c" in log
        assert re.search(rf"  destroyed {customer}-dr-drill/\w+_(server|droplet|instance)\.dr_drill", log), customer
        record = json.loads(replay.git("show", f"dr-drills:{customer}.json", cwd=remote))
        assert (record["customer"], record["host"], record["healthy"], record["repository"]) == (customer, host, True, "primary")
        # A healthy drill names no failing step; each drilled customer's history holds exactly this one line.
        assert (record["failed_step"], record["reason"]) == (None, None)
        history = replay.git("show", f"dr-drills:{customer}.jsonl", cwd=remote).splitlines()
        assert [json.loads(line) for line in history] == [record]
    assert not [r for r in replay.account_data["resources"] if r["stack"].endswith("-dr-drill")], "a scratch server was left"
    # Platinum: the namespace in the ams3 cluster (the one a lost fra1 leaves; by hand, customers/orbital-health.yaml),
    # the Secrets copied into it from production's namespace there, the Job complete, the namespace deleted, the
    # record of the fra1 cluster's snapshot read from the copy. Was: `::error::DR drill due but not built`, nothing run.
    assert _errors(replay, "kubectl") == []
    customer = DRILLED_CLUSTER
    for line in (f"  created namespace {customer}-dr-drill in {customer}-ams3",
                 f"  job clawtex-dr-drill in {customer}-dr-drill: complete",
                 f"  deleted namespace {customer}-dr-drill of {customer}-ams3",
                 f"  {customer}-fra1: DR drill Job rendered (modules/ansible/dr-drill-k8s.yml)"):
        assert line in log, line
    assert log.index(f"created namespace {customer}-dr-drill") < log.index("job clawtex-dr-drill in") \
        < log.index(f"deleted namespace {customer}-dr-drill")
    assert not [line for line in log.splitlines() if line.startswith(f"kubectl {customer}-fra1")], "the primary cluster was used"
    left = {c["host"]: sorted(c["namespaces"]) for c in replay.account_data["k8s"].values()}
    assert left == {f"{customer}-fra1": ["openclaw"], f"{customer}-ams3": ["openclaw"]}, left
    record = json.loads(replay.git("show", f"dr-drills:{customer}.json", cwd=remote))
    assert (record["customer"], record["host"], record["healthy"], record["repository"], record["tier"]) == (
        customer, f"{customer}-fra1", True, "copy", "platinum")


# ------------------------------------------------------------ credentials flow, statically
def _secret_uses(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _secret_uses(value, path + (str(key),))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _secret_uses(value, path + (str(i),))
    elif isinstance(node, str) and "secrets." in node:
        yield path, node


def test_secrets_reach_steps_only_through_env():
    """A secret is an environment variable of the step that needs it: never interpolated into
    a `run:` script (it would be on bash's command line and in the runner's script file)."""
    seen = 0
    for workflow in sorted(WORKFLOWS.glob("*.yml")):
        for path, text in _secret_uses(yaml.safe_load(workflow.read_text())):
            seen += 1
            assert "env" in path and path[-2] == "env", f"{workflow.name}: {'.'.join(path)} uses a secret outside env"
            assert re.fullmatch(r"\$\{\{ secrets\.[A-Z0-9_]+ \}\}", text), f"{workflow.name}: {'.'.join(path)}: {text}"
    assert seen


def test_stack_outputs_reach_ansible_in_a_private_file():
    """Backup credentials and load balancer ids (sensitive outputs included) go from
    `terraform output -json` to the play in a 0600 file outside generated/ (-e @file)."""
    # apply-stack.sh and dr-drill.sh share write_outputs (scripts/gitops/lib.sh)
    script = "".join((REPO / "scripts" / "gitops" / name).read_text() for name in ("apply-stack.sh", "lib.sh"))
    assert re.search(r"umask 077; terraform -chdir=\"\$dir\" output -json", script)
    assert '-e "@$tmp/tf-outputs.json"' in script and 'tmp="${RUNNER_TEMP' in script
    for stack in (REPO / "generated" / "terraform").glob("*/cdk.tf.json"):
        for name, output in json.loads(stack.read_text()).get("output", {}).items():
            if re.search(r"(secret|access)_key|password", name):
                assert output.get("sensitive") is True, (stack.parent.name, name)


# ------------------------------------------------------------ every secret a role reads (issue 24)
def test_every_secret_a_role_reads_reaches_the_play(replay):
    """Each full Ansible run of the replay has, in the play's environment, every secret the roles of
    its hosts read on the controller (account_sim.ROLE_SECRET_LOOKUPS): each gateway's token and its
    customer's channel credentials (env SecretRefs; file SecretRefs under CLAWTEX_SECRETS_DIR), the
    Wazuh enrollment password on agents and manager, the manager's paging/webhook keys and the
    OpenVAS admin password. Was (79838e0): the step passed none of them; only the restic password
    and the box host key were supplied."""
    assert _errors(replay, "role secret") == [] and _errors(replay, "secret store") == []
    log = "\n".join(replay.account_data["log"])
    assert "aws s3 cp --only-show-errors --endpoint-url" in log, "nothing was read from the secret store"


def _env_lookups(text: str) -> list[str]:
    """The expression X of each lookup('ansible.builtin.env', X) in a role file (parentheses balanced)."""
    out = []
    for m in re.finditer(r"lookup\(\s*'ansible\.builtin\.env'\s*,\s*", text):
        depth, i = 0, m.end()
        while depth or text[i] != ")":
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        out.append(text[m.end():i].strip())
    return out


def test_the_simulation_models_every_secret_the_roles_read():
    """A role that starts reading a new controller secret fails this test until account_sim checks
    that the apply step supplies it (the replay above would not notice otherwise)."""
    sys.path.insert(0, str(HERE))
    import account_sim
    found = set()
    for path in sorted((REPO / "modules" / "ansible" / "roles").rglob("*")):
        if path.is_file() and path.suffix in (".yml", ".j2"):
            role = path.relative_to(REPO / "modules" / "ansible" / "roles").parts[0]
            found.update((role, expr) for expr in _env_lookups(path.read_text()))
    assert found and found == set(account_sim.ROLE_SECRET_LOOKUPS), \
        f"not modelled: {sorted(found - set(account_sim.ROLE_SECRET_LOOKUPS))}; no longer read: {sorted(set(account_sim.ROLE_SECRET_LOOKUPS) - found)}"


@pytest.mark.parametrize("tool, line", [
    ("ansible-playbook", 'ansible-playbook -i inventory site.yml -e "openvas_password=$TOKEN"'),
    ("terraform", 'terraform -chdir=x apply -var "token=$TOKEN"'),
    ("gh", 'gh issue create --body "token $TOKEN"'),
    ("aws", 'aws s3 cp --sse-c-key "$TOKEN" s3://b/k -'),
    ("ssh-keyscan", 'ssh-keyscan -p 23 "$TOKEN"'),
])
def test_a_step_that_puts_a_secret_on_a_command_line_is_refused(tmp_path, tool, line):
    """The replay's no-secret-on-a-command-line check can fail: a hand-built step whose secret (from
    `${{ secrets.* }}` in its env, as the workflows pass them) reaches a tool's argv is refused."""
    r = Replay(tmp_path)
    step = {"name": "leaks", "env": {"TOKEN": "${{ secrets.CLAWTEX_FLEET_MASTER_KEY }}"}, "run": line}
    done = r.run_step(step, {}, {"outputs": {}}, {})
    account = json.loads(r.account.read_text())
    assert done.returncode != 0
    assert account["errors"] and all(e.endswith(f"{tool}: a secret value on the command line") for e in account["errors"])
    # The same step with the secret in its environment only is not refused for it.
    quiet = Replay(tmp_path / "quiet")
    quiet.run_step({**step, "run": line.replace("$TOKEN", "placeholder")}, {}, {"outputs": {}}, {})
    errors = json.loads(quiet.account.read_text())["errors"] if quiet.account.exists() else []
    assert not [e for e in errors if "command line" in e]
