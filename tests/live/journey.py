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

import json
import re
import subprocess
import time
from pathlib import Path

import journey_rig as rig
from live import hosts


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
        from compiler.pipeline import plan_repo
        from compiler.targets.terraform import host_output
        outputs = json.loads((checkout / "onboarding" / "outputs" / f"{stack}.json").read_text())
        plan_hosts = {h.name: h for h in plan_repo(checkout).hosts}
        ok = True
        for name in [n for n in entry["limit"].split(",") if n]:
            address = outputs[host_output(plan_hosts[name])]["value"]
            if (name, address) != (self.h.host, self.address):
                raise AssertionError(f"outputs address {name} at {address}: no such booted host")
            recap, out = hosts.apply(self.h, checkout=checkout)
            log = checkout.parent / f"ansible-{name}-{len(self.logs)}.log"
            log.write_text(out)
            self.logs.append(log)
            ok = ok and recap["failed"] == 0 and recap["unreachable"] == 0
        return ok


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
        [msg] = j.received()
        assert msg["Subject"] == f"Welcome to Clawtex, {c['display_name']}: your assistant is live"
        seen["welcome"] = msg
        report = j._clawtex(rig.REPO, "report", "--deploy-times", str(j.deploy_times())).stdout
        assert re.search(r"^bronze\s+2 h\s+1\s.*-$", report, re.M), report
        seen["report"] = report
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
