"""`sddd audit`: entropy budget, naming, secret hygiene and compose lint."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from sddd.commands.common import JSON_HELP, get_config
from sddd.commands.drift import FORMATS, STYLE
from sddd.core.errors import EXIT_FAILED, EXIT_OK, UsageError
from sddd.output.console import out, print_json

if TYPE_CHECKING:
    from sddd.consistency.audit import AuditReport


def render(report: AuditReport) -> None:
    from sddd.consistency.audit import summary_line

    budgets = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="Entropy budget", title_justify="left")
    budgets.add_column("what")
    budgets.add_column("count", justify="right")
    budgets.add_column("budget", justify="right")
    budgets.add_column("")
    for b in report.budgets:
        mark = "[bold red]over[/]" if b.over else \
            ("[green]ok[/]" if b.limit is not None else "[dim]no budget[/]")
        budgets.add_row(b.name, str(b.count), "-" if b.limit is None else str(b.limit), mark)
    out.print(budgets)
    if report.findings:
        grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=True)
        grid.add_column("severity", no_wrap=True)
        grid.add_column("rule", no_wrap=True)
        grid.add_column("where", no_wrap=True)
        grid.add_column("finding", overflow="fold", ratio=1, min_width=30)
        for f in report.findings:
            grid.add_row(f"[{STYLE[f.severity]}]{f.severity}[/]", f.rule, escape(f.where or "-"),
                         escape(f.message))
        out.print(grid)
    for note in report.notes:
        out.print(f"note: {note}", markup=False, highlight=False)
    out.print(summary_line(report), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("audit")
    def audit_command(
        ctx: typer.Context,
        fmt: str = typer.Option(
            "table", "--format", "-f", metavar="FORMAT",
            help="table, json or github (workflow annotations: ::error file=...,line=...::)."),
        as_json: bool = typer.Option(False, "--json", help=f"{JSON_HELP} Same as --format json."),
    ) -> None:
        """Audit the repository: entropy budget, naming, secrets, compose lint.

        Counts compose files outside the profiles, scripts and documents per kind against
        the budgets under `audit:` in sddd.yaml; checks the profiles/{size}.yml convention
        and the variant copies `sddd archive --detect` finds; a tracked .env, secret-looking
        strings in tracked files (masked), variables missing from .env.example or unused;
        and every profile with the lint rules deploy's pre-flight runs.

        Exit 0: within budget, nothing at or above audit.fail_on (default error).
        1: over budget or a rule fired. 2: usage or config error.
        """
        if as_json:
            fmt = "json"
        if fmt not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
        from sddd.consistency.audit import run_audit, summary_line
        from sddd.consistency.drift import github_annotation

        config = get_config(ctx)
        report = run_audit(config)
        if fmt == "json":
            print_json(report.to_json())
        elif fmt == "github":
            for f in report.findings:
                sys.stdout.write(github_annotation(f.severity, f.path, f.line, f"sddd audit: {f.rule}",
                                                   f.message) + "\n")
            summary = github_annotation("notice", None, None, "sddd audit", summary_line(report))
            sys.stdout.write(summary + "\n")
        else:
            render(report)
        raise typer.Exit(EXIT_OK if report.passed else EXIT_FAILED)
