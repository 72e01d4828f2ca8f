"""Findings of any command (drift, audit, check, ...), in each form they go out: a rich table on a
terminal, one ``path:line: severity: kind: message`` line each for pipes and CI logs (the form
compilers and linters print), and GitHub workflow annotations.

The table never drops or cuts a column: the locations (``path:line``) keep their whole width and
only the message wraps. When the terminal is too narrow for that, a second location moves into
the message, and below that each finding becomes a block (its locations on one line, the message
wrapped under it). ``plain_lines`` is the one place the line form is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sddd.output import github

if TYPE_CHECKING:  # rich is imported by the functions that draw: plain lines and JSON never need it
    from rich.console import Group, RenderableType
    from rich.table import Table

STYLE = {"error": "bold red", "warning": "yellow", "info": "dim", "pass": "green", "skip": "dim"}
MIN_MESSAGE = 30  # narrower than this, a message column is unreadable: use blocks instead
GAP = 2  # without edges, a cell's padding puts two spaces between columns


@dataclass
class Row:
    """One finding as every renderer sees it."""

    severity: str
    kind: str  # the finding's type or rule
    path: str | None
    line: int | None
    message: str
    other: str | None = None  # a second location (drift: the profile's file:line)
    note: str = ""  # how the finding was decided (drift: how the profile was chosen)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.path and self.line else (self.path or "")

    @property
    def full_message(self) -> str:
        """The message with the second location and the note, as plain lines print it."""
        extra = "; ".join(x for x in (self.other or "", self.note) if x)
        return f"{self.message} ({extra})" if extra else self.message


def plain_line(row: Row) -> str:
    """``path:line: severity: kind: message (other; note)``, whole, on one line."""
    where = f"{row.where}: " if row.where else ""
    return f"{where}{row.severity}: {row.kind}: {row.full_message}".replace("\n", " ")


def plain_lines(rows: Iterable[Row], summary: str | None = None) -> list[str]:
    """Every finding as a line, then the summary line."""
    lines = [plain_line(r) for r in rows]
    return lines + ([summary.replace("\n", " ")] if summary else [])


def _style(severity: str) -> str:
    return STYLE.get(severity, "")


def table(rows: Sequence[Row], *, kind: str, where: str, other: str | None = None,
          width: int = 120) -> RenderableType:
    """The findings laid out for a terminal ``width`` columns wide; ``kind``, ``where`` and
    ``other`` name the columns."""
    sev_w = max([len("severity"), *(len(r.severity) for r in rows)])
    kind_w = max([len(kind), *(len(r.kind) for r in rows)])
    where_w = max([len(where), *(len(r.where or "-") for r in rows)])
    other_w = max([len(other), *(len(r.other or "-") for r in rows)]) if other else 0
    # A message column narrower than its longest word would break that word (a file name): blocks.
    need = max([MIN_MESSAGE, *(len(w) for r in rows for w in f"{r.message} {r.other or ''}".split())])
    fixed = sev_w + kind_w + where_w + 3 * GAP
    if other and width - fixed - other_w - GAP >= need:
        return _grid(rows, [("severity", sev_w), (kind, kind_w), (where, where_w), (other, other_w)],
                     inline_other=False)
    if width - fixed >= need:
        return _grid(rows, [("severity", sev_w), (kind, kind_w), (where, where_w)], inline_other=True)
    return blocks(rows)


def _grid(rows: Sequence[Row], columns: list[tuple[str, int]], *, inline_other: bool) -> Table:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, expand=True)
    for name, width in columns:
        grid.add_column(name, no_wrap=True, min_width=width, max_width=width)
    grid.add_column("finding", overflow="fold", ratio=1, min_width=MIN_MESSAGE)
    for row in rows:
        cells = [f"[{_style(row.severity)}]{row.severity}[/]", escape(row.kind), escape(row.where or "-")]
        if len(columns) == 4:
            cells.append(escape(row.other or "-"))
        extra = "; ".join(x for x in ((row.other or "") if inline_other else "", row.note) if x)
        cells.append(escape(row.message) + (f" [dim]({escape(extra)})[/dim]" if extra else ""))
        grid.add_row(*cells)
    return grid


def blocks(rows: Sequence[Row]) -> Group:
    """One block per finding: ``severity kind path:line [other]``, the message wrapped below."""
    from rich.console import Group
    from rich.padding import Padding
    from rich.text import Text

    parts: list[RenderableType] = []
    for row in rows:
        head = Text()
        head.append(row.severity, style=_style(row.severity))
        head.append(f" {row.kind}")
        if row.where:
            head.append(f" {row.where}", style="cyan")
        if row.other:
            head.append(f" {row.other}", style="cyan")
        body = Text(row.message)
        if row.note:
            body.append(f" ({row.note})", style="dim")
        parts += [head, Padding(body, (0, 0, 0, 4))]
    return Group(*parts)


def github_lines(rows: Iterable[Row], tool: str, summary: str) -> list[str]:
    """One annotation per finding, then the summary as a notice."""
    lines = [github.annotation(r.severity, r.path, r.line, f"{tool}: {r.kind}", r.message) for r in rows]
    lines.append(github.annotation("notice", None, None, tool, summary))
    return lines
