"""Benchmark: `clawtex changed --json` after a tier change on a synthetic fleet.

Compiles what `changed` reads (placement, terraform, ansible) for N customers,
raises every tier's backup retention, recompiles, and prints the stacks touched,
the jobs of the matrix (GitHub's limit: 256), the size of the matrix that goes
into the job output (limit: 1 MB) and of the whole change set (an artifact).

    python3 bench/changed_scale.py 1000 10000
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fleet import make_repo  # noqa: E402
from compiler.gitops.changed import detect, to_json  # noqa: E402
from compiler.pipeline import compile_repo  # noqa: E402

TARGETS = ["placement", "terraform", "ansible"]


def files(root: Path) -> dict[str, bytes]:
    out = {f"generated/{k}": v for k, v in compile_repo(root, only=TARGETS).items()}
    for path in [*(root / "customers").glob("*.yaml"), *(p for p in (root / "modules").rglob("*") if p.is_file())]:
        out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def run(n: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        root = make_repo(Path(tmp) / "repo", n)
        start = time.perf_counter()
        base = files(root)
        for tier in (root / "tiers").glob("*.yaml"):
            tier.write_text(tier.read_text().replace("retentionDays: ", "retentionDays: 1"))
        head = files(root)
        compiled = time.perf_counter() - start
        start = time.perf_counter()
        text = to_json(detect(base, head))
        took = time.perf_counter() - start
    data = json.loads(text)
    matrix = len(json.dumps(data["matrix"], separators=(",", ":")).encode())
    return (f"| {n:,} | {len(data['stacks']):,} | {len(data['matrix']['include'])} | {matrix:,} | {len(text.encode()):,} "
            f"| {compiled:.1f} | {took:.1f} |")


def main(ns: list[int]) -> None:
    print("| customers | stacks changed | jobs | matrix bytes | change set bytes | two compiles s | changed s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in ns:
        print(run(n), flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000])
