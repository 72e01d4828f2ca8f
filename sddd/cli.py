"""The `sddd` command line: a thin skin over the library.

Commands live in ``sddd/commands/`` (one module each); this module wires them into one
typer app, handles ``--config`` and ``--version``, and turns every ``SdddError`` into one
line on stderr and its exit code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from sddd import __version__
from sddd.commands import archive, audit, bench, check, deploy, drift, grid, index, search, site, validate
from sddd.core.errors import EXIT_INTERRUPTED, SdddError

EXIT_INTERNAL = 70

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
        None, "--config", "-c", envvar="SDDD_CONFIG", help="Use this sddd.yaml instead of searching upwards.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    ctx.obj = {"config": config}


for module in (index, search, check, archive, deploy, validate, bench, grid, site, drift, audit):
    module.register(app)


def main() -> None:
    try:
        app(prog_name="sddd")
    except SdddError as exc:
        from sddd.output.console import error_line

        error_line(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for SDDD_DEBUG
        if os.environ.get("SDDD_DEBUG"):
            raise
        sys.stderr.write(
            f"internal error: {type(exc).__name__}: {exc} "
            "(this is a bug in sddd; rerun with SDDD_DEBUG=1 for the traceback)\n"
        )
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
