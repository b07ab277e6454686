"""Shared-host placement: capacity from tier data, sticky, deterministic."""
from __future__ import annotations

import json

import pytest

from compiler.placement import Tenant, place
from conftest import run_clawtex
from test_validate import BRONZE


def tenants(n, region="fsn1"):
    return [Tenant(f"c{i:03d}", "hetzner", region, f"2026-01-{i % 28 + 1:02d}") for i in range(n)]


def test_full_host_opens_a_new_one():
    result = place(tenants(9), {("hetzner", "fsn1"): 4}, {})
    assert [len(v) for v in result.values()] == [4, 4, 1]
    assert list(result) == ["shared-hetzner-fsn1-01", "shared-hetzner-fsn1-02", "shared-hetzner-fsn1-03"]


def test_adding_a_customer_moves_nobody():
    cap = {("hetzner", "fsn1"): 4}
    before = place(tenants(7), cap, {})
    newcomer = Tenant("aaa-first-alphabetically", "hetzner", "fsn1", "2025-01-01")  # sorts first by date and id
    after = place(tenants(7) + [newcomer], cap, before)
    for host, ids in before.items():
        assert after[host][: len(ids)] == ids
    assert "aaa-first-alphabetically" in after["shared-hetzner-fsn1-02"]


def test_removal_does_not_reshuffle_others():
    cap = {("hetzner", "fsn1"): 2}
    before = place(tenants(5), cap, {})
    gone = before["shared-hetzner-fsn1-01"][0]
    after = place([t for t in tenants(5) if t.id != gone], cap, before)
    for host, ids in after.items():
        assert ids == [i for i in before[host] if i != gone]


def test_hosts_are_per_provider_and_region():
    result = place(tenants(2, "fsn1") + [Tenant("x", "digitalocean", "fra1", "2026-01-01")],
                   {("hetzner", "fsn1"): 5, ("digitalocean", "fra1"): 5}, {})
    assert result == {"shared-digitalocean-fra1-01": ["x"], "shared-hetzner-fsn1-01": ["c000", "c001"]}


def test_compile_adding_bronze_customer_keeps_existing_placement(repo):
    before = json.loads((repo / "generated" / "placement.json").read_text())["hosts"]
    (repo / "customers" / "aardvark-cafe.yaml").write_text(BRONZE.format(id="aardvark-cafe").replace("2026-09-01", "2020-01-01"))
    assert run_clawtex(repo, "compile").returncode == 0
    after = json.loads((repo / "generated" / "placement.json").read_text())["hosts"]
    for host, entry in before.items():
        assert after[host]["tenants"][: len(entry["tenants"])] == entry["tenants"]
    assert any("aardvark-cafe" in h["tenants"] for h in after.values())


# ------------------------------------------------- host_capacity, hand-computed


def shared_tier(reserved_ram_gb, cpu_overcommit, vcpu, ram_gb, shared_host=True):
    import yaml
    from compiler.models import Tier
    from conftest import REPO
    doc = yaml.safe_load((REPO / "tiers" / "bronze.yaml").read_text())
    doc["spec"]["hosting"]["sharedHost"] = ({"reservedRamGb": reserved_ram_gb, "cpuOvercommit": cpu_overcommit}
                                            if shared_host else None)
    doc["spec"]["resources"].update(vcpu=vcpu, ramGb=ram_gb)
    return Tier.model_validate(doc)


def server(vcpu, ram_gb):
    from compiler.models import ServerPlan
    return ServerPlan(slug="test-plan", vcpu=vcpu, ramGb=ram_gb, diskGb=80, monthlyUsd=10.0)


# (reserved GB, overcommit, tenant vCPU, tenant GB, host vCPU, host GB) -> tenants per host, by hand:
@pytest.mark.parametrize("case,expected", [
    ((2, 2.0, 1, 2, 8, 16), 7),      # RAM: (16-2)/2 = 7; CPU: 8*2/1 = 16        -> 7 (reserved RAM decides)
    ((2, 2.0, 1, 2, 2, 16), 4),      # RAM: (16-2)/2 = 7; CPU: 2*2/1 = 4         -> 4 (overcommit decides)
    ((4, 1.5, 1, 2, 3, 32), 4),      # RAM: (32-4)/2 = 14; CPU: floor(3*1.5) = 4 -> 4
    ((1, 3.0, 2, 4, 4, 32), 6),      # RAM: floor(31/4) = 7; CPU: 4*3/2 = 6     -> 6
    ((3, 2.0, 1, 2, 4, 8), 2),       # RAM: floor(5/2) = 2; CPU: 8               -> 2
    ((6, 2.0, 1, 2, 2, 4), 0),       # RAM: (4-6) < 0                            -> 0, never negative
])
def test_host_capacity_by_hand(case, expected):
    from compiler.placement import host_capacity
    reserved, overcommit, vcpu, ram, host_vcpu, host_ram = case
    assert host_capacity(shared_tier(reserved, overcommit, vcpu, ram), server(host_vcpu, host_ram)) == expected


def test_host_capacity_needs_shared_host_settings():
    from compiler.placement import host_capacity
    with pytest.raises(ValueError, match="no sharedHost"):
        host_capacity(shared_tier(2, 2.0, 1, 2, shared_host=False), server(4, 8))


# ------------------------------------------------- edges of place(), by hand


def test_a_host_of_one_tenant_is_allowed_and_none_is_refused():
    assert place(tenants(2), {("hetzner", "fsn1"): 1}, {}) == {
        "shared-hetzner-fsn1-01": ["c000"], "shared-hetzner-fsn1-02": ["c001"]}
    with pytest.raises(ValueError, match="^a shared host must fit at least one tenant$"):
        place(tenants(2), {("hetzner", "fsn1"): 0}, {})


def test_kept_tenants_keep_their_order_past_a_departed_or_foreign_one():
    t = {x.id: x for x in tenants(3)}
    nbg = [Tenant("z-nbg", "hetzner", "nbg1", "2026-01-01"), Tenant("y-nbg", "hetzner", "nbg1", "2026-01-01")]
    previous = {"shared-hetzner-fsn1-01": ["gone", "c002", "c001"],          # gone: left the fleet
                "shared-hetzner-nbg1-01": ["c000", "z-nbg", "y-nbg"]}         # c000 lives in fsn1
    result = place(list(t.values()) + nbg, {("hetzner", "fsn1"): 3, ("hetzner", "nbg1"): 3}, previous)
    # Kept in their recorded order (a newcomer pass would sort them: c001 before c002, y before z).
    assert result == {"shared-hetzner-fsn1-01": ["c002", "c001", "c000"], "shared-hetzner-nbg1-01": ["z-nbg", "y-nbg"]}


def test_a_host_over_a_shrunk_capacity_keeps_only_what_fits():
    previous = {"shared-hetzner-fsn1-01": ["c002", "c001", "c000"]}
    result = place(tenants(3), {("hetzner", "fsn1"): 2}, previous)
    assert result == {"shared-hetzner-fsn1-01": ["c002", "c001"], "shared-hetzner-fsn1-02": ["c000"]}


def test_a_gap_in_host_numbers_is_filled_first():
    previous = {"shared-hetzner-fsn1-02": ["c000"]}
    result = place(tenants(2), {("hetzner", "fsn1"): 1}, previous)
    assert result == {"shared-hetzner-fsn1-01": ["c001"], "shared-hetzner-fsn1-02": ["c000"]}


# ------------------------------------------------- allocate_blocks, by hand


def test_blocks_are_sticky_and_newcomers_take_the_lowest_free_one():
    from compiler.placement import allocate_blocks
    assert allocate_blocks(["a", "b", "c"], {}, 4) == {"a": 0, "b": 1, "c": 2}
    # b keeps 1 and c keeps 3; a is gone; d takes the lowest free block, 0.
    assert allocate_blocks(["b", "c", "d"], {"a": 0, "b": 1, "c": 3}, 4) == {"b": 1, "c": 3, "d": 0}


def test_damaged_block_records_are_repaired_not_trusted():
    from compiler.placement import allocate_blocks
    # a duplicate (the later id, by name, moves), an index past capacity, a negative one, a non-integer
    previous = {"a": 1, "b": 1, "c": 9, "d": -1, "e": "2"}
    assert allocate_blocks(["a", "b", "c", "d", "e"], previous, 5) == {"a": 1, "b": 0, "c": 2, "d": 3, "e": 4}
    # b comes first, so a block not kept for `a` would go to b.
    assert allocate_blocks(["b", "a"], {"a": 0}, 2) == {"a": 0, "b": 1}          # 0 is a valid block
    assert allocate_blocks(["b", "a"], {"a": 1}, 2) == {"a": 1, "b": 0}          # capacity - 1 is too
    assert allocate_blocks(["b", "a"], {"a": 2}, 3) == {"a": 2, "b": 0}
    assert allocate_blocks(["b", "a"], {"a": 2}, 2) == {"a": 1, "b": 0}          # capacity itself is not


def test_no_free_block_is_an_error_naming_the_id():
    from compiler.placement import allocate_blocks
    with pytest.raises(ValueError, match=r"^no free block left for c \(capacity 2\)$"):
        allocate_blocks(["a", "b", "c"], {}, 2)
