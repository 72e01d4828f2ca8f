"""Findings of any command (drift, audit, ...), in each form they go out: a rich table on a
terminal, one ``path:line: severity: kind: message`` line each for pipes and CI logs (the form
compilers and linters print), and GitHub workflow annotations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich import box
from rich.markup import escape
from rich.table import Table

from sddd.output import github

STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


@dataclass
class Row:
    """One finding as every renderer sees it."""

    severity: str
    kind: str  # the finding's type or rule
    path: str | None
    line: int | None
    message: str
    other: str | None = None  # a second location (drift: the profile's file:line)
    note: str = ""  # said after the message in tables only (drift: how the profile was chosen)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.path and self.line else (self.path or "")


def table(rows: Sequence[Row], *, kind: str, where: str, other: str | None = None) -> Table:
    """The findings as a table; ``kind``, ``where`` and ``other`` name the columns."""
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=True)
    grid.add_column("severity", no_wrap=True)
    grid.add_column(kind, no_wrap=True)
    grid.add_column(where, no_wrap=True)
    if other:
        grid.add_column(other, no_wrap=True)
    grid.add_column("finding", overflow="fold", ratio=1, min_width=30)
    for row in rows:
        cells = [f"[{STYLE[row.severity]}]{row.severity}[/]", row.kind, escape(row.where or "-")]
        if other:
            cells.append(escape(row.other or "-"))
        cells.append(escape(row.message) + (f" [dim]({escape(row.note)})[/dim]" if row.note else ""))
        grid.add_row(*cells)
    return grid


def plain_line(row: Row) -> str:
    """``path:line: severity: kind: message``, whole, on one line."""
    where = f"{row.where}: " if row.where else ""
    also = f" ({row.other})" if row.other else ""
    return f"{where}{row.severity}: {row.kind}: {row.message}{also}".replace("\n", " ")


def github_lines(rows: Iterable[Row], tool: str, summary: str) -> list[str]:
    """One annotation per finding, then the summary as a notice."""
    lines = [github.annotation(r.severity, r.path, r.line, f"{tool}: {r.kind}", r.message) for r in rows]
    lines.append(github.annotation("notice", None, None, tool, summary))
    return lines
