"""The shape of the package, kept as CONTRIBUTING.md describes it: subpackages by domain that
each say what they hold, data flowing down the layers, files and functions that read in one
sitting."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import REPO

PACKAGE = REPO / "sddd"
# Layers, as contracts (import-linter's "layers" and "independence", kept in this test so that it
# needs no other dependency): a package imports packages of lower layers only, never a higher
# one; packages of one layer are independent of each other unless MAY_USE lets one use another
# for a domain reason, and those uses form no cycle. core is the ground floor, commands the skin.
LAYERS = [
    ["core"],
    ["compose"],
    ["index"],
    ["check", "consistency", "archive", "endpoint", "deploy", "export", "grid", "site"],  # the domains
    ["resident"],
    ["output"],
    ["mcp"],
    ["commands"],
    ["manual"],  # sddd's own manual: its reference pages are read off the CLI, so it sits above it
]
# Above the skin: what documents the CLI reads it, as a user would (the CLI itself imports it never).
READS_CLI = {"manual"}
MAY_USE = {
    "deploy": {"endpoint"},  # the one HTTP health probe of a vLLM server
    "export": {"deploy"},  # the resolved service deploy would run, rendered for other engines
    "grid": {"deploy", "endpoint"},  # each variant deployed, then measured over HTTP
    "site": {"archive", "deploy", "export"},  # pages of the archives, the deployments, the exports
}
LAYER = {package: level for level, packages in enumerate(LAYERS) for package in packages}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imported(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return [n for n in names if n == "sddd" or n.startswith("sddd.")]


def test_every_subpackage_says_what_it_holds():
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        where = init.relative_to(REPO)
        assert doc and len(doc.split()) >= 8, f"{where} has no docstring saying what it holds"


def package_imports() -> dict[str, dict[str, set[str]]]:
    """package -> the other sddd packages it imports -> the modules that import them."""
    found: dict[str, dict[str, set[str]]] = {}
    for path in modules():
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2:
            continue
        for name in imported(path):
            other = name.split(".")[1] if "." in name else ""
            if other != parts[0]:
                found.setdefault(parts[0], {}).setdefault(other, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_package_has_a_layer():
    packages = {p.relative_to(PACKAGE).parts[0] for p in modules() if len(p.relative_to(PACKAGE).parts) > 1}
    assert packages == set(LAYER), f"not in LAYERS: {sorted(packages - set(LAYER))}; " \
                                   f"gone: {sorted(set(LAYER) - packages)}"


def test_data_flows_down_the_layers():
    """Layers contract: no import of a higher layer, nor of the CLI."""
    wrong = []
    for package, uses in package_imports().items():
        for other, where in uses.items():
            reads_cli = other == "cli" and package not in READS_CLI
            if reads_cli or (other in LAYER and LAYER[other] > LAYER[package]):
                wrong += [f"{w} imports sddd.{other} (layer {LAYER.get(other)} > {LAYER[package]})"
                          for w in sorted(where)]
    assert not wrong, "\n".join(wrong)


def test_siblings_are_independent_unless_declared():
    """Independence contract: packages of one layer meet only where MAY_USE says why."""
    wrong = []
    for package, uses in package_imports().items():
        for other, where in uses.items():
            if other in LAYER and LAYER[other] == LAYER[package] and other not in MAY_USE.get(package, ()):
                wrong += [f"{w} imports sddd.{other}: siblings are independent (declare it in MAY_USE "
                          "with the reason)" for w in sorted(where)]
    assert not wrong, "\n".join(wrong)


def test_declared_uses_form_no_cycle():
    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n}))
                   for n in MAY_USE.get(start, ()))

    assert not [p for p in MAY_USE if reaches(p, p)]
    assert all(LAYER[p] == LAYER[o] for p, uses in MAY_USE.items() for o in uses)


def test_modules_and_functions_read_in_one_sitting():
    too_long = []
    for path in modules():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(REPO)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.name} is {length} lines")
    assert not too_long, "\n".join(too_long)


def test_test_modules_do_not_import_each_other():
    wrong = []
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module.rsplit(".", 1)[-1]
                if module.startswith("test_") or module == "conftest" or node.level:
                    wrong.append(f"{path.relative_to(REPO)} imports {'.' * node.level}{node.module}")
    assert not wrong, "\n".join(wrong)
