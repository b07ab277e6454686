"""Issue 31's "Done when" greps, as a test: compiler/ holds no hand-written holiday list, no
hand-made slug regex and no float money. The holiday calendar comes from `holidays`, customer
ids from python-slugify, money is decimal.Decimal (compiler/money.py); docs/dependencies.md.

An ast scan of every module (and a text scan of the templates), so a new hand-written edge
fails here at its file:line. Each rule is also run on a snippet of the kind it forbids, so none
of them can pass by matching nothing.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import REPO

COMPILER = REPO / "compiler"

# Names that hold an amount of money (prices, costs, revenue, ...), as the code spells them.
MONEY = re.compile(r"(?i)(price|cost|mrr|revenue|amount|cents|money|fee|spend|invoice|margin(?!.*percent)|eur\b|usd\b)")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
# A hand-made slug: a character class that keeps only letters/digits (or \W) replaced by a separator.
SLUG_PATTERN = re.compile(r"\[\^[^\]]*(a-z|A-Z|0-9|\\w)[^\]]*\]|\\W|\[\^\\w")

# Reviewed exceptions, each with its reason: (path, the expression's source).
ALLOWED = {
    # Bar heights of the KPI chart: matplotlib draws floats; no amount is computed or printed from them.
    ("compiler/business/kpis.py", "float(m.mrrByTier.get(t, ZERO))"),
    # A percentage (the PR summary's cost-increase red flag, `--cost-threshold 10`), not an amount.
    ("compiler/gitops/pr_summary.py", "cost_threshold: float"),
}


def _calls(tree: ast.AST, name: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Name) and f.id == name) or (isinstance(f, ast.Attribute) and f.attr == name):
                yield node


def _dates_in(node: ast.AST) -> int:
    """How many literal dates a list/tuple/set/dict literal holds ("2026-12-25", "12-25", date(2026, 12, 25))."""
    items = node.keys if isinstance(node, ast.Dict) else node.elts
    count = 0
    for item in items:
        if isinstance(item, ast.Constant) and isinstance(item.value, str) and (
                ISO_DATE.match(item.value) or MONTH_DAY.match(item.value)):
            count += 1
        elif isinstance(item, ast.Call) and isinstance(item.func, (ast.Name, ast.Attribute)) \
                and (getattr(item.func, "id", None) or getattr(item.func, "attr", None)) == "date" \
                and len(item.args) == 3 and all(isinstance(a, ast.Constant) for a in item.args):
            count += 1
    return count


def violations(source: str, filename: str) -> list[str]:
    tree = ast.parse(source, filename)
    seg = lambda n: ast.get_source_segment(source, n) or ""  # noqa: E731
    found = []

    def flag(node: ast.AST, what: str) -> None:
        if (filename, seg(node)) not in ALLOWED:
            found.append(f"{filename}:{node.lineno}: {what}: {seg(node)}")

    # float money: float(<money>), round(<money>), a money name annotated float, a money name = float literal
    for call in _calls(tree, "float"):
        if call.args and MONEY.search(seg(call.args[0])):
            flag(call, "float money")
    for call in _calls(tree, "round"):
        if call.args and MONEY.search(seg(call.args[0])):
            flag(call, "money rounded with round() (use money.to_cents)")
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and MONEY.search(seg(node.target)) and "float" in seg(node.annotation):
            flag(node, "money typed float")
        if isinstance(node, ast.arg) and node.annotation is not None and MONEY.search(node.arg) \
                and "float" in seg(node.annotation):
            flag(node, "money parameter typed float")
        if isinstance(node, ast.FunctionDef) and MONEY.search(node.name) and node.returns is not None \
                and "float" in seg(node.returns):
            flag(node, "money function returns float")
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, float) \
                and any(MONEY.search(seg(t)) for t in node.targets):
            flag(node, "money assigned a float literal")
    # hand-made slugs: re.sub/re.compile with a keep-only-letters-and-digits class, or a slug function using re
    for name in ("sub", "compile", "subn"):
        for call in _calls(tree, name):
            if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name) and call.func.value.id == "re" \
                    and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str) \
                    and SLUG_PATTERN.search(call.args[0].value):
                flag(call, "hand-made slug regex (use python-slugify)")
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and "slug" in node.name.lower() \
                and any(isinstance(c.func, ast.Attribute) and isinstance(c.func.value, ast.Name) and c.func.value.id == "re"
                        for c in ast.walk(node) if isinstance(c, ast.Call)):
            flag(node, "slug function built on re (use python-slugify)")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "encode" \
                and len(node.args) == 2 and all(isinstance(a, ast.Constant) for a in node.args) \
                and [a.value for a in node.args] == ["ascii", "ignore"]:
            flag(node, "letters dropped by encode('ascii', 'ignore') (transliterate with python-slugify)")
    # hand-written holiday lists: a literal with two or more dates
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)) and _dates_in(node) >= 2:
            flag(node, "literal list of dates (holidays come from the holidays library)")
    return found


def test_compiler_has_no_hand_written_edges():
    found = []
    for path in sorted(COMPILER.rglob("*.py")):
        found += violations(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())
    assert not found, "\n".join(found)


def test_templates_hold_no_dates():
    """Templates print the calendar they are given; none types dates of its own."""
    dated = re.compile(r"\b20\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
    found = [f"{p.relative_to(REPO)}:{n}: {line.strip()}"
             for p in sorted((COMPILER / "templates").rglob("*")) if p.is_file()
             for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1) if dated.search(line)]
    assert not found, "\n".join(found)


def test_the_exceptions_still_exist():
    """An allowed expression that is gone from the code is a stale exception: remove it here."""
    for path, expression in ALLOWED:
        assert expression in (REPO / path).read_text(encoding="utf-8"), (path, expression)


@pytest.mark.parametrize("snippet", [
    "def total(items):\n    return sum(float(i.price) for i in items)\n",
    "def line(cost):\n    return round(cost * 1.19, 2)\n",
    "class Line:\n    monthly_price: float\n",
    "def bill(amount: float):\n    return amount\n",
    "def host_cost(h) -> float:\n    return 0\n",
    "fee = 4.99\n",
    "import re\ndef customer_id(name):\n    return re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')\n",
    "import re\nSLUG = re.compile(r'\\W+')\n",
    "import re\ndef slugify(s):\n    return re.sub('-+', '-', s)\n",
    "def ascii_id(name):\n    return name.encode('ascii', 'ignore').decode()\n",
    "HOLIDAYS = ['2026-12-25', '2026-12-26', '2027-01-01']\n",
    "FIXED = ('01-01', '05-01', '10-03', '12-25')\n",
    "import datetime\nDAYS = {datetime.date(2027, 4, 2): 'Good Friday', datetime.date(2027, 4, 5): 'Easter Monday'}\n",
])
def test_each_rule_catches_its_edge(snippet: str):
    assert violations(snippet, "snippet.py"), snippet


def test_the_rules_leave_ordinary_code_alone():
    ordinary = ("import re\nfrom decimal import Decimal\n"
                "def snake(name):\n    return re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()\n"
                "def percent(part: Decimal, whole: Decimal) -> float:\n    return round(float(100 * part / whole), 1)\n"
                "def hours(seconds: float) -> float:\n    return round(seconds / 3600, 2)\n"
                "ONBOARDED = '2026-09-01'\n")
    assert violations(ordinary, "snippet.py") == []
