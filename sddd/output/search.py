"""`sddd search` results as a table that fits the terminal, query words in bold, or as plain
lines for a pipe: ``path:line: #rank score: kind: heading (#anchor): passage`` (on one line)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sddd.index.results import Hit, SearchResult
from sddd.output.console import out, write_lines

if TYPE_CHECKING:
    from rich.table import Table


def highlight(snippet: str, terms: list[str]) -> str:
    """Rich markup with the query's words in bold."""
    from rich.markup import escape

    text = escape(snippet)
    if not terms:
        return text
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)),
                         re.IGNORECASE)
    return pattern.sub(lambda m: f"[bold yellow]{m.group(0)}[/bold yellow]", text)


def plain_lines(result: SearchResult, explain: bool = False) -> list[str]:
    """One whole line per passage, best first, then the summary line."""
    lines = []
    for hit in result.results:
        ranks = ""
        if explain:
            lexical = f"{hit.lexical_rank} ({hit.lexical_score:.2f})" if hit.lexical_rank else "-"
            ranks = f" (dense #{hit.dense_rank or '-'}, bm25 #{lexical}{_reranked(hit, ', ')})"
        snippet = " ".join(hit.snippet.split())
        anchor = f" (#{hit.anchor})" if hit.anchor else ""
        lines.append(f"{hit.path}:{hit.line}: #{hit.rank} {hit.score:.3f}{ranks}: {hit.kind}: "
                     f"{hit.heading}{anchor}: {snippet}")
    count = f"{len(result.results)} result(s)" if result.results else "no results"
    lines.append(f"sddd search: {count} for {result.query!r} ({result.mode})")
    return lines


def _reranked(hit: Hit, separator: str) -> str:
    """Where a reranker moved the file from, and what it said of it (``--explain``)."""
    if hit.retrieval_rank is None:
        return ""
    relevance = "-" if hit.relevance is None else f"{hit.relevance:.2f}"
    return f"{separator}was #{hit.retrieval_rank}, relevance {relevance}"


def render(result: SearchResult, explain: bool = False, fmt: str = "table") -> None:
    if fmt == "plain":
        write_lines(plain_lines(result, explain))
        return
    if not result.results:
        out.print(f"No results for {result.query!r}.")
        return
    longest = max(len(h.path) + len(h.anchor or "") + 1 for h in result.results)
    if longest + PASSAGE_ROOM + 4 * 3 + 2 + 5 > out.width:  # the table would fold a location
        _blocks(result, explain)
        return
    out.print(_table(result, explain))


PASSAGE_ROOM = 30  # the least width a passage column is worth having


def _blocks(result: SearchResult, explain: bool) -> None:
    """A terminal too narrow for a table with each path#anchor whole: one block per passage, the
    location on its own line (never cut), the heading and passage wrapped below it."""
    from rich.markup import escape

    out.print(f"[bold]sddd search: {escape(result.query)}[/bold]")
    for hit in result.results:
        anchor = f"[dim]#{escape(hit.anchor)}[/dim]" if hit.anchor else ""
        ranks = ""
        if explain:
            lexical = f"{hit.lexical_rank} ({hit.lexical_score:.2f})" if hit.lexical_rank else "-"
            ranks = f" · dense #{hit.dense_rank or '-'} · bm25 #{lexical}{_reranked(hit, ' · ')}"
        out.print(f"\n#{hit.rank} {hit.score:.3f}{ranks}  [dim]{hit.kind}, line {hit.line}[/dim]")
        out.print(f"[cyan]{escape(hit.path)}[/cyan]{anchor}", soft_wrap=True)
        out.print(f"  [bold]{escape(hit.heading)}[/bold]")
        out.print("  " + highlight(" ".join(hit.snippet.split()), hit.terms))


def _table(result: SearchResult, explain: bool) -> Table:
    """The table for a terminal (rich's, imported here: plain lines and JSON never need it)."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"sddd search: {escape(result.query)}", title_justify="left",
                  show_lines=True)
    longest = max(len(h.path) + len(h.anchor or "") + 1 for h in result.results)
    # Columns of fixed width, plus 3 characters of border and padding per column: what is
    # left is shared by the location and the passage, so the table fits an 80-column terminal.
    fixed = 2 + 5 + (7 + 9 if explain else 0) + 3 * (6 if explain else 4) + 3
    room = max(24, out.width - fixed)
    table.add_column("#", justify="right", width=2)
    table.add_column("score", justify="right", width=5)
    # The location is what people copy: keep it on one line when the terminal allows.
    where_width = min(longest, max(16, room // 2))
    table.add_column("where", overflow="fold", min_width=where_width,
                     max_width=None if out.width >= 100 else where_width)
    table.add_column("passage", ratio=1, overflow="fold", min_width=min(30, room // 2))
    if explain:
        table.add_column("dense #", justify="right", width=7)
        table.add_column("bm25 #", justify="right", width=9)
    for hit in result.results:
        anchor = f"[dim]#{escape(hit.anchor)}[/dim]" if hit.anchor else ""
        where = f"[cyan]{escape(hit.path)}[/cyan]{anchor}"
        where += f"\n[dim]{hit.kind}, line {hit.line}{_reranked(hit, ', ') if explain else ''}[/dim]"
        passage = f"[bold]{escape(hit.heading)}[/bold]\n{highlight(hit.snippet, hit.terms)}"
        cells = [str(hit.rank), f"{hit.score:.3f}", where, passage]
        if explain:
            cells.append(str(hit.dense_rank or "-"))
            cells.append(f"{hit.lexical_rank} ({hit.lexical_score:.2f})" if hit.lexical_rank else "-")
        table.add_row(*cells)
    return table
