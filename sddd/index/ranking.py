"""Query -> ranked passages: the one ranking behind search, check, hints and related pages.

For each query, candidates are gathered from every side: the nearest passages of each model's
vectors and the best passages by BM25. Each candidate gets its features (the cosine of every
model, its passage BM25 and its document's BM25, see ``sddd.index.scoring``), a linear score
with the weights of the index's models, the query's language and the mode, and that score's
calibrated probability, which is what every caller reports. A document ranks at its best
passage. Candidates are few (``CANDIDATES`` per side), so the cost does not grow with the index
beyond the nearest-neighbour searches.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sddd.core.errors import UsageError
from sddd.index.choices import ALL_KINDS, KINDS
from sddd.index.scoring import MODES, Features, weights_for
from sddd.index.store import Store, StoredChunk

CANDIDATES = 200  # passages taken from each side (each model, BM25) before scoring
DOCUMENT_CANDIDATES = 100  # documents scored by the documents table


@dataclass
class Ranked:
    """One passage of a ranking, with what decided its place."""

    score: float  # the calibrated 0-1 score (see sddd.index.scoring)
    chunk: StoredChunk
    features: Features
    linear: float  # the uncalibrated score the ranking sorts by
    dense_rank: int | None = None  # 1-based rank by the first model's cosine among candidates
    lexical_rank: int | None = None  # 1-based rank by passage BM25
    lexical_score: float | None = None  # passage BM25 / ideal

    @property
    def cosine(self) -> float:
        return self.features.dense[0] if self.features.dense else 0.0


def validate_filters(kind: str | None, mode: str = "hybrid") -> None:
    if kind is not None and kind not in (*KINDS, ALL_KINDS):
        raise UsageError(f"must be one of {', '.join((*KINDS, ALL_KINDS))}; got {kind!r}", option="kind")
    if mode not in MODES:
        raise UsageError(f"must be one of {', '.join(MODES)}; got {mode!r}", option="mode")


@dataclass
class Selection:
    """The passages a ranking may return: those ``include`` names (all live ones when None) less
    ``exclude``, and the same as an SQL condition on the chunks table for the lexical side."""

    include: np.ndarray | None
    exclude: np.ndarray | None
    condition: str
    params: tuple[Any, ...]


def selection(store: Store, kind: str | None, path_glob: str | None) -> Selection | None:
    """What the filters let through; None when every passage may be returned.

    Archived files are history, not live documents: without a kind they are left out, and
    they rank only when asked for (``kind="archive"``, or ``"all"`` for everything). The ids are
    read with SQL; the side that is the smaller is listed (what passes, or what does not).
    """
    kinds = store.kinds()
    hide_archived = kind is None and kinds.get("archive", 0) > 0
    if kind == ALL_KINDS:
        kind = None
    if kind is None and path_glob is None and not hide_archived:
        return None
    conditions: list[str] = []
    params: list[Any] = []
    if kind is not None:
        conditions.append("kind = ?")
        params.append(kind)
    elif hide_archived:
        conditions.append("kind != 'archive'")
    if path_glob is not None:
        paths = [path for path in store.files if fnmatch.fnmatch(path, path_glob)]
        conditions.append("path IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(paths))
    condition = " AND ".join(conditions)
    if path_glob is None:
        passing = kinds.get(kind, 0) if kind is not None else store.count - kinds.get("archive", 0)
        if passing > store.count // 2:
            return Selection(None, store.ids_where(f"NOT ({condition})", params), condition, tuple(params))
    return Selection(store.ids_where(condition, params), None, condition, tuple(params))


@dataclass
class Candidates:
    """Every candidate passage of one query, with its features as arrays (row per candidate)."""

    ids: np.ndarray
    dense: np.ndarray  # [candidates, models] cosines
    passage: np.ndarray
    document: np.ndarray


def candidates(store: Store, vectors: Sequence[np.ndarray], query: str, allowed: Selection | None,
               depth: int = CANDIDATES) -> Candidates:
    """The candidates of one query: ``vectors[m]`` is its embedding by model m; the ``depth``
    nearest passages of each model and the ``depth`` best by BM25, among those ``allowed``."""
    found: dict[int, None] = {}
    include = allowed.include if allowed else None
    exclude = allowed.exclude if allowed else None
    for member, vector in enumerate(vectors):
        _, ids = store.search(vector[None, :], depth, member, include=include, exclude=exclude)
        found.update((int(i), None) for i in ids[0] if i >= 0)
    passage = store.lexical.scaled("passages", query, depth,
                                   restrict=(allowed.condition, allowed.params) if allowed else None)
    found.update((cid, None) for cid in passage)
    ids = np.array(list(found), dtype=np.int64)
    dense = np.zeros((len(ids), len(vectors)), dtype=np.float32)
    for member, vector in enumerate(vectors):
        if len(ids):
            dense[:, member] = store.vectors_of(ids, member) @ vector
    documents = store.lexical.scaled("documents", query, DOCUMENT_CANDIDATES)
    doc_of = store.documents_of(ids)
    return Candidates(ids, dense, np.array([passage.get(int(c), 0.0) for c in ids], dtype=np.float32),
                      np.array([documents.get(int(d), 0.0) for d in doc_of], dtype=np.float32))


def score(found: Candidates, models: Sequence[str], query: str, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(linear, calibrated) scores of the candidates, in the candidates' order (the vector form of
    ``scoring.linear`` and ``scoring.probability``)."""
    weights = weights_for(models, query, mode)
    lin = (np.clip(found.dense, 0.0, None) @ np.asarray(weights.dense, dtype=np.float32)
           + weights.passage * found.passage + weights.document * found.document).astype(np.float64)
    z = np.clip(weights.slope * lin + weights.bias, -60.0, 60.0)
    return lin, 1.0 / (1.0 + np.exp(-z))


def rank(store: Store, vectors: Sequence[np.ndarray], queries: Sequence[str], k: int, *,
         kind: str | None = None, path_glob: str | None = None, mode: str = "hybrid") -> list[list[Ranked]]:
    """For each query, the top ``k`` passages passing the filters, best first.

    ``vectors[m][q]`` is query q embedded by the index's model m (the store's models, in order).
    """
    validate_filters(kind, mode)
    if store.count == 0:
        return [[] for _ in queries]
    allowed = selection(store, kind, path_glob)
    models = store.models or ["unknown"]
    out: list[list[Ranked]] = []
    for q, query in enumerate(queries):
        found = candidates(store, [v[q] for v in vectors], query, allowed, max(CANDIDATES, k))
        lin, calibrated = score(found, models, query, mode)
        order = np.lexsort((-found.dense[:, 0] if len(found.ids) else lin, -lin))
        if mode == "lexical":  # exact words only: a passage without them is no result
            order = order[found.passage[order] > 0]
        order = order[:k]
        by_dense = {int(found.ids[i]): r for r, i in enumerate(np.argsort(-found.dense[:, 0]), 1)}
        by_lexical = {int(found.ids[i]): r for r, i in enumerate(np.argsort(-found.passage), 1)
                      if found.passage[i] > 0}
        chunks = {c.id: c for c in store.chunks(int(found.ids[i]) for i in order)}
        out.append([Ranked(float(calibrated[i]), chunks[int(found.ids[i])],
                           Features(list(map(float, found.dense[i])), float(found.passage[i]),
                                    float(found.document[i])), float(lin[i]),
                           by_dense.get(int(found.ids[i])), by_lexical.get(int(found.ids[i])),
                           float(found.passage[i]) if found.passage[i] > 0 else None)
                    for i in order if int(found.ids[i]) in chunks])
    return out
