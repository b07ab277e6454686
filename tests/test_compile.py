"""compile: up to date on main, deterministic, atomic, and outputs follow customers."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from conftest import REPO, run_clawtex
from artifact_checks import strings
from compiler.write import read_tree


def test_committed_generated_is_up_to_date():
    result = run_clawtex(REPO, "compile", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_lists_stale_missing_and_extra(repo):
    gen = repo / "generated"
    (gen / "placement.json").write_text("{}\n")
    (gen / "stray.txt").write_text("x")
    shutil.rmtree(gen / "wazuh")
    before = read_tree(gen)
    result = run_clawtex(repo, "compile", "--check")
    assert result.returncode == 1
    assert "stale: generated/placement.json" in result.stdout
    assert "extra: generated/stray.txt" in result.stdout
    assert "missing: generated/wazuh/groups/acme-logistics/agent.conf" in result.stdout
    assert read_tree(gen) == before, "--check must write nothing"


def test_check_sees_a_hand_edit_the_stat_manifest_recorded(repo):
    """After a compile, --check trusts the stat manifest (compiler/write.py) for unchanged
    files: a hand edit that keeps the size and puts the mtime back is still reported."""
    import pickle
    import time
    from compiler.write import MANIFEST
    assert run_clawtex(repo, "compile").returncode == 0
    time.sleep(0.05)
    assert run_clawtex(repo, "compile").returncode == 0       # records every file, none racy now
    rel = "prometheus/rules/slo.yml"
    assert rel in pickle.loads((repo / MANIFEST).read_bytes())["files"], "the manifest covers the file"
    assert run_clawtex(repo, "compile", "--check").returncode == 0
    path = repo / "generated" / rel
    before, data = path.stat(), path.read_bytes()
    path.write_bytes(data.replace(b"for: ", b"for:\t", 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    result = run_clawtex(repo, "compile", "--check")
    assert result.returncode == 1 and f"stale: generated/{rel}" in result.stdout, result.stdout


def test_second_compile_is_byte_identical_across_hash_seeds(repo):
    env = dict(os.environ, PYTHONHASHSEED="1")
    assert run_clawtex(repo, "compile", env=env).returncode == 0
    first = read_tree(repo / "generated")
    env["PYTHONHASHSEED"] = "4242"
    assert run_clawtex(repo, "compile", env=env).returncode == 0
    assert read_tree(repo / "generated") == first
    assert first == read_tree(REPO / "generated")


def test_deleted_customer_outputs_disappear(repo):
    # The decommission guard (compiler/guard.py) wants an approved decommission first.
    path = repo / "customers" / "brightpath-tutors.yaml"
    path.write_text(path.read_text().replace("\nspec:\n", "\nspec:\n  status: decommissioned\n"
                                             "  decommission: {approvedBy: Ops Lead, date: \"2026-11-01\"}\n"))
    assert run_clawtex(repo, "compile").returncode == 0
    path.unlink()
    assert run_clawtex(repo, "compile").returncode == 0
    tree = read_tree(repo / "generated")
    assert not [p for p in tree if "brightpath-tutors" in p]
    assert b"brightpath-tutors" not in b"".join(tree.values())


def test_failed_compile_leaves_previous_tree_whole(repo):
    before = read_tree(repo / "generated")
    (repo / "customers" / "pixel-bakery.yaml").write_text("apiVersion: clawtex/v1\nkind: Customer\n")
    result = run_clawtex(repo, "compile")
    assert result.returncode == 1
    assert "customers/pixel-bakery.yaml" in result.stderr
    assert read_tree(repo / "generated") == before
    assert not list(repo.glob(".generated*")), "no temporary tree left behind"


def test_terraform_json_has_no_machine_paths_or_timestamps(generated):
    for path in sorted((generated / "terraform").rglob("cdk.tf.json")):
        text = path.read_text()
        assert "/tmp" not in text and "/work" not in text and "/root" not in text, path
        assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text), path
        backend = json.loads(text)["terraform"]["backend"]
        assert list(backend) == ["s3"], f"{path}: explicit remote backend expected"
        assert backend["s3"]["use_lockfile"] is True


def test_terraform_interpolation_in_display_name_stays_literal(repo):
    path = repo / "customers" / "brightpath-tutors.yaml"
    path.write_text(path.read_text().replace("displayName: BrightPath Tutors", "displayName: 'Evil ${file(\"/etc/passwd\")} %{ if true }x%{ endif }'"))
    assert run_clawtex(repo, "compile").returncode == 0
    text = (repo / "generated" / "terraform" / "brightpath-tutors" / "cdk.tf.json").read_text()
    data = json.loads(text)

    hits = [s for s in strings(data) if "passwd" in s]
    assert hits, "display name should reach the stack description"
    for s in hits:
        # Every ${ / %{ that came from the customer is doubled, so Terraform sees literal text.
        assert re.sub(r"\$\$\{|%%\{", "", s).count("${") == 0 and "%{" not in re.sub(r"%%\{", "", s), s
