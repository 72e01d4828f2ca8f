"""multilingual-e5-small beside the index's own models, for bench/retrieval.py's e5 designs.

The default index (MiniLM + USE) is reused: e5 embeds the same passages (its window is wider, so
the chunks an index with e5 would cut are the same), cached beside the index, and a proxy of the
store answers for e5 as if it were one more member of the index. The product's own
``ranking.candidates`` then gathers each query's candidates (each model's 200 nearest passages,
BM25's, the best files' passages) and ``ranking.file_lists`` + ``scoring.fuse`` rank the files,
exactly as an index built with ``model: [all-MiniLM-L6-v2, use-multilingual-v3,
multilingual-e5-small]`` (or ``[all-MiniLM-L6-v2, multilingual-e5-small]``) would; the vectors are
searched exhaustively, as the product does for an index this small.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

E5 = "multilingual-e5-small"
# design -> the index's members in order: a member number of the default index, or E5
VARIANTS: dict[str, list[int | str]] = {"sddd+e5": [0, 1, E5], "sddd-e5-for-use": [0, E5]}


class WithE5:
    """The store, with its members re-ordered as ``members`` says and e5 answering for E5."""

    def __init__(self, store: Any, members: list[int | str], e5_ids: np.ndarray, e5_vectors: np.ndarray):
        self._store, self._members = store, members
        self._ids, self._vectors = e5_ids, e5_vectors
        self._row = {int(i): r for r, i in enumerate(e5_ids)}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def search(self, vectors: np.ndarray, k: int, member: int = 0,
               **kw: Any) -> tuple[np.ndarray, np.ndarray]:
        source = self._members[member]
        if source != E5:
            return self._store.search(vectors, k, int(source), **kw)
        assert not kw.get("include") and not kw.get("exclude"), "the bench searches without filters"
        scores = vectors @ self._vectors.T
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, order, axis=1), self._ids[order]

    def vectors_of(self, ids: np.ndarray, member: int = 0) -> np.ndarray:
        source = self._members[member]
        if source != E5:
            return self._store.vectors_of(ids, int(source))
        return self._vectors[[self._row[int(i)] for i in ids]]


def passage_vectors(config: Any, store: Any, encoder: Any) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """(ids, e5 vectors, the embedding's cost) of every live passage, cached beside the index."""
    from sddd.index.store import embed_text

    chunks = store.chunks()
    ids = np.array([c.id for c in chunks], dtype=np.int64)
    hashes = np.array([c.embed_hash for c in chunks])
    cache = Path(str(config.index_dir) + "-e5.npz")
    if cache.is_file():
        data = np.load(cache, allow_pickle=False)
        if np.array_equal(data["ids"], ids) and np.array_equal(data["hashes"], hashes):
            return ids, data["vectors"], {"passages": len(ids), "seconds": float(data["seconds"])}
    started = time.perf_counter()
    vectors = encoder.encode([embed_text(c) for c in chunks])
    seconds = time.perf_counter() - started
    print(f"  e5: {len(ids)} passages embedded in {seconds:.0f} s", file=sys.stderr)
    np.savez(cache, ids=ids, hashes=hashes, vectors=vectors, seconds=seconds)
    return ids, vectors, {"passages": len(ids), "seconds": seconds}


def variant_candidates(store: Any, ids: np.ndarray, vectors: np.ndarray, query_vectors: list[np.ndarray],
                       e5_query: np.ndarray, text: str) -> dict[str, tuple[Any, list[str]]]:
    """design -> (the candidates an index with e5 gathers for ``text``, its members' names)."""
    from sddd.index.ranking import candidates

    out = {}
    for design, members in VARIANTS.items():
        proxy = WithE5(store, members, ids, vectors)
        vecs = [e5_query if m == E5 else query_vectors[int(m)] for m in members]
        names = [E5 if m == E5 else store.models[int(m)] for m in members]
        out[design] = (candidates(proxy, vecs, text, None), names)  # type: ignore[arg-type]
    return out
