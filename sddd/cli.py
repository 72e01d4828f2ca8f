"""The `sddd` command line: a thin skin over the library.

Commands live in ``sddd/commands/`` (one module each). This module lists them, with their
one-line help, without importing any: `sddd --help` shows the list from ``COMMANDS``, and
running a command imports its module only (``LazyGroup``), so each command pays for its own
dependencies and no other's. It also handles ``--config`` and ``--version``, and turns every
``SdddError`` into one line on stderr and its exit code.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from sddd import __version__
from sddd.core.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, SdddError

# name -> (module under sddd/commands/, the first sentence of its help). The help is repeated
# here so that listing the commands imports none of them; tests/commands/test_cli.py checks
# that it matches each command's own.
COMMANDS: dict[str, tuple[str, str]] = {
    "index": ("index", "Chunk guides, reports and compose profiles, embed them and store them."),
    "search": ("search", "Find the passages that answer QUERY, best first, with a 0-1 score."),
    "check": ("check", "Check that each target's query still finds its expected document."),
    "serve": ("serve", "Keep the models and the index warm, and answer this repository's searches "
                       "and checks."),
    "archive": ("archive", "Move superseded configs into archives/<category>_<YYYYMMDD>/, losing nothing."),
    "restore": ("archive", "Put an archived file back, byte for byte, and record it in the manifest."),
    "deploy": ("deploy", "Bring PROFILE up on the local Docker engine and wait until it is healthy."),
    "status": ("deploy", "Each service sddd runs: profile, state, health, uptime, port, image, model."),
    "logs": ("deploy", "Print the service's logs (secret values redacted)."),
    "down": ("deploy", "Stop and remove the profile's containers (the model cache volume is kept)."),
    "validate": ("validate", "Check a running vLLM server: health, models, chat, reasoning, tool calls, "
                             "streaming, key."),
    "bench": ("bench", "Measure a running vLLM server and save the result with the profile that "
                       "produced it."),
    "site": ("site", "The documentation site (MkDocs Material): build it or serve it with live reload."),
    "drift": ("drift", "Find guides that contradict the profiles: flags, values, ports, images, GPUs, "
                       "models."),
    "audit": ("audit", "Audit the repository: entropy budget, naming, secrets, compose lint."),
    "grid": ("grid", "Grid search of vLLM settings: run the variants of a profile, report the champion, "
                     "apply it."),
    "mcp": ("mcp", "Serve the docs to coding agents over the Model Context Protocol (MCP)."),
    "export": ("export", "The resolved profiles for engines sddd does not drive itself."),
}
# Plain help (click's formatter): typer's rich help imports rich's markdown and table
# machinery, more than the rest of `sddd --help` together.
SETTINGS: dict[str, Any] = {"add_completion": False, "rich_markup_mode": None,
                            "pretty_exceptions_enable": False}


@functools.cache
def module_commands(module: str) -> dict[str, Any]:
    """The click commands that ``sddd/commands/<module>.py`` registers, by name."""
    sub = typer.Typer(**SETTINGS)
    importlib.import_module(f"sddd.commands.{module}").register(sub)
    return dict(typer.main.get_group(sub).commands)


class LazyGroup(TyperGroup):
    """The root command: knows its commands' names and help, imports one only to run it."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        return module_commands(COMMANDS[cmd_name][0])[cmd_name]

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """An unknown command with a close name: "did you mean" it (typer suggests from the
        commands it has loaded, which here, lazily, are none)."""
        try:
            return super().resolve_command(ctx, args)
        except _click_errors().UsageError as exc:
            close = difflib.get_close_matches(args[0], list(COMMANDS), n=2) if args else []
            if close and "Did you mean" not in exc.message:
                exc.message = (f"{exc.message.rstrip('.')}. Did you mean "
                               f"{' or '.join(repr(name) for name in close)}?")
            raise

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_module, text) in COMMANDS.items()])


app = typer.Typer(
    name="sddd",
    cls=LazyGroup,
    help=(
        "Keep a model-serving team's documentation and configuration findable, "
        "consistent and safe.\n\nConfiguration comes from the nearest sddd.yaml "
        "(searched upwards from the current folder, like git)."
    ),
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    **SETTINGS,
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


def usage_line(exc: Exception) -> str:
    """A click usage error (unknown option, missing argument) as one line naming the command,
    instead of typer's framed box."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "sddd"
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    text = " ".join(message.split())  # click's "(Possible options: ...)" may span lines
    return f"{where}: {text} (`{where} --help` lists the options)"


def _click_errors() -> Any:
    """The exceptions of the click that typer runs on (its own copy in typer 0.2x, click itself
    before): the module of typer's public ``BadParameter``, so no private module is named."""
    return sys.modules[typer.BadParameter.__module__]


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

        if exc.exit_code == EXIT_INTERRUPTED:  # Ctrl-C is no error: the line says what stopped
            sys.stderr.write(f"{exc}\n")
        else:
            error_line(str(exc))
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for SDDD_DEBUG
        if os.environ.get("SDDD_DEBUG"):
            raise
        from sddd.core.secrets import redact

        sys.stderr.write(
            f"internal error: {type(exc).__name__}: {redact(str(exc))} "
            "(this is a bug in sddd; rerun with SDDD_DEBUG=1 for the traceback)\n"
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":
    main()
