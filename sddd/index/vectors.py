"""One model's vectors as a FAISS index, its kind chosen by the index's size.

* Below ``FLAT_LIMIT`` passages: ``IndexFlatIP``, exact. A search reads every vector; at
  50,000 passages of both bundled models (896 floats each) that is about 180 MB, and about 30 ms
  on one fast core (measured: 28 ms for 100,000 MiniLM vectors, 311 ms for 1,000,000).
* From ``FLAT_LIMIT`` on: ``IndexHNSWFlat`` (M = 32, efConstruction = 200, efSearch by size), a graph
  searched in a few milliseconds whatever the size, which also keeps the vectors themselves, so
  the ranking still reads exact cosines (``reconstruct_batch``). efSearch is at least the depth
  a ranking asks for (``CANDIDATES`` = 200). Its recall@10 against the flat index is measured by
  bench/hnsw_recall.py (bench/README.md, "Scale"): 0.978 at 100k and 0.925 at 1M synthetic
  passages, 3 to 4.4 ms a search (M 16 / 40 / 256 gave 0.78 and 0.51 in 1 ms).
  A larger graph needs a wider search for the same recall: on real-size MiniLM vectors at 1M,
  efSearch 512 gave recall@10 0.925 in 3.4 ms, 1,024 gave 0.964 in 6.7 ms and 2,048 gave 0.988 in
  12.9 ms (issue 29, H100 host). So efSearch grows with the rows (``ef_search_for``): 512 below
  100k, 1,024 below 400k, 2,048 from there; what is traded is search time (a few ms to ~13 ms).
  An HNSW index falls back to flat only below half the limit, so an index whose size wavers
  around it is not rebuilt at every commit.

Row ``i`` is the passage of id ``i`` in both kinds: new passages are added at the end, and a
removed one stays as a dead row (the store's ``dead`` table) that every search leaves out with an
``IDSelector``, until the indexer compacts the index. Searches read the file memory-mapped, so a
search of an HNSW index touches only the vectors it visits; the indexer reads it whole to add.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

FLAT = "flat"
HNSW = "hnsw"
FLAT_LIMIT = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 512  # the least efSearch; larger indexes get more (ef_search_for)
EF_SEARCH_STEPS = ((100_000, 512), (400_000, 1024))  # (rows below which, efSearch); else EF_SEARCH_MAX
EF_SEARCH_MAX = 2048
ADD_BATCH = 65_536  # rows given to FAISS at once when building


def faiss_module() -> Any:  # imported lazily: it is not needed to read metadata
    import faiss

    # Batched searches of fewer than this many queries take a slow path (about 7x on 100).
    faiss.cvar.distance_compute_blas_threshold = 4
    # One query at a time: OpenMP's threads cost more to wake than they save (0.2 s a search on
    # a busy 2-core machine, against 2 ms on one). Building takes every core (``build_threads``).
    faiss.omp_set_num_threads(1)
    return faiss


@contextlib.contextmanager
def build_threads() -> Iterator[None]:
    """Every core for FAISS while a block builds an index (HNSW insertion is parallel)."""
    faiss = faiss_module()
    faiss.omp_set_num_threads(max(1, os.cpu_count() or 1))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(1)


def ef_search_for(rows: int) -> int:
    """The efSearch an HNSW graph of ``rows`` vectors is searched with."""
    for below, ef in EF_SEARCH_STEPS:
        if rows < below:
            return ef
    return EF_SEARCH_MAX


def kind_for(count: int, current: str | None = None) -> str:
    """The kind an index of ``count`` passages should be; ``current`` gives the hysteresis."""
    if count >= FLAT_LIMIT:
        return HNSW
    if current == HNSW and count >= FLAT_LIMIT // 2:
        return HNSW
    return FLAT


def kind_of(index: Any) -> str:
    return HNSW if hasattr(index, "hnsw") else FLAT


def new_index(dim: int, kind: str) -> Any:
    faiss = faiss_module()
    if kind == HNSW:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return index
    return faiss.IndexFlatIP(dim)


def add(index: Any, vectors: np.ndarray) -> None:
    """Append ``vectors`` (rows get the next ids), in slices, with every core for HNSW."""
    with build_threads() if kind_of(index) == HNSW else contextlib.nullcontext():
        for start in range(0, len(vectors), ADD_BATCH):
            index.add(np.ascontiguousarray(vectors[start : start + ADD_BATCH], dtype=np.float32))


def converted(index: Any, kind: str) -> Any:
    """``index``'s rows, every one at its id, in an index of ``kind`` (the same object if it is one)."""
    if kind_of(index) == kind:
        return index
    out = new_index(index.d, kind)
    for start in range(0, index.ntotal, ADD_BATCH):
        add(out, index.reconstruct_n(start, min(ADD_BATCH, index.ntotal - start)))
    return out


def read(path: Path, *, writable: bool = False) -> Any:
    """The index in ``path``: memory-mapped for searching, or read whole to add to it."""
    faiss = faiss_module()
    if writable:
        return faiss.read_index(str(path))
    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    if kind_of(index) == HNSW:  # set at each read: the file's own value was chosen at another size
        index.hnsw.efSearch = max(int(index.hnsw.efSearch), ef_search_for(int(index.ntotal)))
    return index


def write(index: Any, path: Path) -> None:
    faiss_module().write_index(index, str(path))


def search(index: Any, queries: np.ndarray, k: int, *, include: np.ndarray | None = None,
           exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of the ``k`` nearest rows of each query, among ``include`` (all when None)
    less ``exclude``. Missing places are id -1.

    A search deeper than a few times efSearch (`sddd check` ranking a whole index for a target
    found nowhere near the top) reads the HNSW index's vectors exhaustively instead: exact, and
    faster than a graph walk that would visit every node anyway.
    """
    faiss = faiss_module()
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    # Both selector objects stay referenced here until the search returns: FAISS holds raw pointers.
    batch = selector = None
    if include is not None:
        batch = selector = faiss.IDSelectorBatch(np.ascontiguousarray(include, dtype=np.int64))
    elif exclude is not None and len(exclude):
        batch = faiss.IDSelectorBatch(np.ascontiguousarray(exclude, dtype=np.int64))
        selector = faiss.IDSelectorNot(batch)
    target = index
    if kind_of(index) == HNSW and k > 4 * ef_search_for(int(index.ntotal)):
        target = faiss.downcast_index(index.storage)
    if kind_of(target) == HNSW:
        ef = max(int(index.hnsw.efSearch), ef_search_for(int(index.ntotal)), k)
        params = faiss.SearchParametersHNSW(efSearch=ef, sel=selector)
        scores, ids = target.search(queries, k, params=params)
    elif selector is not None:
        scores, ids = target.search(queries, k, params=faiss.SearchParameters(sel=selector))
    else:
        scores, ids = target.search(queries, k)
    del batch, selector
    return scores, ids
