"""The pipeline is straight: the core stages never reach up into the GitOps or
business layers, directly or through another compiler module.

The oracle is the source text itself, parsed with ast (not importlib, so a lazy
import inside a function counts as well)."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "compiler"
CORE = ("load", "validate", "previous", "plan", "guard", "write", "pipeline",
        *(f"targets.{p.stem}" for p in sorted((PACKAGE / "targets").glob("*.py"))))
UPPER = ("compiler.gitops", "compiler.business")


def module_file(name: str) -> Path:
    path = PACKAGE.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imports_of(name: str) -> set[str]:
    """compiler.* modules that module `name` (relative to compiler) imports, anywhere in its text."""
    tree = ast.parse(module_file(name).read_text(encoding="utf-8"))
    package = name.split(".")[:-1] if not module_file(name).name == "__init__.py" else name.split(".")
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("compiler."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ["compiler", *package][: len(package) + 2 - node.level]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            if not stem.startswith("compiler"):
                continue
            out.add(stem)
            for alias in node.names:           # `from . import ansible`: a submodule
                candidate = f"{stem}.{alias.name}"
                if module_file(candidate.removeprefix("compiler.")).exists():
                    out.add(candidate)
    return {m for m in out if m != "compiler"}


def reachable(start: str) -> dict[str, str]:
    """Every compiler module reachable from `start`, with the module that imports it."""
    seen = {f"compiler.{start}": ""}
    todo = [start]
    while todo:
        current = todo.pop()
        for target in sorted(imports_of(current)):
            if target not in seen:
                seen[target] = f"compiler.{current}"
                rel = target.removeprefix("compiler.")
                if module_file(rel).exists():
                    todo.append(rel)
    return seen


def test_core_stages_do_not_import_gitops_or_business():
    offences = []
    for stage in CORE:
        for module, via in reachable(stage).items():
            if module.startswith(UPPER):
                offences.append(f"compiler.{stage} reaches {module} (imported by {via})")
    assert not offences, "\n".join(offences)


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The check can fail: a core module importing gitops is reported."""
    fake = tmp_path / "compiler"
    (fake / "gitops").mkdir(parents=True)
    (fake / "gitops" / "__init__.py").write_text("")
    (fake / "gitops" / "decommission.py").write_text("")
    (fake / "plan.py").write_text("def f():\n    from .gitops.decommission import x\n")
    (fake / "pipeline.py").write_text("from . import plan\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    assert "compiler.gitops.decommission" in reachable("pipeline")
    assert reachable("pipeline")["compiler.gitops.decommission"] == "compiler.plan"


def test_the_core_list_names_real_modules():
    for stage in CORE:
        assert module_file(stage).exists(), stage


def test_previous_fleet_index_agrees_with_the_gitops_reader():
    """The load stage's index of the committed tree (compiler/previous.py) and the
    GitOps reader of the same tree (compiler/gitops/artifacts.py) are two readers;
    they must name the same customers and stacks."""
    from compiler.gitops.artifacts import read_fleet
    from compiler.previous import read_previous
    from compiler.write import GENERATED, read_tree

    index = read_previous(REPO).fleet
    fleet = read_fleet(read_tree(REPO / GENERATED))
    assert index.customers == fleet.customers
    assert len(index.customers) >= 9          # the bundled examples: dedicated and shared tenants
    for cid in fleet.customers:
        assert index.stacks_of(cid) == fleet.stacks_of(cid), cid


# Audit events (docs.python.org/3/library/audit_events.html) that mean I/O: a file
# opened by any route (builtins.open, io.open, Path.read_text, os.open all raise
# "open"), a directory listed, a socket, a child process, a URL, a database.
IO_EVENTS = ("open", "os.", "glob.", "shutil.", "socket.", "subprocess.", "urllib.", "http.", "sqlite3.",
             "ftplib.", "smtplib.", "poplib.", "imaplib.", "telnetlib.", "webbrowser.", "ctypes.dlopen")
_AUDIT = {"armed": None, "seen": []}


def _audit(event: str, args: tuple) -> None:
    import threading
    if _AUDIT["armed"] == threading.get_ident() and event.startswith(IO_EVENTS):
        _AUDIT["seen"].append((event, repr(args)[:200]))


def io_events(run) -> list[tuple[str, str]]:
    """The I/O audit events `run()` raises in this thread (sys.addaudithook: a hook
    cannot be removed, so one hook is added per process and armed around `run`)."""
    import sys
    import threading
    if not _AUDIT.get("installed"):
        sys.addaudithook(_audit)
        _AUDIT["installed"] = True
    _AUDIT["seen"] = []
    _AUDIT["armed"] = threading.get_ident()
    try:
        run()
    finally:
        _AUDIT["armed"] = None
    return list(_AUDIT["seen"])


def test_plan_and_guard_do_no_io():
    """Everything the last compile left is read in the load stage; plan and guard are pure:
    no open (by any route), socket, subprocess or directory event while they run."""
    from compiler.guard import check_decommissions
    from compiler.pipeline import load_inputs
    from compiler.plan import build_plan

    inputs = load_inputs(REPO, use_cache=False)
    assert inputs.previous.placement and inputs.previous.wazuh_blocks and inputs.previous.fleet.customers
    check_decommissions(inputs, build_plan(inputs))      # warm-up: lazy imports read their .py files once
    plans = []
    seen = io_events(lambda: (plans.append(build_plan(inputs)), check_decommissions(inputs, plans[0])))
    assert seen == [], seen
    assert plans[0].placement


def test_the_audit_hook_sees_every_route_to_a_file_a_socket_and_a_process(tmp_path):
    """The purity check cannot pass by missing a route: each of these is seen."""
    import io
    import os
    import socket
    import subprocess
    import sys
    path = tmp_path / "f"
    path.write_text("x")
    routes = {
        "open": [lambda: open(path).close(), lambda: io.open(path).close(), lambda: path.read_text(),
                 lambda: os.close(os.open(path, os.O_RDONLY))],
        ("os.listdir", "os.scandir"): [lambda: os.listdir(tmp_path), lambda: list(os.scandir(tmp_path)),
                                       lambda: list(tmp_path.iterdir()), lambda: list(tmp_path.glob("*"))],
        "socket.": [lambda: socket.socket().close()],
        "subprocess.Popen": [lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)],
    }
    for event, runs in routes.items():
        for run in runs:
            assert any(e.startswith(event) for e, _ in io_events(run)), (event, run)


def test_the_guard_stage_refuses_from_previous_state_alone():
    """The guard is pure: given a committed fleet that still runs a customer the
    inputs no longer have, it refuses, naming the file and the stack."""
    from dataclasses import replace

    import pytest

    from compiler.diagnostics import CompileError
    from compiler.guard import check_decommissions
    from compiler.pipeline import load_inputs
    from compiler.plan import build_plan
    from compiler.previous import FleetIndex, PreviousState

    inputs = load_inputs(REPO, use_cache=False)
    committed = FleetIndex(frozenset({"ghost-co", "pixel-bakery"}),
                           {"ghost-co": frozenset({"ghost-co"}), "pixel-bakery": frozenset({"shared-hetzner-fsn1-01"})})
    inputs = replace(inputs, previous=PreviousState(inputs.previous.placement, inputs.previous.wazuh_blocks, committed))
    with pytest.raises(CompileError) as err:
        check_decommissions(inputs, build_plan(inputs))
    text = str(err.value)
    assert "customers/ghost-co.yaml" in text and "stack ghost-co" in text and "refusing to drop" in text
    assert "pixel-bakery" not in text                       # still in the inputs: kept
