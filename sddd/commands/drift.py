"""`sddd drift`: guides that contradict the profiles."""

from __future__ import annotations

from typing import Any

import typer

from sddd.commands.common import (
    ALLOW_EMPTY_HELP,
    JSON_HELP,
    SdddCommand,
    choose_format,
    get_config,
    nothing_to_check,
)
from sddd.commands.operation import cli_command
from sddd.consistency.operation import DRIFT as DRIFT_OPERATION
from sddd.core.config import Config
from sddd.core.errors import EXIT_FAILED, EXIT_OK
from sddd.core.operations import CLI, Param
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


COMMAND_LINE = frozenset((CLI,))
OWN = (  # how the result is shown, and a run with nothing to compare
    Param("fmt", str, help_text(DRIFT), flags=("--format", "-f"), metavar="FORMAT", on=COMMAND_LINE),
    Param("as_json", bool, f"{JSON_HELP} Same as --format json.", default=False, flags=("--json",),
          on=COMMAND_LINE),
    Param("allow_empty", bool, ALLOW_EMPTY_HELP, default=False, flags=("--allow-empty",), on=COMMAND_LINE),
)


def register(app: typer.Typer) -> None:
    @app.command("drift", cls=SdddCommand)
    @cli_command(DRIFT_OPERATION, *OWN)
    def drift_command(ctx: typer.Context, args: dict[str, Any]) -> None:
        fmt = choose_format(args["fmt"], args["as_json"], offered(DRIFT))
        raise typer.Exit(drift(get_config(ctx), include_reports=args["include_reports"], fmt=fmt,
                               allow_empty=args["allow_empty"]))
