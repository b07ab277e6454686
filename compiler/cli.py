"""`clawtex` command line."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .diagnostics import CompileError
from .pipeline import compile_repo, load_inputs
from .targets import schemas as schema_target
from .write import GENERATED, diff_tree, write_tree


def _root(args: argparse.Namespace) -> Path:
    root = Path(args.root).resolve()
    if not (root / "clawtex.yaml").exists():
        raise SystemExit(f"clawtex: {root} has no clawtex.yaml (run from the repo root or pass --root)")
    return root


def cmd_validate(args: argparse.Namespace) -> int:
    root = _root(args)
    inputs = load_inputs(root, [Path(f) for f in args.files] or None)
    print(f"ok: {len(inputs.customers)} customer file(s) valid against {len(inputs.tiers)} tiers")
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    root = _root(args)
    files = compile_repo(root)
    if args.check:
        diff = diff_tree(root / GENERATED, files)
        if diff.clean:
            print(f"ok: {GENERATED}/ is up to date ({len(files)} files)")
            return 0
        for label, paths in (("missing", diff.missing), ("stale", diff.stale), ("extra", diff.extra)):
            for path in paths:
                print(f"{label}: {GENERATED}/{path}")
        print(f"{GENERATED}/ differs from a fresh compile: run `clawtex compile` and commit the result", file=sys.stderr)
        return 1
    write_tree(root, files)
    print(f"wrote {len(files)} files to {GENERATED}/")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    root = _root(args)
    from .validate import load_repo_config
    errors: list = []
    _, _, tiers = load_repo_config(root, errors)
    if errors:
        raise CompileError(errors)
    ordered = sorted(tiers.values(), key=lambda t: t.spec.rank)
    base = schema_target.customer_schema([t.name for t in ordered])
    out_dir = Path(args.out) if args.out else root / GENERATED / "schemas"
    out_dir.mkdir(parents=True, exist_ok=True)
    from .formats import dump_json
    (out_dir / "customer.schema.json").write_bytes(dump_json(base))
    for tier in ordered:
        (out_dir / f"customer-{tier.name}.schema.json").write_bytes(dump_json(schema_target.tier_schema(base, tier)))
    print(f"wrote {len(ordered) + 1} schemas to {out_dir}")
    return 0


def cmd_changed(args: argparse.Namespace) -> int:
    from .gitops import changed
    changes = changed.changed(_root(args), args.base, args.head)
    print(changed.to_json(changes) if args.json else changed.format_text(changes))
    return 0


def cmd_check_removals(args: argparse.Namespace) -> int:
    from .gitops import changed
    problems = changed.unapproved(_root(args), args.base, args.head)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("ok: every removed customer carries a decommission approval")
    return 1 if problems else 0


def cmd_pr_summary(args: argparse.Namespace) -> int:
    from .gitops import pr_summary
    text = pr_summary.summary(_root(args), args.base, args.head, cost_threshold=args.cost_threshold,
                              artifact_url=args.artifact_url)
    if args.full_out:
        Path(args.full_out).write_text(pr_summary.summary(_root(args), args.base, args.head,
                                                          cost_threshold=args.cost_threshold, limit=None))
    sys.stdout.write(text)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="clawtex", description="Compile Clawtex customer files into the fleet's infrastructure.")
    p.add_argument("--root", default=".", help="repository root (default: current directory)")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="validate customer files against their tiers; report every error")
    v.add_argument("files", nargs="*", help="customer files (default: customers/*.yaml)")
    v.set_defaults(func=cmd_validate)
    c = sub.add_parser("compile", help="write generated/ (atomically)")
    c.add_argument("--check", action="store_true", help="write nothing; exit 1 if generated/ is not up to date")
    c.set_defaults(func=cmd_compile)
    s = sub.add_parser("schema", help="write the customer JSON Schemas (also part of compile)")
    s.add_argument("--out", help="directory (default: generated/schemas)")
    s.set_defaults(func=cmd_schema)
    ch = sub.add_parser("changed", help="stacks and customers a change affects (by its effect on generated/ and modules/)")
    ch.add_argument("--base", required=True, help="git ref the change starts from")
    ch.add_argument("--head", help="git ref of the change (default: the working tree)")
    ch.add_argument("--json", action="store_true", help="machine-readable, with a GitHub Actions matrix")
    ch.set_defaults(func=cmd_changed)
    cr = sub.add_parser("check-removals", help="fail if base..head removes a customer without a decommission approval")
    cr.add_argument("--base", required=True, help="git ref the change starts from")
    cr.add_argument("--head", help="git ref of the change (default: the working tree)")
    cr.set_defaults(func=cmd_check_removals)
    pr = sub.add_parser("pr-summary", help="Markdown review summary of a change (the PR comment)")
    pr.add_argument("--base", required=True, help="git ref the change starts from")
    pr.add_argument("--head", help="git ref of the change (default: the working tree)")
    pr.add_argument("--cost-threshold", type=float, default=10.0,
                    help="flag a customer whose estimated infra cost rises by more than this many percent (default 10)")
    pr.add_argument("--artifact-url", help="where the untruncated summary is (linked when the comment is truncated)")
    pr.add_argument("--full-out", help="also write the untruncated summary to this file")
    pr.set_defaults(func=cmd_pr_summary)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except CompileError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
        print(f"clawtex: {len(exc.diagnostics)} error(s)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
