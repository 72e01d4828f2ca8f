"""The index on disk, read side: FAISS vectors + SQLite metadata of the live generation.

Layout under the index folder (default ``.sddd/``)::

    CURRENT          one line: the name of the live generation
    gen-000007/      meta.sqlite (files, chunks, documents, dead rows, lexical tables, meta) and one
                     vector file per model: vectors.faiss, vectors.1.faiss, ... (row i = chunk id i)
    queries.sqlite   cache of query embeddings, keyed by (model fingerprint, query)
    lock             writers hold an exclusive lock on it

Generations are written whole by ``sddd.index.generation.commit``; a crash at any instant
leaves ``CURRENT`` naming a complete generation: the old one or the new one.

Nothing here reads a whole table to answer a search: counts come from the meta table, filters
and document ids are SQL over the candidates, and the vector files are memory-mapped
(``sddd.index.vectors``). A vector row whose passage was removed since the last compaction is
listed in the ``dead`` table and left out of every search.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sddd.core.atomic import file_lock
from sddd.core.errors import IndexCorrupt, IndexMissing
from sddd.index import vectors as vector_index
from sddd.index.corpus import Chunk
from sddd.index.lexical_index import REBUILD_HINT, LexicalIndex

CHUNKER_VERSION = "2"  # 2: headings, titles and anchors redacted; BOM dropped


faiss_module = vector_index.faiss_module
FILTER_AFTER = 4096  # vector rows up to which a filtered search reads every row and filters after
CHUNK_COLUMNS = "id, path, kind, heading, anchor, line, part, title, text, embed_hash"


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


def embed_text(chunk: Chunk) -> str:
    """What the model reads for a chunk: its heading path, then its text."""
    return f"{chunk.heading}\n{chunk.text}"


def chunk_of(row: tuple[Any, ...]) -> StoredChunk:
    """A row of ``SELECT CHUNK_COLUMNS FROM chunks``."""
    return StoredChunk(path=row[1], kind=row[2], heading=row[3], anchor=row[4], line=row[5], part=row[6],
                       title=row[7], text=row[8], id=row[0], embed_hash=row[9])


def id_list(ids: Iterable[int]) -> str:
    """Ids as one SQL parameter, read back with ``json_each``: any number of them, one statement."""
    return json.dumps([int(i) for i in ids])


class Store:
    """A read-only view of the live generation."""

    def __init__(self, folder: Path, generation: Path):
        self.folder = folder
        self.generation = generation
        db_path = generation / "meta.sqlite"
        if not db_path.is_file():
            raise IndexCorrupt(f"index generation {generation.name} has no metadata; {REBUILD_HINT}",
                               path=str(folder))
        self._files: dict[str, FileRecord] | None = None
        self._dead: np.ndarray | None = None
        try:
            self.db = sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True)
            self.meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
            listed = self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {row[0] for row in listed}
            # Indexes written before the counts were kept in meta: count once.
            count = self.meta.get("chunks") or self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            self.count = int(count)
            documents = self.meta.get("documents")
            if documents is None and "documents" in tables:
                documents = self.db.execute("SELECT count(*) FROM documents").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(f"index metadata is unreadable ({exc}); {REBUILD_HINT}",
                               path=str(folder)) from None
        self.has_dead_table = "dead" in tables
        # An index of an older lexical version has no documents table; the indexer rewrites its
        # lexical side (vectors reused) before any search reads it.
        self.document_count = int(documents or 0)
        self.slots = int(self.meta.get("slots") or self.count)  # vector rows, dead ones included
        self.lexical = LexicalIndex(self.db, {"passages": self.count, "documents": self.document_count},
                                    str(generation))
        self._vectors: dict[int, Any] = {}
        self.shared = False  # kept open for the whole process (shared_store): close() leaves it open
        self.identity: tuple[int, int] = (-1, -1)

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

    @property
    def dims(self) -> list[int]:
        return [int(d) for d in json.loads(self.meta.get("dims", "[]"))]

    @property
    def files(self) -> dict[str, FileRecord]:
        """Every indexed file's record (read on first use: a search without refresh needs none)."""
        if self._files is None:
            self._files = {row[0]: FileRecord(*row) for row in self.db.execute(
                "SELECT path, kind, sha256, size, mtime_ns, chunks, title, skipped FROM files")}
        return self._files

    def kinds(self) -> dict[str, int]:
        """Passages per kind."""
        if "kinds" in self.meta:
            return {str(k): int(v) for k, v in json.loads(self.meta["kinds"]).items()}
        return dict(self.db.execute("SELECT kind, count(*) FROM chunks GROUP BY kind").fetchall())

    def dead(self) -> np.ndarray:
        """Vector rows whose passage was removed (left out of every search until compaction)."""
        if self._dead is None:
            query = "SELECT id FROM dead ORDER BY id"
            rows = self.db.execute(query).fetchall() if self.has_dead_table else []
            self._dead = np.array([r[0] for r in rows], dtype=np.int64)
        return self._dead

    def vectors(self, member: int = 0) -> Any:  # a faiss index
        if member not in self._vectors:
            path = self.generation / vector_file(member)
            try:
                index = vector_index.read(path)
            except Exception:  # faiss raises RuntimeError with C++ text
                raise IndexCorrupt(f"vector file is missing or unreadable; {REBUILD_HINT}",
                                   path=str(path)) from None
            if index.ntotal != self.slots:
                raise IndexCorrupt(
                    f"{index.ntotal} vectors for {self.slots} rows; {REBUILD_HINT}", path=str(path)
                )
            self._vectors[member] = index
        return self._vectors[member]

    def kind(self) -> str:
        """The kind of the vector index (``flat`` or ``hnsw``, see sddd.index.vectors)."""
        return self.meta.get("vector_index") or vector_index.kind_of(self.vectors(0))

    def live_ids(self) -> np.ndarray:
        return np.array([r[0] for r in self.db.execute("SELECT id FROM chunks ORDER BY id")], dtype=np.int64)

    def vectors_of(self, ids: np.ndarray, member: int = 0) -> np.ndarray:
        """The stored vectors of chunk ids ``ids``, row for row."""
        if not len(ids):
            return np.zeros((0, self.vectors(member).d), dtype=np.float32)
        out: np.ndarray = self.vectors(member).reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))
        return out

    def all_vectors(self, member: int = 0) -> np.ndarray:
        """Every live passage's vector, in the order of ``chunks()`` (ascending id)."""
        if self.count == 0:
            dims = self.dims or [0]
            return np.zeros((0, int(dims[min(member, len(dims) - 1)])), dtype=np.float32)
        if self.slots == self.count:
            out: np.ndarray = self.vectors(member).reconstruct_n(0, self.count)
            return out
        return self.vectors_of(self.live_ids(), member)

    def search(self, vectors: np.ndarray, k: int, member: int = 0, *, include: np.ndarray | None = None,
               exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest live passages of each query vector, among ``include`` less ``exclude``."""
        k = max(1, min(k, self.count))
        if self.count == 0:
            return np.zeros((len(vectors), 0)), np.zeros((len(vectors), 0), dtype=np.int64)
        if include is None:
            dead = self.dead()
            exclude = dead if exclude is None else np.union1d(exclude, dead)
        index = self.vectors(member)
        filtered = include is not None or (exclude is not None and len(exclude) > 0)
        if filtered and index.ntotal <= FILTER_AFTER:
            # A small index is searched whole and filtered after, as sddd always did: the nearest
            # come in the order (and with the scores) of an unfiltered search, to the last bit.
            scores, ids = vector_index.search(index, vectors, index.ntotal)
            if include is not None:
                keep = np.isin(ids[0], include)
            else:
                keep = ~np.isin(ids[0], exclude if exclude is not None else [])
            keep &= ids[0] >= 0
            return scores[:, keep][:, :k], ids[:, keep][:, :k]
        return vector_index.search(index, vectors, k, include=include, exclude=exclude)

    def chunks(self, ids: Iterable[int] | None = None) -> list[StoredChunk]:
        """The chunks of ``ids``, in that order (missing ids left out), or every chunk by id."""
        if ids is None:
            return [chunk_of(r) for r in self.db.execute(f"SELECT {CHUNK_COLUMNS} FROM chunks ORDER BY id")]
        wanted = [int(i) for i in ids]
        found = {row[0]: row for row in self.db.execute(
            f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id IN (SELECT value FROM json_each(?))",
            (id_list(wanted),))}
        return [chunk_of(found[i]) for i in wanted if i in found]

    def chunks_of(self, path: str) -> list[StoredChunk]:
        """One file's chunks, in order."""
        return [chunk_of(r) for r in self.db.execute(
            f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE path = ? ORDER BY id", (path,))]

    def ids_where(self, condition: str, params: Iterable[Any] = ()) -> np.ndarray:
        """Ids of the chunks meeting an SQL condition on the chunks table, ascending."""
        rows = self.db.execute(f"SELECT id FROM chunks WHERE {condition} ORDER BY id", tuple(params))
        return np.array([r[0] for r in rows], dtype=np.int64)

    def documents_of(self, ids: np.ndarray) -> np.ndarray:
        """The document id of each chunk id (its file's row in the documents table; -1 if none)."""
        if not len(ids) or not self.document_count:
            return np.full(len(ids), -1, dtype=np.int64)
        found = dict(self.db.execute(
            "SELECT c.id, d.id FROM chunks c JOIN documents d ON d.path = c.path "
            "WHERE c.id IN (SELECT value FROM json_each(?))", (id_list(ids),)).fetchall())
        return np.array([found.get(int(i), -1) for i in ids], dtype=np.int64)

    def close(self) -> None:
        if not self.shared:
            self.db.close()


_SHARED: dict[Path, Store] = {}
SHARED_FOLDERS = 4  # index folders kept open at once (a test session opens hundreds, one at a time)


def shared_store(folder: Path) -> Store:
    """The live index, opened once per process and kept open across calls (its HNSW graph is read
    once, not at every search) while ``CURRENT`` names the same generation; its ``close`` does
    nothing. A new generation is opened when one is committed (the old one stays readable
    through its open files until the process lets it go)."""
    key = folder.resolve()
    generation = current_generation(folder)
    cached = _SHARED.get(key)
    # The same name may be another generation (an index folder deleted and built again): its
    # metadata file's identity tells.
    if (cached is not None and generation is not None and cached.generation.name == generation.name
            and _identity(generation) == cached.identity):
        return cached
    store = open_store(folder)
    store.shared, store.identity = True, _identity(store.generation)
    if cached is not None:
        del _SHARED[key]
        cached.db.close()
    while len(_SHARED) >= SHARED_FOLDERS:
        _SHARED.pop(next(iter(_SHARED))).db.close()  # the folder opened longest ago
    _SHARED[key] = store
    return store


def _identity(generation: Path) -> tuple[int, int]:
    try:
        stat = (generation / "meta.sqlite").stat()
    except OSError:
        return (-1, -1)
    return (stat.st_ino, stat.st_mtime_ns)


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
