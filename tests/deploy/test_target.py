"""Deploy targets are chosen in one place (sddd.deploy.target): every registered name is a module
that implements the protocol, no code outside sddd/deploy/ compares a value with a target's name,
and the commands, their output and the MCP tools never import a target's module."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from sddd.deploy.target import DEFAULT, TARGETS, flag, target
from tests.helpers import REPO, sddd_here, write

PACKAGE = REPO / "sddd"
# These receive a target from sddd.deploy.target and ask it; they never name an engine's module.
CHOOSERS = ("commands", "output", "mcp")


def names_a_target(node: ast.AST) -> bool:
    """A string constant that is a target's name, alone or in a tuple, list or set."""
    if isinstance(node, ast.Constant):
        return node.value in TARGETS
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(names_a_target(e) for e in node.elts)
    return False


def engine_questions(root: Path) -> list[str]:
    """`x == "swarm"`, `"compose" != y`, `t in ("swarm", ...)` outside sddd/deploy/, and imports of
    a target's module from the packages that must go through the registry."""
    found = []
    target_modules = {f"sddd.deploy.{name}" for name in TARGETS} | {"sddd.deploy.swarm_tasks"}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if parts[0] == "deploy":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(root.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Compare) and any(map(names_a_target, [node.left, *node.comparators])):
                found.append(f"{where} compares with a target's name")
            if parts[0] in CHOOSERS and isinstance(node, ast.ImportFrom) and node.module:
                modules = {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
                if modules & target_modules:
                    found.append(f"{where} imports a target's module; take it from sddd.deploy.target")
    return found


def test_no_code_outside_deploy_asks_which_engine_it_runs_on() -> None:
    assert engine_questions(PACKAGE) == []


def test_the_check_finds_an_if_ladder(tmp_path: Path) -> None:
    """The rule above can fail: the shape it replaced is found."""
    write(tmp_path / "sddd", "output/deploy.py",
          "def render(target):\n    return 'task' if target == \"swarm\" else 'container'\n")
    write(tmp_path / "sddd", "commands/deploy.py",
          "def status(target):\n    if target in ('swarm',):\n"
          "        from sddd.deploy.swarm import swarm_status as run\n")
    found = engine_questions(tmp_path / "sddd")
    assert [line.split(" ", 1)[0] for line in found] == [
        "sddd/commands/deploy.py:2", "sddd/commands/deploy.py:3", "sddd/output/deploy.py:2"]


def top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {t.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)}


def test_every_target_module_is_registered_under_its_own_name() -> None:
    defining = sorted(p.stem for p in (PACKAGE / "deploy").glob("*.py")
                      if "TARGET" in top_level_names(p))
    assert defining == sorted(TARGETS)
    for name in TARGETS:
        chosen = target(name)
        assert chosen is importlib.import_module(f"sddd.deploy.{name}").TARGET
        assert chosen.name == name and chosen.engine and chosen.place and chosen.unit
    assert DEFAULT == "compose" and flag(DEFAULT) == "" and flag("swarm") == " --target swarm"


def test_an_unknown_target_is_one_usage_error(tmp_path: Path) -> None:
    write(tmp_path, "sddd.yaml", "profiles: ['profiles/*.yml']\n")
    for args in (("status",), ("down",), ("logs",), ("deploy", "--dry-run")):
        done = sddd_here(*args, "--target", "kubernetes", cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.strip() == "error: --target must be one of compose, swarm; got 'kubernetes'"
