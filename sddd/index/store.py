"""The index on disk, read side: FAISS vectors + SQLite metadata of the live generation.

Layout under the index folder (default ``.sddd/``)::

    CURRENT          one line: the name of the live generation
    gen-000007/      meta.sqlite (files, chunks, documents, lexical tables, meta) and one vector
                     file per model: vectors.faiss, vectors.1.faiss, ... (row i = chunk id i)
    queries.sqlite   cache of query embeddings, keyed by (model fingerprint, query)
    lock             writers hold an exclusive lock on it

Generations are written whole by ``sddd.index.generation.commit``; a crash at any instant
leaves ``CURRENT`` naming a complete generation: the old one or the new one.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sddd.core.atomic import file_lock
from sddd.core.errors import IndexCorrupt, IndexMissing
from sddd.index.corpus import Chunk
from sddd.index.lexical import LEXICAL_VERSION
from sddd.index.lexical_index import REBUILD_HINT, LexicalIndex

CHUNKER_VERSION = "2"  # 2: headings, titles and anchors redacted; BOM dropped


def faiss_module() -> Any:  # imported lazily: it is not needed to read metadata
    import faiss

    # Batched searches of fewer than this many queries take a slow path (about 7x on 100).
    faiss.cvar.distance_compute_blas_threshold = 4
    # One query at a time over at most a few hundred thousand vectors: OpenMP's threads cost more
    # to wake than they save (0.2 s a search on a busy 2-core machine, against 2 ms on one).
    faiss.omp_set_num_threads(1)
    return faiss


def vector_file(member: int) -> str:
    """The vector file of the ``member``-th model: vectors.faiss, vectors.1.faiss, ..."""
    return "vectors.faiss" if member == 0 else f"vectors.{member}.faiss"


@dataclass
class FileRecord:
    path: str
    kind: str
    sha256: str
    size: int
    mtime_ns: int
    chunks: int
    title: str = ""
    skipped: str | None = None


@dataclass
class StoredChunk(Chunk):
    id: int = -1
    embed_hash: str = ""

    @property
    def target(self) -> str:
        return f"{self.path}#{self.anchor}" if self.anchor else self.path


@dataclass
class Snapshot:
    """Everything a commit writes; built by the indexer."""

    fingerprint: str
    files: list[FileRecord]
    chunks: list[StoredChunk]
    vectors: list[np.ndarray]  # one float32 array per model, normalised, row i for chunks[i]
    meta: dict[str, str] = field(default_factory=dict)


def embed_text(chunk: Chunk) -> str:
    """What the model reads for a chunk: its heading path, then its text."""
    return f"{chunk.heading}\n{chunk.text}"


class Store:
    """A read-only view of the live generation."""

    def __init__(self, folder: Path, generation: Path):
        self.folder = folder
        self.generation = generation
        db_path = generation / "meta.sqlite"
        if not db_path.is_file():
            raise IndexCorrupt(f"index generation {generation.name} has no metadata; {REBUILD_HINT}",
                               path=str(folder))
        try:
            self.db = sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True)
            self.meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
            self.files = {
                row[0]: FileRecord(*row)
                for row in self.db.execute(
                    "SELECT path, kind, sha256, size, mtime_ns, chunks, title, skipped FROM files"
                )
            }
            self.count = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            # An index of an older lexical version has no documents table; the indexer
            # rewrites its lexical side (vectors reused) before any search reads it.
            self.documents: list[str] = [row[0] for row in self.db.execute(
                "SELECT path FROM documents ORDER BY id")] if self.lexical_version == LEXICAL_VERSION else []
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(f"index metadata is unreadable ({exc}); {REBUILD_HINT}",
                               path=str(folder)) from None
        self.lexical = LexicalIndex(self.db, {"passages": self.count, "documents": len(self.documents)},
                                    str(generation))
        self._vectors: dict[int, Any] = {}

    @property
    def fingerprint(self) -> str:
        return str(self.meta.get("fingerprint", ""))

    @property
    def models(self) -> list[str]:
        """The models whose vectors the index holds, in member order."""
        names = json.loads(self.meta.get("models", "[]"))
        return [str(n) for n in names] if isinstance(names, list) else []

    @property
    def lexical_version(self) -> str | None:
        return self.meta.get("lexical_version")

    def vectors(self, member: int = 0) -> Any:  # a faiss index
        if member not in self._vectors:
            path = self.generation / vector_file(member)
            try:
                index = faiss_module().read_index(str(path))
            except Exception:  # faiss raises RuntimeError with C++ text
                raise IndexCorrupt(f"vector file is missing or unreadable; {REBUILD_HINT}",
                                   path=str(path)) from None
            if index.ntotal != self.count:
                raise IndexCorrupt(
                    f"{index.ntotal} vectors for {self.count} chunks; {REBUILD_HINT}", path=str(path)
                )
            self._vectors[member] = index
        return self._vectors[member]

    def all_vectors(self, member: int = 0) -> np.ndarray:
        if self.count == 0:
            dims = json.loads(self.meta.get("dims", "[]")) or [0]
            return np.zeros((0, int(dims[min(member, len(dims) - 1)])), dtype=np.float32)
        out: np.ndarray = self.vectors(member).reconstruct_n(0, self.count)
        return out

    def search(self, vectors: np.ndarray, k: int, member: int = 0) -> tuple[np.ndarray, np.ndarray]:
        k = max(1, min(k, self.count))
        if self.count == 0:
            return np.zeros((len(vectors), 0)), np.zeros((len(vectors), 0), dtype=np.int64)
        scores, ids = self.vectors(member).search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        return scores, ids

    def chunks(self, ids: Iterable[int] | None = None) -> list[StoredChunk]:
        columns = "id, path, kind, heading, anchor, line, part, title, text, embed_hash"
        if ids is None:
            rows = self.db.execute(f"SELECT {columns} FROM chunks ORDER BY id").fetchall()
        else:
            wanted = [int(i) for i in ids]
            marks = ",".join("?" * len(wanted))
            found = {
                row[0]: row
                for row in self.db.execute(f"SELECT {columns} FROM chunks WHERE id IN ({marks})", wanted)
            }
            rows = [found[i] for i in wanted if i in found]
        return [
            StoredChunk(path=r[1], kind=r[2], heading=r[3], anchor=r[4], line=r[5], part=r[6],
                        title=r[7], text=r[8], id=r[0], embed_hash=r[9])
            for r in rows
        ]

    def chunk_documents(self) -> np.ndarray:
        """Document id of every chunk, row i for chunk id i."""
        index = {path: number for number, path in enumerate(self.documents)}
        rows = self.db.execute("SELECT path FROM chunks ORDER BY id").fetchall()
        return np.array([index.get(path, -1) for (path,) in rows], dtype=np.int64)

    def close(self) -> None:
        self.db.close()


def current_generation(folder: Path) -> Path | None:
    pointer = folder / "CURRENT"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        raise IndexCorrupt(f"index pointer is unreadable; {REBUILD_HINT}", path=str(pointer)) from None
    if not name.startswith("gen-") or "/" in name:
        raise IndexCorrupt(f"index pointer names {name!r}; {REBUILD_HINT}", path=str(pointer))
    return folder / name


def open_store(folder: Path) -> Store:
    """The live index, or IndexMissing / IndexCorrupt with the fix."""
    generation = current_generation(folder)
    if generation is None:
        raise IndexMissing(f"no index yet at {folder}; run `sddd index`")
    if not generation.is_dir():
        raise IndexCorrupt(f"the live index {generation.name} is missing; {REBUILD_HINT}",
                           path=str(folder))
    return Store(folder, generation)


def try_open_store(folder: Path) -> Store | None:
    """The live index, or None when it is missing or unreadable (a rebuild will replace it)."""
    try:
        store = open_store(folder)
        for member in range(max(1, len(store.models))):
            store.vectors(member)
        return store
    except (IndexMissing, IndexCorrupt):
        return None


@contextlib.contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with file_lock(folder / "lock"):
        yield
