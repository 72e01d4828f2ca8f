"""`sddd search`: ranked passages for a question."""

from __future__ import annotations

from typing import Any

import typer

from sddd.commands.common import JSON_HELP, SdddCommand, choose_format, get_config
from sddd.commands.operation import cli_command
from sddd.core.config import Config
from sddd.core.errors import EXIT_OK
from sddd.core.operations import CLI, Param
from sddd.index.operation import SEARCH
from sddd.output.console import notice, print_json

FORMATS = ("table", "plain", "json")


def search(config: Config, query: str, *, k: int = 5, kind: str | None = None, path: str | None = None,
           mode: str = "hybrid", explain: bool = False, as_json: bool = False, fmt: str = "table",
           also: list[str] | None = None) -> int:
    """Print the passages that answer ``query``, best first."""
    as_json = as_json or fmt == "json"
    from sddd.resident.client import remote_search

    args = {"query": query, "k": k, "kind": kind, "path": path, "mode": mode}
    # `sddd serve` answers plain queries; sub-queries are fused here.
    answered = None if also else remote_search(config, args, notice=notice)
    if answered is None:
        from sddd.index.search import search as run_search  # numpy, FAISS, the models: only here

        reranker = None
        if config.section("search")["rerank"]["url"]:  # off by default: its HTTP client not even imported
            from sddd.endpoint.rerank import reranker_from_config

            reranker = reranker_from_config(config)  # a bad setting is refused before any index is built
        # a bad query is refused before any index is built; a fresh clone gets its first one
        result = run_search(config, query, k, kind=kind, path_glob=path, mode=mode,
                            notice=None if as_json else notice, also=also or [], build_missing=True,
                            reranker=reranker)
    else:
        result, notices = answered
        for line in [] if as_json else notices:
            notice(line)
    if result.notice and not as_json:  # with --json, the document's "notice" says it
        notice(result.notice)
    if as_json:
        print_json(result.to_json(explain))
    else:
        from sddd.output.search import render

        render(result, explain, fmt)
    return EXIT_OK


# The command's own options: how the result is shown.
OUTPUT = (
    Param("fmt", str, "table (the default on a terminal), plain (the default when stdout is not a "
          "terminal: one `path:line: #rank score: kind: heading: passage` line each) or json.",
          flags=("--format", "-f"), metavar="FORMAT", on=frozenset((CLI,))),
    Param("as_json", bool, f"{JSON_HELP} Same as --format json.", default=False, flags=("--json",),
          on=frozenset((CLI,))),
)


def register(app: typer.Typer) -> None:
    @app.command("search", cls=SdddCommand)
    @cli_command(SEARCH, *OUTPUT)
    def search_command(ctx: typer.Context, args: dict[str, Any]) -> None:
        fmt = choose_format(args.pop("fmt"), args.pop("as_json"), FORMATS)
        query = args.pop("query")
        raise typer.Exit(search(get_config(ctx), query, **args, fmt=fmt))
