"""Where a compile's time goes, per phase, for a full compile and for one change.

usage: python3 bench/profile.py [--repeat 3] [--code DIR ...] [--scenarios a,b] N [N ...]

For each N a synthetic fleet (bench/fleet.py) is compiled cold (no cache, no
generated/), then each one-change scenario is applied and compiled again with
the cache the previous compile left. Every compile runs in a fresh interpreter
(`--child`), so imports and the jsii runtime's start are counted. With several
`--code` checkouts (e.g. an export of the old commit and this worktree), each
gets its own copy of the fleet and the runs alternate (A B A B ...), so a
before/after comparison shares one run window on a busy machine.

Phases (seconds, exclusive):
  import    importing compiler.pipeline (interpreter start is not counted)
  load      reading and parsing YAML (load_document) + the committed tree (read_previous)
  validate  validate_repo minus its YAML parsing: schema, tier rules, cache lookups
  plan      build_plan + the decommission guard
  <target>  rendering one target (targets/__init__.py order); terraform includes
            starting jsii/CDKTF when a stack must be synthesized
  guard     the stateful guard after rendering (before 2026-12-03 it was counted
            in the last target, openvas or terraform)
  write     write_tree (staging, links, the atomic swap); in the check runs, diff_tree
  check-cold / check (--check): `compile --check` on the tree the last compile wrote,
            without .clawtex-cache/ (a fresh CI clone), then with the cache it left
  jsii      1 when CDKTF was imported in that compile, else 0
Each checkout's compiler/ is byte-compiled first, as an installed clawtex is
(`--no-bytecode`: not; this machine sets PYTHONDONTWRITEBYTECODE=1, so every
child then compiles the compiler's sources, as all runs before 2026-12-03 did).
The floor is what any compile must do: parse every customer file, write every
output byte (bench/phase.py floor). Prints Markdown tables: min and median of
`--repeat` runs. Nothing here asserts a time: benchmarks print numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SCENARIOS = ("comment", "edit", "rename", "add", "decommission", "delete")


# ----------------------------------------------------------------- child: one compile, timed by phase


def child(root: Path, mode: str) -> None:
    phases: dict[str, float] = {}
    # CLAWTEX_BENCH_CLOCK=cpu: phases in CPU seconds of this process (all its threads; not the
    # jsii node child), the steadier figure on a shared machine; default: wall seconds.
    clock = time.process_time if os.environ.get("CLAWTEX_BENCH_CLOCK") == "cpu" else time.perf_counter
    started = clock()

    def add(name: str, seconds: float) -> None:
        phases[name] = phases.get(name, 0.0) + seconds

    if mode == "floor":
        sys.path.insert(0, str(HERE))
        import phase
        phase.floor(root)
        phases["floor"] = clock() - started
        _emit(phases, started, clock)
        return
    import compiler.pipeline as pipeline
    import compiler.validate as validate
    from compiler import write
    add("import", clock() - started)

    def timed(module, attr: str, name: str, exclusive_of: str | None = None):
        original = getattr(module, attr, None)
        if original is None:             # an older checkout (--code) without this step
            return

        def wrapper(*args, **kwargs):
            before_inner = phases.get(exclusive_of, 0.0) if exclusive_of else 0.0
            t = clock()
            try:
                return original(*args, **kwargs)
            finally:
                inner = (phases.get(exclusive_of, 0.0) - before_inner) if exclusive_of else 0.0
                add(name, clock() - t - inner)
        setattr(module, attr, wrapper)

    timed(validate, "load_document", "load")
    timed(pipeline, "validate_repo", "validate", exclusive_of="load")
    timed(pipeline, "read_previous", "load")
    timed(pipeline, "build_plan", "plan")
    timed(pipeline, "check_decommissions", "plan")
    current: list = [None, 0.0]

    def on_target(name: str | None) -> None:
        now = clock()
        if current[0]:
            add(current[0], now - current[1])
        current[:] = [name, now]

    # The stateful guard runs after the last target: its own phase, not the last target's.
    guard = getattr(pipeline, "check_replacements", None)   # None: a checkout older than the guard

    def timed_guard(*args, **kwargs):
        on_target(None)
        t = clock()
        try:
            return guard(*args, **kwargs)
        finally:
            add("guard", clock() - t)
    if guard is not None:
        pipeline.check_replacements = timed_guard

    use_cache = mode != "nocache"
    files = pipeline.compile_repo(root, use_cache=use_cache, on_target=on_target)
    if current[0]:
        add(current[0], clock() - current[1])
    t = clock()
    if mode == "check":                  # `clawtex compile --check`: compare with generated/, write nothing
        diff = write.diff_tree(root / "generated", files)
        if not diff.clean:
            raise SystemExit(f"compile --check: generated/ differs ({len(diff.stale)} stale)")
    else:
        write.write_tree(root, files)
    add("write", clock() - t)
    phases["jsii"] = float("cdktf" in sys.modules)
    phases["files"] = float(len(files))
    _emit(phases, started, clock)


def _emit(phases: dict[str, float], started: float, clock=time.perf_counter) -> None:
    phases["total"] = clock() - started
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    phases["rss_mb"] = peak
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    phases["cpu"] = sum(u.ru_utime + u.ru_stime for u in usage)   # less noisy than wall time on a shared machine
    print(json.dumps({k: round(v, 3) for k, v in phases.items()}))


# ----------------------------------------------------------------- parent: fleets, scenarios, tables


def run_child(code: Path, root: Path, mode: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", mode, str(root)],
                         capture_output=True, text=True, env=env, cwd=root)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(f"{mode} in {root} with {code} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = round(wall, 3)
    return result


def silver(root: Path, k: int) -> Path:
    paths = sorted((root / "customers").glob("*-silver.yaml"))
    return paths[(k * 7) % len(paths)]


def bronze(root: Path, k: int) -> Path:
    paths = sorted((root / "customers").glob("*-bronze.yaml"))
    return paths[(k * 11) % len(paths)]


def apply(scenario: str, root: Path, k: int) -> None:
    """One change of the kind named, to a different customer on each repeat `k`."""
    from fleet import write_customer
    if scenario == "comment":          # touches no output at all
        path = silver(root, k)
        path.write_text(path.read_text() + f"# reviewed {k}\n")
    elif scenario == "edit":           # a Silver customer's skill ref: its gateway config, not its stack
        path = silver(root, k + 100)
        path.write_text(path.read_text().replace("ref: main", f"ref: v{k + 1}.0", 1))
    elif scenario == "rename":         # a Silver customer's display name: its stack's description too
        path = silver(root, k + 200)
        path.write_text(path.read_text().replace("displayName: ", "displayName: Renamed ", 1))
    elif scenario == "add":            # a new Bronze tenant: placement, a shared host's stack, fleet files
        count = len(list((root / "customers").glob("*.yaml")))
        write_customer(root, "pixel-bakery", f"c{90000 + k:05d}-bronze", count + 1 + k)
    elif scenario == "decommission":   # step one of removing a customer (compiler/guard.py)
        path = silver(root, k + 300)
        path.write_text(path.read_text().replace("  billing:", "  status: decommissioned\n  decommission: "
                                                 "{approvedBy: Bench Operator, date: \"2026-12-01\"}\n  billing:", 1))
    elif scenario == "delete":         # step two: the decommissioned customer's file goes
        decommissioned = sorted(p for p in (root / "customers").glob("*.yaml") if "status: decommissioned" in p.read_text())
        decommissioned[0].unlink()
    else:
        raise ValueError(scenario)


def fmt(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{min(values):.2f} / {statistics.median(values):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", nargs=2, metavar=("MODE", "ROOT"))
    ap.add_argument("--code", action="append", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--check", action="store_true",
                    help="also time `compile --check` (write phase = the comparison), cold and with the cache")
    ap.add_argument("--no-full", action="store_true", help="skip repeating the cold full compile")
    ap.add_argument("--no-floor", action="store_true", help="skip the floor (at 10,000 it costs minutes)")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="do not byte-compile the checkouts first (the runs before 2026-12-03 14:00 UTC: "
                         "with PYTHONDONTWRITEBYTECODE=1 every compile compiled the compiler's sources)")
    ap.add_argument("ns", nargs="*", type=int)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[1]), args.child[0])
        return
    codes = [c.resolve() for c in (args.code or [HERE.parent])]
    if not args.no_bytecode:
        # An installed clawtex runs from bytecode (pip compiles it). Where the environment sets
        # PYTHONDONTWRITEBYTECODE=1 (this workshop machine does) the interpreter would compile
        # the compiler's ~45 modules from source on every run (0.15-0.35 s CPU): compile once.
        for code in codes:
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(code / "compiler")], check=True,
                           stdout=subprocess.DEVNULL)
    print(f"bytecode: {'not compiled (--no-bytecode)' if args.no_bytecode else 'compiled before the runs'}")
    scenarios = [s for s in args.scenarios.split(",") if s]
    from fleet import make_repo
    for n in args.ns or [1000]:
        with tempfile.TemporaryDirectory(prefix=f"clawtex-profile-{n}-") as tmp:
            base = make_repo(Path(tmp) / "fleet", n)
            roots = {}
            for i, code in enumerate(codes):
                roots[code] = Path(tmp) / f"repo{i}"
                shutil.copytree(base, roots[code])
            results: dict[tuple[Path, str], list[dict]] = {}
            full_repeats = 1 if args.no_full else args.repeat
            for rep in range(full_repeats):
                for code in codes:
                    root = roots[code]
                    shutil.rmtree(root / "generated", ignore_errors=True)
                    shutil.rmtree(root / ".clawtex-cache", ignore_errors=True)
                    results.setdefault((code, "full"), []).append(run_child(code, root, "compile"))
            for rep in range(0 if args.no_floor else args.repeat):
                for code in codes:
                    results.setdefault((code, "floor"), []).append(run_child(code, roots[code], "floor"))
            files = {code: results[(code, "full")][-1]["files"] for code in codes}
            for scenario in scenarios:
                for rep in range(args.repeat):
                    for code in codes:
                        apply(scenario, roots[code], rep)
                        results.setdefault((code, scenario), []).append(run_child(code, roots[code], "compile"))
            checks = []
            if args.check:
                # `compile --check` on the tree the last compile wrote: cold (no .clawtex-cache/, as
                # in a fresh CI clone), then with the cache that cold check left (an operator's loop).
                for name in ("check-cold", "check"):
                    for rep in range(args.repeat):
                        for code in codes:
                            if name == "check-cold":
                                shutil.rmtree(roots[code] / ".clawtex-cache", ignore_errors=True)
                            results.setdefault((code, name), []).append(run_child(code, roots[code], "check"))
                    checks.append(name)
            same = len({_tree_digest(r) for r in roots.values()}) == 1
            report(n, codes, ["full", *scenarios, *checks], results, files, same)


def _tree_digest(root: Path) -> str:
    import hashlib
    digest = hashlib.sha256()
    for p in sorted((root / "generated").rglob("*")):
        if p.is_file():
            digest.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return digest.hexdigest()


def report(n: int, codes: list[Path], runs: list[str], results: dict, files: dict, same: bool) -> None:
    print(f"\n### {n:,} customers ({int(next(iter(files.values()))):,} files; generated/ identical across checkouts: "
          f"{'yes' if same else 'NO'})\n")
    print("| code | run | wall s min / median | in-process s | / floor | CPU s | jsii | peak RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for code in codes:
        floors = results.get((code, "floor"))
        floor = statistics.median(r["total"] for r in floors) if floors else None
        if floors:
            print(f"| {code.name} | floor | {fmt([r['wall'] for r in floors])} | {floor:.2f} | 1.0x | "
                  f"{statistics.median(r['cpu'] for r in floors):.2f} | | {max(r['rss_mb'] for r in floors):.0f} |")
        for run in runs:
            rs = results.get((code, run), [])
            if not rs:
                continue
            total = statistics.median(r["total"] for r in rs)
            print(f"| {code.name} | {run} | {fmt([r['wall'] for r in rs])} | {total:.2f} | {f'{total / floor:.1f}x' if floor else '-'} | "
                  f"{statistics.median(r['cpu'] for r in rs):.2f} | "
                  f"{sum(r.get('jsii', 0) for r in rs):.0f}/{len(rs)} | {max(r['rss_mb'] for r in rs):.0f} |")
    phase_names: list[str] = []
    for rs in results.values():
        for r in rs:
            for k in r:
                if k not in ("total", "rss_mb", "wall", "jsii", "files", "floor", "cpu") and k not in phase_names:
                    phase_names.append(k)
    print("\nPhases, median seconds:\n")
    print("| code | run | " + " | ".join(phase_names) + " |")
    print("|---|---|" + "---:|" * len(phase_names))
    for code in codes:
        for run in runs:
            rs = results.get((code, run), [])
            if rs:
                cells = [f"{statistics.median(r.get(p, 0.0) for r in rs):.2f}" for p in phase_names]
                print(f"| {code.name} | {run} | " + " | ".join(cells) + " |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
