"""The incremental cache never changes what a compile produces."""
from __future__ import annotations

import json

from compiler.cache import CACHE_DIR
from compiler.write import read_tree
from conftest import run_clawtex


def entries(repo):
    return sorted((repo / CACHE_DIR).rglob("*.pickle"))


def stack_entries(repo) -> dict:
    """The Terraform units' pack (compiler/cache.Pack: its base file and its delta file, read
    as a compile reads them): {key: {path: bytes}}."""
    from compiler.cache import Cache, Pack
    value = Pack(Cache(repo, "render"), "terraform")._load()
    assert all(isinstance(u, dict) and all(str(k).startswith("terraform/") for k in u) for u in value.values())
    return value


def test_cached_recompile_is_identical_and_reuses_entries(repo):
    assert run_clawtex(repo, "compile").returncode == 0
    first = read_tree(repo / "generated")
    cached = entries(repo)
    assert len(cached) >= 3 and len(stack_entries(repo)) >= 9
    stamps = {p: p.stat().st_mtime_ns for p in cached}
    assert run_clawtex(repo, "compile").returncode == 0
    assert read_tree(repo / "generated") == first
    assert {p: p.stat().st_mtime_ns for p in entries(repo)} == stamps, "a hit must not rewrite entries"


def test_a_hit_serves_the_stored_entry(repo):
    """Proof the second compile reads the cache: an entry swapped for another
    valid pickle changes what the compile writes (a miss would recompute it)."""
    import pickle
    assert run_clawtex(repo, "compile").returncode == 0
    render = sorted((repo / CACHE_DIR / "render").glob("*.pickle"))
    assert render, "the first compile stored rendered stacks"
    planted = 0
    for entry in render:     # the stacks' pack: {key: {path: bytes}}
        value = pickle.loads(entry.read_bytes())
        units = value.values() if isinstance(value, dict) else ()
        if units and all(isinstance(u, dict) and all(isinstance(k, str) and k.startswith("terraform/")
                                                     for k in u) for u in units):
            entry.write_bytes(pickle.dumps({key: {k: b"{\"planted\": true}\n" for k in u} for key, u in value.items()}))
            planted += len(value)
    assert planted, "render entries hold {path: bytes}"
    # The planted stacks hold no resources: served from the cache, they read as every stateful
    # resource destroyed, which the stateful guard refuses (a miss would recompute: exit 0).
    second = run_clawtex(repo, "compile")
    assert second.returncode == 1 and "volume" in second.stderr, second.stderr[-2000:]
    assert (repo / "generated" / "terraform").is_dir()       # the refused compile left the tree intact
    assert b'{"planted": true}\n' not in read_tree(repo / "generated").values()


def test_tier_change_invalidates_cached_verdicts(repo):
    assert run_clawtex(repo, "validate").returncode == 0
    bronze = repo / "tiers" / "bronze.yaml"
    bronze.write_text(bronze.read_text().replace("maxMonthly: 99", "maxMonthly: 60"))
    result = run_clawtex(repo, "validate")
    assert result.returncode == 1
    assert "customers/tiny-legal.yaml" in result.stderr and "got 99" in result.stderr


def test_damaged_entries_are_misses_not_errors(repo):
    assert run_clawtex(repo, "compile").returncode == 0
    expected = read_tree(repo / "generated")
    for entry in entries(repo):
        entry.write_bytes(b"not a pickle")
    assert run_clawtex(repo, "compile").returncode == 0
    assert read_tree(repo / "generated") == expected


def test_cached_errors_are_still_reported(repo):
    path = repo / "customers" / "pixel-bakery.yaml"
    path.write_text(path.read_text().replace("monthlyPrice: 49", "monthlyPrice: 5"))
    first = run_clawtex(repo, "validate")
    second = run_clawtex(repo, "validate")
    assert first.returncode == second.returncode == 1
    assert first.stderr == second.stderr and "got 5" in second.stderr


def test_no_cache_flag_compiles_without_touching_the_cache(repo):
    assert run_clawtex(repo, "compile", "--no-cache").returncode == 0
    assert not entries(repo)


def test_one_changed_customer_resynthesizes_only_its_stack(repo, tmp_path):
    assert run_clawtex(repo, "compile").returncode == 0
    before = stack_entries(repo)
    path = repo / "customers" / "brightpath-tutors.yaml"
    # A rename reaches only the stack's description: same keys, one entry's bytes set anew, no synthesis.
    path.write_text(path.read_text().replace("displayName: BrightPath Tutors", "displayName: BrightPath Learning"))
    assert run_clawtex(repo, "compile").returncode == 0
    renamed = stack_entries(repo)
    assert set(renamed) == set(before), "a rename synthesizes no stack"
    stack = json.loads((repo / "generated" / "terraform" / "brightpath-tutors" / "cdk.tf.json").read_text())
    assert stack["//"]["clawtex"]["description"] == "clawtex stack brightpath-tutors for BrightPath Learning"
    # A change the stack reads (compute goes while suspended): exactly one stack synthesized again.
    path.write_text(path.read_text().replace("  billing:", "  status: suspended\n  billing:", 1))
    assert run_clawtex(repo, "compile").returncode == 0
    after = stack_entries(repo)
    # (the replaced stack's old entry may stay in the pack's base until it is compacted: compiler/cache.Pack)
    assert len(set(after) - set(renamed)) == 1 and len(after) <= len(renamed) + 1, "exactly one stack synthesized again"
    assert {k: v for k, v in after.items() if k in renamed} == {k: v for k, v in renamed.items() if k in after}
    cached = read_tree(repo / "generated")
    assert run_clawtex(repo, "compile", "--no-cache").returncode == 0
    assert read_tree(repo / "generated") == cached


def test_config_is_reused_only_while_it_loads_clean(repo):
    """clawtex.yaml and tiers/ are reused by content hash (validate.cached_repo_config):
    a broken tier is reported on every compile (a failed load is never stored), and the
    fixed file is read again."""
    assert run_clawtex(repo, "compile").returncode == 0
    assert list((repo / CACHE_DIR / "config").glob("*.pickle")), "a clean config load is stored"
    path = repo / "tiers" / "bronze.yaml"
    good = path.read_text()
    path.write_text(good.replace("  rank: 1\n", "  rank: first\n", 1))
    for _ in range(2):
        result = run_clawtex(repo, "compile")
        assert result.returncode == 1 and "tiers/bronze.yaml" in result.stderr, result.stderr[-2000:]
    path.write_text(good)
    assert run_clawtex(repo, "compile", "--check").returncode == 0


def test_a_pack_saves_a_small_change_as_a_delta_and_compacts_a_large_one(tmp_path):
    """compiler/cache.Pack: one changed entry rewrites only the delta file; the base is
    rewritten (and the delta dropped) once the changes or the unused entries outgrow the
    bound; every read sees base + delta; a damaged delta is a miss for its entries only."""
    from compiler.cache import Cache, Pack
    cache = Cache(tmp_path, "t")

    def pack() -> Pack:
        return Pack(cache, "p")

    def files() -> dict:
        return {p.name: p.stat().st_mtime_ns for p in cache.directory.glob("*.pickle")}

    first = pack()
    for i in range(100):
        first.put(f"k{i}", i)
    first.save()
    (base,) = files()
    second = pack()
    for i in range(99):
        assert second.get(f"k{i}") == i
    second.put("new", "value")          # k99 unused, one new entry: a delta
    second.save()
    after = files()
    assert len(after) == 2 and after[base] == files()[base]
    third = pack()
    assert third.get("new") == "value" and third.get("k99") == 99 and third.get("k5") == 5
    assert Pack.DELTA_MIN < 90
    for i in range(90):                 # most entries replaced: compaction
        third.put(f"m{i}", i)
    third.save()
    assert list(files()) == [base] and pack().get("m89") == 89 and pack().get("new") == "value"
    assert pack().get("k6") is None, "an entry the compacting run did not use is dropped"
    fourth = pack()
    for key in ("new", "k99", "k5", *(f"m{i}" for i in range(90))):
        assert fourth.get(key) is not None
    fourth.put("x", 1)
    fourth.save()
    (delta,) = set(files()) - {base}
    (cache.directory / delta).write_bytes(b"garbage")
    fifth = pack()
    assert fifth.get("x") is None and fifth.get("m1") == 1
