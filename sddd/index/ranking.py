"""Query -> ranked files, each with its best passages: the one ranking behind search, check,
hints and related pages.

For each query, candidate passages are gathered from every side: the nearest passages of each
model's vectors, the best passages by BM25, and the passages of the files that BM25 over whole
files ranks best. Files are then ranked by reciprocal rank fusion of those lists
(``sddd.index.scoring``), and each file shows its passages in the order of the same fusion at
passage level. Every passage of a file carries the file's score, so scores fall as ranks do.
Candidates are few (``CANDIDATES`` per side), so the cost does not grow with the index beyond
the nearest-neighbour searches.
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
from sddd.index.scoring import (
    MODES,
    ORIGINAL_WEIGHT,
    SUBQUERY_WEIGHT,
    FileList,
    file_order,
    fuse,
)
from sddd.index.store import Store, StoredChunk

CANDIDATES = 200  # passages taken from each side (each model, BM25) before scoring
DOCUMENT_CANDIDATES = 100  # files taken from BM25 over whole files
FILL_FILES = 30  # the best of those files whose passages no other side found are read whole
FILL_PASSAGES = 2000  # but no more passages than this in all


@dataclass
class Features:
    """What placed a passage: every model's cosine, its BM25 / ideal, its file's BM25 / ideal."""

    dense: list[float]
    passage: float = 0.0
    document: float = 0.0


@dataclass
class Ranked:
    """One passage of a ranking, with what decided its place."""

    score: float  # the file's fused value / the most a file can get (sddd.index.scoring)
    chunk: StoredChunk
    features: Features
    fused: float  # the file's fused value the ranking sorts by
    dense_rank: int | None = None  # 1-based rank by the first model's cosine among candidates
    lexical_rank: int | None = None  # 1-based rank by passage BM25
    lexical_score: float | None = None  # passage BM25 / ideal
    file_ranks: dict[str, int] | None = None  # the file's rank in each list that holds it
    relevance: float | None = None  # what a reranker said of it, 0-1 (sddd.index.rerank)
    retrieval_rank: int | None = None  # its rank before the reranker (None: not reranked)

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
    """Every candidate passage of one query, with its features as arrays (row per candidate), and
    the files BM25 over whole files ranks, best first."""

    ids: np.ndarray
    files: list[str]  # each candidate's file
    dense: np.ndarray  # [candidates, models] cosines
    passage: np.ndarray  # passage BM25 / ideal (0: not among the best by BM25)
    document: np.ndarray  # its file's BM25 / ideal
    whole_files: list[str]  # files by BM25 over whole files, best first


@dataclass
class SubQuery:
    """A rephrasing of a query fused beside it (``--also``): ``lex:`` words for the lexical lists,
    ``vec:`` (a rephrasing) or ``hyde:`` (a hypothetical answer) for the models' lists."""

    text: str
    mode: str  # "lexical" or "dense"
    vectors: list[np.ndarray]  # its embedding by each model (empty for a lexical one)


def paths_of(store: Store, ids: np.ndarray) -> list[str]:
    """The file of each passage id."""
    if not len(ids):
        return []
    rows = dict(store.db.execute("SELECT id, path FROM chunks WHERE id IN (SELECT value FROM json_each(?))",
                                 (json.dumps([int(i) for i in ids]),)).fetchall())
    return [str(rows.get(int(i), "")) for i in ids]


def merge(store: Store, found: Candidates, extra: Candidates, vectors: Sequence[np.ndarray]) -> Candidates:
    """``found`` with the passages only a sub-query found, featured for the query itself (their
    cosines to ``vectors``; no passage BM25, their file's BM25 as far as the query's list has it)."""
    have = set(found.ids.tolist())
    new = [i for i, cid in enumerate(extra.ids.tolist()) if cid not in have]
    if not new:
        return found
    ids = extra.ids[new]
    dense = np.zeros((len(ids), found.dense.shape[1]), dtype=np.float32)
    for member, vector in enumerate(vectors):
        dense[:, member] = store.vectors_of(ids, member) @ vector
    files = [extra.files[i] for i in new]
    by_file = dict(zip(found.files, found.document.tolist(), strict=True))
    return Candidates(np.concatenate([found.ids, ids]), found.files + files, np.vstack([found.dense, dense]),
                      np.concatenate([found.passage, np.zeros(len(ids), dtype=np.float32)]),
                      np.concatenate([found.document,
                                      np.array([by_file.get(f, 0.0) for f in files], dtype=np.float32)]),
                      found.whole_files)


def _allowed_paths(store: Store, paths: list[str], allowed: Selection | None) -> list[str]:
    """``paths`` less those with no passage the filters let through, in order."""
    if allowed is None or not paths:
        return paths
    rows = store.db.execute(f"SELECT DISTINCT path FROM chunks WHERE ({allowed.condition}) "
                            "AND path IN (SELECT value FROM json_each(?))",
                            (*allowed.params, json.dumps(paths))).fetchall()
    kept = {r[0] for r in rows}
    return [p for p in paths if p in kept]


def _fill(store: Store, paths: list[str], allowed: Selection | None) -> list[int]:
    """Passage ids of ``paths`` (a file found whole must show a passage), at most FILL_PASSAGES."""
    if not paths:
        return []
    condition, params = "path IN (SELECT value FROM json_each(?))", [json.dumps(paths)]
    if allowed is not None and allowed.condition:
        condition += f" AND ({allowed.condition})"
        params += list(allowed.params)
    return [int(i) for i in store.ids_where(condition, params)[:FILL_PASSAGES]]


def candidates(store: Store, vectors: Sequence[np.ndarray], query: str, allowed: Selection | None,
               depth: int = CANDIDATES) -> Candidates:
    """The candidates of one query: ``vectors[m]`` is its embedding by model m; the ``depth``
    nearest passages of each model, the ``depth`` best by BM25, and the passages of the best files
    by BM25 over whole files that neither side found, among those ``allowed``."""
    found: dict[int, None] = {}
    include = allowed.include if allowed else None
    exclude = allowed.exclude if allowed else None
    for member, vector in enumerate(vectors):
        _, ids = store.search(vector[None, :], depth, member, include=include, exclude=exclude)
        found.update((int(i), None) for i in ids[0] if i >= 0)
    passage = store.lexical.scaled("passages", query, depth,
                                   restrict=(allowed.condition, allowed.params) if allowed else None)
    found.update((cid, None) for cid in passage)
    documents = store.lexical.scaled("documents", query, DOCUMENT_CANDIDATES)
    names = store.lexical.document_paths(list(documents))
    by_path = {names[d]: s for d, s in documents.items() if d in names}  # best first
    whole = _allowed_paths(store, list(by_path), allowed)
    paths = paths_of(store, np.array(list(found), dtype=np.int64))
    known = set(paths)
    found.update((cid, None) for cid in _fill(store, [p for p in whole if p not in known][:FILL_FILES],
                                                  allowed))
    ids = np.array(list(found), dtype=np.int64)
    files = paths_of(store, ids)
    dense = np.zeros((len(ids), len(vectors)), dtype=np.float32)
    for member, vector in enumerate(vectors):
        if len(ids):
            dense[:, member] = store.vectors_of(ids, member) @ vector
    return Candidates(ids, files, dense,
                      np.array([passage.get(int(c), 0.0) for c in ids], dtype=np.float32),
                      np.array([by_path.get(f, 0.0) for f in files], dtype=np.float32), whole)


def file_lists(found: Candidates, models: Sequence[str], query: str, mode: str,
               weight: float = ORIGINAL_WEIGHT, prefix: str = "") -> list[FileList]:
    """The ranked lists of files one query contributes to the fusion (sddd.index.scoring)."""
    lists: list[FileList] = []
    if mode != "dense":
        lists.append(FileList(f"{prefix}files", found.whole_files, weight))
        lists.append(FileList(f"{prefix}passages", file_order(found.files, found.passage, found.passage > 0),
                              weight))
    if mode != "lexical":
        for member in range(len(models)):
            ranked = file_order(found.files, found.dense[:, member])
            lists.append(FileList(f"{prefix}{models[member]}", ranked, weight))
    return lists


def passage_order(found: Candidates, models: Sequence[str], query: str, mode: str) -> np.ndarray:
    """Candidate rows by the same fusion at passage level: the order a file shows its passages."""
    value = np.zeros(len(found.ids))
    columns = []
    if mode != "dense":
        columns.append(np.where(found.passage > 0, found.passage, -np.inf))
    if mode != "lexical":
        columns += [found.dense[:, m] for m in range(len(models))]
    for column in columns:
        order = np.argsort(-column, kind="stable")
        ranks = np.empty(len(order), dtype=np.float64)
        ranks[order] = np.arange(1, len(order) + 1)
        value += np.where(column > -np.inf, 1.0 / (60 + ranks), 0.0)
    return np.argsort(-value, kind="stable")


def _ranks(values: np.ndarray, keep: np.ndarray | None = None) -> dict[int, int]:
    rows = [int(i) for i in np.argsort(-values, kind="stable") if keep is None or keep[i]]
    return {row: r for r, row in enumerate(rows, 1)}


def rank_one(store: Store, found: Candidates, lists: list[FileList], models: Sequence[str], query: str,
             mode: str, k: int, per_file: int | None) -> list[Ranked]:
    """The top ``k`` passages of one query's candidates: files by fusion of ``lists``, each with
    its best ``per_file`` passages (all its candidates when None)."""
    rows_of: dict[str, list[int]] = {}
    for row in passage_order(found, models, query, mode):
        rows_of.setdefault(found.files[row], []).append(int(row))
    chosen: list[tuple[int, float, float, dict[str, int]]] = []
    for f in fuse(lists):
        for row in rows_of.get(f.path, [])[:per_file]:
            chosen.append((row, f.score, f.value, f.ranks))
        if len(chosen) >= k:
            break
    chosen = chosen[:k]
    by_dense = _ranks(found.dense[:, 0]) if found.dense.shape[1] else {}
    by_lexical = _ranks(found.passage, found.passage > 0)
    chunks = {c.id: c for c in store.chunks(int(found.ids[row]) for row, *_ in chosen)}
    out = []
    for row, score, value, ranks in chosen:
        chunk = chunks.get(int(found.ids[row]))
        if chunk is None:
            continue
        lexical = float(found.passage[row])
        out.append(Ranked(score, chunk, Features(list(map(float, found.dense[row])), lexical,
                                                 float(found.document[row])), value,
                          by_dense.get(row), by_lexical.get(row), lexical if lexical > 0 else None, ranks))
    return out


def rank(store: Store, vectors: Sequence[np.ndarray], queries: Sequence[str], k: int, *,
         kind: str | None = None, path_glob: str | None = None, mode: str = "hybrid",
         per_file: int | None = None, also: Sequence[Sequence[SubQuery]] | None = None) -> list[list[Ranked]]:
    """For each query, the top ``k`` passages passing the filters: files best first, each with its
    best ``per_file`` passages (all its candidates when None).

    ``vectors[m][q]`` is query q embedded by the index's model m (the store's models, in order).
    ``also[q]`` are query q's sub-queries (``SubQuery``), each fused at weight 1 against 2.
    """
    validate_filters(kind, mode)
    if store.count == 0:
        return [[] for _ in queries]
    allowed = selection(store, kind, path_glob)
    models = store.models or ["unknown"]
    out: list[list[Ranked]] = []
    for q, query in enumerate(queries):
        own = [v[q] for v in vectors]
        found = candidates(store, own, query, allowed, max(CANDIDATES, k))
        lists = file_lists(found, models, query, mode)
        for n, sub in enumerate(also[q] if also else []):
            extra = candidates(store, sub.vectors or own, sub.text, allowed, CANDIDATES)
            lists += [x for x in file_lists(extra, models, sub.text, sub.mode if mode == "hybrid" else mode,
                                            SUBQUERY_WEIGHT, f"{n + 1}:") if x.files]
            found = merge(store, found, extra, own)
        out.append(rank_one(store, found, lists, models, query, mode, k, per_file))
    return out
