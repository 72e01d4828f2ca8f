"""`sddd deploy`, `status`, `logs`, `down`: run a profile on the local Docker engine (Compose)
or as a stack on the swarm it belongs to (``--target swarm``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from sddd.commands.common import JSON_HELP, QUIET_HELP, Interrupted, SdddCommand, get_config
from sddd.commands.operation import cli_command
from sddd.core.config import Config
from sddd.core.errors import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT
from sddd.core.operations import CLI, Param
from sddd.deploy.operation import DEPLOY, DOWN, PROFILE, TARGET_OPTION
from sddd.deploy.target import DEFAULT, Target, flag
from sddd.deploy.target import target as choose
from sddd.output.console import err, out, print_json, unset_notice

PROFILE_HELP = PROFILE.help  # status and logs take them too, declared with deploy's
TARGET_HELP = TARGET_OPTION.help
EXIT_BY_OUTCOME = {"healthy": EXIT_OK, "started": EXIT_OK, "failed": EXIT_FAILED, "timeout": EXIT_TIMEOUT}

# The commands' own options (how the result is shown); the rest are DEPLOY's and DOWN's.
AS_JSON = Param("as_json", bool, JSON_HELP, default=False, flags=("--json",), on=frozenset((CLI,)))
QUIET = Param("quiet", bool, QUIET_HELP, default=False, flags=("--quiet", "-q"), on=frozenset((CLI,)))
DEPLOY_ORDER = ("profile", "env_file", "dry_run", "timeout", "no_wait", "target", "as_json", "quiet")


def deploy(config: Config, profile: str | None = None, *, env_file: Path | None = None,
           dry_run: bool = False, timeout: float = 900.0, wait: bool = True, as_json: bool = False,
           target: str = DEFAULT, quiet: bool = False) -> int:
    """Bring ``profile`` up and wait until it is healthy; the exit code says how it ended."""
    from rich.markup import escape

    from sddd.output.deploy import StatusLine, render_result

    chosen = choose(target)
    if dry_run:
        return _dry_run(config, profile, env_file, chosen, as_json)
    line = None if as_json or quiet else StatusLine()
    if line is not None:
        err.print(f"[bold]sddd deploy[/bold] {escape(profile or config.canonical_profile)}: "
                  f"resolving, linting, checking {chosen.engine}…")
    try:
        result = chosen.up(config, profile, env_file, timeout=timeout, wait=wait, on_state=line)
    except KeyboardInterrupt:
        name = profile or config.canonical_profile
        raise Interrupted(f"interrupted: sddd deploy {name} stopped waiting (recorded in `sddd status "
                          f"--history`); what started keeps starting: `sddd status` shows it, "
                          f"`sddd down {name}` removes it") from None
    finally:
        if line is not None:
            line.stop()
    if as_json:
        print_json(result.to_json())
    else:
        render_result(result, chosen)
    return EXIT_BY_OUTCOME.get(result.outcome, EXIT_FAILED)


def _dry_run(config: Config, profile: str | None, env_file: Path | None, chosen: Target,
             as_json: bool) -> int:
    from sddd.compose.lint import LintFailed
    from sddd.output.deploy import render_plan

    plan = chosen.plan(config, profile, env_file, placeholders=True)
    unset_notice(plan.plan.profile.missing, f"sddd deploy{flag(chosen.name)}")
    if as_json:
        print_json(plan.to_json())
    else:
        render_plan(plan, chosen)
    if plan.errors:
        raise LintFailed(plan.errors)
    return EXIT_OK


def status(config: Config, *, history: bool = False, as_json: bool = False,
           target: str = DEFAULT, grids: bool = False) -> int:
    """What sddd runs on the engine or the swarm (or, with ``history``, what it ran; grid
    variants only with ``grids``)."""
    from sddd.deploy.history import close_abandoned_entries, read_history
    from sddd.output.deploy import render_history, render_status

    if history:
        close_abandoned_entries(config)
        entries = read_history(config)
        shown = [e for e in entries if grids or not e.grid]
        if as_json:
            print_json([e.to_json() for e in shown])
        else:
            render_history(shown, hidden=len(entries) - len(shown))
        return EXIT_OK
    chosen = choose(target)
    services = chosen.status(config)
    if as_json:
        print_json([s.to_json() for s in services])
    else:
        render_status(services, chosen)
    return EXIT_OK


def logs(config: Config, profile: str | None = None, *, follow: bool = False, tail: int = 100,
         target: str = DEFAULT) -> int:
    from rich.markup import escape

    for text in choose(target).logs(config, profile, follow=follow, tail=tail):
        out.print(escape(text), soft_wrap=True)
    return EXIT_OK


def down(config: Config, profile: str | None = None, *, as_json: bool = False,
         target: str = DEFAULT) -> int:
    chosen = choose(target)
    started = time.monotonic()
    result = chosen.down(config, profile)
    if as_json:
        print_json(result.to_json())
    elif result.removed:
        out.print(f"{result.profile}: removed {', '.join(result.removed)} "
                  f"in {time.monotonic() - started:.1f} s")
    else:
        out.print(f"{result.profile}: nothing was running (project {result.project})")
    return EXIT_OK


def register(app: typer.Typer) -> None:
    _register_deploy(app)
    _register_others(app)


def _register_deploy(app: typer.Typer) -> None:
    @app.command("deploy", cls=SdddCommand)
    @cli_command(DEPLOY, AS_JSON, QUIET, order=DEPLOY_ORDER)
    def deploy_command(ctx: typer.Context, args: dict[str, Any]) -> None:
        raise typer.Exit(deploy(get_config(ctx), args["profile"], env_file=args["env_file"],
                                dry_run=args["dry_run"], timeout=args["timeout"],
                                wait=not args["no_wait"], as_json=args["as_json"],
                                target=args["target"], quiet=args["quiet"]))


def _register_others(app: typer.Typer) -> None:
    @app.command("status", cls=SdddCommand)
    def status_command(
        ctx: typer.Context,
        history: bool = typer.Option(False, "--history", help="Show the deployment history instead."),
        grids: bool = typer.Option(False, "--grids", help="With --history: also the deploys of grid "
                                   "variants (`sddd grid run`), hidden by default."),
        target: str = typer.Option(DEFAULT, "--target", help=TARGET_HELP),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Each service sddd runs: profile, state, health, uptime, port, image, model (and, on a
        swarm, the node)."""
        raise typer.Exit(status(get_config(ctx), history=history, as_json=as_json, target=target,
                                grids=grids))

    @app.command("logs", cls=SdddCommand)
    def logs_command(
        ctx: typer.Context,
        profile: str | None = typer.Argument(None, help=PROFILE_HELP, show_default=False),
        follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
        tail: int = typer.Option(100, "--tail", "-n", min=0, help="How many lines from the end."),
        target: str = typer.Option(DEFAULT, "--target", help=TARGET_HELP),
    ) -> None:
        """Print the service's logs (secret values redacted; on a swarm, every task's)."""
        raise typer.Exit(logs(get_config(ctx), profile, follow=follow, tail=tail, target=target))

    @app.command("down", cls=SdddCommand)
    @cli_command(DOWN, AS_JSON)
    def down_command(ctx: typer.Context, args: dict[str, Any]) -> None:
        raise typer.Exit(down(get_config(ctx), args["profile"], as_json=args["as_json"],
                              target=args["target"]))
