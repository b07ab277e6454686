"""Shared-host placement: capacity from tier data, sticky, deterministic."""
from __future__ import annotations

import json

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
