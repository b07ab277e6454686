"""Issue 27 item 8: the README is a front door. At most 300 lines; what it is and the
two commands first; a 10-step "add a customer" walkthrough; every command in one
table, the same set argparse has (a new subcommand without a row, or a row for a
command that is gone, fails); each flag a row names exists; the architecture
picture; every relative link resolves; docs/dependencies.md is linked."""
from __future__ import annotations

import argparse
import re

from conftest import REPO

README = (REPO / "README.md").read_text()


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    from compiler.cli import parser
    action = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _section(title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert m, f"README has no section '## {title}'"
    return m.group(1)


def _table_rows(section: str) -> list[str]:
    return [l for l in section.splitlines() if l.startswith("| `clawtex ")]


def test_readme_is_at_most_300_lines_and_starts_with_the_two_commands():
    lines = README.splitlines()
    assert len(lines) <= 300, len(lines)
    assert lines[0].startswith("# ")
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first_block and README.index("```bash") < README.index("\n## ")       # before any section
    commands = [l for l in first_block.group(1).splitlines() if l.strip()]
    assert len(commands) == 2 and "clawtex compile" in commands[0] and "install-deps.sh" in commands[1]
    assert "declarative GitOps compiler" in README.split("\n## ")[0]               # what it is, up front


def test_every_command_is_in_the_one_table():
    rows = _table_rows(_section("Commands"))
    in_table = {re.match(r"\| `clawtex ([a-z0-9-]+)", r).group(1) for r in rows}
    assert in_table == set(_subcommands()), (sorted(set(_subcommands()) - in_table), sorted(in_table - set(_subcommands())))


def test_every_flag_a_row_names_exists():
    subs = _subcommands()
    for row in _table_rows(_section("Commands")):
        cmd = re.match(r"\| `clawtex ([a-z0-9-]+)", row).group(1)
        flags = {f for a in subs[cmd]._actions for f in a.option_strings}
        usage = row.split("|")[1]
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", usage):
            assert flag in flags, f"README row for {cmd} names {flag}, which `clawtex {cmd}` does not have"


def test_the_walkthrough_has_ten_steps_with_real_commands():
    steps = re.findall(r"^(\d+)\. ", _section("Add a customer in 10 steps"), re.M)
    assert steps == [str(i) for i in range(1, 11)]
    subs = _subcommands()
    for cmd in re.findall(r"`clawtex ([a-z0-9-]+)", _section("Add a customer in 10 steps")):
        assert cmd in subs, cmd


def test_architecture_picture_and_links_resolve():
    picture = _section("Architecture")
    for stage in ("load", "validate", "plan", "render", "write"):
        assert stage in picture
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    assert links
    for target in links:
        if "://" not in target:
            assert (REPO / target).exists(), f"README links {target}, which does not exist"
    for doc in ("docs/service-model.md", "docs/live-checks.md", "docs/providers.md", "docs/operations.md",
                "docs/reports.md", "docs/dependencies.md"):
        assert f"]({doc})" in README, doc
    assert "docs/dependencies.md" in _section("Dependencies")


def test_the_command_table_check_can_fail():
    """A subcommand missing from the table is noticed (the set comparison above is not vacuous)."""
    rows = _table_rows(_section("Commands"))
    without = {re.match(r"\| `clawtex ([a-z0-9-]+)", r).group(1) for r in rows if "dr-drill" not in r}
    assert without != set(_subcommands())
