"""What every command needs: the config from ``--config`` (before or after the command) or
found upwards, the output format (a table on a terminal, plain lines elsewhere), and the rule
that a gate with nothing to check exits 4."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperOption

from sddd.archive import JOURNAL_NAME
from sddd.core.config import Config, load_config
from sddd.core.errors import EXIT_INTERRUPTED, InputError, SdddError, UsageError
from sddd.output.console import notice, warn

JSON_HELP = "Print the result as JSON on stdout."
QUIET_HELP = "No progress on stderr (the result, warnings and errors still show)."
JOURNAL_COMMANDS = ("archive", "restore")  # they must finish an interrupted one before their own
CONFIG_HELP = "Use this sddd.yaml instead of searching upwards (also accepted before the command)."
ALLOW_EMPTY_HELP = "Pass (exit 0) when there is nothing to check, instead of exit 4."


def get_config(ctx: typer.Context) -> Config:
    path: Path | None = (ctx.obj or {}).get("config") if ctx is not None else None
    root = ctx.find_root() if ctx is not None else None
    if root is not None and root.obj and root.obj.get("config"):
        path = root.obj["config"]
    config = load_config(path)
    if config.discovery:
        warn(config.discovery)
    # Finish an archive/restore that a crash interrupted (one stat when there is none).
    if not (config.archives_dir / JOURNAL_NAME).exists():
        return config
    from sddd.archive.journal import recover_pending

    try:
        recover_pending(config, notice=notice)
    except SdddError as exc:
        if ctx is not None and ctx.info_name in JOURNAL_COMMANDS:
            raise
        # The journal stays for the next command; a search need not wait for git or for a lock.
        warn(f"an interrupted archive or restore is not finished yet: {exc}")
    return config


def choose_format(fmt: str | None, as_json: bool, formats: tuple[str, ...]) -> str:
    """``--format`` checked against ``formats``; ``--json`` means ``--format json``; no
    ``--format``: a table on a terminal, plain lines anywhere else (a pipe, a file, a CI log)."""
    if as_json:
        return "json"
    if fmt is None:
        return "table" if sys.stdout.isatty() or "plain" not in formats else "plain"
    if fmt not in formats:
        raise UsageError(f"--format must be one of {', '.join(formats)}; got {fmt!r}")
    return fmt


def output_path(path: Path | None, root: Path, flag: str = "--output") -> Path | None:
    """``-o PATH``: outside the repository ``root`` its folder must exist already, so that a typo
    never creates folders elsewhere (`-o /nonexistent/dir/x.yaml` made /nonexistent); one line,
    exit 4, nothing created. Inside it, missing folders are made (`-o .sddd/reports/check.json`)."""
    if path is None:
        return None
    folder = (path if path.is_absolute() else Path.cwd() / path).parent
    if not folder.is_dir() and not folder.resolve().is_relative_to(root.resolve()):
        raise InputError(f"{flag} {path}: the folder {folder} does not exist; create it first or "
                         "write into an existing folder")
    return path


def nothing_to_check(gate: str, nothing: str | None, allow_empty: bool) -> None:
    """A gate that found nothing to look at does not pass: exit 4, unless --allow-empty."""
    if nothing and not allow_empty:
        raise InputError(f"sddd {gate} has nothing to check: {nothing}; or pass --allow-empty")


def _store_config(ctx: Any, _param: Any, value: str | None) -> None:
    """``sddd drift --config x``: the same as ``sddd --config x drift`` (the later one wins)."""
    if value is not None:
        root = ctx.find_root()
        root.obj = {**(root.obj or {}), "config": Path(value)}


def _config_option() -> TyperOption:
    """``--config`` after a command's name. typer's own option class (public, in ``typer.core``
    as ``TyperCommand`` is): a bare click option would not parse in typer's own copy of click."""
    return TyperOption(param_decls=["--config", "-c"], metavar="PATH", expose_value=False,
                       callback=_store_config, help=CONFIG_HELP)


class SdddCommand(TyperCommand):
    """A command whose library errors name its own flags: a core error about ``option="kind"``
    is shown as ``--kind must be one of ...``; it also takes ``--config`` after its name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any("--config" in getattr(p, "opts", ()) for p in self.params):
            self.params.append(_config_option())

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # typer turns Ctrl-C into a silent exit 130; the person should read that it stopped.
            raise Interrupted(f"interrupted: sddd {ctx.command_path.partition(' ')[2]} stopped "
                              "(nothing half-written is kept)") from None
        except SdddError as exc:
            if exc.option:
                flag = flag_of(ctx.command, exc.option)
                if flag:
                    raise FlaggedError(exc, exc.with_flag(flag)) from None
            raise


class Interrupted(SdddError):
    """Ctrl-C during a command: one line and exit 130."""

    exit_code = EXIT_INTERRUPTED


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
