"""The Terraform target uses only CDKTF's public API (issue 31).

CDKTF 0.21.0 is the final release of a deprecated library: a private or protected member
(`_synthesize_attributes`, `_raw_overrides`, ...) can change meaning with no notice and no
fix upstream. jsii turns a TypeScript `protected` member into a Python name with a leading
`_`, so the rule here is: in compiler/, no `_`-prefixed attribute is read, called or
overridden on anything of cdktf's. The protected names come from cdktf's own jsii assembly
(the `.jsii` manifest inside the installed wheel), not from the code under test.
"""
from __future__ import annotations

import ast
import json
import re
import tarfile
from pathlib import Path

import pytest

from conftest import REPO

# How compiler/ reaches cdktf: the module (or an alias of it), the lazy importer, the builder's handle.
CDKTF_ROOTS = {"cdktf", "tf"}


def protected_python_names() -> set[str]:
    """Python names (`_snake_case`) of every protected member in cdktf's jsii assembly."""
    import importlib.util
    spec = importlib.util.find_spec("cdktf")
    assert spec and spec.origin, "cdktf is not installed"
    (tgz,) = Path(spec.origin).parent.joinpath("_jsii").glob("cdktf@*.jsii.tgz")
    with tarfile.open(tgz) as tar:
        assembly = json.load(tar.extractfile("package/.jsii"))
    names = set()
    for typ in assembly["types"].values():
        for member in typ.get("methods", []) + typ.get("properties", []):
            if member.get("protected"):
                names.add("_" + re.sub(r"(?<!^)([A-Z])", r"_\1", member["name"]).lower())
    return names


def _root(node: ast.AST) -> ast.AST:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _is_cdktf(node: ast.AST) -> bool:
    """`cdktf.X`, `tf.X`, `_cdktf().X`, `self.cdktf.X` and the like."""
    if isinstance(node, ast.Attribute) and node.attr == "cdktf":
        return True
    root = _root(node)
    return isinstance(root, ast.Name) and (root.id in CDKTF_ROOTS or root.id == "_cdktf")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations(source: str, filename: str, protected: set[str]) -> list[str]:
    tree = ast.parse(source, filename)
    found = []
    cdktf_classes = [c for c in ast.walk(tree) if isinstance(c, ast.ClassDef) and any(_is_cdktf(b) for b in c.bases)]
    for cls in cdktf_classes:
        for node in ast.walk(cls):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _private(node.name):
                found.append(f"{filename}:{node.lineno}: {cls.name} overrides cdktf's {node.name}")
            # self._x / super()._x inside a cdktf subclass is cdktf's namespace
            if isinstance(node, ast.Attribute) and _private(node.attr) and (
                    (isinstance(node.value, ast.Name) and node.value.id == "self")
                    or (isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                        and node.value.func.id == "super")):
                found.append(f"{filename}:{node.lineno}: {cls.name} uses {node.attr} on a cdktf object")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            if _is_cdktf(node.value):
                found.append(f"{filename}:{node.lineno}: cdktf's private {node.attr}")
            elif node.attr in protected:
                found.append(f"{filename}:{node.lineno}: {node.attr} is a protected member of cdktf")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"getattr", "setattr"} \
                and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str) and node.args[1].value in protected:
            found.append(f"{filename}:{node.lineno}: {node.func.id}(…, {node.args[1].value!r})")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cdktf") \
                and any(_private(a.name) for a in node.names) or \
                isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cdktf._"):
            found.append(f"{filename}:{node.lineno}: imports a private part of cdktf")
    return found


@pytest.fixture(scope="module")
def protected() -> set[str]:
    names = protected_python_names()
    assert "_synthesize_attributes" in names, "cdktf's assembly no longer marks synthesizeAttributes protected"
    return names


def test_compiler_uses_no_private_or_protected_cdktf_member(protected: set[str]):
    found = []
    for path in sorted((REPO / "compiler").rglob("*.py")):
        found += violations(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)), protected)
    assert not found, "\n".join(found)


# The detector must be able to fail: the code this issue removed, and others like it.
OLD_GENERIC_RESOURCE = '''
def _generic_resource():
    class GenericResource(_cdktf().TerraformResource):
        def __init__(self, scope, name, rtype, body):
            super().__init__(scope, name, terraform_resource_type=rtype)
            self._body = body

        def _synthesize_attributes(self):
            return self._body
    return GenericResource
'''


@pytest.mark.parametrize("snippet", [
    OLD_GENERIC_RESOURCE,
    "import cdktf\nclass R(cdktf.TerraformResource):\n    def _allocate_logical_id(self, e):\n        return 'x'\n",
    "def f(stack):\n    return stack._raw_overrides\n",
    "def f(stack):\n    return getattr(stack, '_raw_overrides')\n",
    "def f(tf):\n    return tf._jsii\n",
    "from cdktf._jsii import __jsii_assembly__\n",
])
def test_the_check_catches_private_use(snippet: str, protected: set[str]):
    assert violations(snippet, "snippet.py", protected)


def test_the_check_leaves_public_use_alone(protected: set[str]):
    public = ("import cdktf\nclass R(cdktf.TerraformResource):\n    def to_terraform(self):\n"
              "        return super().to_terraform()\n"
              "def f(stack, plan):\n    stack.add_override('a.b', 1)\n    return plan._stack_cache\n")
    assert violations(public, "snippet.py", protected) == []
