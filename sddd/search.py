"""Query -> ranked passages.

The query is embedded (from the query cache when it was seen before, so a repeated query
loads no model), compared with every chunk by cosine (inner product of normalised
vectors), filtered by kind and path, and returned with a snippet around the query's words.
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

    def to_json(self) -> dict:
        return {"rank": self.rank, "score": round(self.score, 4), "path": self.path,
                "anchor": self.anchor, "heading": self.heading, "kind": self.kind,
                "line": self.line, "snippet": self.snippet}


@dataclass
class SearchResult:
    query: str
    results: list[Hit]

    def to_json(self) -> dict:
        return {"query": self.query, "results": [h.to_json() for h in self.results]}


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
            fresh = self.encoder.encode(missing)
            new = dict(zip(missing, fresh, strict=True))
            self.cache.put_many(self.fingerprint, new)
            cached.update(new)
        return np.stack([cached[q] for q in queries]).astype(np.float32)


def validate_filters(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}; got {kind!r}")


def rank(
    store: Store,
    vectors: np.ndarray,
    k: int,
    *,
    kind: str | None = None,
    path_glob: str | None = None,
) -> list[list[tuple[float, StoredChunk]]]:
    """For each query vector, the top ``k`` chunks passing the filters, best first."""
    filtered = kind is not None or path_glob is not None
    depth = store.count if filtered else k
    scores, ids = store.search(vectors, depth)
    needed = sorted({int(i) for row in ids for i in row if i >= 0})
    by_id = {c.id: c for c in store.chunks(needed)}
    out: list[list[tuple[float, StoredChunk]]] = []
    for row_scores, row_ids in zip(scores, ids, strict=True):
        hits: list[tuple[float, StoredChunk]] = []
        for score, chunk_id in zip(row_scores, row_ids, strict=True):
            chunk = by_id.get(int(chunk_id))
            if chunk is None:
                continue
            if kind is not None and chunk.kind != kind:
                continue
            if path_glob is not None and not fnmatch.fnmatch(chunk.path, path_glob):
                continue
            hits.append((float(score), chunk))
            if len(hits) == k:
                break
        out.append(hits)
    return out


def search(
    config: Config,
    query: str,
    k: int = 5,
    *,
    kind: str | None = None,
    path_glob: str | None = None,
    refresh: bool = True,
    notice: Callable[[str], None] | None = None,
) -> SearchResult:
    """Search the index (brought up to date first unless ``refresh`` is False)."""
    if not query.strip():
        raise UsageError("the query is empty; say what you are looking for")
    if k < 1:
        raise UsageError(f"-k must be at least 1; got {k}")
    validate_filters(kind)
    if refresh:
        store = ensure_fresh(config, notice)
    else:
        from sddd.store import open_store

        store = open_store(config.index_dir)
    try:
        vector = QueryEncoder(config, store.fingerprint).encode([query])
        ranked = rank(store, vector, k, kind=kind, path_glob=path_glob)[0]
    finally:
        store.close()
    terms = query_terms(query)
    hits = [
        Hit(rank=i + 1, score=score, path=chunk.path, anchor=chunk.anchor, heading=chunk.heading,
            kind=chunk.kind, line=chunk.line, snippet=make_snippet(chunk.text, terms), terms=terms)
        for i, (score, chunk) in enumerate(ranked)
    ]
    return SearchResult(query=query, results=hits)
