"""Query -> ranked passages.

The query is embedded (from the query cache when it was seen before, so a repeated query
loads no model) and compared with every chunk by cosine (inner product of normalised
vectors); it is also matched against the lexical (FTS5/BM25) table, which finds pasted
identifiers a dense model blurs. ``hybrid`` (the default) fuses both by a convex combination
of scores on fixed scales (see ``_fuse_scores``); ``dense`` and ``lexical`` use one side.
Every hit reports its dense cosine, since discoverability thresholds are cosine. Results
are filtered by kind and path and carry a snippet around the query's words.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from sddd.config import Config
from sddd.corpus import KINDS
from sddd.embedder import Encoder, load_encoder
from sddd.errors import UsageError
from sddd.indexer import ensure_fresh
from sddd.store import QueryCache, Store, StoredChunk

SNIPPET_CHARS = 220
ALL_KINDS = "all"  # --kind all: live documents and archived ones
MODES = ("hybrid", "dense", "lexical")
FUSIONS = ("cc", "rrf")  # cc: the default; rrf: kept so bench/retrieval.py can compare
DENSE_WEIGHT = 0.7  # cc: weight of the cosine; BM25 / ideal BM25 gets the rest
RRF_K = 60  # rrf: the constant of the RRF paper
FUSION_WINDOW = 50  # passages of each side that take part in the fusion, whatever k is
WORD = re.compile(r"[\w][\w\-.]*", re.UNICODE)
STOPWORDS = {"the", "a", "an", "of", "to", "in", "on", "for", "and", "or", "is", "how", "what",
             "why", "le", "la", "les", "de", "du", "des", "un", "une", "et", "ou", "en", "pour"}


@dataclass
class Hit:
    rank: int
    score: float
    path: str
    anchor: str | None
    heading: str
    kind: str
    line: int
    snippet: str
    terms: list[str] = field(default_factory=list, repr=False)
    dense_rank: int | None = field(default=None, repr=False)
    lexical_rank: int | None = field(default=None, repr=False)
    lexical_score: float | None = field(default=None, repr=False)
    fused: float | None = field(default=None, repr=False)

    def to_json(self, explain: bool = False) -> dict:
        data = {"rank": self.rank, "score": round(self.score, 4), "path": self.path,
                "anchor": self.anchor, "heading": self.heading, "kind": self.kind,
                "line": self.line, "snippet": self.snippet}
        if explain:
            data.update(dense_rank=self.dense_rank, lexical_rank=self.lexical_rank,
                        lexical_score=None if self.lexical_score is None else round(self.lexical_score, 4),
                        fused_score=None if self.fused is None else round(self.fused, 6))
        return data


@dataclass
class SearchResult:
    query: str
    results: list[Hit]
    mode: str = "hybrid"

    def to_json(self, explain: bool = False) -> dict:
        data = {"query": self.query, "results": [h.to_json(explain) for h in self.results]}
        if explain:
            data["mode"] = self.mode
        return data


def query_terms(query: str) -> list[str]:
    return [w for w in (m.group(0).strip(".-") for m in WORD.finditer(query.lower()))
            if w and w not in STOPWORDS]


def make_snippet(text: str, terms: Sequence[str], width: int = SNIPPET_CHARS) -> str:
    """The window of ``text`` holding most query words, on one line."""
    flat = re.sub(r"\s+", " ", text.replace("```", " ")).strip()
    if len(flat) <= width:
        return flat
    lowered = flat.lower()
    positions = sorted(m.start() for t in terms for m in re.finditer(re.escape(t), lowered))
    best, best_count = 0, -1
    for start in positions or [0]:
        begin = max(0, start - 40)
        count = sum(1 for p in positions if begin <= p < begin + width)
        if count > best_count:
            best, best_count = begin, count
    begin = flat.rfind(" ", 0, best) + 1 if best else 0
    piece = flat[begin : begin + width]
    cut = piece.rfind(" ")
    if begin + width < len(flat) and cut > width // 2:
        piece = piece[:cut]
    return ("… " if begin else "") + piece.strip() + (" …" if begin + len(piece) < len(flat) else "")


class QueryEncoder:
    """Embeds queries through the cache; loads the model only on a miss."""

    def __init__(self, config: Config, fingerprint: str):
        self.config = config
        self.fingerprint = fingerprint
        self.cache = QueryCache(config.index_dir)
        self.encoder: Encoder | None = None
        self.model_loaded = False

    def encode(self, queries: list[str]) -> np.ndarray:
        cached = self.cache.get_many(self.fingerprint, queries)
        missing = [q for q in dict.fromkeys(queries) if q not in cached]
        if missing:
            if self.encoder is None:
                self.encoder = load_encoder(self.config.model, self.config.root)
                self.model_loaded = True
            # Models that embed queries differently from passages (e5's "query: ") say so.
            encode = getattr(self.encoder, "encode_queries", None) or self.encoder.encode
            fresh = encode(missing)
            new = dict(zip(missing, fresh, strict=True))
            self.cache.put_many(self.fingerprint, new)
            cached.update(new)
        return np.stack([cached[q] for q in queries]).astype(np.float32)


def validate_filters(kind: str | None, mode: str = "hybrid") -> None:
    if kind is not None and kind not in (*KINDS, ALL_KINDS):
        raise UsageError(f"--kind must be one of {', '.join((*KINDS, ALL_KINDS))}; got {kind!r}")
    if mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}; got {mode!r}")


@dataclass
class Ranked:
    """One passage of a ranking, with how each side ranked it (1-based; None: not in its list)."""

    score: float  # the dense cosine, whatever the mode: thresholds are cosine
    chunk: StoredChunk
    dense_rank: int | None = None
    lexical_rank: int | None = None
    lexical_score: float | None = None  # BM25, higher is better
    fused: float | None = None  # the fused score (hybrid)


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
    window = FUSION_WINDOW
    if mode == "dense":
        scores, ids = store.search(vectors, store.count if allowed is not None else k)
        cosines = None
    else:
        cosines = np.asarray(vectors, dtype=np.float32) @ store.all_vectors().T
    picked: list[list[tuple]] = []
    for row in range(len(vectors)):
        if cosines is None:
            dense = [int(i) for i in ids[row] if i >= 0 and (allowed is None or int(i) in allowed)]
            cos = dict(zip((int(i) for i in ids[row]), (float(s) for s in scores[row]), strict=True))
        else:
            order = np.argsort(-cosines[row], kind="stable")
            dense = [int(i) for i in order if allowed is None or int(i) in allowed]
            cos = None
        dense_rank = {cid: r for r, cid in enumerate(dense, 1)}
        lexical: list[tuple[int, float]] = []
        if mode != "dense":
            assert queries is not None
            limit = max(k, window) if allowed is None else store.count
            lexical = [(c, s) for c, s in store.lexical_search(queries[row], limit)
                       if allowed is None or c in allowed]
        lexical_rank = {cid: (r, s) for r, (cid, s) in enumerate(lexical, 1)}
        fused: dict[int, float] = {}
        if mode == "dense":
            chosen = dense[:k]
        elif mode == "lexical":
            chosen = [cid for cid, _ in lexical[:k]]
        else:
            assert cosines is not None
            if fusion == "cc":
                fused = _fuse_scores(dense, lexical, cosines[row], store.lexical_ideal(queries[row]),
                                     window)
            else:
                fused = _fuse_rrf(dense, [cid for cid, _ in lexical], window)
            first = sorted(fused, key=lambda c: (-fused[c], -float(cosines[row][c])))
            chosen = [*first, *(c for c in dense if c not in fused)][:k]
        picked.append([(cid, dense_rank.get(cid), lexical_rank.get(cid), fused.get(cid),
                        cos[cid] if cos is not None else float(cosines[row][cid]))  # type: ignore[index]
                       for cid in chosen])
    by_id = {c.id: c for c in store.chunks(sorted({item[0] for row in picked for item in row}))}
    return [
        [Ranked(score, by_id[cid], d_rank, lex[0] if lex else None, lex[1] if lex else None, fused_score)
         for cid, d_rank, lex, fused_score, score in row if cid in by_id]
        for row in picked
    ]


def rank(
    store: Store,
    vectors: np.ndarray,
    k: int,
    *,
    kind: str | None = None,
    path_glob: str | None = None,
    mode: str = "hybrid",
    queries: Sequence[str] | None = None,
) -> list[list[tuple[float, StoredChunk]]]:
    """For each query vector, the top ``k`` (dense cosine, chunk) passing the filters, best first.

    Without ``queries`` (the texts of the vectors) the ranking is dense, as it always was.
    """
    details = rank_details(store, vectors, k, kind=kind, path_glob=path_glob, mode=mode,
                           queries=queries)
    return [[(r.score, r.chunk) for r in row] for row in details]


def search(
    config: Config,
    query: str,
    k: int = 5,
    *,
    kind: str | None = None,
    path_glob: str | None = None,
    mode: str = "hybrid",
    refresh: bool = True,
    notice: Callable[[str], None] | None = None,
) -> SearchResult:
    """Search the index (brought up to date first unless ``refresh`` is False)."""
    if not query.strip():
        raise UsageError("the query is empty; say what you are looking for")
    if k < 1:
        raise UsageError(f"-k must be at least 1; got {k}")
    validate_filters(kind, mode)
    if refresh:
        store = ensure_fresh(config, notice)
    else:
        from sddd.store import open_store

        store = open_store(config.index_dir)
    try:
        vector = QueryEncoder(config, store.fingerprint).encode([query])
        ranked = rank_details(store, vector, k, kind=kind, path_glob=path_glob, mode=mode,
                              queries=[query])[0]
    finally:
        store.close()
    terms = query_terms(query)
    hits = [
        Hit(rank=i + 1, score=r.score, path=r.chunk.path, anchor=r.chunk.anchor,
            heading=r.chunk.heading, kind=r.chunk.kind, line=r.chunk.line,
            snippet=make_snippet(r.chunk.text, terms), terms=terms, dense_rank=r.dense_rank,
            lexical_rank=r.lexical_rank, lexical_score=r.lexical_score, fused=r.fused)
        for i, r in enumerate(ranked)
    ]
    return SearchResult(query=query, results=hits, mode=mode)
