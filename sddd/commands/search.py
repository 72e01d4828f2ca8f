"""`sddd search`: ranked passages for a question."""

from __future__ import annotations

from collections.abc import Callable

import typer

from sddd.commands.common import JSON_HELP, SdddCommand, choose_format, get_config
from sddd.core.config import Config
from sddd.core.errors import EXIT_OK
from sddd.index.choices import MODES
from sddd.output.console import notice, print_json

FORMATS = ("table", "plain", "json")


def search(config: Config, query: str, *, k: int = 5, kind: str | None = None, path: str | None = None,
           mode: str = "hybrid", explain: bool = False, as_json: bool = False, fmt: str = "table",
           also: list[str] | None = None) -> int:
    """Print the passages that answer ``query``, best first."""
    as_json = as_json or fmt == "json"
    from sddd.resident.client import remote_search

    # `sddd serve` answers plain queries; sub-queries are fused here.
    answered = None if also else remote_search(config, query, k, kind=kind, path_glob=path, mode=mode,
                                               notice=notice)
    if answered is None:
        from sddd.endpoint.rerank import reranker_from_config
        from sddd.index.search import checked_query
        from sddd.index.search import search as run_search  # numpy, FAISS, the models: only here

        # a bad query (or reranker setting) is refused before any index is built
        checked_query(query, k, kind, mode, max_chars=config.section("limits")["query_chars"])
        reranker = reranker_from_config(config)
        _first_index(config, None if as_json else notice)
        result = run_search(config, query, k, kind=kind, path_glob=path, mode=mode,
                            notice=None if as_json else notice, also=also or [], reranker=reranker)
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


def _first_index(config: Config, notice: Callable[[str], None] | None) -> None:
    """No index yet (a fresh clone): build it, as `check` and `site build` do, rather than fail."""
    from sddd.index.store import current_generation

    if current_generation(config.index_dir) is not None:
        return
    from sddd.index.indexer import build_index

    if notice:
        notice(f"No index yet at {config.relpath(config.index_dir)}: building it first.")
    build_index(config)


def register(app: typer.Typer) -> None:
    @app.command("search", cls=SdddCommand)
    def search_command(
        ctx: typer.Context,
        query: str = typer.Argument(..., help="What you are looking for, in your own words."),
        k: int = typer.Option(5, "-k", "--top", help="How many files to show, each at its best passage."),
        kind: str | None = typer.Option(
            None, "--kind",
            help="Only this kind: guide, report, profile, archive or manual (sddd's own, with "
            "`manual: true`); 'all' includes archived files and the manual, left out by default.",
        ),
        path: str | None = typer.Option(
            None, "--path", help="Only files matching this glob, e.g. 'docs/guides/*'."
        ),
        mode: str = typer.Option(
            "hybrid", "--mode", metavar="|".join(MODES),
            help="hybrid: meaning and exact words fused (default); dense: meaning only; "
                 "lexical: exact words only (BM25).",
        ),
        explain: bool = typer.Option(
            False, "--explain", help="Also show each passage's dense rank and lexical rank (BM25); "
                                     "with --json, adds dense_rank, lexical_rank, lexical_score, "
                                     "fused_score, file_ranks (the file's rank in each fused list) "
                                     "and mode.",
        ),
        also: list[str] | None = typer.Option(
            None, "--also", metavar="TYPE:TEXT",
            help="Another way to ask, fused with QUERY (which weighs twice as much); repeatable. "
                 "lex:words (exact words), vec:a rephrasing, hyde:a sentence the answer would hold."),
        fmt: str | None = typer.Option(
            None, "--format", "-f", metavar="FORMAT",
            help="table (the default on a terminal), plain (the default when stdout is not a "
                 "terminal: one `path:line: #rank score: kind: heading: passage` line each) or json."),
        as_json: bool = typer.Option(False, "--json", help=f"{JSON_HELP} Same as --format json."),
    ) -> None:
        """Find the files that answer QUERY, best first, each at its best passage, with a 0-1 score.

        Files are ranked by fusing several rankings: exact words over whole files and over
        passages (BM25, which finds pasted flags, model ids and error strings) and meaning
        (MiniLM for English, the multilingual USE for French and other languages).
        The score is the file's share of the most a file can get, 1.0 meaning every one of
        those rankings put it first; with a reranker (search.rerank in sddd.yaml), it is
        w / r + (1 - w) x the reranker's 0-1 relevance, r being the file's rank before reranking
        and w 0.75 for r up to 3, 0.6 up to 10, 0.4 beyond; either way a higher score is always
        a higher rank.
        Accents fold (deploiement finds déploiement). If files changed since the last
        `sddd index`, the index is brought up to date first (and built, when there is none
        yet, as `check` and `site build` do), so answers always come from the files as they are.
        """
        fmt = choose_format(fmt, as_json, FORMATS)
        raise typer.Exit(search(get_config(ctx), query, k=k, kind=kind, path=path, mode=mode,
                                explain=explain, fmt=fmt, also=also))
