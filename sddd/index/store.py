"""The index on disk: FAISS vectors + SQLite metadata, committed atomically.

Layout under the index folder (default ``.sddd/``)::

    CURRENT          one line: the name of the live generation
    gen-000007/      meta.sqlite (files, chunks, meta) + vectors.faiss (row i = chunk id i)
    queries.sqlite   cache of query embeddings, keyed by (model fingerprint, query)
    lock             writers hold an exclusive flock on it

A commit writes a complete new generation into a temporary folder, fsyncs it, renames it
into place and then atomically replaces ``CURRENT``. A crash at any instant leaves
``CURRENT`` naming a complete generation: the old one or the new one.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sddd.core.atomic import atomic_write_text, file_lock, fsync_dir
from sddd.core.errors import IndexCorrupt, IndexMissing
from sddd.core.faults import crash_point
from sddd.index.corpus import Chunk
from sddd.index.lexical import (
    LEXICAL_VERSION,
    TOKENIZER,
    WEIGHTS,
    index_text,
    match_expression,
    query_clauses,
)

CHUNKER_VERSION = "2"  # 2: headings, titles and anchors redacted; BOM dropped
REBUILD_HINT = "run `sddd index --rebuild`"

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
    path TEXT PRIMARY KEY, kind TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, chunks INTEGER NOT NULL, title TEXT NOT NULL,
    skipped TEXT  -- the reason, when the file could not be indexed
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, kind TEXT NOT NULL, heading TEXT NOT NULL,
    anchor TEXT, line INTEGER NOT NULL, part INTEGER NOT NULL, title TEXT NOT NULL,
    text TEXT NOT NULL, embed_hash TEXT NOT NULL
);
CREATE INDEX chunks_path ON chunks(path);
"""
# The lexical index lives in the same file, so it is committed with the vectors, atomically.
# rowid = chunk id; rebuilt from the chunks' text at every commit (cheap: no model involved).
LEXICAL_SCHEMA = f"CREATE VIRTUAL TABLE lexical USING fts5(heading, body, tokenize='{TOKENIZER}')"


def _faiss() -> Any:  # imported lazily: it is not needed to read metadata
    import faiss

    # Batched searches of fewer than this many queries take a slow path (about 7x on 100).
    faiss.cvar.distance_compute_blas_threshold = 4
    return faiss


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
    vectors: np.ndarray  # float32, normalised, row i for chunks[i]
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
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(f"index metadata is unreadable ({exc}); {REBUILD_HINT}",
                               path=str(folder)) from None
        self._vectors = None

    @property
    def fingerprint(self) -> str:
        return str(self.meta.get("fingerprint", ""))

    @property
    def vectors(self) -> Any:  # a faiss.IndexFlatIP
        if self._vectors is None:
            faiss = _faiss()
            path = self.generation / "vectors.faiss"
            try:
                index = faiss.read_index(str(path))
            except Exception:  # faiss raises RuntimeError with C++ text
                raise IndexCorrupt(f"vector file is missing or unreadable; {REBUILD_HINT}",
                                   path=str(path)) from None
            if index.ntotal != self.count:
                raise IndexCorrupt(
                    f"{index.ntotal} vectors for {self.count} chunks; {REBUILD_HINT}", path=str(path)
                )
            self._vectors = index
        return self._vectors

    def all_vectors(self) -> np.ndarray:
        if self.count == 0:
            return np.zeros((0, int(self.meta.get("dim", 0) or 0)), dtype=np.float32)
        out: np.ndarray = self.vectors.reconstruct_n(0, self.count)
        return out

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

    @property
    def lexical_version(self) -> str | None:
        return self.meta.get("lexical_version")

    def lexical_search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score, higher is better) for the chunks matching ``query``, best first.

        An index written before the lexical table existed matches nothing (`sddd index`
        adds the table without embedding anything again).
        """
        expression = match_expression(query)
        if expression is None or self.lexical_version is None or limit < 1:
            return []
        return self._bm25(expression, limit)

    def lexical_ideal(self, query: str) -> float:
        """The BM25 score of an ideal passage for ``query``, one that holds every query term.

        Each term the index holds counts the best score it reaches alone; a term the index
        lacks counts what one occurrence of a word found in no passage would score (its IDF,
        ``ln((N + 0.5) / 0.5)``, the most any single term can weigh). Dividing a passage's
        BM25 by it puts lexical scores on a fixed 0-1 scale per query: a passage that shares
        one incidental word with a long question (a French question over English pages
        shares few) scores low, even when it is the best lexical match there is, which
        min-max normalisation would call 1.0. 0 when no term of the query is indexed.
        """
        if self.lexical_version is None:
            return 0.0
        best = [found[0][1] if (found := self._bm25(clause, 1)) else None
                for clause in query_clauses(query)]
        present = [score for score in best if score is not None]
        if not present:
            return 0.0
        unseen = math.log((self.count + 0.5) / 0.5)
        return sum(present) + unseen * (len(best) - len(present))

    def _bm25(self, expression: str, limit: int) -> list[tuple[int, float]]:
        weights = ", ".join(str(w) for w in WEIGHTS)
        try:
            rows = self.db.execute(
                f"SELECT rowid, bm25(lexical, {weights}) AS s FROM lexical WHERE lexical MATCH ? "
                "ORDER BY s LIMIT ?", (expression, int(limit)),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(f"lexical index is unreadable ({exc}); {REBUILD_HINT}",
                               path=str(self.generation)) from None
        return [(int(rowid), -float(score)) for rowid, score in rows]

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = max(1, min(k, self.count))
        if self.count == 0:
            return np.zeros((len(vectors), 0)), np.zeros((len(vectors), 0), dtype=np.int64)
        scores, ids = self.vectors.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        return scores, ids

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
        _ = store.vectors
        return store
    except (IndexMissing, IndexCorrupt):
        return None


@contextlib.contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with file_lock(folder / "lock"):
        yield


def _write_generation(tmp: Path, snap: Snapshot) -> None:
    faiss = _faiss()
    db = sqlite3.connect(tmp / "meta.sqlite")
    try:
        db.executescript(SCHEMA)
        meta = {
            "fingerprint": snap.fingerprint,
            "dim": str(snap.vectors.shape[1]) if snap.vectors.ndim == 2 else "0",
            "chunker_version": CHUNKER_VERSION,
            "lexical_version": LEXICAL_VERSION,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **snap.meta,
        }
        db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        db.executemany(
            "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(f.path, f.kind, f.sha256, f.size, f.mtime_ns, f.chunks, f.title, f.skipped)
             for f in snap.files],
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(i, c.path, c.kind, c.heading, c.anchor, c.line, c.part, c.title, c.text, c.embed_hash)
             for i, c in enumerate(snap.chunks)],
        )
        db.execute(LEXICAL_SCHEMA)
        db.executemany(
            "INSERT INTO lexical (rowid, heading, body) VALUES (?, ?, ?)",
            [(i, index_text(f"{c.heading}\n{c.path}"), index_text(c.text))
             for i, c in enumerate(snap.chunks)],
        )
        db.commit()
    finally:
        db.close()
    dim = snap.vectors.shape[1] if snap.vectors.ndim == 2 and snap.vectors.shape[1] else 1
    index = faiss.IndexFlatIP(dim)
    if len(snap.chunks):
        index.add(np.ascontiguousarray(snap.vectors, dtype=np.float32))
    faiss.write_index(index, str(tmp / "vectors.faiss"))
    for name in ("meta.sqlite", "vectors.faiss"):
        with open(tmp / name, "rb") as handle:
            os.fsync(handle.fileno())
    fsync_dir(tmp)


def commit(folder: Path, snap: Snapshot) -> Path:
    """Write ``snap`` as the new live generation (call under ``writer_lock``)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        _write_generation(tmp, snap)
        crash_point("store-before-rename")
        previous = None
        with contextlib.suppress(IndexCorrupt):
            previous = current_generation(folder)
        number = 1
        existing = [int(p.name[4:]) for p in folder.glob("gen-*") if p.name[4:].isdigit()]
        if existing:
            number = max(existing) + 1
        generation = folder / f"gen-{number:06d}"
        os.rename(tmp, generation)
        fsync_dir(folder)
        crash_point("store-before-switch")
        atomic_write_text(folder / "CURRENT", generation.name + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # Only now is the old generation unreferenced.
    for stale in [*folder.glob("gen-*"), *folder.glob("tmp-*")]:
        if stale != generation and stale != previous:
            shutil.rmtree(stale, ignore_errors=True)
    if previous is not None and previous != generation:
        shutil.rmtree(previous, ignore_errors=True)
    return generation
