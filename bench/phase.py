"""Run one benchmark phase in this process and print {"seconds", "peak_rss_mb"} as JSON.

usage: python bench/phase.py {validate|compile|floor} ROOT"""
from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def validate(root: Path) -> None:
    from compiler.pipeline import load_inputs
    load_inputs(root, use_cache=False)  # cold: leave the cache for the compile phases


def compile_(root: Path) -> None:
    from compiler.pipeline import compile_repo
    from compiler.write import write_tree
    write_tree(root, compile_repo(root))


def floor(root: Path) -> None:
    """What any compile must do at least: parse every customer file, write every output byte."""
    from ruamel.yaml import YAML
    yaml = YAML(typ="rt")
    for path in sorted((root / "customers").glob("*.yaml")):
        yaml.load(path.read_text())
    from compiler.write import read_tree
    files = read_tree(root / "generated")
    with tempfile.TemporaryDirectory(dir=root) as out:
        for rel, content in files.items():
            target = Path(out) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)


PHASES = {"validate": validate, "compile": compile_, "floor": floor}

if __name__ == "__main__":
    phase, root = sys.argv[1], Path(sys.argv[2])
    started = time.perf_counter()
    PHASES[phase](root)
    seconds = time.perf_counter() - started
    # Largest of this process and any synthesis worker it spawned (RSS is per process, not summed).
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    print(json.dumps({"seconds": round(seconds, 3), "peak_rss_mb": round(peak, 1)}))
