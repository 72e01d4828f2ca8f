"""`sddd drift`: guides that contradict the profiles."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from sddd.commands.common import JSON_HELP, get_config
from sddd.core.errors import EXIT_FAILED, EXIT_OK, UsageError
from sddd.output.console import out, print_json, warn

if TYPE_CHECKING:
    from sddd.consistency.drift import DriftReport

FORMATS = ("table", "json", "github")
STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def render(report: DriftReport) -> None:
    from sddd.consistency.drift import summary_line

    if report.findings:
        grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=True)
        grid.add_column("severity", no_wrap=True)
        grid.add_column("type", no_wrap=True)
        grid.add_column("document", no_wrap=True)
        grid.add_column("profile", no_wrap=True)
        grid.add_column("finding", overflow="fold", ratio=1, min_width=30)
        for f in report.findings:
            doc = f"{f.doc_path}:{f.doc_line}" if f.doc_path else "-"
            prof = f"{f.profile_path}:{f.profile_line}" if f.profile_path and f.profile_line else \
                (f.profile_path or "-")
            rule = f" [dim](profile by {f.rule})[/dim]" if f.rule and f.doc_path and f.profile else ""
            grid.add_row(f"[{STYLE[f.severity]}]{f.severity}[/]", f.type, escape(doc), escape(prof),
                         escape(f.message) + rule)
        out.print(grid)
    out.print(summary_line(report), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("drift")
    def drift_command(
        ctx: typer.Context,
        include_reports: bool = typer.Option(
            False, "--all", help="Also check reports (kind: report), which are history and skipped "
                                 "by default."),
        fmt: str = typer.Option(
            "table", "--format", "-f", metavar="FORMAT",
            help="table, json or github (workflow annotations: ::error file=...,line=...::)."),
        as_json: bool = typer.Option(False, "--json", help=f"{JSON_HELP} Same as --format json."),
    ) -> None:
        """Find guides that contradict the profiles: flags, values, ports, images, GPUs, models.

        Every claim of a guide (a table row, a code line, inline code such as
        `--gpu-memory-utilization 0.85`, a port, a model id, an image tag) is tied to the
        profile it speaks of (front matter `profiles:`, a heading, a table column, or the
        nearest profile name) and checked against the resolved profile. Findings:
        value_mismatch, unknown_flag, unknown_model, undocumented, stale_reference, each with
        the document's file:line and the profile's.

        Exit 0: nothing at or above drift.fail_on (sddd.yaml, default error). 1: drift found.
        2: usage or config error.
        """
        if as_json:
            fmt = "json"
        if fmt not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
        from sddd.consistency.drift import github_annotation, run_drift, summary_line

        config = get_config(ctx)
        report = run_drift(config, include_reports=include_reports)
        for problem in report.problems:
            warn(f"{problem} (document skipped)")
        if fmt == "json":
            print_json(report.to_json())
        elif fmt == "github":
            for f in report.findings:
                path, line = (f.doc_path, f.doc_line) if f.doc_path else (f.profile_path, f.profile_line)
                sys.stdout.write(github_annotation(f.severity, path, line, f"sddd drift: {f.type}",
                                                   f.message) + "\n")
            summary = github_annotation("notice", None, None, "sddd drift", summary_line(report))
            sys.stdout.write(summary + "\n")
        else:
            render(report)
        raise typer.Exit(EXIT_OK if report.passed else EXIT_FAILED)
