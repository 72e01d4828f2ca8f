"""`sddd validate`: check that a live vLLM server answers the way its profile says it should."""

from __future__ import annotations

import typer

from sddd.commands.common import JSON_HELP, SdddCommand, choose_format, get_config
from sddd.core.config import Config
from sddd.core.errors import EXIT_FAILED, EXIT_OK, UsageError
from sddd.endpoint.client import DEFAULT_TIMEOUT
from sddd.output.formats import offered
from sddd.output.validate import VALIDATE


def validate(config: Config, profile: str | None = None, *, url: str | None = None,
             api_key_env: str | None = None, reasoning: bool | None = None, tools: bool | None = None,
             timeout: float = DEFAULT_TIMEOUT, fmt: str = "table") -> int:
    """Run every check against the server; 0 all pass, 1 one failed."""
    from sddd.endpoint.target import resolve_target
    from sddd.endpoint.validate import expectations
    from sddd.endpoint.validate import validate as run_validate
    from sddd.output.formats import emit
    from sddd.output.validate import results

    if timeout <= 0:
        raise UsageError(f"--timeout must be positive; got {timeout}")
    endpoint, ref = resolve_target(config, profile, url, api_key_env=api_key_env, timeout=timeout)
    report = run_validate(endpoint, expectations(ref, reasoning, tools), config=config)
    emit(results(report, ref), fmt)
    return EXIT_OK if report.passed else EXIT_FAILED


def register(app: typer.Typer) -> None:
    @app.command("validate", cls=SdddCommand)
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
        timeout: float = typer.Option(
            DEFAULT_TIMEOUT, "--timeout", help="Seconds to wait for each request (/health, /v1/models "
            "and /version: at most 5 s, which a server that is up never needs)."),
        fmt: str | None = typer.Option(
            None, "--format", "-f", metavar="FORMAT",
            help="table (the default on a terminal), plain (the default when stdout is not a terminal: "
                 "one `severity: check: what was seen` line each, then the summary), json or junit."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Check a running vLLM server: health, models, chat, reasoning, tool calls, streaming, key.

        Each failed check says why and points to the knowledge-base section that explains it.
        Exit 0 when every check passes, 1 when one fails, 2 bad usage, 5 when nothing answers at
        the URL, 7 when the server takes the connection but does not answer in time.
        """
        raise typer.Exit(validate(get_config(ctx), profile, url=url, api_key_env=api_key_env,
                                  reasoning=reasoning, tools=tools, timeout=timeout,
                                  fmt=choose_format(fmt, as_json, offered(VALIDATE))))
