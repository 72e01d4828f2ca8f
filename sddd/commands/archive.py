"""`sddd archive` and `sddd restore`: retire superseded configs into dated folders, losing nothing."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from sddd.archive.operation import ARCHIVE, RESTORE
from sddd.commands.common import JSON_HELP, SdddCommand, choose_format, get_config
from sddd.commands.operation import cli_command
from sddd.core.config import Config
from sddd.core.errors import EXIT_FAILED, EXIT_OK, UsageError
from sddd.core.operations import CLI, Param
from sddd.output.console import out, print_json


def _confirm(count: int, yes: bool) -> bool:
    """True to go on: --yes, or a person said yes at the terminal."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError("not asking without a terminal: pass --yes to archive, or --dry-run to look")
    if not typer.confirm(f"Archive these {count} file(s)?", default=False):
        out.print("Nothing archived.")
        return False
    return True


FORMATS = ("table", "plain", "json")


def list_archives(config: Config, *, due: bool = False, as_json: bool = False, fmt: str = "table") -> int:
    """Every archive and its review date; 1 when a manifest disagrees with the disk."""
    from sddd.archive.archiving import list_archives as run_list
    from sddd.output.archive import render_list

    summaries = run_list(config, due_only=due)
    if as_json or fmt == "json":
        print_json({"archives": [asdict(s) for s in summaries]})
    else:
        render_list(summaries, due, fmt)
    return EXIT_FAILED if any(s.problems for s in summaries) else EXIT_OK


def archive(config: Config, paths: list[str], *, reason: str | None = None, category: str | None = None,
            date: str | None = None, detect: bool = False, apply: bool = False, yes: bool = False,
            dry_run: bool = False, as_json: bool = False, cwd: Path | None = None,
            fmt: str = "table") -> int:
    """Archive ``paths`` (or, with ``detect``, the superseded-looking files) into a dated folder."""
    from sddd.archive.archiving import ArchiveResult, apply_archive, plan_archive
    from sddd.compose.variants import detect_variants
    from sddd.output import archive as render

    as_json = as_json or fmt == "json"
    if detect:
        candidates = detect_variants(config)
        if not apply or not candidates:
            if as_json:
                print_json({"candidates": [asdict(c) for c in candidates]})
            else:
                render.render_candidates(candidates, fmt)
            return EXIT_OK
        reasons: str | dict[str, str] = reason or {c.path: c.reason for c in candidates}
        plan = plan_archive(config, [c.path for c in candidates], reasons, category=category,
                            date=date, cwd=config.root)
    elif not paths:
        raise UsageError("name the files to archive (with --reason), or use --detect or --list; "
                         "see sddd archive --help")
    else:
        if not reason:
            raise UsageError("say why with --reason TEXT; it is stored in the manifest")
        plan = plan_archive(config, paths, reason, category=category, date=date, cwd=cwd)
    if dry_run:
        if as_json:
            print_json(ArchiveResult(plan, False).to_json())
        else:
            render.render_plan(plan, f"Dry run: would archive {len(plan.files)} file(s); nothing moved")
        return EXIT_OK
    if detect:
        if as_json and not yes:
            raise UsageError("--json with --apply needs --yes (no question can be asked)")
        if not as_json:
            render.render_plan(plan, f"Archive plan: {len(plan.files)} file(s)")
        if not _confirm(len(plan.files), yes):
            return EXIT_OK
    result = apply_archive(config, plan)
    if as_json:
        print_json(result.to_json())
    else:
        render.render_result(result)
    return EXIT_OK


def restore(config: Config, path: str, *, to: str | None = None, dry_run: bool = False,
            as_json: bool = False) -> int:
    """Put an archived file back, byte for byte."""
    from sddd.archive.archiving import apply_restore, plan_restore
    from sddd.output.archive import render_restored

    plan = plan_restore(config, path, to)
    if dry_run:
        data = {"archived": plan.entry.archived, "restored_to": plan.target,
                "sha256": plan.entry.sha256, "applied": False}
        if as_json:
            print_json(data)
        else:
            out.print(f"Dry run: would restore {plan.entry.archived} to {plan.target}; nothing moved.")
        return EXIT_OK
    result = apply_restore(config, plan)
    if as_json:
        print_json(result.to_json())
    else:
        render_restored(result)
    return EXIT_OK


def _check_switches(paths: list[str], detect: bool, apply: bool, list_: bool, due: bool) -> None:
    if due and not list_:
        raise UsageError("--due goes with --list: sddd archive --list --due")
    if apply and not detect:
        raise UsageError("--apply goes with --detect; to archive named files, just name them")
    if (detect or list_) and paths:
        raise UsageError("name files or use --detect / --list, not both")
    if detect and list_:
        raise UsageError("use --detect or --list, not both")


COMMAND_LINE = frozenset((CLI,))
# The command's own options: listing the archives, applying what --detect found, the output.
OWN = (
    Param("apply", bool, "With --detect: archive the candidates.", default=False, flags=("--apply",),
          on=COMMAND_LINE),
    Param("list_", bool, "List archives and their review dates.", default=False, flags=("--list",),
          on=COMMAND_LINE),
    Param("due", bool, "With --list: only archives past review.", default=False, flags=("--due",),
          on=COMMAND_LINE),
    Param("fmt", str, "For --detect and --list: table (the default on a terminal), plain (the default "
          "when stdout is not a terminal: one `path: severity: type: message` line each) or json.",
          flags=("--format", "-f"), metavar="FORMAT", on=COMMAND_LINE),
    Param("as_json", bool, f"{JSON_HELP} Same as --format json.", default=False, flags=("--json",),
          on=COMMAND_LINE),
)
ORDER = ("paths", "reason", "category", "date", "detect", "apply", "yes", "list_", "due", "dry_run", "fmt",
         "as_json")


def register(app: typer.Typer) -> None:
    @app.command("archive", cls=SdddCommand)
    @cli_command(ARCHIVE, *OWN, order=ORDER)
    def archive_command(ctx: typer.Context, args: dict[str, Any]) -> None:
        paths = args.pop("paths") or []
        _check_switches(paths, args["detect"], args["apply"], args["list_"], args["due"])
        fmt = choose_format(args.pop("fmt"), args.pop("as_json"), FORMATS)
        config = get_config(ctx)
        if args.pop("list_"):
            raise typer.Exit(list_archives(config, due=args["due"], fmt=fmt))
        del args["due"]
        raise typer.Exit(archive(config, paths, **args, fmt=fmt))

    @app.command("restore", cls=SdddCommand)
    @cli_command(RESTORE, Param("as_json", bool, JSON_HELP, default=False, flags=("--json",),
                                on=COMMAND_LINE))
    def restore_command(ctx: typer.Context, args: dict[str, Any]) -> None:
        raise typer.Exit(restore(get_config(ctx), args["path"], to=args["to"], dry_run=args["dry_run"],
                                 as_json=args["as_json"]))
