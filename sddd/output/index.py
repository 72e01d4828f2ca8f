"""`sddd index` for people: the embedding progress bar and the summary table."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sddd.index.indexer import IndexReport, ProgressSink
from sddd.output.console import err, live_console, out


class BarSink(ProgressSink):
    def __init__(self, progress: Progress):
        self.progress = progress
        self.task: Any = None

    def start(self, total: int) -> None:
        self.task = self.progress.add_task("Embedding", total=total)

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, count)

    def file(self, path: str) -> None:
        """A file that takes more than a few seconds to chunk is named while it does."""
        self.progress.add_task(f"Chunking {path}", total=None)


def render(report: IndexReport) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("files", report.files), ("chunks", report.chunks), ("embedded", report.embedded),
        ("reused", report.reused), ("pruned", report.pruned),
        ("skipped", len(report.skipped)), ("seconds", f"{report.seconds:.2f}"),
    ]
    if report.written:
        rows.insert(5, ("vector index", report.vector_index))
    if report.device:
        rows.insert(5, ("embedded on", report.device))
    for name, value in rows:
        table.add_row(name, str(value))
    state = "up to date, nothing to do" if not report.written else (
        "rebuilt" if report.rebuilt else "updated")
    out.print(f"Index {report.index}: {state}")
    out.print(table)
    for skipped in report.skipped:
        err.print(f"[yellow]skipped[/yellow] {skipped}", markup=True, highlight=False)


def progress_bar() -> Progress:
    """A transient bar on stderr, shown only on a terminal."""
    return Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(),
        MofNCompleteColumn(), TimeElapsedColumn(), console=live_console(), transient=True,
        disable=not err.is_terminal,
    )
