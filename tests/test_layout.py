"""The shape of the package, kept as CONTRIBUTING.md describes it: subpackages by domain that
each say what they hold, data flowing down the layers, files and functions that read in one
sitting."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import REPO

PACKAGE = REPO / "sddd"
# Lower layers never import higher ones: core is the ground floor, commands the skin.
LAYERS = ["core", "compose", "index", "check", "consistency", "archive", "deploy", "export", "endpoint",
          "grid", "site", "resident", "output", "mcp", "commands"]
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


def test_data_flows_down_the_layers():
    wrong = []
    for path in modules():
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or parts[0] not in LAYERS:
            continue
        for name in imported(path):
            layer = name.split(".")[1] if "." in name else ""
            higher = layer in LAYERS and LAYERS.index(layer) > LAYERS.index(parts[0])
            if name.startswith("sddd.cli") or higher:
                wrong.append(f"{path.relative_to(REPO)} imports {name}")
    assert not wrong, "\n".join(wrong)


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
