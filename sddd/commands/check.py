"""`sddd check`: discoverability targets as a CI gate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sddd.check.operation import CHECK as CHECK_OPERATION
from sddd.commands.common import (
    ALLOW_EMPTY_HELP,
    JSON_HELP,
    SdddCommand,
    choose_format,
    get_config,
    nothing_to_check,
    output_path,
)
from sddd.commands.operation import cli_command
from sddd.core.config import Config
from sddd.core.errors import EXIT_FAILED, EXIT_OK, UsageError
from sddd.core.operations import CLI, Param
from sddd.output.check import CHECK
from sddd.output.console import notice, print_json
from sddd.output.formats import help_text, offered

if TYPE_CHECKING:
    from sddd.check.report import CheckReport

COMMAND_LINE = frozenset((CLI,))


def gates_from(fail_under_mrr: float | None, fail_under_hit_at_k: float | None) -> dict[str, float]:
    gates: dict[str, float] = {}
    for option, name, value in (("--fail-under-mrr", "mrr_at_k", fail_under_mrr),
                                ("--fail-under-hit-at-k", "hit_at_k", fail_under_hit_at_k)):
        if value is not None:
            if not 0.0 <= value <= 1.0:
                raise UsageError(f"{option} must be between 0 and 1; got {value:g}")
            gates[name] = value
    return gates


def _no_targets(config: Config, targets_file: Path | None) -> str:
    """Where check looked for targets, for the line that says it found none."""
    from sddd.check.targets import WRITING_TARGETS

    if targets_file is not None:
        return f"no target in {targets_file}; add some (a list of query/expect), or pass another --targets"
    if config.path is None:
        return (f"no target: no sddd.yaml in {config.root} or above it, so no `targets:`; create one "
                f"with targets (see {WRITING_TARGETS}) or pass --targets FILE")
    return (f"no target under `targets:` in {config.relpath(config.path)}; add some (see "
            f"{WRITING_TARGETS}) or pass --targets FILE")


def check(config: Config, *, targets_file: Path | None = None, tags: list[str] | None = None,
          fmt: str = "table", output: Path | None = None, gates: dict[str, float] | None = None,
          allow_empty: bool = False) -> int:
    """Run the targets; 0 when every target and gate passes, 1 otherwise, 4 when there is no
    target at all (unless ``allow_empty``)."""
    output = output_path(output, config.root)
    from sddd.check.report import CheckReport, summarise
    from sddd.output.check import emit
    from sddd.resident.client import remote_check

    quiet = fmt not in ("table", "plain") and output is None
    answered = remote_check(config, targets_file=targets_file, tags=tags or [], gates=gates,  # `sddd serve`
                            notice=notice)
    if answered is None:
        report = _check_here(config, targets_file, tags or [], gates, None if quiet else notice)
    else:
        report, notices = answered
        for line in [] if quiet else notices:
            notice(line)
    home = config.relpath(config.path) if config.path else None  # where SARIF places a gate
    if report is None:
        nothing_to_check("check", _no_targets(config, targets_file), allow_empty)
        emit(CheckReport([], summarise([]), [], False, 0.0), fmt, output, home)
        return EXIT_OK  # 0/0 targets pass
    emit(report, fmt, output, home)
    return EXIT_OK if report.passed else EXIT_FAILED


def _check_here(config: Config, targets_file: Path | None, tags: list[str], gates: dict[str, float] | None,
                notice: Callable[[str], None] | None) -> CheckReport | None:
    """The report computed in this process (no server runs), or None when there is no target."""
    from sddd.check.evaluate import run_checks  # numpy, FAISS, the models: only here
    from sddd.check.targets import load_targets, select

    targets = load_targets(config, targets_file)
    if not targets:
        return None
    return run_checks(config, select(targets, tags), gates=gates, notice=notice)


def suggest(config: Config, path: Path, *, targets_file: Path | None = None, fmt: str = "table") -> int:
    """Propose queries for a document, with the rank and score they reach now."""
    from sddd.check.evaluate import suggest as run_suggest
    from sddd.check.targets import load_targets
    from sddd.output.check import render_suggestions, suggest_json

    fmt = "table" if fmt == "plain" else fmt  # suggestions are not findings: a table when piped too
    if fmt not in ("table", "json"):
        raise UsageError("--suggest prints a table or JSON; use --format table or json")
    targets = load_targets(config, targets_file)
    report = run_suggest(config, str(path), targets, notice=None if fmt != "table" else notice)
    if fmt == "json":
        print_json(suggest_json(report))
    else:
        render_suggestions(report)
    return EXIT_OK


# The command's own options: how the result is shown, the gates, suggestions, an empty run.
OWN = (
    Param("fmt", str, help_text(CHECK), flags=("--format", "-f"), metavar="FORMAT", on=COMMAND_LINE),
    Param("output", Path, "Write the report to FILE (atomically); print only the summary line.",
          flags=("--output", "-o"), metavar="FILE", on=COMMAND_LINE),
    Param("fail_under_mrr", float, "Also fail when MRR@k over the targets is below X (0 to 1).",
          flags=("--fail-under-mrr",), metavar="X", on=COMMAND_LINE),
    Param("fail_under_hit_at_k", float, "Also fail when the share of targets within their top_k is "
          "below X.", flags=("--fail-under-hit-at-k",), metavar="X", on=COMMAND_LINE),
    Param("suggest_path", Path, "Propose queries for PATH (its title and headings) with the rank and "
          "score they reach now, to write new targets.", flags=("--suggest",), metavar="PATH",
          on=COMMAND_LINE),
    Param("as_json", bool, f"{JSON_HELP} Same as --format json.", default=False, flags=("--json",),
          on=COMMAND_LINE),
    Param("allow_empty", bool, ALLOW_EMPTY_HELP, default=False, flags=("--allow-empty",), on=COMMAND_LINE),
)
ORDER = ("targets_file", "tags", "fmt", "output", "fail_under_mrr", "fail_under_hit_at_k", "suggest_path",
         "as_json", "allow_empty")


def register(app: typer.Typer) -> None:
    @app.command("check", cls=SdddCommand)
    @cli_command(CHECK_OPERATION, *OWN, order=ORDER)
    def check_command(ctx: typer.Context, args: dict[str, Any]) -> None:
        fmt, output, as_json = args["fmt"], args["output"], args["as_json"]
        fmt = choose_format(fmt, as_json, offered(CHECK)) if fmt or as_json or output is None else "plain"
        if args["suggest_path"] is not None:
            raise typer.Exit(suggest(get_config(ctx), args["suggest_path"], targets_file=args["targets_file"],
                                     fmt=fmt))
        gates = gates_from(args["fail_under_mrr"], args["fail_under_hit_at_k"])
        raise typer.Exit(check(get_config(ctx), targets_file=args["targets_file"], tags=args["tags"], fmt=fmt,
                               output=output, gates=gates, allow_empty=args["allow_empty"]))
