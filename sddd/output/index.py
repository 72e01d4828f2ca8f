"""`sddd index` for people: the embedding progress bar and the summary table."""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from sddd.index.indexer import IndexReport, ProgressSink
from sddd.output.console import err, live_console, out

PLAIN_EVERY_S = 10.0  # a CI log gets a progress line at most this often
READING_AFTER_S = 1.0


class BarSink(ProgressSink):
    """Embedding progress on a terminal: a live line with passages done of total, rate, time left."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.task: Any = None
        # Until the first passage is embedded: files are read, chunked, and the model loaded.
        self.reading = progress.add_task("Reading and chunking files", total=None)

    def start(self, total: int) -> None:
        self.progress.remove_task(self.reading)
        self.task = self.progress.add_task("Embedding", total=total)

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, count)

    def file(self, path: str) -> None:
        """A file that takes more than a few seconds to chunk is named while it does."""
        self.progress.add_task(f"Chunking {path}", total=None)


class LineSink(ProgressSink):
    """Embedding progress in a pipe or a CI log: plain lines, one at the start and then at most one
    every ``every`` seconds; never a carriage return (a log keeps every byte it gets)."""

    def __init__(self, every: float = PLAIN_EVERY_S, reading: str = ""):
        self.every, self.total, self.done = every, 0, 0
        self.started = self.last = 0.0
        # A large tree is read and chunked for a while before any passage is embedded: ``reading``
        # is said after a second of that (not at once, so that a refusal stays the one line it is).
        self.timer = threading.Timer(READING_AFTER_S, err.print, args=(reading,),
                                     kwargs={"style": "dim", "highlight": False, "soft_wrap": True})
        self.timer.daemon = True
        if reading:
            self.timer.start()

    def stop(self) -> None:
        self.timer.cancel()

    def start(self, total: int) -> None:
        self.timer.cancel()
        self.total, self.started = total, time.monotonic()
        self.last = self.started
        err.print(f"embedding {total} passage(s)", highlight=False, soft_wrap=True)

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.last < self.every or self.done >= self.total:
            return
        self.last = now
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = f", about {(self.total - self.done) / rate:.0f} s left" if rate > 0 else ""
        err.print(f"embedded {self.done}/{self.total} passages ({rate:.1f}/s{left})", highlight=False,
                  soft_wrap=True)


class RateColumn(ProgressColumn):
    """Passages per second."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f}/s" if task.speed else "", style="progress.data.speed")


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


def progress_bar(quiet: bool = False) -> Progress:
    """A transient bar on stderr, shown only on a terminal."""
    return Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(bar_width=24),
        MofNCompleteColumn(), TextColumn("passages"), RateColumn(), TimeRemainingColumn(),
        console=live_console(), transient=True, disable=quiet or not err.is_terminal,
    )


def index_sink(progress: Progress, quiet: bool = False, reading: str = "") -> BarSink | LineSink | None:
    """The bar on a terminal, plain lines in a pipe (``reading`` first, when that takes a second),
    nothing with --quiet."""
    if quiet:
        return None
    return BarSink(progress) if err.is_terminal else LineSink(reading=reading)
