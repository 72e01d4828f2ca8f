"""What every command needs: the config from the global ``--config``, the output format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

from sddd.archive.journal import recover_pending
from sddd.core.config import Config, load_config
from sddd.core.errors import SdddError, UsageError
from sddd.output.console import notice, warn

JSON_HELP = "Print the result as JSON on stdout."
JOURNAL_COMMANDS = ("archive", "restore")  # they must finish an interrupted one before their own


def get_config(ctx: typer.Context) -> Config:
    path: Path | None = (ctx.obj or {}).get("config") if ctx is not None else None
    root = ctx.find_root() if ctx is not None else None
    if root is not None and root.obj and root.obj.get("config"):
        path = root.obj["config"]
    config = load_config(path)
    # Finish an archive/restore that a crash interrupted (one stat when there is none).
    try:
        recover_pending(config, notice=notice)
    except SdddError as exc:
        if ctx is not None and ctx.info_name in JOURNAL_COMMANDS:
            raise
        # The journal stays for the next command; a search need not wait for git or for a lock.
        warn(f"an interrupted archive or restore is not finished yet: {exc}")
    return config


def choose_format(fmt: str, as_json: bool, formats: tuple[str, ...]) -> str:
    """``--format`` checked against ``formats``; ``--json`` means ``--format json``."""
    if as_json:
        return "json"
    if fmt not in formats:
        raise UsageError(f"--format must be one of {', '.join(formats)}; got {fmt!r}")
    return fmt


class SdddCommand(TyperCommand):
    """A command whose library errors name its own flags: a core error about ``option="kind"``
    is shown as ``--kind must be one of ...``."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except SdddError as exc:
            if exc.option:
                flag = flag_of(ctx.command, exc.option)
                if flag:
                    raise FlaggedError(exc, exc.with_flag(flag)) from None
            raise


class FlaggedError(SdddError):
    """A library error re-worded by the CLI; same exit code."""

    def __init__(self, original: SdddError, text: str):
        super().__init__(text)
        self.exit_code = original.exit_code


def flag_of(command: Any, option: str) -> str | None:
    """The flag a command gives the parameter ``option``."""
    for param in command.params:
        if param.name == option and param.param_type_name == "option":
            return str(param.opts[0])  # as declared first: --kind, -k (of -k/--top), --format
    return None
