"""The Bronze customer's journey with the configure step for real (issue 26; docs/journey.md).

Run by tests/live/test_hosts.py on the bronze-shared host that module already booted and
converged (its `Booted`): no host of its own. tests/test_journey.py runs the hand-overs
without a host; here the apply's Ansible run converges the shared host from the apply's
checkout (the merge commit), exactly as apply-stack.sh does (`site.yml --limit <host>`),
the host chosen by the address in the stack's `terraform output -json`, nothing else. The new
tenant answers its health path through nginx beside its neighbours, site.yml's smoke test
passes, the welcome email arrives, the deployment time is under the tier's target. Then
the cancellation: the decommission PR is held until a human approves, and the next apply
removes the tenant from the shared host while its neighbours stay healthy and its data is kept.
"""
from __future__ import annotations

import contextlib
import copy
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import git

import journey_rig as rig
from live import backups, hosts, skills


class SharedHostCloud:
    """The fake cloud's servers: the one booted shared host, its address read inside it."""

    def __init__(self, h: hosts.Host):
        self.h = h
        out = h.sh("ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -n1").stdout.strip()
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", out), out
        self.address = out
        self.logs: list[Path] = []

    def provision(self, name: str, checkout: Path) -> str:
        if name != self.h.host:
            raise AssertionError(f"the Bronze journey creates no server, yet the apply asked for {name}")
        return self.address

    def configure(self, stack: str, entry: dict, checkout: Path) -> bool:
        ok = True
        for name in booted_limit(stack, entry, checkout, self.h.host, self.address):
            recap, out = hosts.apply(self.h, checkout=checkout)
            log = checkout.parent / f"ansible-{name}-{len(self.logs)}.log"
            log.write_text(out)
            self.logs.append(log)
            ok = ok and recap["failed"] == 0 and recap["unreachable"] == 0
        return ok



def booted_limit(stack: str, entry: dict, checkout: Path, server: str, address: str) -> list[str]:
    """The hosts the apply's --limit names (`changed`'s entry), each checked against the one booted
    host before anything runs: the stack's outputs (the fake cloud's, in the real outputs' format)
    must give exactly that server that address."""
    from compiler.pipeline import plan_repo
    from compiler.targets.terraform import host_output
    outputs = json.loads((checkout / "onboarding" / "outputs" / f"{stack}.json").read_text())
    plan_hosts = {h.name: h for h in plan_repo(checkout).hosts}
    names = [n for n in entry["limit"].split(",") if n]
    for name in names:
        found = outputs[host_output(plan_hosts[name])]["value"]
        if (name, found) != (server, address):
            raise AssertionError(f"outputs address {name} at {found}: no such booted host")
    return names

def health(h: hosts.Host, repo: Path) -> dict[str, tuple[int, str, str]]:
    out = {}
    for url, r in hosts.health_through_proxy(h, repo):
        status, _, body = r.stdout.strip().partition(" ")
        out[url] = (r.returncode, status, body)
    return out


def assert_live(found: dict[str, tuple[int, str, str]]) -> None:
    for url, (rc, status, body) in found.items():
        # OpenClaw's liveness answer (docs/gateway/index.md in the openclaw package).
        assert rc == 0 and status == "200" and json.loads(body) == {"ok": True, "status": "live"}, (url, body)



def welcome_and_deploy_time(j, c: dict, tier_and_target: str, seen: dict) -> None:
    """Both journeys' step 6-7 check: the one welcome email as received, and the customer counted in
    `clawtex report --deploy-times` on its tier's line (tier, target, one deployment, none over)."""
    [msg] = j.received()
    assert msg["Subject"] == f"Welcome to Clawtex, {c['display_name']}: your assistant is live"
    seen["welcome"] = msg
    report = j._clawtex(rig.REPO, "report", "--deploy-times", str(j.deploy_times())).stdout
    assert re.search(rf"^{tier_and_target}\s+1\s.*-$", report, re.M), report
    seen["report"] = report

def bronze_journey(h: hosts.Host, work: Path) -> dict:
    """Payment -> welcome on the shared host, then cancellation -> tenant removed. Returns what it saw."""
    c = rig.CUSTOMERS["bronze"]
    cid = c["clawtex_id"]
    seen: dict = {}
    with rig.Journey(work) as j:
        cloud = SharedHostCloud(h)
        j.start_webhook()
        neighbours_before = {u: v for u, v in health(h, hosts.REPO).items()}
        assert neighbours_before, "the shared host has no tenant to stand beside"
        out = rig.onboard(j, "bronze", cloud.configure, provision=cloud.provision)
        assert out.pr.merged and out.apply["failed"] == [], (out.checks, out.apply and out.apply["failed"],
                                                             cloud.logs and cloud.logs[-1].read_text()[-6000:])
        configured = [e for e in out.apply["changed"]["stacks"] if e.get("limit")]
        assert [(e["limit"], e["action"]) for e in configured] == [(h.host, "update")], configured  # --limit: this host
        checkout = out.apply["work"]
        found = health(h, checkout)
        ours = f"http://127.0.0.1/{cid}/healthz"
        assert ours in found and set(neighbours_before) < set(found), found     # beside its neighbours
        assert_live(found)
        assert out.welcome.returncode == 0, out.welcome.stdout + out.welcome.stderr
        welcome_and_deploy_time(j, c, r"bronze\s+2 h", seen)
        # 8. Cancellation: held for a human, then the apply removes the tenant from the shared host.
        gone = j.timed(cid, "8 cancellation (deleted event -> decommission PR)",
                       lambda: rig.cancel(j, "bronze", "evt_JourneyBronzeCancel"))
        assert gone.auto_merge is None and "Needs a human review" in gone.body
        held = j.run_checks(gone)
        assert not gone.merged and set(held.values()) != {"success"}, held
        seen["held"] = held
        rig.approve(j, gone, work / "human", cid)
        checks = j.run_checks(gone)
        assert set(checks.values()) == {"success"} and not gone.merged, checks   # a human merges it
        _, before, after = rig.human_merge(j, gone)
        removed = j.timed(cid, "8 apply after the approved merge (tenant removed)",
                          lambda: j.apply(before, after, cloud.configure))
        assert removed["failed"] == [] and removed["changed"]["removed_customers"] == [cid], removed["changed"]
        after_found = health(h, removed["work"])
        assert ours not in after_found and set(after_found) == set(neighbours_before), after_found
        assert_live(after_found)                                                # the neighbours: still healthy
        unit = h.sh(f"systemctl cat openclaw-{cid}.service")
        assert unit.returncode != 0, unit.stdout                                # the unit is gone
        container = h.sh(f"podman container exists openclaw-{cid}")
        assert container.returncode == 1, (container.returncode, container.stdout,    # 1: no such container
                                           h.sh("podman ps --all --format '{{.Names}} {{.Status}}'").stdout)
        proxied = h.sh(f"python3 -c {hosts.shlex_quote(hosts.HEALTH_GET)} {ours} ''")
        assert "404" in proxied.stderr, proxied.stdout + proxied.stderr             # nginx no longer routes it
        kept = h.sh(f"ls -d /var/lib/clawtex/departed-tenants/{cid}-*/state /var/lib/clawtex/departed-tenants/{cid}-*/config"
                    f" && test ! -e /srv/openclaw/{cid}")
        assert kept.returncode == 0, kept.stdout + kept.stderr                     # its data kept, moved aside
        seen["kept"] = kept.stdout.split()
        # A later run finds no departed tenant: the tenant directory is gone from the containers root
        # (asserted above), which is all tasks/departed.yml looks for. (A third full converge to
        # show changed=0 costs minutes of CI; the hosts suite's second run covers the rest.)
        seen["times"] = list(j.times)
    return seen


# ---------------------------------------------------------------- Silver, on a dedicated host

# The Silver customer's custom skill, added by ops on the checkout PR (Silver is "90% automated":
# the custom skill is the human part of its onboarding). A tag as the pinned ref: the role clones
# that ref, not the remote's default branch (tests/live/skills.py puts a later commit on another branch).
SILVER_SKILL = {"name": "lens-finder", "kind": "custom", "source": "https://github.com/harbor-optics/lens-finder.git",
                "ref": "v1.4.0"}
JOURNEY_SKILL_PORT = 9419      # the hosts suite's own skill remote keeps git daemon's port (9418) on this host


class DedicatedHostCloud:
    """The fake cloud's one new server for a Silver customer: the hosts suite's booted and converged
    Silver root, handed over under the new inventory name (so the apply's converge is incremental:
    packages, Node and OpenClaw are already there). Its address is read inside it."""

    def __init__(self, h: hosts.Host, work: Path):
        self.h = h
        self.address = SharedHostCloud(h).address
        self.work = work
        self.server: str | None = None          # the inventory name the cloud gave the booted root
        self.logs: list[Path] = []
        self.skills: skills.SkillRemote | None = None
        self.exits = contextlib.ExitStack()

    def provision(self, name: str, checkout: Path) -> str:
        if self.server not in (None, name):
            raise AssertionError(f"one booted root, already {self.server}; the apply asked for {name} as well")
        self.server = name
        return self.address

    def view(self, name: str, repo: Path) -> hosts.Host:
        """The booted root as inventory host `name` of `repo` (same machine, leader and directory)."""
        v = copy.copy(self.h)
        v.host, v.repo = name, repo
        v.extra_vars = dict(self.skills.extra_vars()) if self.skills else {}
        return v

    def configure(self, stack: str, entry: dict, checkout: Path) -> bool:
        ok = True
        for name in booted_limit(stack, entry, checkout, self.server, self.address):
            if self.skills is None:
                # The customer's skills as the merge commit's inventory names them, each served at its
                # pinned ref by a loopback git remote on the host (the one overlay: their source URL).
                self.skills = self.exits.enter_context(skills.SkillRemote(
                    self.view(name, checkout), port=JOURNEY_SKILL_PORT, base="journey-skill-remotes"))
            recap, out = hosts.apply(self.view(name, checkout), checkout=checkout)
            log = self.work / f"ansible-{name}-{len(self.logs)}.log"
            log.write_text(out)
            self.logs.append(log)
            ok = ok and recap["failed"] == 0 and recap["unreachable"] == 0
        return ok

    def final_backup(self, stack: str, entry: dict, base: str, remote_url: str) -> bool:
        """apply-stack.sh's final backup of the departing customers: site.yml --tags backup from the base
        commit's inventory (the customer is still in it), to the Storage Box on the host's loopback."""
        checkout = self.work / "final-backup-base"
        shutil.rmtree(checkout, ignore_errors=True)
        git.Repo.clone_from(remote_url, checkout).git.checkout("-q", base)
        ok = True
        for name in [n for n in entry["limit"].split(",") if n]:
            view = self.view(name, checkout)
            self.dest = backups.Destination(view).reset().start()
            self.exits.callback(self.dest.stop)
            recap, out = hosts.apply(view, final_backup_args(entry["removed"]), checkout=checkout)
            log = self.work / f"ansible-{name}-final-backup.log"
            log.write_text(out)
            self.logs.append(log)
            self.snapshots = backups.snapshots(view)
            ok = ok and recap["failed"] == 0 and recap["unreachable"] == 0 and bool(self.snapshots)
        return ok


def final_backup_args(removed: str) -> list[str]:
    """The final backup's ansible-playbook arguments as scripts/gitops/apply-stack.sh writes them
    (read from the script, not copied): from `--tags` to the outputs file, $removed filled in."""
    import shlex
    text = (rig.REPO / "scripts" / "gitops" / "apply-stack.sh").read_text()
    m = re.search(r"(--tags backup .*?) -e \"@\$tmp/tf-outputs\.json\"", text)
    if not m:
        raise AssertionError("apply-stack.sh: no final-backup ansible-playbook line")
    return [a.replace("$removed", removed) for a in shlex.split(m.group(1))]


def silver_journey(h: hosts.Host, work: Path) -> dict:
    """Payment -> welcome for a new Silver customer on the (re-purposed) booted Silver host, with the
    custom skill ops add on the checkout PR; then cancellation -> final backup -> stack destroyed
    with its backup store kept. Returns what it saw."""
    c = rig.CUSTOMERS["silver"]
    cid = c["clawtex_id"]
    seen: dict = {}
    cloud = DedicatedHostCloud(h, work)
    with rig.Journey(work / "fleet") as j, cloud.exits:
        j.start_webhook()
        event = rig.checkout("silver")
        r = j.timed(cid, "1 payment (signed event -> 200)", lambda: rig.post_event(j.webhook_url, event))
        assert r.status_code == 200, r.text
        pr = j.timed(cid, "2 pull request (branch pushed, PR opened)", lambda: j.wait_pr(f"stripe/{event['id']}"))
        assert pr.auto_merge, pr
        j.timed(cid, "2b ops add the custom skill on the PR branch",
                lambda: rig.add_skill(j, pr, work / "ops", cid, SILVER_SKILL))
        checks = j.timed(cid, "3 checks (pr.yml run steps) + merge", lambda: j.run_checks(pr))
        assert pr.merged and set(checks.values()) == {"success"}, checks
        _, before, after = next(m for m in j.github.merges if m[0] == pr.number)
        merged_at = rig._utc()
        applied = j.timed(cid, "4 apply (changed -> fake cloud outputs) + 5 configure (incremental converge)",
                          lambda: j.apply(before, after, cloud.configure, cloud.provision))
        assert applied["failed"] == [], (applied["failed"], cloud.logs and cloud.logs[-1].read_text()[-6000:])
        configured = [(e["limit"], e["action"]) for e in applied["changed"]["stacks"] if e.get("limit")]
        assert configured == [(cloud.server, "create")], configured          # one new server, the booted root
        checkout = applied["work"]
        view = cloud.view(cloud.server, checkout)
        found = health(view, checkout)
        assert found, "no health URL for " + cloud.server
        assert_live(found)
        # The skill: the clone's files are the pinned commit's tree (read from the remote here), the
        # clone's HEAD is that commit, and the gateway's CLI lists it eligible with the pinned SKILL.md's
        # description. The name is new on this host (its converge had only the suite customer's skill),
        # so the listing cannot come from the gateway's earlier state.
        remote = cloud.skills
        assert remote and list(remote.commits) == [SILVER_SKILL["name"]], remote and remote.skills
        name, commit = SILVER_SKILL["name"], remote.commits[SILVER_SKILL["name"]]
        on_host, pinned = remote.host_tree(name), remote.tree(name, commit)
        assert on_host == pinned and on_host != remote.tree(name, remote.unpinned[name]), (on_host, pinned)
        observed = remote.observe()
        assert remote.problems(observed, remote.commits) == {}, observed
        assert name in remote.problems(observed, {name: remote.unpinned[name]})     # the oracle can fail
        seen["skill"] = {"commit": commit, "tree": on_host, "listed": observed["listed"][name]}
        welcome = j.timed(cid, "6 welcome job (apply.yml run script)", lambda: j.welcome_job(applied, merged_at))
        assert welcome.returncode == 0, welcome.stdout + welcome.stderr
        welcome_and_deploy_time(j, c, r"silver\s+4 h", seen)
        # 8. Cancellation. The guard holding the decommission PR until a human approves is the same
        # pr.yml step on the same code as Bronze's (test_bronze_journey_on_the_shared_host runs the
        # held checks); here the approved PR, the final backup and the kept backup store.
        gone = j.timed(cid, "8 cancellation (deleted event -> decommission PR)",
                       lambda: rig.cancel(j, "silver", "evt_JourneySilverCancel"))
        assert gone.auto_merge is None and "Needs a human review" in gone.body
        rig.approve(j, gone, work / "human", cid)
        checks = j.timed(cid, "8 checks after the human's approval", lambda: j.run_checks(gone))
        assert set(checks.values()) == {"success"} and not gone.merged, checks
        _, before, after = rig.human_merge(j, gone)
        removed = j.timed(cid, "8 apply after the approved merge (final backup, stack destroyed)",
                          lambda: j.apply(before, after, cloud.configure, final_backup=lambda s, e, b:
                                          cloud.final_backup(s, e, b, j.remote.url)))
        assert removed["failed"] == [] and removed["changed"]["removed_customers"] == [cid], removed["changed"]
        assert [(e["stack"], e["action"]) for e in removed["changed"]["stacks"]] == [(cid, "destroy")], removed["changed"]
        assert cloud.snapshots, "no final backup"
        # The destroy keeps the backup store: apply-stack.sh's `protection --forget` list is what it
        # drops from state instead of destroying (compiler/gitops/protection.py).
        base_cfg = work / "base.tf.json"
        base_cfg.write_text(git.Repo(j.remote.bare).git.show(f"{before}:generated/terraform/{cid}/cdk.tf.json"))
        forget = work / "forget.txt"
        done = subprocess.run([sys.executable, "-m", "compiler.gitops.protection", str(base_cfg), "--out",
                               str(work / "lift.json"), "--forget", str(forget)], cwd=rig.REPO,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        kept = forget.read_text().split()
        assert "hcloud_storage_box.backup" in kept, kept
        seen["kept"] = {"forgotten, not destroyed": kept, "final snapshots": [s["short_id"] for s in cloud.snapshots],
                        "restic repository": str(cloud.dest.repo)}
        assert cloud.dest.repo.is_dir() and any((cloud.dest.repo / "snapshots").iterdir())
        seen["times"] = list(j.times)
    return seen
