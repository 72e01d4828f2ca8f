"""`sddd drift`: guides that contradict the profiles."""

from __future__ import annotations

import typer

from sddd.commands.common import JSON_HELP, SdddCommand, choose_format, get_config
from sddd.core.config import Config
from sddd.core.errors import EXIT_FAILED, EXIT_OK
from sddd.output.console import warn

FORMATS = ("table", "json", "github")
FORMAT_HELP = "table, json or github (workflow annotations: ::error file=...,line=...::)."


def drift(config: Config, *, include_reports: bool = False, fmt: str = "table") -> int:
    """Check every guide's claims against the resolved profiles; 0 clean, 1 drift found."""
    from sddd.consistency.drift import run_drift
    from sddd.output import consistency

    report = run_drift(config, include_reports=include_reports)
    for problem in report.problems:
        warn(f"{problem} (document skipped)")
    consistency.emit(report, fmt)
    return EXIT_OK if report.passed else EXIT_FAILED


def register(app: typer.Typer) -> None:
    @app.command("drift", cls=SdddCommand)
    def drift_command(
        ctx: typer.Context,
        include_reports: bool = typer.Option(
            False, "--all", help="Also check reports (kind: report), which are history and skipped "
                                 "by default."),
        fmt: str = typer.Option("table", "--format", "-f", metavar="FORMAT", help=FORMAT_HELP),
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
        fmt = choose_format(fmt, as_json, FORMATS)
        raise typer.Exit(drift(get_config(ctx), include_reports=include_reports, fmt=fmt))
