"""What the stat manifest (compiler/write.py) saves: write_tree and diff_tree
(`compile --check`) on an already compiled repository, with and without the
manifest, CPU seconds (process time) and wall, min of --repeat runs.

usage: python3 bench/write_manifest.py [--repeat 5] ROOT

ROOT is a repository whose generated/ is compiled (e.g. a bench/fleet.py fleet
after `clawtex compile`). The tree compiled is the tree on disk (read_tree), so
this measures finding "nothing changed" — the part of a one-change compile's
write that is proportional to the tree, not to the change. The page cache is
warm (the files were just read); a cold cache makes the reads cost more.
Prints numbers; asserts nothing."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from compiler.write import GENERATED, diff_tree, read_tree, write_tree


def timed(fn) -> tuple[float, float]:
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("root", type=Path)
    args = ap.parse_args()
    root = args.root.resolve()
    files = read_tree(root / GENERATED)
    time.sleep(0.05)
    write_tree(root, files)          # records the manifest (entries past the clock's tick)
    runs = {
        "write_tree, no manifest": lambda: write_tree(root, files, use_manifest=False),
        "write_tree, manifest": lambda: write_tree(root, files),
        "diff_tree (--check), no manifest": lambda: diff_tree(root / GENERATED, files, use_manifest=False),
        "diff_tree (--check), manifest": lambda: diff_tree(root / GENERATED, files),
    }
    print(f"{len(files):,} files, {sum(map(len, files.values())) / 1e6:.1f} MB\n")
    print("| run | CPU s (min) | wall s (min) |\n|---|---:|---:|")
    for name, fn in runs.items():
        results = [timed(fn) for _ in range(args.repeat)]
        print(f"| {name} | {min(r[0] for r in results):.3f} | {min(r[1] for r in results):.3f} |")


if __name__ == "__main__":
    main()
