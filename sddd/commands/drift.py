"""`sddd drift`: guides that contradict the profiles."""

from __future__ import annotations

import typer

from sddd.commands.common import (
    ALLOW_EMPTY_HELP,
    JSON_HELP,
    SdddCommand,
    choose_format,
    get_config,
    nothing_to_check,
)
from sddd.core.config import Config
from sddd.core.errors import EXIT_FAILED, EXIT_OK
from sddd.output.consistency import DRIFT
from sddd.output.console import warn
from sddd.output.formats import help_text, offered


def drift(config: Config, *, include_reports: bool = False, fmt: str = "table",
          allow_empty: bool = False) -> int:
    """Check every guide's claims against the resolved profiles; 0 clean, 1 drift found,
    4 nothing to check (no guide or no profile) unless ``allow_empty``."""
    from sddd.consistency.drift import run_drift
    from sddd.output.consistency import drift_results
    from sddd.output.formats import emit

    report = run_drift(config, include_reports=include_reports)
    for problem in report.problems:
        warn(problem)  # it says what was skipped
    nothing_to_check("drift", report.nothing, allow_empty)
    emit(drift_results(report, config.relpath(config.path) if config.path else None), fmt)
    return EXIT_OK if report.passed else EXIT_FAILED


def register(app: typer.Typer) -> None:
    @app.command("drift", cls=SdddCommand)
    def drift_command(
        ctx: typer.Context,
        include_reports: bool = typer.Option(
            False, "--all", help="Also check reports (kind: report), which are history and skipped "
                                 "by default."),
        fmt: str | None = typer.Option(None, "--format", "-f", metavar="FORMAT", help=help_text(DRIFT)),
        as_json: bool = typer.Option(False, "--json", help=f"{JSON_HELP} Same as --format json."),
        allow_empty: bool = typer.Option(False, "--allow-empty", help=ALLOW_EMPTY_HELP),
    ) -> None:
        """Find guides that contradict the profiles: flags, values, ports, images, GPUs, models.

        Every claim of a guide (a table row, a code line, inline code such as
        `--gpu-memory-utilization 0.85`, a port, a model id, an image tag) is tied to the
        profile it speaks of (front matter `profiles:`, a heading, a table column, or the
        nearest profile name) and checked against the resolved profile. Findings:
        value_mismatch, unknown_flag, unknown_model, undocumented, stale_reference, each with
        the document's file:line and the profile's.

        A flag the profile leaves out is compared with vLLM's default for the profile's
        image (sddd/data/vllm_defaults.yaml): "prefix caching is disabled" next to a profile
        without --no-enable-prefix-caching is a value_mismatch on vLLM 0.8 and later.

        Exit 0: nothing at or above drift.fail_on (sddd.yaml, default error). 1: drift found.
        2: usage or config error. 4: no guide or no profile to compare (--allow-empty: 0).
        """
        fmt = choose_format(fmt, as_json, offered(DRIFT))
        raise typer.Exit(drift(get_config(ctx), include_reports=include_reports, fmt=fmt,
                               allow_empty=allow_empty))
