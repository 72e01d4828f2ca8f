"""`sddd mcp`: the knowledge base as Model Context Protocol tools and resources for coding agents."""

from __future__ import annotations

import ipaddress

import typer

from sddd.commands.common import SdddCommand, get_config
from sddd.core.config import Config
from sddd.core.errors import EXIT_OK, UsageError

DEFAULT_PORT = 8765


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mcp(config: Config, *, http: bool = False, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
        allow_writes: bool = False) -> int:
    """Serve until the client hangs up (stdio) or the process is interrupted (HTTP)."""
    from sddd.mcp.server import serve_http, serve_stdio

    if not http:
        serve_stdio(config, allow_writes=allow_writes)
        return EXIT_OK
    if not 0 <= port <= 65535:
        raise UsageError(f"must be from 0 to 65535; got {port}", option="port")
    if not _loopback(host):
        if allow_writes:
            raise UsageError(f"{host} is reachable from other machines: --allow-writes is only "
                             "offered on a loopback address (127.0.0.1, ::1)", option="host")
        from sddd.output.console import warn

        warn(f"serving on {host}: anyone who can reach it can read the docs and profiles (no auth)")
    serve_http(config, host=host, port=port, allow_writes=allow_writes)
    return EXIT_OK


def register(app: typer.Typer) -> None:
    @app.command("mcp", cls=SdddCommand)
    def mcp_command(
        ctx: typer.Context,
        http: bool = typer.Option(False, "--http", help="Serve streamable HTTP instead of stdio."),
        host: str = typer.Option("127.0.0.1", "--host", help="With --http: the address to listen on."),
        port: int = typer.Option(DEFAULT_PORT, "--port", help="With --http: the port (0: any free one, "
                                 "said on stderr)."),
        allow_writes: bool = typer.Option(
            False, "--allow-writes", help="Also offer the tools that change files or the engine: "
            "archive, restore, deploy, down (with the CLI's confirmations and journal), within what "
            "each tool is for (profile names only; no restore into a dot-folder such as .git/). Every "
            "call is recorded in .sddd/mcp-writes.jsonl."),
    ) -> None:
        """Serve the docs to coding agents over the Model Context Protocol (MCP).

        Tools: search, check, drift, audit, profile, archive_detect, explain_flag; each answers
        with the JSON of the matching command's --json and a short text. Resources: every
        indexed document as sddd://docs/<path> (#anchor for one section), every profile as
        sddd://profiles/<name>. Read-only unless --allow-writes.

        The model and the index stay warm between calls; files changed since the last call
        are indexed first. Over stdio (the default, what agents start), stdout carries only
        protocol messages; logs go to stderr; a malformed message gets its JSON-RPC error
        (messages: in sddd.yaml bounds size and depth). --http listens on 127.0.0.1:8765/mcp.
        """
        if not http and (host != "127.0.0.1" or port != DEFAULT_PORT):
            raise UsageError("--host and --port go with --http")
        raise typer.Exit(mcp(get_config(ctx), http=http, host=host, port=port, allow_writes=allow_writes))
