"""`search`, declared once: the command line's options, the MCP tool's schema and the `sddd serve`
request are made from ``SEARCH`` (``sddd.core.operations``). Importable without numpy."""

from __future__ import annotations

from sddd.core.operations import CLI, MCP, SOCKET, Operation, Param, View
from sddd.index.choices import ALL_KINDS, KINDS, MODES

MAX_AGENT_QUERY = 2000  # the model reads ~256 tokens; a longer "query" from an agent is a pasted file
MAX_AGENT_K = 50  # an agent's context is small
MAX_REQUEST_K = 1000  # passages one request to `sddd serve` may ask for

SEARCH = Operation(
    "search",
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
yet, as `check` and `site build` do), so answers always come from the files as they are.""",
    (
        Param("query", str, "What you are looking for, in your own words.", required=True,
              blank="say what you are looking for",
              views={MCP: View("What you are looking for, in your own words (English or French).",
                               max_length=MAX_AGENT_QUERY)}),
        Param("k", int, "How many files to show, each at its best passage.", default=5, minimum=1,
              flags=("-k", "--top"),
              views={MCP: View("How many files, each at its best passage.", maximum=MAX_AGENT_K),
                     SOCKET: View(maximum=MAX_REQUEST_K)}),
        Param("kind", str, "Only this kind: guide, report, profile, archive or manual (sddd's own, with "
              "`manual: true`); 'all' includes archived files and the manual, left out by default.",
              choices=(*KINDS, ALL_KINDS), flags=("--kind",),
              views={MCP: View("Only this kind of document; 'all' includes archived files, which are "
                               "left out by default, as is 'manual' (sddd's own manual: how to use "
                               "sddd).")}),
        Param("path", str, "Only files matching this glob, e.g. 'docs/guides/*'.", flags=("--path",),
              views={SOCKET: View(name="path_glob")}),  # the wire's name since protocol 1
        Param("mode", str, "hybrid: meaning and exact words fused (default); dense: meaning only; "
              "lexical: exact words only (BM25).", default="hybrid", choices=MODES, flags=("--mode",),
              metavar="|".join(MODES),
              views={MCP: View("hybrid: meaning and exact words (default); dense: meaning only; "
                               "lexical: exact words only (BM25).")}),
        Param("explain", bool, "Also show each passage's dense rank and lexical rank (BM25); with "
              "--json, adds dense_rank, lexical_rank, lexical_score, fused_score, file_ranks (the "
              "file's rank in each fused list) and mode.", default=False, flags=("--explain",),
              on=frozenset((CLI, MCP)),  # the server answers the whole result; the caller shows it
              views={MCP: View("Also give each passage's dense and lexical rank.")}),
        Param("also", list, "Another way to ask, fused with QUERY (which weighs twice as much); "
              "repeatable. lex:words (exact words), vec:a rephrasing, hyde:a sentence the answer "
              "would hold.", flags=("--also",), metavar="TYPE:TEXT",
              on=frozenset((CLI, MCP)),  # a server of protocol 2 answers plain queries only
              views={MCP: View("Up to 8 sub-queries fused with the query (which weighs twice as "
                               "much), each 'lex:words', 'vec:a rephrasing' or 'hyde:a hypothetical "
                               "answer'.")}),
    ),
    result={"type": "object", "required": ["query", "results"]},
    title="Search the docs",
    agent_help="Find the files of the team's guides, reports and compose profiles that answer a "
    "question, best first, each at its best passage: path#anchor, heading, score (0-1: the file's "
    "share of the most a file can get, 1 = first by exact words and by meaning alike; blended with the "
    "relevance a reranker gives when sddd.yaml has search.rerank; higher is always a better "
    "rank) and a snippet; `notice` says when a configured reranker could not be used. "
    "Meaning and exact words are fused (pasted flags, model ids and error strings are found "
    "too). Rephrase with `also` when the question is vague or uses other words than docs "
    "would: `vec:` the question asked another way, `lex:` the exact terms, flags or ids the "
    "answer would contain, `hyde:` one sentence the answering passage might hold; a French "
    "question: also ask it in English (`vec:`). The index is brought up to date first when "
    "files changed, so answers come from the files as they are now.",
)
