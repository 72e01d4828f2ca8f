"""`sddd validate`: check that a live vLLM server answers the way its profile says it should."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape
from rich.table import Table

from sddd.commands.common import JSON_HELP, get_config
from sddd.core.errors import EXIT_FAILED, EXIT_OK, UsageError
from sddd.endpoint.client import DEFAULT_TIMEOUT, ProfileRef, resolve_target
from sddd.endpoint.validate import FAIL, PASS, Expectations, ValidateReport, validate
from sddd.output.console import out, print_json

FORMATS = ("table", "json", "junit")
STYLE = {PASS: "[green]pass[/green]", FAIL: "[bold red]FAIL[/bold red]", "skip": "[dim]skip[/dim]"}


def expectations(ref: ProfileRef | None, reasoning: bool | None, tools: bool | None) -> Expectations:
    if ref is not None:
        source = f"profile {ref.name}" + (" (matched by its model)" if ref.inferred else "")
        expect = Expectations.from_flags(ref.vllm_flags, source=source)
    else:
        expect = Expectations()  # no profile: every check runs
    if reasoning is not None:
        expect.check_reasoning = reasoning
    if tools is not None:
        expect.check_tools = tools
    return expect


def render(report: ValidateReport, ref: ProfileRef | None) -> None:
    where = f"profile {ref.name} ({ref.config_hash})" if ref else "no profile"
    if ref and ref.inferred:
        where += ", matched by the model it serves"
    title = (f"sddd validate {escape(report.endpoint)}: {escape(where)}; model "
             f"{escape(report.model or '?')}; vLLM {escape(report.version or '?')}")
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    table.add_column("check")
    table.add_column("result")
    table.add_column("ms", justify="right")
    table.add_column("what was seen", overflow="fold", max_width=90)
    for check in report.checks:
        reason = escape(check.reason)
        if check.hint:
            hint = check.hint
            reason += f"\n[cyan]see {escape(hint.where)}[/cyan] [dim]({escape(hint.heading)})[/dim]"
        elif check.note and check.status == FAIL:
            reason += f"\n[dim]{escape(check.note)}[/dim]"
        ms = f"{check.seconds * 1000:.0f}" if check.status != "skip" else ""
        table.add_row(check.name, STYLE[check.status], ms, reason)
    out.print(table)
    failed = sum(c.status == FAIL for c in report.checks)
    out.print(f"[bold red]{failed} check(s) failed[/bold red]" if failed
              else "[green]all checks passed[/green]")


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate_command(
        ctx: typer.Context,
        profile: str | None = typer.Argument(
            None, help="Profile to check (default: canonical_profile); its host port and vLLM flags "
            "decide what runs."
        ),
        url: str | None = typer.Option(
            None, "--url", help="Server to check, e.g. http://127.0.0.1:5002 (with PROFILE: that "
            "profile's expectations at this address; alone: the profile whose model it serves, if any).",
        ),
        api_key_env: str | None = typer.Option(
            None, "--api-key-env", metavar="VAR",
            help="Environment variable holding the API key (default: the one the profile reads). "
            "The key is sent as a Bearer token and never printed.",
        ),
        reasoning: bool | None = typer.Option(
            None, "--reasoning/--no-reasoning", help="Force the reasoning check on or off."
        ),
        tools: bool | None = typer.Option(
            None, "--tools/--no-tools", help="Force the tool-calling check on or off."
        ),
        timeout: float = typer.Option(DEFAULT_TIMEOUT, "--timeout", help="Seconds to wait for each request."),
        fmt: str = typer.Option("table", "--format", help="Output: table, json or junit."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Check a running vLLM server: health, models, chat, reasoning, tool calls, streaming, key.

        Each failed check says why and points to the knowledge-base section that explains it.
        Exit 0 when every check passes, 1 when one fails, 2 when the server cannot be reached.
        """
        if fmt not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
        if timeout <= 0:
            raise UsageError(f"--timeout must be positive; got {timeout}")
        fmt = "json" if as_json else fmt
        config = get_config(ctx)
        endpoint, ref = resolve_target(config, profile, url, api_key_env=api_key_env, timeout=timeout)
        report = validate(endpoint, expectations(ref, reasoning, tools), config=config)
        if fmt == "json":
            print_json({**report.to_json(), "profile": ref.to_json() if ref else None})
        elif fmt == "junit":
            sys.stdout.write(report.to_junit())
        else:
            render(report, ref)
        raise typer.Exit(EXIT_OK if report.passed else EXIT_FAILED)
