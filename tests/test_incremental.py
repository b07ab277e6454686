"""A compile that reuses the cache writes exactly what a cold one writes, over
random sequences of one-customer edits (compiler/incremental.py), and a
compile whose edit reaches no Terraform stack never starts jsii/CDKTF."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from compiler.diagnostics import CompileError
from compiler.pipeline import compile_repo
from compiler.previous import read_previous
from compiler.write import diff_tree, read_tree, write_tree
from conftest import REPO, copy_repo, run_clawtex

CUSTOMERS = sorted(p.stem for p in (REPO / "customers").glob("*.yaml"))


def _edit(root: Path, kind: str, cid: str, n: int) -> None:
    """One change to one customer file (or a new one), as an operator or Stripe would make it."""
    path = root / "customers" / f"{cid}.yaml"
    if kind == "add":
        template = (REPO / "customers" / "pixel-bakery.yaml").read_text()
        new = f"added-{n}"
        text = template.replace("pixel-bakery", new).replace("PIXEL_BAKERY", f"ADDED_{n}")
        text = re.sub(r"(cus_)[A-Za-z0-9]+", rf"\g<1>Added{n:06d}", text)
        text = re.sub(r"(sub_)[A-Za-z0-9]+", rf"\g<1>Added{n:06d}", text)
        (root / "customers" / f"{new}.yaml").write_text(text)
        return
    if kind == "copy":                 # a copied file keeps the original's secret ids: refused, naming the
        if path.exists():              # original's line (its verdict cached: load.SourceDocument re-reads it)
            text = re.sub(r"(cus_|sub_)[A-Za-z0-9]+", rf"\g<1>Copy{n:06d}", path.read_text().replace(cid, f"copy-{n}"))
            (root / "customers" / f"copy-{n}.yaml").write_text(text)
        return
    if not path.exists():
        return
    text = path.read_text()
    if kind == "comment":
        text += f"# reviewed {n}\n"
    elif kind == "display":            # the stack's description: patched into the reused stack
        name = f"Customer {n}" if n % 2 else f"Ünïcødé ${{{n}}} & \\\"Co\\\""      # escaped for YAML, JSON, Terraform
        text = re.sub(r"displayName: .*", lambda _: f'displayName: "{name}"', text, count=1)
    elif kind == "contact":            # a field no stack reads
        text = text.replace("email: ", f"email: x{n}", 1)
    elif kind == "skill":              # gateway config only
        text = re.sub(r"ref: \S+?}", f"ref: v{n}}}", text, count=1)
    elif kind == "suspend":            # compute goes, data stays; toggles
        if "  status: suspended\n" in text:
            text = text.replace("  status: suspended\n", "")
        elif "  status:" not in text:
            text = text.replace("  billing:", "  status: suspended\n  billing:", 1)
    elif kind == "decommission":       # step one of removing a customer
        if "  status:" not in text:
            text = text.replace("  billing:", "  status: decommissioned\n  decommission: "
                                "{approvedBy: Test Operator, date: \"2026-12-01\"}\n  billing:", 1)
    elif kind == "delete":             # step two, once the decommission was compiled
        if "status: decommissioned" in text:
            path.unlink()
        return
    path.write_text(text)


def _compile(root: Path, use_cache: bool):
    try:
        return compile_repo(root, use_cache=use_cache)
    except CompileError as exc:
        return [str(d) for d in exc.diagnostics]


edits = st.lists(st.tuples(
    st.sampled_from(["comment", "display", "contact", "skill", "suspend", "add", "decommission", "delete", "copy"]),
    st.sampled_from(CUSTOMERS), st.integers(min_value=1, max_value=99)), min_size=1, max_size=4)
# After some steps a file of generated/ is damaged behind the compiler's back (the stat
# manifest, compiler/write.py, must not hide it): edited with its size and mtime put back,
# deleted, or the manifest itself put back to an older one (stale).
damages = st.lists(st.tuples(st.sampled_from(["none", "edit", "delete", "stale-manifest"]),
                             st.integers(min_value=0, max_value=10**6)), min_size=4, max_size=4)


def _damage(root: Path, kind: str, pick: int, old_manifest: bytes | None) -> str | None:
    from compiler.write import MANIFEST
    names = sorted(read_tree(root / "generated"))
    rel = names[pick % len(names)]
    path = root / "generated" / rel
    if kind == "edit":
        before = path.stat()
        data = path.read_bytes()
        path.write_bytes(bytes([data[0] ^ 1]) + data[1:])          # same size
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        return rel
    if kind == "delete":
        path.unlink()
        return rel
    if kind == "stale-manifest" and old_manifest is not None:
        (root / MANIFEST).write_bytes(old_manifest)
    return None


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=edits, damage=damages)
def test_cached_compile_is_identical_to_a_cold_one_after_random_edits(tmp_path_factory, steps, damage):
    from compiler.write import MANIFEST
    root = copy_repo(tmp_path_factory.mktemp("fleet") / "repo")
    assert compile_repo(root) == read_tree(root / "generated")      # warms the cache; the committed tree
    write_tree(root, read_tree(root / "generated"))                   # records the stat manifest
    old_manifest = (root / MANIFEST).read_bytes()
    for (kind, cid, n), (harm, pick) in zip(steps, damage):
        _edit(root, kind, cid, n)
        cold = _compile(root, use_cache=False)
        cached = _compile(root, use_cache=True)
        assert cached == cold, f"after {kind} {cid} {n}"
        if kind == "copy":
            (root / "customers" / f"copy-{n}.yaml").unlink(missing_ok=True)     # the next step starts valid
        if isinstance(cold, dict):
            write_tree(root, cold)      # the next edit starts from what was compiled (placement, guard)
            # The journaled write (only changed files move) leaves exactly the cold tree, nothing else.
            assert read_tree(root / "generated") == cold, f"written tree after {kind} {cid} {n}"
            assert sorted(p.name for p in root.iterdir() if p.name.startswith(".generated")) \
                == [], "no journal, staging or lock left behind"
            assert diff_tree(root / "generated", cold).clean, "compile --check with the manifest"
            # What the next compile reads back (placement, fleet index, stacks): the cached read
            # (the inventory's seats stored by the compile that wrote it) equals a fresh parse.
            assert read_previous(root, use_cache=True) == read_previous(root), f"previous after {kind} {cid} {n}"
            time.sleep(0.02)            # past the filesystem clock's tick: the manifest's entries are trusted
            manifest = (root / MANIFEST).read_bytes()
            hurt = _damage(root, harm, pick, old_manifest)
            old_manifest = manifest
            if hurt is not None:
                diff = diff_tree(root / "generated", cold)
                assert hurt in diff.stale + diff.missing, f"{harm} of {hurt} must be seen by --check"
                write_tree(root, cold)
                assert read_tree(root / "generated") == cold, f"{harm} of {hurt} repaired by the write"
                assert read_previous(root, use_cache=True) == read_previous(root), f"previous after {harm}"


PROBE = """
import json, sys
from pathlib import Path
from compiler.pipeline import compile_repo
from compiler.previous import read_previous
from compiler.write import write_tree
write_tree(Path(sys.argv[1]), compile_repo(Path(sys.argv[1])))
print(json.dumps({m: m in sys.modules for m in ("cdktf", "jsii", "constructs")}))
"""


def _compile_and_probe(root: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_an_edit_that_reaches_no_stack_starts_no_jsii(repo):
    assert run_clawtex(repo, "compile").returncode == 0          # warm cache
    before = read_tree(repo / "generated")
    _edit(repo, "skill", "brightpath-tutors", 7)                 # its host's skills change, its stack does not
    _edit(repo, "contact", "mapleleaf-dental", 3)
    _edit(repo, "comment", "orbital-health", 1)
    assert _compile_and_probe(repo) == {"cdktf": False, "jsii": False, "constructs": False}
    after = read_tree(repo / "generated")
    changed = sorted(p for p in after if after[p] != before.get(p))
    assert "ansible/inventory/host_vars/brightpath-tutors-oc-1.yml" in changed
    assert not [p for p in changed if p.startswith("terraform/")]
    assert run_clawtex(repo, "compile", "--check", "--no-cache").returncode == 0, "the cached compile equals a cold one"
    # A rename reaches only the stack's description, set in the reused stack: no jsii either.
    _edit(repo, "display", "brightpath-tutors", 8)
    _edit(repo, "display", "mapleleaf-dental", 9)
    assert _compile_and_probe(repo)["cdktf"] is False
    after = read_tree(repo / "generated")
    assert "Customer 9" in json.loads(after["terraform/mapleleaf-dental/cdk.tf.json"])["//"]["clawtex"]["description"]
    assert run_clawtex(repo, "compile", "--check", "--no-cache").returncode == 0, "the patched stack equals a synthesized one"
    # The probe sees jsii when a stack does change (a suspended customer's compute goes).
    _edit(repo, "suspend", "mapleleaf-dental", 1)
    assert _compile_and_probe(repo)["cdktf"] is True


def test_a_bronze_tenant_added_or_removed_starts_no_jsii(repo):
    """A shared host's resources are built without its tenants (incremental.body_view): a
    tenant added or deleted changes only the stack's "//" block, set on the reused stack."""
    assert run_clawtex(repo, "compile").returncode == 0          # warm cache
    before = read_tree(repo / "generated")
    _edit(repo, "add", "pixel-bakery", 41)
    assert _compile_and_probe(repo)["cdktf"] is False
    after = read_tree(repo / "generated")
    changed = [p for p in after if p.startswith("terraform/") and after[p] != before.get(p)]
    assert len(changed) == 1, changed                            # the host it was placed on
    assert "added-41" in json.loads(after[changed[0]])["//"]["clawtex"]["customers"]
    assert run_clawtex(repo, "compile", "--check", "--no-cache").returncode == 0, "the patched stack equals a synthesized one"
    _edit(repo, "decommission", "added-41", 1)
    assert _compile_and_probe(repo)["cdktf"] is False
    _edit(repo, "delete", "added-41", 1)
    assert _compile_and_probe(repo)["cdktf"] is False
    final = read_tree(repo / "generated")
    assert "added-41" not in json.loads(final[changed[0]])["//"]["clawtex"]["customers"]
    assert run_clawtex(repo, "compile", "--check", "--no-cache").returncode == 0, "the cached compile equals a cold one"


def test_the_inventory_seats_a_compile_stores_are_those_of_the_bytes_it_wrote(tmp_path):
    """previous.remember_inventory: the seats taken from the data hosts.yml is dumped from
    are the seats a parse of the file finds; a hand edit of the file is parsed, not looked up."""
    from compiler import previous
    from compiler.cache import Cache
    root = copy_repo(tmp_path / "repo")
    files = compile_repo(root)
    write_tree(root, files)
    data = files[previous.INVENTORY_FILE]
    parsed = previous.inventory_seats(previous._parse_inventory(data))
    assert len(parsed) >= len(CUSTOMERS) - 1          # an independent count: nearly every customer has a seat
    cache = Cache(root, "inventory")
    stored = cache.get(cache.key(hashlib.sha256(data).digest()))
    assert stored == parsed
    path = root / "generated" / previous.INVENTORY_FILE
    path.write_bytes(data.replace(b"clawtex_customer: pixel-bakery", b"clawtex_customer: someone-else")
                     .replace(b"customer: pixel-bakery", b"customer: someone-else"))
    stacks = previous.read_previous(root, use_cache=True).fleet.stacks
    assert "someone-else" in stacks and stacks == previous.read_previous(root).fleet.stacks


def test_the_holiday_dates_are_reused_only_for_the_same_calendar_and_library(monkeypatch):
    """targets/alertmanager.holiday_dates: a Memo hit needs the same calendar fields and the
    same installed holidays distribution; its dates are the library's own."""
    import datetime
    from compiler.incremental import Memo, memoizing
    from compiler.models import HolidayCalendar
    from compiler.targets import alertmanager
    calendar = HolidayCalendar.model_validate({"country": "DE", "firstYear": 2026, "lastYear": 2028})
    memo = Memo()
    with memoizing(memo):
        first = alertmanager.holiday_dates(calendar)
    assert datetime.date(2026, 12, 25) in first and datetime.date(2027, 10, 3) in first   # Christmas, German Unity Day
    again = Memo(memo.entries)
    with memoizing(again):
        assert alertmanager.holiday_dates(calendar) == first
    assert (again.hits, again.misses) == (1, 0)
    monkeypatch.setattr(alertmanager, "_holidays_dist", lambda: "holidays-9.99.dist-info")
    upgraded = Memo(memo.entries)
    with memoizing(upgraded):
        assert alertmanager.holiday_dates(calendar) == first
    assert (upgraded.hits, upgraded.misses) == (0, 1), "another library version computes the dates again"


def test_files_below_lists_what_pathlib_glob_lists(tmp_path):
    """previous.files_below (one scandir per directory) names the files the fleet index used
    to find with sorted(d.glob("*/**/*")) + is_file(), symlinks and ordering included."""
    from compiler.previous import files_below
    d = tmp_path / "d"
    for rel in ("a/f", "a/b/g", "a/b/c/h", "a-b/x/y", "e/.hidden"):
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text("x")
    (d / "top").write_text("depth one: not a customer's file")
    (d / "empty").mkdir()
    (d / "sym").symlink_to(d / "a" / "b")            # a symlinked first-level directory is listed
    (d / "a" / "deep").symlink_to(d / "a" / "b")     # a deeper one is not
    (d / "e" / "link").symlink_to(d / "a" / "f")     # a symlink to a file is a file
    expected = [p.relative_to(d).as_posix() for p in sorted(d.glob("*/**/*")) if p.is_file()]
    assert "a-b/x/y" in expected and "sym/g" in expected
    assert files_below(d) == expected
    assert files_below(tmp_path / "missing") == []


def test_committed_stacks_are_parsed_only_when_read_and_only_from_the_bytes_read_previous_saw(tmp_path):
    """previous.CommittedStacks: the cached state holds no stack's resources; a stack read
    through it equals a fresh parse, and one rewritten after read_previous stops the compile."""
    import pickle
    from compiler.cache import CACHE_DIR
    from compiler.previous import CommittedStacks
    root = copy_repo(tmp_path / "repo")
    write_tree(root, compile_repo(root))
    fresh = read_previous(root)                     # no cache: every stack parsed
    read_previous(root, use_cache=True)             # stores the state
    cached = read_previous(root, use_cache=True)    # the stored state
    assert isinstance(cached.terraform, CommittedStacks) and len(fresh.terraform) > 3
    stored = [pickle.loads(p.read_bytes()) for p in (root / CACHE_DIR / "previous").glob("*.pickle")]
    assert [dict(state.terraform) for _, state in stored] == [{}], "the stored state carries no resources"
    name, other = sorted(fresh.terraform)[:2]
    assert cached.terraform[name] == fresh.terraform[name] and cached.terraform[name]
    assert "parsed" in repr(cached.terraform) and set(cached.terraform) == set(fresh.terraform)
    path = root / "generated" / "terraform" / other / "cdk.tf.json"
    path.write_bytes(path.read_bytes().replace(b"{", b"{ ", 1))        # another writer, mid-compile
    with pytest.raises(RuntimeError, match=f"terraform/{other}/cdk.tf.json changed while this compile ran"):
        cached.terraform[other]


def test_a_cached_verdict_keeps_no_document_and_its_diagnostics_point_where_a_cold_one_does(tmp_path):
    """load.SourceDocument: the verdict pack stores the model and the file's name; a rule
    across customers that names a cached file's line (a copied file's secret ids) re-reads
    the positions and reports exactly what a compile without the cache reports."""
    from compiler.load import SourceDocument
    from compiler.validate import validate_repo
    root = copy_repo(tmp_path / "repo")
    validate_repo(root)                                     # every verdict cached
    inputs = validate_repo(root)
    assert all(type(lc.doc) is SourceDocument and lc.doc.data is None for lc in inputs.customers)
    _edit(root, "copy", "mapleleaf-dental", 7)              # "copy-7" sorts first: the error is the original's
    cold, cached = _compile(root, use_cache=False), _compile(root, use_cache=True)
    assert isinstance(cold, list) and any("customers/mapleleaf-dental.yaml:" in d for d in cold)
    assert cached == cold
