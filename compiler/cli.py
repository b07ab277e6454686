"""`clawtex` command line."""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from .diagnostics import CompileError, MissingPrerequisite
from .pipeline import compile_repo, plan_repo
from .targets import schemas as schema_target
from .validate import validate_repo
from .write import GENERATED, diff_tree, write_tree


def _root(args: argparse.Namespace) -> Path:
    root = Path(args.root).resolve()
    if not (root / "clawtex.yaml").exists():
        raise SystemExit(f"clawtex: {root} has no clawtex.yaml (run from the repo root or pass --root)")
    return root


def cmd_validate(args: argparse.Namespace) -> int:
    root = _root(args)
    # Validation alone: the committed generated/ (previous state) is not needed.
    inputs = validate_repo(root, [Path(f) for f in args.files] or None, use_cache=not args.no_cache)
    _holiday_horizon(root, inputs.settings, date.today())
    print(f"ok: {len(inputs.customers)} customer file(s) valid against {len(inputs.tiers)} tiers")
    return 0


def _holiday_horizon(root: Path, settings, today: date) -> None:
    """The one clock-dependent check: the holiday calendar must reach HOLIDAY_HORIZON_DAYS past today.
    compile stays clock-free (the years come from clawtex.yaml); validate runs in every PR's CI."""
    support = settings.spec.support
    problem = support.holidays.horizon_problem(today) if support and support.holidays else None
    if problem:
        from .load import load_document
        doc = load_document(root / "clawtex.yaml", "clawtex.yaml")
        raise CompileError([doc.diagnostic(("spec", "support", "holidays", "lastYear"), problem)])


def _compile_with_progress(root: Path, use_cache: bool, show: bool) -> dict[str, bytes]:
    """A progress bar on stderr for interactive compiles; nothing in CI logs or --check output."""
    if not show:
        return compile_repo(root, use_cache=use_cache)
    from rich.progress import Progress
    from .targets import TARGETS
    with Progress(transient=True) as progress:
        task = progress.add_task("loading customers", total=len(TARGETS) + 1)

        def advance(name: str) -> None:
            progress.update(task, advance=1, description=f"rendering {name}")
        return compile_repo(root, use_cache=use_cache, on_target=advance)


def cmd_compile(args: argparse.Namespace) -> int:
    root = _root(args)
    files = _compile_with_progress(root, use_cache=not args.no_cache, show=not args.check and sys.stderr.isatty())
    if args.check:
        diff = diff_tree(root / GENERATED, files, use_manifest=not args.no_cache)
        if diff.clean:
            print(f"ok: {GENERATED}/ is up to date ({len(files)} files)")
            return 0
        for label, paths in (("missing", diff.missing), ("stale", diff.stale), ("extra", diff.extra)):
            for path in paths:
                print(f"{label}: {GENERATED}/{path}")
        print(f"{GENERATED}/ differs from a fresh compile: run `clawtex compile` and commit the result", file=sys.stderr)
        return 1
    write_tree(root, files, use_manifest=not args.no_cache)
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
    plans = Path(args.plans) if args.plans else None
    text = pr_summary.summary(_root(args), args.base, args.head, cost_threshold=args.cost_threshold,
                              artifact_url=args.artifact_url, plans=plans)
    if args.full_out:
        Path(args.full_out).write_text(pr_summary.summary(_root(args), args.base, args.head,
                                                          cost_threshold=args.cost_threshold, limit=None, plans=plans))
    sys.stdout.write(text)
    return 0


# ---------------------------------------------------------------- business (compiler.business)


def cmd_onboard(args: argparse.Namespace) -> int:
    import json
    from .business.onboard import OnboardError, onboard
    root = _root(args)
    try:
        result = onboard(root, json.loads(Path(args.event).read_text(encoding="utf-8")))
    except (OnboardError, ValueError) as exc:
        print(f"clawtex onboard: {args.event}: {exc}", file=sys.stderr)
        return 1
    rel = result.path.relative_to(root).as_posix()
    if result.action == "unchanged":     # nothing written: say so rather than cite the file as if it were
        print(f"unchanged: {rel} already records {result.event_id}; nothing written")
    else:
        print(f"{result.action}: wrote {rel} ({result.event_id})")
    return 0


def cmd_webhook(args: argparse.Namespace) -> int:
    import json
    import logging
    import os
    import time
    from .business import deploytime
    from .business.onboard import STRIPE_API_KEY_ENV, stripe_line_items
    from .business.webhook import (GITHUB_TOKEN_ENV, EventQueue, GitHubPulls, PullRequestFlow, Worker, create_app,
                                   render_status)
    queue = EventQueue(Path(args.state))
    if args.status:
        status = queue.status()
        sys.stdout.write(json.dumps(status, indent=2, sort_keys=True) + "\n" if args.json else render_status(status))
        return 1 if status["dead"] else 0
    if args.retry:
        if not queue.requeue(args.retry, time.time()):
            print(f"clawtex webhook: {args.retry} is not a dead letter", file=sys.stderr)
            return 1
        print(f"requeued {args.retry}")
        if not args.process_once:
            return 0
    import uvicorn
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = _root(args)
    # GITHUB_API_URL: the variable GitHub Actions sets for the REST base (GitHub Enterprise, a local stand-in).
    pulls = GitHubPulls(args.github_repo, token=os.environ.get(GITHUB_TOKEN_ENV, ""), dry_run=args.dry_run,
                        api=os.environ.get("GITHUB_API_URL") or "https://api.github.com")
    if not args.dry_run and not pulls.token:
        raise SystemExit(f"clawtex webhook: set {GITHUB_TOKEN_ENV} or pass --dry-run")
    api_key = os.environ.get(STRIPE_API_KEY_ENV)
    flow = PullRequestFlow(root, pulls, base=args.base, remote=None if args.dry_run else args.remote,
                           line_items=stripe_line_items(api_key) if api_key else None)
    record = None
    if not args.dry_run:
        import git
        remote_url = git.Repo(root).remote(args.remote).url
        record = lambda records: deploytime.push_records(remote_url, records)
    worker = Worker(queue, flow.run, record=record)
    if args.process_once:
        print(f"processed {worker.process_due()} event(s)")
        sys.stdout.write(render_status(queue.status()))
        return 0
    from .business.webhook import signing_secret
    app = create_app(signing_secret(args.secret_file), queue, worker)
    uvicorn.run(app, host=args.host, port=args.port)
    return 0


def _tier_targets(root: Path) -> dict[str, float]:
    """tier -> deployment.targetHours, in rank order, from tiers/ (every tier, with or without customers)."""
    from .diagnostics import Diagnostic
    from .validate import load_repo_config
    errors: list[Diagnostic] = []
    _, _, tiers = load_repo_config(root, errors)
    return {name: float(t.spec.deployment.target_hours)
            for name, t in sorted((tiers or {}).items(), key=lambda kv: kv[1].spec.rank)}


def cmd_welcome(args: argparse.Namespace) -> int:
    from .business.handoff import load_outputs
    from .business.welcome import WelcomeError, build_message, send
    root = _root(args)
    plan = plan_repo(root)
    try:
        msg = build_message(plan, args.customer, load_outputs(Path(args.outputs) if args.outputs else None),
                            live=args.send)
        if args.out:
            Path(args.out).write_bytes(bytes(msg))
        if args.send:
            send(msg, plan.settings.spec.support.smtp, root)
    except (WelcomeError, KeyError, ValueError) as exc:
        print(f"clawtex welcome: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 1
    print(f"welcome for {args.customer}: {'sent to ' + msg['To'] if args.send else 'not sent (no --send)'}")
    return 0


def _unknown(kind: str, flag: str, value: str, known: list[str]) -> int:
    """Refuse an argument naming nothing in the repository (exit 2, as argparse does), with a suggestion."""
    import difflib
    close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"
    print(f"clawtex: {flag} {value!r} is not a {kind} in this repository{hint}", file=sys.stderr)
    return 2


def cmd_deploytime(args: argparse.Namespace) -> int:
    from datetime import datetime
    from .business import deploytime
    root = _root(args)
    tiers = list(_tier_targets(root))
    if args.tier not in tiers:
        return _unknown("tier", "--tier", args.tier, tiers)
    customers = sorted(p.stem for p in (root / "customers").glob("*.yaml"))
    if args.customer not in customers:
        return _unknown("customer", "--customer", args.customer, customers)
    if args.at:
        try:
            moment = datetime.fromisoformat(args.at.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            print(f"clawtex: --at {args.at!r}: expected a UTC time such as 2026-11-26T14:03:00Z", file=sys.stderr)
            return 2
    at = args.at or deploytime.utc()
    record = deploytime.Record(args.customer, args.tier, args.step, at, args.event or "", args.source)
    if args.remote:
        written = deploytime.push_records(args.remote, [record])
    else:
        written = int(deploytime.append(Path(args.dir), record))
    print(f"{'recorded' if written else 'already recorded'}: {args.customer} {args.step} {at}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .business.report import build_report, render_markdown, render_text
    from .formats import dump_json
    if args.support:
        from .business.supportterms import render_tier_table
        from .diagnostics import Diagnostic
        from .validate import load_repo_config
        errors: list[Diagnostic] = []
        settings, _, tiers = load_repo_config(_root(args), errors)
        ordered = sorted((tiers or {}).values(), key=lambda t: t.spec.rank)
        sys.stdout.write(render_tier_table(ordered, settings.spec.support if settings else None))
        return 0
    if args.html or args.kpis:
        return _kpi_report(args)
    if args.deploy_times:
        # Deployment time per tier (compiler.business.deploytime), kept apart from the money report.
        from .business import deploytime
        targets = _tier_targets(_root(args))
        sys.stdout.write(deploytime.render_text(deploytime.summarize(deploytime.load(Path(args.deploy_times)), targets)))
        return 0
    report = build_report(plan_repo(_root(args)))
    if args.json:
        sys.stdout.write(dump_json(report.to_json()).decode("utf-8"))
    else:
        sys.stdout.write(render_markdown(report) if args.markdown else render_text(report))
    return 0


def _kpi_report(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone
    from .business.kpis import build_kpis, render_kpis_html
    from .business.metrics import MetricsError, Prometheus, parse_period, previous_period
    from .formats import dump_json
    root = _root(args)
    try:
        period = parse_period(args.period) if args.period else previous_period(datetime.now(timezone.utc))
        # --deploy-times DIR (a deploy-times checkout) is the onboarding work's flag on this same command.
        deploy_dir = getattr(args, "deploy_times", None)
        kpis = build_kpis(root, plan_repo(root), period, Prometheus(args.prometheus) if args.prometheus else None,
                          rev=args.rev, deploy_dir=Path(deploy_dir) if deploy_dir else None, figures=bool(args.html),
                          drills_dir=Path(args.drills) if args.drills else None)
    except (MetricsError, ValueError) as exc:
        print(f"clawtex report: {exc}", file=sys.stderr)
        return 1
    text = render_kpis_html(kpis) if args.html else dump_json(kpis.to_json()).decode("utf-8")
    return _emit(text, args.out, announce=True)


def _emit(text: str, out: str | None, announce: bool = False) -> int:
    """A command's document to --out (saying where, if asked) or to stdout."""
    if out:
        Path(out).write_text(text, encoding="utf-8")
        if announce:
            print(f"wrote {out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_sla(args: argparse.Namespace) -> int:
    from .business.sla import sla_report, to_json
    from .formats import dump_json
    from .load import load_document
    root = _root(args)
    uptime = load_document(Path(args.uptime), args.uptime).data or {}
    try:
        lines = sla_report(plan_repo(root), {str(k): float(v) for k, v in uptime.items()})
    except (ValueError, TypeError, AttributeError) as exc:
        print(f"clawtex sla: {args.uptime}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(dump_json(to_json(lines)).decode("utf-8"))
    return 0


def cmd_handoff(args: argparse.Namespace) -> int:
    from .business.handoff import load_outputs, render_handoff
    try:
        outputs = load_outputs(Path(args.outputs) if args.outputs else None)
        text = render_handoff(plan_repo(_root(args)), args.customer, html=args.html, outputs=outputs)
    except ValueError as exc:
        print(f"clawtex handoff: {exc}", file=sys.stderr)
        return 1
    except KeyError as exc:
        print(f"clawtex handoff: {exc.args[0]}", file=sys.stderr)
        return 1
    return _emit(text, args.out)


def cmd_customer_report(args: argparse.Namespace) -> int:
    import json
    from .business.customer_report import (FuturePeriodError, NoDataError, build_customer_report, render_html,
                                           render_pdf)
    from .business.metrics import MetricsError, Prometheus, parse_period
    plan = plan_repo(_root(args))
    try:
        period = parse_period(args.period)
        report = build_customer_report(plan, args.customer, period, Prometheus(args.prometheus),
                                       Path(args.security) if args.security else None, figures=not args.json)
    except KeyError as exc:
        print(f"clawtex customer-report: unknown customer {exc.args[0]}", file=sys.stderr)
        return 1
    except NoDataError as exc:
        # exit 3: nothing to report (the mailing workflow holds such a report back and says so)
        print(f"clawtex customer-report: {exc}", file=sys.stderr)
        return NO_DATA_EXIT
    except FuturePeriodError as exc:
        print(f"clawtex customer-report: {exc}", file=sys.stderr)
        return 2
    except (MetricsError, ValueError) as exc:
        print(f"clawtex customer-report: {exc}", file=sys.stderr)
        return 1
    if args.drills is not None and report.backups is not None and plan.customer(args.customer).tier_name in ("gold", "platinum"):
        from .business import drill      # Gold/Platinum reports show the last DR drill (docs/backups.md)
        report.backups["lastDrill"] = drill.last_drill_status(Path(args.drills), args.customer) or {
            "missing": f"No disaster-recovery drill is recorded for this customer yet ({args.drills})."}
    if args.json:
        from dataclasses import asdict
        text = json.dumps(asdict(report), indent=2, sort_keys=True, default=str) + "\n"
    else:
        text = render_html(report)
    if args.pdf:
        render_pdf(text, Path(args.pdf), chromium_bin=args.chromium)
        print(f"wrote {args.pdf}")
        return 0
    return _emit(text, args.out, announce=True)


NO_DATA_EXIT = 3   # customer-report: the period has no data for this customer (held back, not mailed)


def cmd_reports_due(args: argparse.Namespace) -> int:
    from .business.customer_report import reports_due
    if args.cadence not in ("monthly", "quarterly"):
        print(f"clawtex reports-due: --cadence must be monthly or quarterly, not {args.cadence!r}", file=sys.stderr)
        return 2
    for cid, tier, email in reports_due(plan_repo(_root(args)), args.cadence):
        print(f"{cid}\t{tier}\t{email}")
    return 0


def cmd_dr_drill(args: argparse.Namespace) -> int:
    from .business import drill
    if not args.wipe_scratch:
        print("clawtex dr-drill: the drill stops the scratch host's gateway and replaces its state; "
              "pass --wipe-scratch to confirm the runner reaches a scratch host", file=sys.stderr)
        return 2
    try:
        record = drill.drill(_root(args), args.customer, drill.Runner(args.runner))
    except drill.DrillFailed as exc:      # a failed drill is recorded too (docs/backups.md "DR drill")
        path = drill.write_record(Path(args.records), exc.record)
        print(f"clawtex dr-drill: {drill.summary(exc.record)}", file=sys.stderr)
        print(f"recorded in {path}", file=sys.stderr)
        return 1
    except drill.DrillError as exc:       # no drill to run (no backed-up gateway host): nothing to record
        print(f"clawtex dr-drill: {exc}", file=sys.stderr)
        return 1
    return _write_drill(record, Path(args.records))


def _write_drill(record: dict, records: Path) -> int:
    """A completed drill's record written (--records); exit 3 when its RPO was over the tier's interval."""
    from .business import drill
    path = drill.write_record(records, record)
    print(drill.summary(record))
    print(f"recorded in {path}")
    return 0 if record["rpo_met"] else 3


def _scratch_info(args: argparse.Namespace, name: str, render, error: type[Exception]) -> int:
    """A scratch path's files into --out and its JSON line (dr-drill-stack: a server; dr-drill-k8s: a cluster)."""
    import json
    from .business.drill import DrillError
    try:
        info = render(_root(args), args.customer, Path(args.out))
    except (DrillError, error) as exc:
        print(f"clawtex {name}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(info, sort_keys=True))
    return 0


def cmd_dr_drill_stack(args: argparse.Namespace) -> int:
    from .gitops import drill_stack
    return _scratch_info(args, "dr-drill-stack", drill_stack.render, drill_stack.StackError)


def cmd_dr_drill_k8s(args: argparse.Namespace) -> int:
    from .gitops import drill_k8s
    return _scratch_info(args, "dr-drill-k8s", drill_k8s.render, drill_k8s.DrillK8sError)


def cmd_dr_drill_k8s_record(args: argparse.Namespace) -> int:
    from .business import drill
    from .gitops import drill_k8s
    try:
        record = drill_k8s.record_from_log(_root(args), args.customer, Path(args.log).read_text())
    except (drill.DrillError, drill_k8s.DrillK8sError, ValueError, KeyError) as exc:
        print(f"clawtex dr-drill-k8s-record: {exc!r}", file=sys.stderr)
        return 1
    return _write_drill(record, Path(args.records))


def cmd_dr_drill_due(args: argparse.Namespace) -> int:
    import json
    from .gitops import drill_stack
    rows = drill_stack.due(_root(args), Path(args.records) if args.records else None)
    if args.customer:       # a dispatched drill: that customer now, whatever the cadence says
        rows = [r for r in drill_stack.due(_root(args), None) if r["customer"] == args.customer]
        if not rows:
            print(f"clawtex dr-drill-due: {args.customer} has no backed-up gateway host or no drill cadence in its tier",
                  file=sys.stderr)
            return 2
    # A scratch server (Silver, Gold) or a scratch namespace in the other region's cluster (Platinum).
    runs = [{"customer": r["customer"], "tier": r["tier"], "path": r["path"]} for r in rows if r["path"] in ("server", "cluster")]
    print(json.dumps({"matrix": {"include": runs}, "count": len(runs),
                      "not_built": [r["customer"] for r in rows if r["path"] not in ("server", "cluster")], "due": rows},
                     sort_keys=True))
    return 0


def cmd_dr_drill_record(args: argparse.Namespace) -> int:
    from .business import drill
    try:
        if args.failed:    # the drill failed before `clawtex dr-drill` wrote its record (up, converge, killed)
            if (Path(args.source) / f"{args.customer}.json").exists():
                raise drill.DrillError(f"{args.customer}: {args.source} already holds this drill's record")
            record = drill.failure_for(_root(args), args.customer, args.step, args.reason)
            drill.write_record(Path(args.source), record)
            print(drill.summary(record))
        written = drill.push_record(args.remote, Path(args.source), args.customer)
    except drill.DrillError as exc:
        print(f"clawtex dr-drill-record: {exc}", file=sys.stderr)
        return 1
    print(f"recorded {written} drill(s) of {args.customer} on the {drill.RECORD_BRANCH} branch")
    return 0


def parser() -> argparse.ArgumentParser:
    from .business import steps        # imports nothing: the parser stays cheap to build
    p = argparse.ArgumentParser(prog="clawtex", description="Compile Clawtex customer files into the fleet's infrastructure.")
    p.add_argument("--root", default=".", help="repository root (default: current directory)")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="validate customer files against their tiers; report every error")
    v.add_argument("files", nargs="*", help="customer files (default: customers/*.yaml)")
    v.add_argument("--no-cache", action="store_true", help="ignore and do not fill .clawtex-cache/")
    v.set_defaults(func=cmd_validate)
    c = sub.add_parser("compile", help="write generated/ (atomically)")
    c.add_argument("--check", action="store_true", help="write nothing; exit 1 if generated/ is not up to date")
    c.add_argument("--no-cache", action="store_true", help="ignore and do not fill .clawtex-cache/")
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
    pr.add_argument("--plans", help="directory of `terraform show -json` plans, one <stack>.json per stack")
    pr.set_defaults(func=cmd_pr_summary)
    o = sub.add_parser("onboard", help="write or update a customer file from a Stripe event JSON")
    o.add_argument("--event", required=True, help="Stripe event JSON file")
    o.set_defaults(func=cmd_onboard)
    w = sub.add_parser("webhook", help="serve the Stripe webhook: verified events become pull requests")
    w.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    w.add_argument("--port", type=int, default=8787, help="port to listen on (default 8787)")
    w.add_argument("--secret-file", help="file holding the whsec_ signing secret (else $STRIPE_WEBHOOK_SECRET_FILE / $STRIPE_WEBHOOK_SECRET)")
    w.add_argument("--state", default=str(Path.home() / ".local/state/clawtex/stripe-events.sqlite3"),
                   help="the event queue (SQLite, outside the repo): durable, survives restarts")
    w.add_argument("--github-repo", default="clawtex/fleet", help="owner/name for pull requests")
    w.add_argument("--base", default="main", help="base branch of the pull requests")
    w.add_argument("--remote", default="origin", help="git remote to push branches (and deploy-times) to")
    w.add_argument("--dry-run", action="store_true", help="commit locally, do not push or call GitHub")
    w.add_argument("--status", action="store_true", help="print queue counts, retrying events and dead letters; exit 1 if any dead")
    w.add_argument("--json", action="store_true", help="with --status: JSON")
    w.add_argument("--retry", metavar="EVENT", help="put a dead-lettered event back on the queue")
    w.add_argument("--process-once", action="store_true", help="process the due events and exit (no server)")
    w.set_defaults(func=cmd_webhook)
    r = sub.add_parser("report", help="price, infra cost and margin per customer, tier and fleet (MRR, ARR)")
    fmt = r.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="the money report as JSON")
    fmt.add_argument("--markdown", action="store_true", help="Markdown tables for a PR comment")
    fmt.add_argument("--html", action="store_true",
                     help="the KPI page: churn/acquisition (git history), MRR by tier, SLA per tier, margins, plots")
    fmt.add_argument("--kpis", action="store_true", help="the KPI page's numbers as JSON")
    r.add_argument("--period", help="KPI month YYYY-MM (default: the last complete month)")
    r.add_argument("--prometheus", help="Prometheus base URL for SLA attainment per tier")
    r.add_argument("--rev", default="HEAD", help="git revision whose customers/ history is read (default HEAD)")
    r.add_argument("--out", help="write to this file instead of stdout")
    r.add_argument("--support", action="store_true", help="instead: each tier's support terms (tiers/*.yaml spec.support)")
    r.add_argument("--deploy-times", metavar="DIR",
                   help="instead: deployment time per tier from a checkout of the deploy-times branch")
    r.add_argument("--drills", metavar="DIR", help="KPI page: DR drill records (`clawtex dr-drill --records`, the dr-drills branch)")
    r.set_defaults(func=cmd_report)
    we = sub.add_parser("welcome", help="the welcome email with the onboarding guide (after the smoke test passed)")
    we.add_argument("customer", help="customer id (metadata.id of a file in customers/)")
    we.add_argument("--outputs", metavar="DIR", help="terraform output -json per stack (the apply job's artifact)")
    we.add_argument("--out", help="also write the message (RFC 5322) to this file")
    we.add_argument("--send", action="store_true", help="send it through clawtex.yaml spec.support.smtp")
    we.set_defaults(func=cmd_welcome)
    dt = sub.add_parser("deploytime", help="record one onboarding step's time (deploy-times branch or a directory)")
    dt.add_argument("step", choices=steps.STEPS, help="the onboarding step that just happened")
    dt.add_argument("--customer", required=True, help="customer id (a file in customers/)")
    dt.add_argument("--tier", required=True, help="the customer's tier (a tier in tiers/)")
    dt.add_argument("--event", help="the Stripe event that started the onboarding")
    dt.add_argument("--at", help="UTC time, 2026-11-26T14:03:00Z (default: now)")
    dt.add_argument("--source", default="cli", help="who recorded it (webhook, apply, ...)")
    where = dt.add_mutually_exclusive_group(required=True)
    where.add_argument("--remote", help="git URL: commit to its deploy-times branch and push (retried)")
    where.add_argument("--dir", help="append to <dir>/<customer>.jsonl")
    dt.set_defaults(func=cmd_deploytime)
    sl = sub.add_parser("sla", help="SLA breaches and credits from measured uptime ratios")
    sl.add_argument("--uptime", required=True, help="YAML/JSON mapping customer id -> uptime ratio (0..1)")
    sl.set_defaults(func=cmd_sla)
    cu = sub.add_parser("customer-report", help="a customer's monthly/quarterly report from Prometheus (HTML, PDF, JSON)")
    cu.add_argument("customer", help="customer id (metadata.id of a file in customers/)")
    cu.add_argument("--period", required=True,
                    help="YYYY-MM (month) or YYYY-Qn (quarter), UTC; a future period is refused, one in progress "
                         "is marked as such. Exit 3 when the period has no data for the customer")
    cu.add_argument("--prometheus", default="http://127.0.0.1:9090", help="Prometheus base URL")
    cu.add_argument("--security", help="directory with wazuh-alerts.json, wazuh-agents.json, openvas/*.xml (Gold+)")
    cfmt = cu.add_mutually_exclusive_group()
    cfmt.add_argument("--html", action="store_true", help="HTML with embedded SVG figures (the default)")
    cfmt.add_argument("--json", action="store_true", help="the numbers, no figures")
    cfmt.add_argument("--pdf", metavar="FILE", help="print the HTML to a PDF with headless Chromium")
    cu.add_argument("--drills", help="DR drill records (`clawtex dr-drill --records`): Gold/Platinum show the last drill")
    cu.add_argument("--out", help="write HTML/JSON to this file instead of stdout")
    cu.add_argument("--chromium", default="chromium", help="Chromium binary for --pdf")
    cu.set_defaults(func=cmd_customer_report)
    rd = sub.add_parser("reports-due", help="customers whose report is due: id, tier, recipient (tab-separated)")
    rd.add_argument("--cadence", required=True, help="monthly (every active customer) or quarterly (Gold and up)")
    rd.set_defaults(func=cmd_reports_due)
    h = sub.add_parser("handoff", help="render a customer's handoff document (Markdown, or --html)")
    h.add_argument("customer", help="customer id (metadata.id of a file in customers/)")
    h.add_argument("--html", action="store_true", help="HTML (styled for print) instead of Markdown")
    h.add_argument("--outputs", metavar="DIR",
                   help="`terraform output -json` per stack (<stack>.json, the apply job's terraform-outputs artifact)")
    h.add_argument("--out", help="write to this file instead of stdout")
    h.set_defaults(func=cmd_handoff)
    dr = sub.add_parser("dr-drill", help="restore a customer's latest snapshot on a scratch host; record RPO/RTO")
    dr.add_argument("customer", help="customer id (metadata.id of a file in customers/); Silver and up (tiers with backups)")
    dr.add_argument("--runner", required=True,
                    help='argv prefix that runs a command on the scratch host, e.g. "ssh root@scratch"')
    dr.add_argument("--records", default="dr-drills",
                    help="directory of the drill records (<customer>.json, <customer>.jsonl); default dr-drills")
    dr.add_argument("--wipe-scratch", action="store_true",
                    help="confirm: the scratch host's gateway state is replaced by the snapshot")
    dr.set_defaults(func=cmd_dr_drill)
    ds = sub.add_parser("dr-drill-stack", help="render the DR drill's scratch server stack (a copy of the gateway server)")
    ds.add_argument("customer", help="customer id (metadata.id of a file in customers/); Silver and Gold (a gateway server)")
    ds.add_argument("--out", required=True, help="directory for cdk.tf.json (outside generated/)")
    ds.set_defaults(func=cmd_dr_drill_stack)
    dp = sub.add_parser("dr-drill-k8s", help="a Platinum customer's DR drill: the other region's cluster, "
                        "the scratch namespace, the channels-off openclaw.json and the Job's variables")
    dp.add_argument("customer", help="customer id (metadata.id of a file in customers/); Platinum (a cluster)")
    dp.add_argument("--out", required=True, help="directory for vars.json and openclaw.json (outside generated/)")
    dp.set_defaults(func=cmd_dr_drill_k8s)
    dq = sub.add_parser("dr-drill-k8s-record", help="a Platinum drill's record from its Job's log (the result line)")
    dq.add_argument("customer", help="customer id whose drill this is")
    dq.add_argument("--log", required=True, help="the drill Job's gateway container log")
    dq.add_argument("--records", required=True, help="directory of the drill records (<customer>.json, <customer>.jsonl)")
    dq.set_defaults(func=cmd_dr_drill_k8s_record)
    dd = sub.add_parser("dr-drill-due", help="customers due a DR drill by their tier's cadence (JSON matrix)")
    dd.add_argument("--records", help="the dr-drills records (last drill per customer); none: every customer is due")
    dd.add_argument("--customer", help="only this customer, due or not (a dispatched drill)")
    dd.set_defaults(func=cmd_dr_drill_due)
    dk = sub.add_parser("dr-drill-record", help="commit one drill's records to the dr-drills branch and push (retried)")
    dk.add_argument("customer", help="customer id whose drill records are committed")
    dk.add_argument("--from", dest="source", required=True, help="the drill's --records directory")
    dk.add_argument("--remote", required=True, help="git URL of the fleet repository")
    dk.add_argument("--failed", action="store_true",
                    help="record a drill that failed before `clawtex dr-drill` wrote a record (with --step, --reason)")
    dk.add_argument("--step", default="drill",
                    help="with --failed: the workflow phase that did not finish (up, converge or drill)")
    dk.add_argument("--reason", default="the step did not finish", help="with --failed: why (redacted, cut short)")
    dk.set_defaults(func=cmd_dr_drill_record)
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
    except MissingPrerequisite as exc:
        print(f"clawtex: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
