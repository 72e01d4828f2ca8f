"""Query vectors (and texts) -> ranked passages: dense, lexical, or both fused.

Every passage is compared with the query by cosine (inner product of normalised vectors); it
is also matched against the lexical (FTS5/BM25) table, which finds pasted identifiers a dense
model blurs. ``hybrid`` fuses both by a convex combination of scores on fixed scales (see
``_fuse_scores``); ``dense`` and ``lexical`` use one side. Every result reports its dense
cosine, since discoverability thresholds are cosine.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sddd.core.errors import UsageError
from sddd.index.choices import ALL_KINDS, KINDS, MODES
from sddd.index.store import Store, StoredChunk

FUSIONS = ("cc", "rrf")  # cc: the default; rrf: kept so bench/retrieval.py can compare
DENSE_WEIGHT = 0.7  # cc: weight of the cosine; BM25 / ideal BM25 gets the rest
RRF_K = 60  # rrf: the constant of the RRF paper
FUSION_WINDOW = 50  # passages of each side that take part in the fusion, whatever k is


@dataclass
class Ranked:
    """One passage of a ranking, with how each side ranked it (1-based; None: not in its list)."""

    score: float  # the dense cosine, whatever the mode: thresholds are cosine
    chunk: StoredChunk
    dense_rank: int | None = None
    lexical_rank: int | None = None
    lexical_score: float | None = None  # BM25, higher is better
    fused: float | None = None  # the fused score (hybrid)


def validate_filters(kind: str | None, mode: str = "hybrid") -> None:
    if kind is not None and kind not in (*KINDS, ALL_KINDS):
        raise UsageError(f"must be one of {', '.join((*KINDS, ALL_KINDS))}; got {kind!r}", option="kind")
    if mode not in MODES:
        raise UsageError(f"must be one of {', '.join(MODES)}; got {mode!r}", option="mode")


def _allowed_ids(store: Store, kind: str | None, path_glob: str | None) -> set[int] | None:
    """The passages a ranking may return; None when every passage may.

    Archived files are history, not live documents: without a kind they are left out, and
    they rank only when asked for (``kind="archive"``, or ``"all"`` for everything).
    """
    hide_archived = kind is None and store.db.execute(
        "SELECT 1 FROM chunks WHERE kind = 'archive' LIMIT 1").fetchone() is not None
    if kind == ALL_KINDS:
        kind = None
    if kind is None and path_glob is None and not hide_archived:
        return None
    return {
        int(cid) for cid, path, chunk_kind in store.db.execute("SELECT id, path, kind FROM chunks")
        if (chunk_kind == kind if kind is not None else not (hide_archived and chunk_kind == "archive"))
        and (path_glob is None or fnmatch.fnmatch(path, path_glob))
    }


def _fuse_rrf(dense: list[int], lexical: list[int], depth: int) -> dict[int, float]:
    """Reciprocal rank fusion (Cormack et al., 2009) of the top ``depth`` of both lists."""
    fused: dict[int, float] = {}
    for ranking in (dense[:depth], lexical[:depth]):
        for position, cid in enumerate(ranking, 1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + position)
    return fused


def _fuse_scores(dense: list[int], lexical: list[tuple[int, float]], cosine: np.ndarray,
                 ideal: float, depth: int) -> dict[int, float]:
    """Convex combination of the two scores, each on a scale fixed before ranking.

    ``0.7 * cosine + 0.3 * bm25 / ideal`` over the top ``depth`` of both sides, where
    ``ideal`` is the BM25 of a passage matching every query term as well as the best
    passage for that term does (``Store.lexical_ideal``). Rank fusion throws the scores
    away: a passage that the lexical side ranks first for one incidental word weighs as
    much as one that matches a pasted flag name. On fixed scales a weak lexical match
    stays weak and a confident dense match stays confident (Bruch et al., 2023, found
    such combinations beat RRF). bench/retrieval.py measures both.
    """
    fused: dict[int, float] = {}
    for cid in dense[:depth]:
        fused[cid] = DENSE_WEIGHT * max(float(cosine[cid]), 0.0)
    for cid, score in lexical[:depth]:
        dense_part = fused.get(cid, DENSE_WEIGHT * max(float(cosine[cid]), 0.0))
        fused[cid] = dense_part + (1 - DENSE_WEIGHT) * (score / ideal if ideal > 0 else 0.0)
    return fused


@dataclass
class _Row:
    """One query's candidates before the chunks are read: ids and how each side ranked them."""

    chosen: list[int]
    cosine: dict[int, float]
    dense_rank: dict[int, int]
    lexical: dict[int, tuple[int, float]]
    fused: dict[int, float]


def _dense_only(store: Store, vectors: np.ndarray, k: int, allowed: set[int] | None) -> list[_Row]:
    scores, ids = store.search(vectors, store.count if allowed is not None else k)
    rows = []
    for row in range(len(vectors)):
        dense = [int(i) for i in ids[row] if i >= 0 and (allowed is None or int(i) in allowed)]
        cosine = dict(zip((int(i) for i in ids[row]), (float(s) for s in scores[row]), strict=True))
        rows.append(_Row(dense[:k], cosine, {cid: r for r, cid in enumerate(dense, 1)}, {}, {}))
    return rows


def _with_lexical(store: Store, vector: np.ndarray, cosines: np.ndarray, query: str, k: int,
                  allowed: set[int] | None, mode: str, fusion: str) -> _Row:
    order = np.argsort(-cosines, kind="stable")
    dense = [int(i) for i in order if allowed is None or int(i) in allowed]
    limit = max(k, FUSION_WINDOW) if allowed is None else store.count
    lexical = [(c, s) for c, s in store.lexical_search(query, limit) if allowed is None or c in allowed]
    fused: dict[int, float] = {}
    if mode == "lexical":
        chosen = [cid for cid, _ in lexical[:k]]
    else:
        if fusion == "cc":
            fused = _fuse_scores(dense, lexical, cosines, store.lexical_ideal(query), FUSION_WINDOW)
        else:
            fused = _fuse_rrf(dense, [cid for cid, _ in lexical], FUSION_WINDOW)
        first = sorted(fused, key=lambda c: (-fused[c], -float(cosines[c])))
        chosen = [*first, *(c for c in dense if c not in fused)][:k]
    return _Row(chosen, {cid: float(cosines[cid]) for cid in chosen},
                {cid: r for r, cid in enumerate(dense, 1)},
                {cid: (r, s) for r, (cid, s) in enumerate(lexical, 1)}, fused)


def rank_details(
    store: Store,
    vectors: np.ndarray,
    k: int,
    *,
    kind: str | None = None,
    path_glob: str | None = None,
    mode: str = "hybrid",
    queries: Sequence[str] | None = None,
    fusion: str = "cc",
) -> list[list[Ranked]]:
    """For each query, the top ``k`` passages passing the filters, best first, in ``mode``.

    Hybrid and lexical modes need the query texts (``queries``); without them the ranking
    is dense. Hybrid ranks every passage in either side's top ``FUSION_WINDOW`` by the
    fused score (``fusion``: ``cc`` or ``rrf``), then the remaining passages in dense
    order, so a deep ``k`` still ranks the whole index.
    """
    validate_filters(kind, mode)
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {FUSIONS}")
    if queries is None:
        mode = "dense"
    elif len(queries) != len(vectors):
        raise ValueError("rank: one query text per vector")
    if store.count == 0:
        return [[] for _ in range(len(vectors))]
    allowed = _allowed_ids(store, kind, path_glob)
    if mode == "dense":
        rows = _dense_only(store, vectors, k, allowed)
    else:
        assert queries is not None
        cosines = np.asarray(vectors, dtype=np.float32) @ store.all_vectors().T
        rows = [_with_lexical(store, vectors[i], cosines[i], queries[i], k, allowed, mode, fusion)
                for i in range(len(vectors))]
    by_id = {c.id: c for c in store.chunks(sorted({cid for row in rows for cid in row.chosen}))}
    return [
        [Ranked(row.cosine[cid], by_id[cid], row.dense_rank.get(cid),
                row.lexical[cid][0] if cid in row.lexical else None,
                row.lexical[cid][1] if cid in row.lexical else None, row.fused.get(cid))
         for cid in row.chosen if cid in by_id]
        for row in rows
    ]
