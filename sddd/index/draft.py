"""A generation being written, SQLite side: files, chunks, documents and both lexical tables.

A ``Draft`` starts empty (a full build: rows go in file by file, ids counted up from 0) or as a
copy of the live generation's ``meta.sqlite`` (an incremental update: a changed file's rows are
replaced, a deleted file's removed, and the vector rows they leave are listed in ``dead``). Either
way nothing is held in memory beyond one file's chunks: the lexical rows of a file are written
with its chunks. The draft lives in the commit's temporary folder, so it needs no journal: a
crash leaves a folder that the next commit deletes.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from sddd.index.lexical import (
    DOCUMENT_COLUMNS,
    LEXICAL_VERSION,
    PASSAGE_COLUMNS,
    TOKENIZER,
    document_row,
    passage_row,
)
from sddd.index.store import CHUNKER_VERSION, FileRecord, StoredChunk

Rows = Sequence[Sequence[str]] | None  # lexical passage rows, one per chunk

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
CREATE TABLE documents (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
"""
# Made after the bulk insert of a full build (cheaper than kept up row by row), and added to an
# older index's copy by its first incremental update.
INDEXES = """
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(embed_hash);
CREATE INDEX IF NOT EXISTS chunks_kind ON chunks(kind);
CREATE TABLE IF NOT EXISTS dead (id INTEGER PRIMARY KEY);
"""
LEXICAL_SCHEMA = (
    f"CREATE VIRTUAL TABLE lexical USING fts5({', '.join(PASSAGE_COLUMNS)}, tokenize='{TOKENIZER}');"
    f"CREATE VIRTUAL TABLE doc_lexical USING fts5({', '.join(DOCUMENT_COLUMNS)}, tokenize='{TOKENIZER}');"
)


class Draft:
    """The SQLite file of a generation being written in ``folder``."""

    def __init__(self, folder: Path, base: Path | None = None):
        """Empty, or a copy of ``base`` (a generation folder) to update."""
        self.path = folder / "meta.sqlite"
        if base is not None:
            shutil.copyfile(base / "meta.sqlite", self.path)
        self.db = sqlite3.connect(self.path)
        # A crash loses the temporary folder anyway: no journal, no sync until commit's fsync.
        self.db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; "
                              "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;")
        if base is None:
            self.db.executescript(SCHEMA + LEXICAL_SCHEMA)
            self.next_id = 0
            self.next_document = 0
        else:
            self.db.executescript(INDEXES)
            meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
            slots = meta.get("slots") or self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            self.next_id = int(slots)
            self.next_document = int(self.db.execute("SELECT coalesce(max(id), -1) + 1 FROM documents")
                                     .fetchone()[0])

    # -- a full build ---------------------------------------------------------------------------

    def append(self, record: FileRecord, chunks: Sequence[StoredChunk], passages: Rows = None,
               document: Sequence[str] | None = None) -> None:
        """One file and its chunks, ids given in order from ``next_id``; its lexical rows too
        (``passages`` and ``document`` when a worker made them already)."""
        for chunk in chunks:
            chunk.id = self.next_id
            self.next_id += 1
        self._put_file(record)
        self._put_chunks(chunks, passages, document)

    # -- an incremental update -----------------------------------------------------------------

    def rows_of(self, path: str) -> list[tuple[int, str]]:
        """(id, embed hash) of a file's current rows."""
        return self.db.execute("SELECT id, embed_hash FROM chunks WHERE path = ? ORDER BY id",
                               (path,)).fetchall()

    def drop(self, path: str) -> None:
        """A file's chunks, lexical rows and document (a file that keeps chunks gets a new one)."""
        self.db.execute("DELETE FROM lexical WHERE rowid IN (SELECT id FROM chunks WHERE path = ?)", (path,))
        self.db.execute("DELETE FROM chunks WHERE path = ?", (path,))
        found = self.db.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchone()
        if found:
            self.db.execute("DELETE FROM doc_lexical WHERE rowid = ?", (found[0],))
            self.db.execute("DELETE FROM documents WHERE id = ?", (found[0],))

    def put(self, record: FileRecord, chunks: Sequence[StoredChunk], passages: Rows = None,
            document: Sequence[str] | None = None) -> None:
        """A file's record and its chunks, whose ids are already given (after ``drop``)."""
        self._put_file(record)
        self._put_chunks(chunks, passages, document)

    def forget(self, path: str) -> None:
        """A deleted file's record."""
        self.db.execute("DELETE FROM files WHERE path = ?", (path,))

    def bury(self, ids: Iterable[int]) -> None:
        """Vector rows no passage holds any more: left out of searches until compaction."""
        self.db.executemany("INSERT OR IGNORE INTO dead VALUES (?)", [(int(i),) for i in ids])

    def take_ids(self, count: int) -> list[int]:
        """``count`` new vector rows at the end."""
        ids = list(range(self.next_id, self.next_id + count))
        self.next_id += count
        return ids

    def live_ids_with_hashes(self, hashes: Iterable[str]) -> dict[str, int]:
        """embed hash -> the smallest id of a chunk now in the draft holding it."""
        rows = self.db.execute(
            "SELECT embed_hash, min(id) FROM chunks WHERE embed_hash IN (SELECT value FROM json_each(?)) "
            "GROUP BY embed_hash", (json.dumps(sorted(set(hashes))),))
        return dict(rows.fetchall())

    # -- both ----------------------------------------------------------------------------------

    def finish(self, fingerprint: str, dims: Sequence[int], meta: dict[str, str]) -> None:
        """Counts and facts into meta; indexes made; committed and closed."""
        self.db.executescript(INDEXES)
        count = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        kinds = dict(self.db.execute("SELECT kind, count(*) FROM chunks GROUP BY kind").fetchall())
        documents = self.db.execute("SELECT count(*) FROM documents").fetchone()[0]
        values = {
            "fingerprint": fingerprint,
            "dims": json.dumps([int(d) for d in dims]),
            "chunker_version": CHUNKER_VERSION,
            "lexical_version": LEXICAL_VERSION,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "chunks": str(count),
            "slots": str(self.next_id),
            "documents": str(documents),
            "kinds": json.dumps(kinds, sort_keys=True),
            **meta,
        }
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())
        self.db.commit()
        self.db.close()

    def abandon(self) -> None:
        self.db.close()

    def _put_file(self, record: FileRecord) -> None:
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (record.path, record.kind, record.sha256, record.size, record.mtime_ns,
                         record.chunks, record.title, record.skipped))

    def _put_chunks(self, chunks: Sequence[StoredChunk], passages: Rows = None,
                    document: Sequence[str] | None = None) -> None:
        if not chunks:
            return
        if passages is None or len(passages) != len(chunks):
            passages = [passage_row(c.title, c.heading, c.path, c.text) for c in chunks]
        self.db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(c.id, c.path, c.kind, c.heading, c.anchor, c.line, c.part, c.title, c.text, c.embed_hash)
             for c in chunks])
        self.db.executemany(
            f"INSERT INTO lexical (rowid, {', '.join(PASSAGE_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
            [(c.id, *row) for c, row in zip(chunks, passages, strict=True)])
        # One document per file: its title, path and every section, for words spread over sections.
        path = chunks[0].path
        found = self.db.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchone()
        number = found[0] if found else self.next_document
        if not found:
            self.next_document += 1
            self.db.execute("INSERT INTO documents VALUES (?, ?)", (number, path))
        if document is None:
            document = document_row(chunks[0].title, [c.heading for c in chunks], path,
                                    [c.text for c in chunks])
        self.db.execute(f"INSERT INTO doc_lexical (rowid, {', '.join(DOCUMENT_COLUMNS)}) "
                        f"VALUES (?{', ?' * len(document)})", (number, *document))
