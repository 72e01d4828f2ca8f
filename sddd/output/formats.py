"""Every output format, declared once, and the results protocol they render.

A command turns its report into ``Results`` (the findings as ``Row``\\ s, the summary line, the
``--json`` document, the table for a terminal) and hands it to ``emit``. The formats a command
offers are the registered ones that fit its ``Shape`` (``offered``), so its ``--format`` choices,
its help and the check of its argument all come from here. A result may render a format its own
way (``Results.own``: check's JUnit, validate's), which wins over the generic renderer.

Adding a format is one module that defines ``FORMAT = Format(...)`` and its name in
``PLUGINS`` below (CONTRIBUTING.md says how).
"""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sddd.output.findings import Row, github_lines, plain_lines

if TYPE_CHECKING:  # rich only for the table: JSON, plain lines and SARIF never import it
    from rich.console import Console

# Formats that live in their own module (loaded on first use, in this order after the built-ins).
PLUGINS = ("sddd.output.sarif",)
TABLE_WIDTH = 160  # a table written to a file (--output) has no terminal to measure


@dataclass(frozen=True)
class Shape:
    """What a command's results hold, known before it runs (for ``--format`` and ``--help``)."""

    tool: str  # "sddd drift": names the findings in annotations and SARIF
    findings: bool = True  # rows of severity, kind and message: plain lines
    located: bool = False  # rows at a file (and line): annotations, code scanning
    own: tuple[str, ...] = ()  # formats only this command renders (junit)


@dataclass
class Results:
    """A command's result as every format sees it."""

    shape: Shape
    summary: str  # the last line of plain output, the notice of annotations
    data: Callable[[], Any]  # the --json document
    draw: Callable[[Console], None]  # the result for people, on a rich console
    rows: Callable[[], list[Row]] = list
    own: Mapping[str, Callable[[], str]] = field(default_factory=dict)  # format -> its own text
    home: str | None = None  # the file that configures the command (sddd.yaml): where a finding
    #                          without a file of its own is placed for code scanning


@dataclass(frozen=True)
class Format:
    name: str
    help: str  # for --format's help: "json", "github (workflow annotations)"
    fits: Callable[[Shape], bool]
    render: Callable[[Results], str]  # the whole document, ending with a newline


def _lines(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _table(results: Results) -> str:
    from rich.console import Console

    recorder = Console(record=True, width=TABLE_WIDTH, file=io.StringIO())
    results.draw(recorder)
    return recorder.export_text()


def _json(results: Results) -> str:
    return json.dumps(results.data(), indent=2, ensure_ascii=False, default=str) + "\n"


BUILT_IN = (
    Format("table", "table (the default on a terminal)", lambda shape: True, _table),
    Format("plain", "plain (the default when stdout is not a terminal: one `path:line: severity: "
                    "type: message` line each, then the summary)",
           lambda shape: shape.findings, lambda r: _lines(plain_lines(r.rows(), r.summary))),
    Format("json", "json", lambda shape: True, _json),
    Format("junit", "junit (one testcase per result)", lambda shape: "junit" in shape.own,
           lambda r: r.own["junit"]()),
    Format("github", "github (workflow annotations: ::error file=...,line=...::)",
           lambda shape: shape.located,
           lambda r: _lines(github_lines(r.rows(), r.shape.tool, r.summary))),
)


@cache
def registry() -> dict[str, Format]:
    """Every format by name: the built-ins, then each plugin module's ``FORMAT``."""
    formats = {f.name: f for f in BUILT_IN}
    for module in PLUGINS:
        plugin: Format = importlib.import_module(module).FORMAT
        formats[plugin.name] = plugin
    return formats


def offered(shape: Shape) -> tuple[str, ...]:
    """The formats that fit ``shape``, in the order --help lists them."""
    return tuple(name for name, f in registry().items() if f.fits(shape))


def help_text(shape: Shape) -> str:
    """``--format``'s help: every format offered, with what it is."""
    return ", ".join(registry()[name].help for name in offered(shape)) + "."


def render(results: Results, fmt: str) -> str:
    """``results`` as the document of ``fmt`` (the result's own rendering first)."""
    own = results.own.get(fmt)
    return own() if own is not None else registry()[fmt].render(results)


def emit(results: Results, fmt: str, output: Path | None = None) -> None:
    """The results in ``fmt`` on stdout (a table drawn on the terminal), or written to ``output``
    atomically with the summary line on stdout."""
    from sddd.output.console import out, write_text

    if fmt == "table" and output is None:
        results.draw(out)
        return
    text = render(results, fmt)
    if output is None:
        write_text(text)
        return
    from sddd.core.atomic import atomic_write_text

    atomic_write_text(output, text)
    out.print(f"{results.summary} (report written to {output})", markup=False, highlight=False)
