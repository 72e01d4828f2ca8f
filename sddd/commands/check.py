"""`sddd check`: discoverability targets as a CI gate."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sddd.commands.common import JSON_HELP, get_config
from sddd.core.atomic import atomic_write_text
from sddd.core.errors import EXIT_FAILED, EXIT_OK, UsageError
from sddd.output import check as check_reports
from sddd.output.console import notice, out, print_json

if TYPE_CHECKING:
    from sddd.check.evaluate import CheckReport, SuggestReport


def render_suggestions(report: SuggestReport) -> None:
    grid = Table(title=f"sddd check --suggest {escape(report.path)}", title_justify="left", expand=True,
                 box=box.SIMPLE_HEAD, pad_edge=False)
    grid.add_column("", width=1)
    grid.add_column("query", overflow="fold", ratio=3)
    grid.add_column("expect", overflow="fold", ratio=3)
    grid.add_column("rank", justify="right", width=5)
    grid.add_column("score", justify="right", width=6)
    grid.add_column("ranked first instead", overflow="fold", ratio=2)
    for s in report.suggestions:
        r = s.result
        mark = "[green]✓[/green]" if r.passed else "[red]✗[/red]"
        expect = f"{report.path}#{s.anchor}" if s.anchor else report.path
        wrong = f"{escape(r.best_wrong.where)} ({r.best_wrong.score:.3f})" if r.best_wrong else "-"
        grid.add_row(mark, escape(s.query), f"[cyan]{escape(expect)}[/cyan]",
                     "-" if r.rank is None else str(r.rank),
                     "-" if r.score is None else f"{r.score:.3f}", wrong)
    if report.suggestions:
        probe = report.suggestions[0].result.target
        grid.caption = f"✓: rank ≤ {probe.top_k} and score ≥ {probe.min_score:g} (the defaults of sddd.yaml)"
        grid.caption_justify = "left"
    out.print(grid)
    if report.targets:
        out.print(f"Targets already expecting it: {', '.join(report.targets)}")
    else:
        out.print("No target expects this document yet.")
    good = [s for s in report.suggestions if s.result.passed]
    if good:
        out.print("Queries that pass today (paste under `targets:` in sddd.yaml, then reword them "
                  "as a reader would ask):")
        for s in good:
            expect = f"{report.path}#{s.anchor}" if s.anchor else report.path
            out.print(f"  - query: {json.dumps(s.query, ensure_ascii=False)}\n    expect: {expect}",
                      markup=False, highlight=False)


def emit(report: CheckReport, fmt: str, output: Path | None) -> None:
    if fmt == "table" and output is None:
        out.print(check_reports.table(report))
        for gate in report.gates:
            mark = "[green]✓[/green]" if gate.passed else "[bold red]✗[/bold red]"
            out.print(f"{mark} gate: {gate}")
        out.print(check_reports.summary_line(report))
        return
    if fmt == "table":
        recorder = Console(record=True, width=160, file=io.StringIO())
        recorder.print(check_reports.table(report))
        recorder.print(check_reports.summary_line(report))
        body = recorder.export_text()
    elif fmt == "json":
        body = json.dumps(check_reports.to_json(report), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "junit":
        body = check_reports.to_junit(report)
    else:
        body = check_reports.to_github(report)
    if output is None:
        sys.stdout.write(body)
        sys.stdout.flush()
        return
    atomic_write_text(output, body)
    out.print(f"{check_reports.summary_line(report)} (report written to {output})",
              markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check_command(
        ctx: typer.Context,
        targets_file: Path | None = typer.Option(
            None, "--targets", metavar="FILE",
            help="Read targets from this YAML file instead of `targets:` in sddd.yaml."),
        tags: list[str] = typer.Option(
            [], "--tag", metavar="TAG", help="Only targets with this tag (repeat for several)."),
        fmt: str = typer.Option(
            "table", "--format", "-f", metavar="FORMAT",
            help="table, json, junit (one testcase per target) or github (workflow annotations)."),
        output: Path | None = typer.Option(
            None, "--output", "-o", metavar="FILE",
            help="Write the report to FILE (atomically); print only the summary line."),
        fail_under_mrr: float | None = typer.Option(
            None, "--fail-under-mrr", metavar="X",
            help="Also fail when MRR@k over the targets is below X (0 to 1)."),
        fail_under_hit_at_k: float | None = typer.Option(
            None, "--fail-under-hit-at-k", metavar="X",
            help="Also fail when the share of targets within their top_k is below X."),
        suggest_path: Path | None = typer.Option(
            None, "--suggest", metavar="PATH",
            help="Propose queries for PATH (its title and headings) with the rank and score "
                 "they reach now, to write new targets."),
        as_json: bool = typer.Option(False, "--json", help=f"{JSON_HELP} Same as --format json."),
    ) -> None:
        """Check that each target's query still finds its expected document.

        A target passes when its expected document (or heading, for path#anchor)
        ranks within top_k documents with a cosine score of at least min_score.

        Exit 0: every target and gate passed. 1: one failed. 2: usage or config error.

        Query embeddings are cached in the index: a second run with the same
        documents and targets does not load the model.
        """
        if as_json:
            fmt = "json"
        if fmt not in check_reports.FORMATS:
            raise UsageError(f"--format must be one of {', '.join(check_reports.FORMATS)}; got {fmt!r}")
        from sddd.check.evaluate import run_checks, suggest  # numpy, FAISS: only when checking
        from sddd.check.targets import load_targets, select

        config = get_config(ctx)
        targets = load_targets(config, targets_file)
        quiet = fmt != "table" and output is None
        if suggest_path is not None:
            if fmt not in ("table", "json"):
                raise UsageError("--suggest prints a table or JSON; use --format table or json")
            report = suggest(config, str(suggest_path), targets, notice=None if quiet else notice)
            if fmt == "json":
                print_json(check_reports.suggest_json(report))
            else:
                render_suggestions(report)
            raise typer.Exit(EXIT_OK)
        gates: dict[str, float] = {}
        for option, name, value in (("--fail-under-mrr", "mrr_at_k", fail_under_mrr),
                                    ("--fail-under-hit-at-k", "hit_at_k", fail_under_hit_at_k)):
            if value is not None:
                if not 0.0 <= value <= 1.0:
                    raise UsageError(f"{option} must be between 0 and 1; got {value:g}")
                gates[name] = value
        result = run_checks(config, select(targets, tags), gates=gates,
                            notice=None if quiet else notice)
        emit(result, fmt, output)
        raise typer.Exit(EXIT_OK if result.passed else EXIT_FAILED)
