"""Every example of the README and the manual is true: each `console` block runs against this
repository with its output compared (tests/fixtures/examples.py), each MCP text example is what
the tool answers, each path named in prose exists, each benchmark figure is in bench/results.

These are the tests that keep the README's old faults from coming back: outputs nobody reran,
paths that moved, figures typed in by hand that contradicted each other.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from sddd.core.config import load_config
from sddd.manual.plugin import FIGURE, fill_figures, manual_pages
from tests.fixtures.examples import examples, matches, normalise, run
from tests.fixtures.examples import fresh_indexes as bring_indexes_up_to_date
from tests.helpers import REPO

PAGES = [REPO / "README.md", *manual_pages()]
CONSOLE = [example for page in PAGES for example in examples(page)]
TOP_LEVEL = {line.split("/", 1)[0] for line in subprocess.run(
    ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.splitlines()}
# Inline code that names a file of this repository: a concrete path (no placeholder) under one of
# its tracked top-level entries, or a dotted name inside the sddd package.
PATHLIKE = re.compile(r"^[\w.-]+(?:/[\w.-]+)*/?(?:#[\w-]+)?$")
DOTTED = re.compile(r"^sddd(?:\.[a-z_]\w*)+$")
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


def prose(page: Path) -> list[tuple[int, str]]:
    """(line, inline code) of a page, outside fenced blocks."""
    found, fence = [], None
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if fence is None and re.match(r"^(`{3,}|~{3,})", stripped):
            fence = re.match(r"^(`{3,}|~{3,})", stripped).group(1)  # type: ignore[union-attr]
        elif fence is not None and stripped == fence:
            fence = None
        elif fence is None:
            found += [(number, m.group(1)) for m in INLINE.finditer(line)]
            found += [(number, m.group(1)) for m in re.finditer(r"\]\(([^)#\s]+)", line)
                      if page.name == "README.md" and not m.group(1).startswith("http")]
    return found


def missing(name: str) -> bool:
    """True when ``name`` claims to be a file of the repository (or a name in sddd) and is not."""
    if DOTTED.match(name) and not (REPO / name).exists():  # sddd.yaml is a file, not a module
        import importlib

        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attr in parts[cut:]:
                if not hasattr(obj, attr):
                    return True
                obj = getattr(obj, attr)
            return False
        return True
    path = name.split("#", 1)[0].rstrip("/")
    if not PATHLIKE.match(name) or path.split("/", 1)[0] not in TOP_LEVEL:
        return False  # not a path of this repository (a command, a placeholder, a generated file)
    return not (REPO / path).exists()


@pytest.fixture(scope="module")
def fresh_indexes() -> None:
    """The repository's index and the manual's, up to date, so no example prints an update."""
    bring_indexes_up_to_date()


def status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("example", CONSOLE, ids=[e.name for e in CONSOLE])
def test_console_example_prints_what_the_page_says(example, fresh_indexes):
    before = status()
    outputs = run(example)
    assert len(outputs) == len(example.commands), f"{example.name}: the block did not run to its end"
    for (command, expected), actual in zip(example.commands, outputs, strict=True):
        assert matches(expected, actual), (
            f"{example.name}: `$ {command}` printed\n" + "\n".join(actual)
            + "\n--- the page says\n" + "\n".join(expected)
            + "\n--- compared as\n" + "\n".join(normalise(line) for line in actual))
    assert status() == before, f"{example.name} changed the repository's files"


def test_examples_cover_the_readme_and_the_quick_start():
    names = {e.name.split(":")[0] for e in CONSOLE}
    assert {"README.md", "sddd/manual/getting-started.md"} <= names
    readme = [e for e in CONSOLE if e.path.name == "README.md"]
    assert any(c.startswith("sddd search") for e in readme for c, _ in e.commands)


def test_the_runner_catches_a_wrong_output():
    # The comparison can fail: a count is not volatile, a score is (of its shape only).
    assert matches(["files 28", "score 0.820"], ["files 28", "score 0.911"])
    assert not matches(["files 18"], ["files 28"])
    assert not matches(["score 0.820"], ["score high"])
    assert matches(["first", "...", "last"], ["first", "a", "b", "last"])
    assert not matches(["first", "last"], ["first", "a", "last"])


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(REPO).as_posix() for p in PAGES])
def test_every_path_named_in_prose_exists(page):
    dead = [f"{page.relative_to(REPO)}:{line}: {name}" for line, name in prose(page) if missing(name)]
    assert not dead, "paths that do not exist:\n" + "\n".join(dead)


def test_the_path_check_can_fail():
    for dead in ("tests/test_project_targets.py", "tests/tiny_qwen3.py", "sddd.variants.detect_variants",
                 "tests/test_site_browser.py", "docs/guides/nothing.md"):
        assert missing(dead), dead
    for alive in ("tests/check/test_project_targets.py", "sddd.compose.variants.detect_variants",
                  "bench/README.md", "docs/guides/configuration.md#why-chunked-prefill-is-on"):
        assert not missing(alive), alive


def test_every_benchmark_figure_comes_from_bench_results(caplog):
    results = REPO / "bench" / "results"
    quoted = 0
    for page in manual_pages():
        text = page.read_text(encoding="utf-8")
        quoted += len(FIGURE.findall(text))
        filled = fill_figures(text, results, page.name)
        assert "{{bench:" not in filled and "(not measured)" not in filled, page
    assert quoted >= 20
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    # A key that is not in the results is a warning (a failure under --strict), not a number.
    assert fill_figures("{{bench:check.json:no_such_key}}", results, "x.md") == "(not measured)"
    value = json.loads((results / "check.json").read_text())["cold_wall_s_median"]
    assert fill_figures("{{bench:check.json:cold_wall_s_median:.2f}}", results, "x.md") == f"{value:.2f}"


def mcp_examples() -> list[tuple[Path, int, str, dict, list[str]]]:
    found = []
    for page in manual_pages():
        lines = page.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            match = re.fullmatch(r"<!-- mcp: (\w+) (\{.*\}) -->", line.strip())
            if match:
                end = lines.index("```", index + 2)
                found.append((page, index + 1, match.group(1), json.loads(match.group(2)),
                              lines[index + 2:end]))
    return found


def test_mcp_text_examples_are_what_the_tools_answer(fresh_indexes):
    from sddd.mcp.tools import READ_TOOLS
    from sddd.resident.warm import Workspace

    found = mcp_examples()
    assert len(found) >= 2
    workspace = Workspace(load_config(REPO / "sddd.yaml"), lambda message: None)
    tools = {spec.name: spec for spec in READ_TOOLS}
    try:
        for page, line, name, arguments, expected in found:
            answer = tools[name].run(workspace, tools[name].check(arguments))
            actual = answer.text.splitlines()
            assert matches(expected, actual), f"{page.name}:{line}: {name} answers\n{answer.text}"
    finally:
        workspace.close()


def test_readme_is_a_five_minute_read_that_starts_with_the_two_commands():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    assert text.split("```bash\n", 1)[1].split("```", 1)[0] == (
        'bash scripts/setup.sh && .venv/bin/sddd index && .venv/bin/sddd search "chunked prefill medium"\n'
        "bash scripts/test.sh\n")


def test_no_message_or_config_points_to_a_page_users_do_not_have():
    # sddd.yaml once mentioned a `sddd config` command that never existed, and error messages sent
    # users to this repository's docs/guides/writing-targets.md.
    assert "sddd config" not in (REPO / "sddd.yaml").read_text(encoding="utf-8")
    stale = [str(p.relative_to(REPO)) for p in (REPO / "sddd").rglob("*.py")
             if "docs/guides/writing-targets.md" in p.read_text(encoding="utf-8")]
    assert not stale
