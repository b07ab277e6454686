"""Where the Terraform target's time goes: stacks synthesized per shape vs alone.

usage: PYTHONPATH=. CLAWTEX_JOBS=1 python3 bench/terraform_split.py N

Builds (or reuses) a bench fleet of N customers in /tmp/clawtex-terraform-split-N, plans it
cold, then times in this process: recording and grouping every stack by shape
(`terraform._by_shape`), the one CDKTF synthesis per shape, filling each shaped stack with
its strings (+ `dump_json`), and the synthesis of the stacks that must be built alone
(a stack whose strings hold CDKTF's token marker; since 2026-12-04 no plug-in uses provider
bindings, so normally none). Prints one JSON line.
Nothing here asserts a time: benchmarks print numbers."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    from fleet import make_repo
    from compiler.pipeline import plan_repo
    from compiler.targets import terraform
    n = int(sys.argv[1])
    root = Path(f"/tmp/clawtex-terraform-split-{n}")
    if not root.exists():
        make_repo(root, n)
    plan = plan_repo(root, use_cache=False)
    terraform._cdktf()

    def timed(fn):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        return out, [round(time.perf_counter() - wall, 2), round(time.process_time() - cpu, 2)]

    (direct, groups), record = timed(lambda: terraform._by_shape(plan, list(plan.stacks)))
    shapes = [(f"clawtexshape{i}", ops) for i, (ops, _) in enumerate(groups.values())]
    files, shaped = timed(lambda: terraform._synthesize_here(plan, [], [], shapes))

    def fill():
        for (sid, _), (_, members) in zip(shapes, groups.values()):
            template = json.loads(files[f"terraform/{sid}/cdk.tf.json"])
            for sp, values in members:
                terraform.dump_json(terraform._fill(template, sid, sp.name, values))
    _, filled = timed(fill)
    _, alone = timed(lambda: terraform._synthesize_here(plan, direct, []))
    print(json.dumps({
        "customers": n, "stacks": len(plan.stacks), "shapes": len(groups),
        "shaped stacks": sum(len(m) for _, m in groups.values()), "stacks alone": len(direct),
        "record + group wall/cpu s": record, "shape syntheses wall/cpu s (python side)": shaped,
        "fill + dump wall/cpu s": filled, "stacks alone wall/cpu s (python side)": alone}))


if __name__ == "__main__":
    main()
