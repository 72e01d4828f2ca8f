"""The `sddd` command line: a thin skin over the library.

Commands live in ``sddd/commands/`` (one module each); this module wires them into one
typer app, handles ``--config`` and ``--version``, and turns every ``SdddError`` into one
line on stderr and its exit code.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import typer

from sddd import __version__
from sddd.commands import (
    archive,
    audit,
    bench,
    check,
    deploy,
    drift,
    grid,
    index,
    mcp,
    search,
    site,
    validate,
)
from sddd.core.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, SdddError

app = typer.Typer(
    name="sddd",
    help=(
        "Keep a model-serving team's documentation and configuration findable, "
        "consistent and safe.\n\nConfiguration comes from the nearest sddd.yaml "
        "(searched upwards from the current folder, like git)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sddd {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", "-c", envvar="SDDD_CONFIG",
        help="Use this sddd.yaml instead of searching upwards (also accepted after the command).",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    ctx.obj = {"config": config}


for module in (index, search, check, archive, deploy, validate, bench, grid, site, drift, audit, mcp):
    module.register(app)


def usage_line(exc: Exception) -> str:
    """A click usage error (unknown option, missing argument) as one line naming the command,
    instead of typer's framed box."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "sddd"
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    text = " ".join(message.split())  # click's "(Possible options: ...)" may span lines
    return f"{where}: {text} (`{where} --help` lists the options)"


def _click_errors() -> Any:
    """The click that typer runs on: its own copy in typer 0.2x, click itself before."""
    try:
        return importlib.import_module("typer._click.exceptions")
    except ImportError:
        return importlib.import_module("click.exceptions")


def main() -> None:
    errors = _click_errors()
    try:
        # standalone_mode=False: click hands usage errors to us rather than drawing its box.
        code = app(prog_name="sddd", standalone_mode=False)
    except getattr(errors, "NoArgsIsHelpError", ()) as exc:  # bare `sddd`: the help
        if exc.format_message().strip():  # typer's rich help has printed itself already
            exc.show()
        sys.exit(EXIT_USAGE)
    except errors.ClickException as exc:
        from sddd.output.console import error_line

        error_line(usage_line(exc))
        sys.exit(EXIT_USAGE)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except SdddError as exc:
        from sddd.output.console import error_line

        error_line(str(exc))
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for SDDD_DEBUG
        if os.environ.get("SDDD_DEBUG"):
            raise
        sys.stderr.write(
            f"internal error: {type(exc).__name__}: {exc} "
            "(this is a bug in sddd; rerun with SDDD_DEBUG=1 for the traceback)\n"
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":
    main()
