"""`sddd audit`: entropy budget, naming, secret hygiene and compose lint."""

from __future__ import annotations

import typer

from sddd.commands.common import (
    ALLOW_EMPTY_HELP,
    JSON_HELP,
    SdddCommand,
    choose_format,
    get_config,
    nothing_to_check,
)
from sddd.core.config import Config
from sddd.core.errors import EXIT_FAILED, EXIT_OK
from sddd.output.consistency import AUDIT
from sddd.output.formats import help_text, offered


def audit(config: Config, *, fmt: str = "table", allow_empty: bool = False) -> int:
    """Audit the repository; 0 within budget and clean, 1 a rule fired, 4 no profile to audit
    unless ``allow_empty``."""
    from sddd.consistency.audit import run_audit
    from sddd.output.consistency import audit_results
    from sddd.output.formats import emit

    report = run_audit(config)
    nothing_to_check("audit", report.nothing, allow_empty)
    emit(audit_results(report, config.relpath(config.path) if config.path else None), fmt)
    return EXIT_OK if report.passed else EXIT_FAILED


def register(app: typer.Typer) -> None:
    @app.command("audit", cls=SdddCommand)
    def audit_command(
        ctx: typer.Context,
        fmt: str | None = typer.Option(None, "--format", "-f", metavar="FORMAT", help=help_text(AUDIT)),
        as_json: bool = typer.Option(False, "--json", help=f"{JSON_HELP} Same as --format json."),
        allow_empty: bool = typer.Option(False, "--allow-empty", help=ALLOW_EMPTY_HELP),
    ) -> None:
        """Audit the repository: entropy budget, naming, secrets, compose lint.

        Counts compose files outside the profiles, scripts and documents per kind against
        the budgets under `audit:` in sddd.yaml; checks the profiles/{size}.yml convention
        and the variant copies `sddd archive --detect` finds; a tracked .env, secret-looking
        strings in tracked files (masked), variables missing from .env.example or unused;
        and every profile with the lint rules deploy's pre-flight runs.

        Exit 0: within budget, nothing at or above audit.fail_on (default error).
        1: over budget or a rule fired. 2: usage or config error. 4: no profile to audit
        (--allow-empty: 0).
        """
        raise typer.Exit(audit(get_config(ctx), fmt=choose_format(fmt, as_json, offered(AUDIT)),
                               allow_empty=allow_empty))
