"""BM25 over the index's two FTS5 tables: passages (rowid = chunk id) and documents (rowid =
document id), each score also on a fixed 0-1 scale for the query (``ideal``).

The scale: a passage's (or document's) BM25 divided by the BM25 of an ideal one that holds every
query term: a row of average length holding each term once in its heaviest field (the title). Each
term the table holds counts what it adds to that row's BM25, ``IDF * (k1 + 1) * w / (w + k1)``
(FTS5's k1 = 1.2, w the title's weight); a term the table lacks counts what one occurrence of a
word found nowhere would score (its IDF, ``ln((N + 0.5) / 0.5)``, the most one term's IDF can be).
So a text sharing one incidental word with a long question (a French question over English pages
shares few) scores low, even when it is the best lexical match there is, which min-max
normalisation would call 1.0.

The ideal needs each term's document frequency only: counted (no BM25 computed) in one statement
per query and kept per open index, so it costs a fraction of the search itself. (It was the best
score each term reaches alone, one BM25 over every row holding the term: more than the search.)
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence
from typing import Any

from sddd.core.errors import IndexCorrupt
from sddd.index.lexical import DOCUMENT_WEIGHTS, PASSAGE_WEIGHTS, match_expression, query_clauses

REBUILD_HINT = "run `sddd index --rebuild`"
Restriction = tuple[str, Sequence[Any]]  # an SQL condition on the chunks table, and its parameters
TABLES = {"passages": ("lexical", PASSAGE_WEIGHTS), "documents": ("doc_lexical", DOCUMENT_WEIGHTS)}
K1 = 1.2  # FTS5's bm25() constant
KEPT_FREQUENCIES = 8192  # document frequencies kept per open index (its rows never change)


class LexicalIndex:
    def __init__(self, db: sqlite3.Connection, sizes: dict[str, int], where: str):
        self.db, self.sizes, self.where = db, sizes, where
        self._frequencies: dict[tuple[str, str], int] = {}

    def search(self, table: str, query: str, limit: int, weights: Sequence[float] | None = None,
               restrict: Restriction | None = None, stop: bool = True) -> list[tuple[int, float]]:
        """(row id, BM25, higher is better) of the rows matching ``query``, best first.

        Every term is quoted, so FTS5 operators typed by a person are plain words. ``weights``
        overrides the table's column weights (bench/retrieval.py's plain BM25). ``restrict`` is
        an SQL condition on the ``chunks`` table (and its parameters) a passage must meet.
        ``stop=False`` keeps the stopwords (the peers' baselines of bench/retrieval.py).
        """
        expression = match_expression(query, stop)
        if expression is None or limit < 1:
            return []
        return self._bm25(table, expression, limit, weights, restrict)

    def ideal(self, table: str, query: str, weights: Sequence[float] | None = None,
              stop: bool = True) -> float:
        """The BM25 of an ideal row for ``query`` (see the module docstring); 0 with no term."""
        counts = self.frequencies(table, query_clauses(query, stop))
        if not any(counts):
            return 0.0
        rows, heaviest = self.sizes[table], max(weights or TABLES[table][1])
        once = (K1 + 1) * heaviest / (heaviest + K1)  # one occurrence in that field, average length
        unseen = math.log((rows + 0.5) / 0.5)
        return sum(idf(rows, n) * once if n else unseen for n in counts)

    def frequencies(self, table: str, clauses: Sequence[str]) -> list[int]:
        """How many rows of ``table`` match each clause (one statement for those not yet known)."""
        name = TABLES[table][0]
        missing = [c for c in dict.fromkeys(clauses) if (table, c) not in self._frequencies]
        if missing:
            statement = " UNION ALL ".join(f"SELECT count(*) FROM {name} WHERE {name} MATCH ?"
                                           for _ in missing)
            try:
                counts = [int(row[0]) for row in self.db.execute(statement, missing).fetchall()]
            except sqlite3.DatabaseError as exc:
                raise IndexCorrupt(f"lexical index is unreadable ({exc}); {REBUILD_HINT}",
                                   path=self.where) from None
            if len(self._frequencies) + len(missing) > KEPT_FREQUENCIES:
                self._frequencies.clear()
            self._frequencies.update(((table, c), n) for c, n in zip(missing, counts, strict=True))
        return [self._frequencies[(table, c)] for c in clauses]

    def scaled(self, table: str, query: str, limit: int, weights: Sequence[float] | None = None,
               restrict: Restriction | None = None, stop: bool = True) -> dict[int, float]:
        """Row id -> BM25 / ideal, in [0, 1], for the best ``limit`` rows (meeting ``restrict``;
        the ideal is the whole table's), best first."""
        hits = self.search(table, query, limit, weights, restrict, stop)
        ideal = self.ideal(table, query, weights, stop) if hits else 0.0
        return {row: min(score / ideal, 1.0) for row, score in hits} if ideal > 0 else {}

    def document_paths(self, ids: Sequence[int]) -> dict[int, str]:
        """Row id of the documents table -> its file."""
        if not ids:
            return {}
        rows = self.db.execute("SELECT id, path FROM documents WHERE id IN (SELECT value FROM json_each(?))",
                               (json.dumps([int(i) for i in ids]),)).fetchall()
        return {int(i): str(p) for i, p in rows}

    def _bm25(self, table: str, expression: str, limit: int, weights: Sequence[float] | None = None,
              restrict: Restriction | None = None) -> list[tuple[int, float]]:
        name, default = TABLES[table]
        columns = ", ".join(str(w) for w in (weights or default))
        where, params = "", ()
        if restrict is not None and restrict[0]:
            where, params = f" AND rowid IN (SELECT id FROM chunks WHERE {restrict[0]})", tuple(restrict[1])
        try:
            rows = self.db.execute(
                f"SELECT rowid, bm25({name}, {columns}) AS s FROM {name} WHERE {name} MATCH ?{where} "
                "ORDER BY s LIMIT ?", (expression, *params, int(limit)),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(f"lexical index is unreadable ({exc}); {REBUILD_HINT}",
                               path=self.where) from None
        return [(int(rowid), -float(score)) for rowid, score in rows]


def idf(rows: int, matching: int) -> float:
    """FTS5's IDF of a term held by ``matching`` of ``rows`` rows (never below its floor 1e-6)."""
    value = math.log((rows - matching + 0.5) / (matching + 0.5))
    return value if value > 0 else 1e-6
