"""`clawtex changed --json` at fleet scale: GitHub refuses a matrix of more than 256
jobs and caps a job's outputs at 1 MB (docs.github.com: "Running variations of jobs
in a workflow" - "A matrix can generate a maximum of 256 jobs per workflow run";
"Passing information between jobs" - job outputs are at most 1 MB). A tier change
across the 1,000- and 10,000-customer fleets of bench/fleet.py (the founding
document's tier mix) must fit both.

The change set is built from the generator's tier mix rather than from two full
compiles (a 10,000-customer compile takes minutes here; bench/changed_scale.py runs
that end to end and prints the numbers): every stack of the fleet changes, which is
the worst a tier or module change can do."""
from __future__ import annotations

import json

import pytest

from compiler.gitops.artifacts import Fleet
from compiler.gitops.changed import MAX_JOBS, ChangeSet, CustomerChange, StackChange, batches, to_json

from bench.fleet import tier_counts  # the benchmark's own generator of the tier mix

BRONZE_PER_HOST = 8       # tenants per shared host; any value gives the same limits


def tier_change_everywhere(n: int) -> ChangeSet:
    changes = ChangeSet(Fleet(), Fleet())
    index = 0
    for tier, count in tier_counts(n):
        for k in range(count):
            index += 1
            cid = f"c{index:05d}-{tier}"
            stack = f"shared-hetzner-fsn1-{k // BRONZE_PER_HOST + 1:02d}" if tier == "bronze" else cid
            change = changes.stacks.setdefault(stack, StackChange(stack, tier=tier))
            change.customers.add(cid)
            change.hosts = [f"{stack}-oc-1"] if tier != "bronze" else [stack]
            change.reasons.update({f"generated/terraform/{stack}/cdk.tf.json", f"customer {cid}: tiers/{tier}.yaml"})
            changes.customers[cid] = CustomerChange(cid, stacks={stack}, reasons={f"tiers/{tier}.yaml"})
    return changes


@pytest.mark.parametrize("n", [1_000, 10_000])
def test_a_tier_change_across_the_fleet_fits_githubs_matrix_and_output_limits(n):
    changes = tier_change_everywhere(n)
    data = json.loads(to_json(changes))
    matrix = data["matrix"]
    assert len(changes.stacks) > MAX_JOBS            # the case the issue is about
    assert len(matrix["include"]) <= 256
    # What goes into $GITHUB_OUTPUT is the compact matrix (apply.yml: jq -c .matrix)
    assert len(json.dumps(matrix, separators=(",", ":")).encode()) < 1024 * 1024
    # every changed stack is applied exactly once, by the job its entry names
    listed = [s for job in data["batches"] for s in job["stacks"]]
    assert sorted(listed) == sorted(changes.stacks) and len(listed) == len(set(listed))
    by_batch = {job["batch"]: job for job in data["batches"]}
    for entry in data["stacks"]:
        job = by_batch[entry["batch"]]
        assert entry["stack"] in job["stacks"] and job["environment"] == entry["environment"]
    # one environment per job (a protected stack never runs without its reviewer)
    for job in data["batches"]:
        assert len({data["stacks"][i]["environment"] for i in range(len(data["stacks"]))
                    if data["stacks"][i]["stack"] in set(job["stacks"])}) == 1
        assert job["count"] == len(job["stacks"])
    # jobs are evenly loaded: the longest job is not much longer than it must be
    sizes = [job["count"] for job in data["batches"]]
    assert max(sizes) <= -(-len(changes.stacks) // 256) + 1


def test_few_stacks_get_a_job_each_and_destroys_run_last():
    stacks = [StackChange("b", action="destroy"), StackChange("a"), StackChange("c", action="create"),
              StackChange("d", tier="gold")]
    jobs = batches(stacks)
    assert [(j["batch"], j["stacks"]) for j in jobs] == [
        ("fleet-001", ["c"]), ("fleet-002", ["a"]), ("fleet-protected-001", ["d"]), ("fleet-protected-002", ["b"])]
    squeezed = batches(stacks, max_jobs=2)
    assert [(j["environment"], j["stacks"]) for j in squeezed] == [("fleet", ["c", "a"]), ("fleet-protected", ["d", "b"])]


# --------------------------------------------- the 256-job edge, through detect()


def fleet_files(normal: int, protected: int, size: str) -> dict[str, bytes]:
    """A committed tree of `normal` Silver and `protected` Gold dedicated stacks, each
    with one host in the inventory (its tier); `size` is each server's type, so two
    trees that differ in it change every stack."""
    files: dict[str, bytes] = {}
    hosts = {}
    for tier, count in (("silver", normal), ("gold", protected)):
        for k in range(count):
            cid = f"{tier}-{k:04d}"
            files[f"generated/terraform/{cid}/cdk.tf.json"] = json.dumps({
                "//": {"clawtex": {"customers": [cid], "kind": "dedicated", "stack": cid}},
                "resource": {"hcloud_server": {"oc_1": {"name": f"{cid}-oc-1", "server_type": size}}}}).encode()
            hosts[f"{cid}-oc-1"] = {"clawtex_tier": tier, "clawtex_stack": cid, "clawtex_customer": cid}
    files["generated/ansible/inventory/hosts.yml"] = json.dumps(
        {"all": {"children": {"openclaw": {"hosts": hosts}}}}).encode()      # JSON is YAML
    return files


@pytest.mark.parametrize("normal,protected", [(255, 257), (256, 256), (257, 255), (1, 256), (256, 1), (128, 128)])
def test_the_matrix_edge_through_change_detection(normal, protected):
    from compiler.gitops.changed import detect
    changes = detect(fleet_files(normal, protected, "cx22"), fleet_files(normal, protected, "cx32"))
    data = json.loads(to_json(changes))
    jobs = data["batches"]
    # By hand: every stack changed; GitHub runs at most 256 jobs; one environment per job.
    assert len(data["stacks"]) == normal + protected
    assert len(data["matrix"]["include"]) == len(jobs) <= 256
    expected_env = {f"silver-{k:04d}": "fleet" for k in range(normal)}
    expected_env |= {f"gold-{k:04d}": "fleet-protected" for k in range(protected)}
    listed = [s for job in jobs for s in job["stacks"]]
    assert sorted(listed) == sorted(expected_env) and len(listed) == len(set(listed))
    for job in jobs:
        assert {expected_env[s] for s in job["stacks"]} == {job["environment"]}
    if normal + protected <= 256:                                         # room for a job per stack
        assert len(jobs) == normal + protected


def test_the_text_report_line_by_line():
    """`clawtex changed` without --json, in-process, against lines written by hand."""
    from compiler.gitops.changed import detect, format_text
    assert format_text(detect({}, {})) == "no stacks or customers affected"
    base = fleet_files(1, 1, "cx22")
    head = dict(fleet_files(1, 1, "cx32"))
    del head["generated/terraform/gold-0000/cdk.tf.json"]            # the Gold stack goes away
    base["customers/gone-co.yaml"] = b"spec: {}\n"                   # a customer file deleted
    head["generated/prometheus/rules/x.yml"] = b"groups: []\n"       # a fleet-wide change
    text = format_text(detect(base, head))
    assert text.splitlines() == [
        "stack gold-0000 (destroy, gold): customers gold-0000 | hosts gold-0000-oc-1",
        "stack silver-0000 (update, silver): customers silver-0000 | hosts silver-0000-oc-1",
        "customer gold-0000 (removed): removed from generated/; terraform stack gold-0000",
        "customer gone-co (removed): customers/gone-co.yaml deleted",
        "customer silver-0000 (changed): terraform stack silver-0000",
        "REMOVED customer gold-0000: decommission, not a silent delete",
        "REMOVED customer gone-co: decommission, not a silent delete",
        "fleet: alert rules: generated/prometheus/rules/x.yml",
    ]
    bare = format_text(detect({}, {"generated/terraform/s/cdk.tf.json": b"{}"}))
    assert bare == "stack s (create, -): customers - | hosts -"
