"""`sddd index`: chunk, embed and store the corpus, incrementally."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sddd.commands.common import JSON_HELP, get_config
from sddd.core.errors import EXIT_OK
from sddd.index.indexer import IndexReport, ProgressSink, build_index
from sddd.output.console import err, notice, out, print_json


class BarSink(ProgressSink):
    def __init__(self, progress: Progress):
        self.progress = progress
        self.task = None

    def start(self, total: int) -> None:
        self.task = self.progress.add_task("Embedding", total=total)

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, count)


def render(report: IndexReport) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("files", report.files), ("chunks", report.chunks), ("embedded", report.embedded),
        ("reused", report.reused), ("pruned", report.pruned),
        ("skipped", len(report.skipped)), ("seconds", f"{report.seconds:.2f}"),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    state = "up to date, nothing to do" if not report.written else (
        "rebuilt" if report.rebuilt else "updated")
    out.print(f"Index {report.index}: {state}")
    out.print(table)
    for skipped in report.skipped:
        err.print(f"[yellow]skipped[/yellow] {skipped}", markup=True, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def index(
        ctx: typer.Context,
        rebuild: bool = typer.Option(False, "--rebuild", help="Drop the index and embed everything again."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Chunk guides, reports and compose profiles, embed them and store them.

        Only what changed since the last run is embedded again; chunks of deleted files
        are pruned. Files that cannot be read (not UTF-8, binary, malformed YAML) are
        reported with their path and skipped; the rest still indexes.
        """
        config = get_config(ctx)
        if as_json:
            report = build_index(config, rebuild=rebuild)
            print_json(asdict(report))
            raise typer.Exit(EXIT_OK)
        with Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True,
            disable=not err.is_terminal,
        ) as progress:
            report = build_index(config, rebuild=rebuild, progress=BarSink(progress), notice=notice)
        render(report)
        raise typer.Exit(EXIT_OK)
