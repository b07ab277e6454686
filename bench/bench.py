"""Benchmark: validate, full compile, and recompile after one change, for N customers.

usage: python bench/bench.py [N ...]     (default: 100 1000)
Prints a Markdown table. Each phase runs in a fresh process (wall time includes
interpreter start; peak RSS is that process's). The full compile starts with an
empty cache; the recompile reuses what it cached. compile / floor compares
in-process seconds (imports included, interpreter start excluded). Nothing here asserts a time:
benchmarks print numbers."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fleet import make_repo  # noqa: E402


def phase(name: str, root: Path) -> dict:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, str(HERE / "phase.py"), name, str(root)], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"{name} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = round(wall, 2)
    return result


def change_one_customer(root: Path) -> None:
    path = next(p for p in sorted((root / "customers").glob("*-silver.yaml")))
    text = path.read_text()
    path.write_text(text.replace("displayName: ", "displayName: Renamed ", 1))


def run(n: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"clawtex-bench-{n}-") as tmp:
        root = make_repo(Path(tmp) / "repo", n)
        results = {"n": n, "validate": phase("validate", root), "compile": phase("compile", root)}
        results["files"] = sum(1 for p in (root / "generated").rglob("*") if p.is_file())
        results["floor"] = phase("floor", root)
        change_one_customer(root)
        results["recompile"] = phase("compile", root)
        return results


def main(ns: list[int]) -> None:
    print("| customers | files | validate s (RSS MB) | full compile s (RSS MB) | recompile after 1 change s (RSS MB) "
          "| floor s | compile / floor |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in ns:
        r = run(n)
        ratio = r["compile"]["seconds"] / max(r["floor"]["seconds"], 1e-6)
        cells = [f"{r[p]['wall']} ({r[p]['peak_rss_mb']:.0f})" for p in ("validate", "compile", "recompile")]
        print(f"| {n:,} | {r['files']:,} | {' | '.join(cells)} | {r['floor']['wall']} | {ratio:.1f}x |", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000])
