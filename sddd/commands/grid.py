"""`sddd grid run | report | apply`: a grid search of vLLM settings over a profile."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from sddd.commands.common import JSON_HELP, QUIET_HELP, SdddCommand, get_config
from sddd.core.config import Config
from sddd.core.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from sddd.output.console import notice, print_json, unset_notice

if TYPE_CHECKING:
    from sddd.grid.spec import GridSpec

GRID_HELP = "The grid file (YAML: profile, axes, bench, objective; see the README)."
# What `sddd grid --help` lists: click would cut each docstring's long first sentence with "...".
SHORT_HELP = {"run": "Deploy, measure and take down each variant; record each one as it ends.",
              "report": "Each variant's figures and status; the champion and why.",
              "apply": "The champion as a diff against the profile; --yes writes it."}
ENV_HELP = "Variables for ${VAR} (default: the grid's env_file, else .env at the repository root)."


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: the current variant is taken down first


def _load(config: Config, grid: Path, timeout: float | None = None) -> GridSpec:
    from sddd.grid.spec import load_grid

    spec = load_grid(config, grid)
    if timeout is not None:
        spec.timeout = timeout
    return spec


def run(config: Config, grid: Path, *, env_file: Path | None = None, dry_run: bool = False,
        timeout: float | None = None, as_json: bool = False, quiet: bool = False,
        retry_rejected: bool = False, confirm: bool = False) -> int:
    """Run every variant still without a result; 1 when none could be measured."""
    from sddd.grid.plan import plan_grid
    from sddd.grid.report import build_report
    from sddd.grid.runner import finished, run_grid
    from sddd.grid.store import GridStore
    from sddd.output.grid import Progress, render_plan, render_report, render_summary

    spec = _load(config, grid, timeout)
    if dry_run:  # the override files are written where `grid run` reads them; nothing starts
        store = GridStore(config, spec.name)
        plan = plan_grid(config, spec, store.overrides_dir, env_file, placeholders=True)
        unset_notice(plan.base.missing, "sddd grid run")
        done = {h: str(r["status"]) for h, r in store.results().items() if finished(r, plan.bench_key)}
        if as_json:
            from sddd.grid.spec import compose_keys

            print_json({"grid": spec.name, "project": plan.project, "profile": spec.profile,
                        "compose_keys": [k.to_json() for k in compose_keys(spec)],
                        "variants": [{**vp.to_json(config), "result": done.get(vp.config_hash)}
                                     for vp in plan.variants],
                        "duplicates": [[a.label, b.label] for a, b in plan.duplicates]})
        else:
            render_plan(config, plan, done)
        return EXIT_OK
    progress = Progress(quiet)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        summary = run_grid(config, spec, env_file=env_file, on_event=progress, on_wait=progress.wait,
                           retry_rejected=retry_rejected, confirm=confirm)
    except KeyboardInterrupt:
        progress.stop()
        notice("interrupted: the variant in flight was taken down and left without a result; "
               f"`sddd grid run {grid}` resumes with it")
        return EXIT_INTERRUPTED
    finally:
        progress.stop()
        signal.signal(signal.SIGTERM, previous)
    report = build_report(config, spec, env_file)
    if as_json:
        print_json({"run": summary.to_json(), "report": report.to_json()})
    else:
        render_summary(summary)
        render_report(report)
    return EXIT_OK if report.champion else EXIT_FAILED


def report(config: Config, grid: Path, *, env_file: Path | None = None, write_report: bool = False,
           as_json: bool = False) -> int:
    """The table, the champion and why; 1 when there is no champion yet."""
    from sddd.core.errors import SdddError
    from sddd.grid.apply import plan_apply
    from sddd.grid.page import write_page
    from sddd.grid.report import build_report
    from sddd.output.grid import render_report

    spec = _load(config, grid)
    result = build_report(config, spec, env_file)
    unset_notice(result.plan.base.missing)
    page = None
    if write_report:
        diff: list[str] = []
        if result.champion:
            try:
                diff = plan_apply(config, result).diff
            except SdddError as exc:  # the page still says who won; the diff is for `grid apply`
                notice(f"no diff on the page: {exc}")
        page = config.relpath(write_page(config, result, diff))
    if as_json:
        print_json({**result.to_json(), "page": page})
    else:
        render_report(result)
        if page:
            notice(f"report page written: {page} (`sddd index` indexes it, `sddd site build` publishes it)")
    return EXIT_OK if result.champion else EXIT_FAILED


def apply(config: Config, grid: Path, *, env_file: Path | None = None, yes: bool = False,
          as_json: bool = False, force: bool = False) -> int:
    """The champion as a diff against the profile; written only with ``yes``."""
    from sddd.grid.apply import apply_profile, plan_apply
    from sddd.grid.report import build_report
    from sddd.output.console import error_line
    from sddd.output.grid import render_diff

    result = build_report(config, _load(config, grid), env_file)
    if result.champion is None:
        error_line(f"grid {result.spec.name} has no champion yet: {'; '.join(result.why)}")
        return EXIT_FAILED
    if not result.crowned and not force:
        why = ("its second measurement did not hold" if result.confirmed is False else
               f"its lead is not larger than the noise ({result.verdict}): a tie with "
               + ", ".join(r.label for r in result.tied[1:]))
        error_line(f"grid {result.spec.name}: no clear champion, {why}; `sddd grid run --confirm` or "
                   "more repetitions decide it, --force applies the leader anyway")
        return EXIT_FAILED
    plan = plan_apply(config, result)
    applied = yes and not plan.unchanged
    if applied:
        apply_profile(plan)
    if as_json:
        print_json({**plan.to_json(), "applied": applied})
    else:
        render_diff(plan, applied)
    return EXIT_OK


def register(app: typer.Typer) -> None:
    grid_app = typer.Typer(help="Grid search of vLLM settings: run the variants of a profile, report "
                           "the champion, apply it.", no_args_is_help=True)
    _register_run(grid_app)
    _register_others(grid_app)
    app.add_typer(grid_app, name="grid")


def _register_run(grid_app: typer.Typer) -> None:
    @grid_app.command("run", cls=SdddCommand, short_help=SHORT_HELP["run"])
    def run_command(
        ctx: typer.Context,
        grid: Path = typer.Argument(..., help=GRID_HELP, show_default=False),
        env_file: Path | None = typer.Option(None, "--env-file", help=ENV_HELP),
        dry_run: bool = typer.Option(False, "--dry-run", help="List the variants and their override "
                                     "files; start nothing."),
        timeout: float | None = typer.Option(None, "--timeout", min=1, help="Seconds each variant may "
                                             "take to be healthy (default: the grid's timeout, 900)."),
        retry_rejected: bool = typer.Option(False, "--retry-rejected", help="Run the rejected variants "
                                            "again too (after fixing what rejected them)."),
        confirm: bool = typer.Option(False, "--confirm", help="Then deploy the leading variant again and "
                                     "measure it: it is crowned only if it still beats the runner-up."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
        quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    ) -> None:
        """Deploy, health-wait, measure and take down each variant; record each one as it ends.

        Each variant is the profile plus a Compose override (written under the index folder; the
        profile files are never touched), deployed through `sddd deploy`'s path in the grid's own
        Compose project. A variant that fails lint, crashes, runs out of memory, is not healthy in
        time or fails its requests is rejected with the reason and its log lines; the grid goes on.
        Progress goes to stderr (a live line on a terminal, a plain line at most every 10 s
        elsewhere; --quiet silences it). Safe to kill: a rerun skips variants with a result and first takes
        down the one a killed run left behind; Ctrl-C takes the current variant down.

        Exit codes: 0 a champion exists, 1 no variant could be measured, 2 bad grid file or
        profile, 5 engine unreachable, 6 another run of this grid or of its Compose project (the
        same profile) is running, or the port is taken, 130 interrupted.
        """
        raise typer.Exit(run(get_config(ctx), grid, env_file=env_file, dry_run=dry_run, timeout=timeout,
                             as_json=as_json, quiet=quiet, retry_rejected=retry_rejected,
                             confirm=confirm))


def _register_others(grid_app: typer.Typer) -> None:
    @grid_app.command("report", cls=SdddCommand, short_help=SHORT_HELP["report"])
    def report_command(
        ctx: typer.Context,
        grid: Path = typer.Argument(..., help=GRID_HELP, show_default=False),
        env_file: Path | None = typer.Option(None, "--env-file", help=ENV_HELP),
        write_report: bool = typer.Option(False, "--write-report", help="Also write the dated report "
                                          "page docs/reports/<date>-grid-<name>.md."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Each variant's TTFT cold/warm p50/p95, speed-up, throughput and status; the champion and
        why. Exit 1 when there is no champion yet."""
        raise typer.Exit(report(get_config(ctx), grid, env_file=env_file, write_report=write_report,
                                as_json=as_json))

    @grid_app.command("apply", cls=SdddCommand, short_help=SHORT_HELP["apply"])
    def apply_command(
        ctx: typer.Context,
        grid: Path = typer.Argument(..., help=GRID_HELP, show_default=False),
        env_file: Path | None = typer.Option(None, "--env-file", help=ENV_HELP),
        yes: bool = typer.Option(False, "--yes", help="Write the change to the profile (atomically)."),
        force: bool = typer.Option(False, "--force", help="Apply the leader even when its lead is within "
                                   "the noise (a tie) or its confirmation did not hold."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Show the champion as a diff against the profile's file; with --yes, write it. A lead
        within the noise (a tie) or not confirmed is refused (exit 1) without --force."""
        raise typer.Exit(apply(get_config(ctx), grid, env_file=env_file, yes=yes, as_json=as_json,
                               force=force))
