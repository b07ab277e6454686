"""The apply matrix decisions of `clawtex changed` (compiler/gitops/changed.py), by hand, in-process
and fast (issue 28: mutation testing of the functions that decide things): which GitHub environment a
stack applies in, in which phase, and how stacks are cut into at most `max_jobs` batches that never
mix environments. Every expected value is written out here; the 255/256/257 edge through detect()
is tests/test_gitops_fleet_scale.py."""
from __future__ import annotations

import json

import pytest

from compiler.gitops.changed import ChangeSet, CustomerChange, StackChange, batches, format_text, to_json


def S(name, action="update", tier="silver", account=False, removed=()):
    return StackChange(name, action=action, tier=tier, account=account, removed=set(removed))


@pytest.mark.parametrize("stack, env, phase", [
    (S("a"), "fleet", "stacks"),                                           # silver update: no reviewer
    (S("a", tier=None), "fleet", "stacks"),                                # shared host, no tier
    (S("a", tier="bronze", action="create"), "fleet", "stacks"),
    (S("a", tier="gold"), "fleet-protected", "stacks"),
    (S("a", tier="platinum"), "fleet-protected", "stacks"),
    (S("a", action="destroy"), "fleet-protected", "stacks"),               # any destroy waits for a reviewer
    (S("a", removed={"c1"}), "fleet-protected", "stacks"),                 # a leaving customer: final backup
    (S("fleet-hetzner", account=True, tier=None), "fleet-protected", "fleet-first"),
    (S("fleet-hetzner", account=True, tier=None, action="create"), "fleet-protected", "fleet-first"),
    (S("fleet-hetzner", account=True, tier=None, action="destroy"), "fleet-protected", "fleet-last"),
])
def test_environment_and_phase(stack, env, phase):
    assert (stack.environment, stack.phase) == (env, phase)


def test_stack_as_dict():
    s = StackChange("acme", action="destroy", customers={"b", "a"}, hosts=["h1", "h2"], tier="gold",
                    reasons={"z", "y"}, removed={"b", "a"})
    assert s.as_dict() == {"stack": "acme", "action": "destroy", "tier": "gold", "environment": "fleet-protected",
                           "phase": "stacks", "removed": "a,b", "customers": ["a", "b"], "hosts": ["h1", "h2"],
                           "limit": "h1,h2", "reasons": ["y", "z"]}
    assert CustomerChange("c", "added", {"s2", "s1"}, {"r2", "r1"}).as_dict() == \
        {"customer": "c", "change": "added", "stacks": ["s1", "s2"], "reasons": ["r1", "r2"]}


def test_no_stacks_no_jobs():
    assert batches([]) == []


def test_one_stack_per_job_while_jobs_last():
    jobs = batches([S("c"), S("a"), S("b")])
    assert jobs == [{"batch": "fleet-001", "environment": "fleet", "count": 1, "stacks": ["a"]},
                    {"batch": "fleet-002", "environment": "fleet", "count": 1, "stacks": ["b"]},
                    {"batch": "fleet-003", "environment": "fleet", "count": 1, "stacks": ["c"]}]


def test_creates_then_updates_then_destroys_within_an_environment():
    jobs = batches([S("d1", "destroy"), S("u1"), S("c1", "create"), S("a-import", "import"), S("a0", "destroy")],
                   max_jobs=2)
    # environments: fleet (c1 create, then the updates a-import (an unknown action sorts with updates) and
    # u1 by name) and protected (a0, d1: destroys)
    assert jobs == [{"batch": "fleet-001", "environment": "fleet", "count": 3, "stacks": ["c1", "a-import", "u1"]},
                    {"batch": "fleet-protected-001", "environment": "fleet-protected", "count": 2,
                     "stacks": ["a0", "d1"]}]


def test_batches_never_mix_environments_and_spread_evenly():
    normal = [S(f"n{i}") for i in range(5)]
    protected = [S(f"p{i}", tier="gold") for i in range(4)]
    # 9 stacks, 4 jobs: size ceil(9/4) = 3 -> fleet ceil(5/3) = 2 jobs (2 + 3), protected ceil(4/3) = 2 (2 + 2)
    jobs = batches(protected + normal, max_jobs=4)
    assert [(j["batch"], j["count"], j["stacks"]) for j in jobs] == [
        ("fleet-001", 2, ["n0", "n1"]), ("fleet-002", 3, ["n2", "n3", "n4"]),
        ("fleet-protected-001", 2, ["p0", "p1"]), ("fleet-protected-002", 2, ["p2", "p3"])]


def test_batch_size_grows_until_the_jobs_fit():
    normal = [S(f"n{i}") for i in range(3)]
    protected = [S(f"p{i}", tier="platinum") for i in range(3)]
    # 6 stacks, 3 jobs: size 2 needs 2 + 2 = 4 jobs > 3, so size 3: one job per environment
    jobs = batches(normal + protected, max_jobs=3)
    assert [(j["batch"], j["stacks"]) for j in jobs] == [("fleet-001", ["n0", "n1", "n2"]),
                                                          ("fleet-protected-001", ["p0", "p1", "p2"])]
    # 7 jobs for 6 stacks: one stack each
    assert [j["count"] for j in batches(normal + protected, max_jobs=7)] == [1] * 6
    # exactly as many jobs as stacks
    assert [j["count"] for j in batches(normal + protected, max_jobs=6)] == [1] * 6
    # 5 jobs: size 2 -> 2 + 2 = 4 jobs (2 + 1 each side)
    assert [j["count"] for j in batches(normal + protected, max_jobs=5)] == [1, 2, 1, 2]


def test_the_github_matrix_edge_by_hand():
    # 255 normal + 257 protected = 512 stacks for 256 jobs: size 2 needs 128 + 129 = 257 jobs, so size 3:
    # 85 jobs of 3 normal, and 257 protected in 86 jobs (85 of 3 and one of 2)
    jobs = batches([S(f"n{i:03d}") for i in range(255)] + [S(f"p{i:03d}", tier="gold") for i in range(257)])
    assert len(jobs) == 171
    normal = [j for j in jobs if j["environment"] == "fleet"]
    protected = [j for j in jobs if j["environment"] == "fleet-protected"]
    assert [j["count"] for j in normal] == [3] * 85
    assert sorted(j["count"] for j in protected) == [2] + [3] * 85
    assert protected[-1]["batch"] == "fleet-protected-086"
    assert sum(j["count"] for j in jobs) == 512


def test_more_environments_than_jobs_is_refused():
    with pytest.raises(ValueError) as e:
        batches([S("a"), S("b", tier="gold")], max_jobs=1)
    assert str(e.value) == "2 environments cannot share 1 jobs"


def _changeset():
    cs = ChangeSet(base=None, head=None)
    for s in (S("fleet-do", account=True, tier=None, action="destroy"), S("fleet-hetzner", account=True, tier=None),
              S("zeta"), S("alpha", tier="gold"), S("mid", action="create"), S("beta", removed={"c9"})):
        cs.stacks[s.stack] = s
    cs.customers["c9"] = CustomerChange("c9", "removed", {"beta"}, {"gone"})
    cs.customers["c1"] = CustomerChange("c1", "changed", {"zeta"}, {"edit"})
    cs.fleet = {"schemas", "alerts"}
    return cs


def test_changeset_as_dict_places_every_stack_in_its_batch():
    d = _changeset().as_dict()
    assert [s["stack"] for s in d["stacks"]] == ["alpha", "beta", "fleet-do", "fleet-hetzner", "mid", "zeta"]
    assert {s["stack"]: s.get("batch") for s in d["stacks"]} == {
        "alpha": "fleet-protected-001", "beta": "fleet-protected-002", "fleet-do": None, "fleet-hetzner": None,
        "mid": "fleet-001", "zeta": "fleet-002"}
    assert d["fleet-first"] == ["fleet-hetzner"] and d["fleet-last"] == ["fleet-do"]
    assert d["matrix"] == {"include": [{"batch": "fleet-001", "environment": "fleet", "count": 1},
                                       {"batch": "fleet-002", "environment": "fleet", "count": 1},
                                       {"batch": "fleet-protected-001", "environment": "fleet-protected", "count": 1},
                                       {"batch": "fleet-protected-002", "environment": "fleet-protected", "count": 1}]}
    assert [j["stacks"] for j in d["batches"]] == [["mid"], ["zeta"], ["alpha"], ["beta"]]
    assert d["removed_customers"] == ["c9"] and d["fleet"] == ["alerts", "schemas"]
    assert [c["customer"] for c in d["customers"]] == ["c1", "c9"]


def test_batch_lookup_with_many_stacks():
    cs = ChangeSet(base=None, head=None)
    names = [f"s{i:02d}" for i in range(17)]
    for n in reversed(names):
        cs.stacks[n] = S(n)
    d = cs.as_dict()
    assert [s["batch"] for s in d["stacks"]] == [f"fleet-{i + 1:03d}" for i in range(17)]


def test_text_and_json():
    cs = _changeset()
    cs.stacks["zeta"].customers = {"c2", "c1"}
    cs.customers["c9"].reasons = {"gone", "deleted"}
    assert format_text(cs) == "\n".join([
        "stack alpha (update, gold): customers - | hosts -",
        "stack beta (update, silver): customers - | hosts -",
        "stack fleet-do (destroy, -): customers - | hosts -",
        "stack fleet-hetzner (update, -): customers - | hosts -",
        "stack mid (create, silver): customers - | hosts -",
        "stack zeta (update, silver): customers c1, c2 | hosts -",
        "customer c1 (changed): edit",
        "customer c9 (removed): deleted; gone",
        "REMOVED customer c9: decommission, not a silent delete",
        "fleet: alerts",
        "fleet: schemas"])
    assert format_text(ChangeSet(base=None, head=None)) == "no stacks or customers affected"
    out = to_json(cs)
    assert out.endswith("}\n") and ", " not in out and json.loads(out)["removed_customers"] == ["c9"]
    # keys sorted at every level (the artifact is byte-stable): "batches" first, "action" first in a stack
    assert out.startswith('{"batches":[{"batch":"fleet-001","count":1,"environment":"fleet","stacks":["mid"]}')
    assert '"stacks":[{"action":"update","batch":"fleet-protected-001","customers":[]' in out
