"""The index on disk, write side: a snapshot written as a new generation, atomically.

A commit writes a complete new generation into a temporary folder (metadata, both lexical
tables, one vector file per model), fsyncs it, renames it into place and then atomically
replaces ``CURRENT``. A crash at any instant leaves ``CURRENT`` naming a complete generation.
The lexical tables are rebuilt from the chunks' text at every commit (cheap: no model involved).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import time
import uuid
from pathlib import Path

import numpy as np

from sddd.core.atomic import atomic_write_text, fsync_dir
from sddd.core.errors import IndexCorrupt
from sddd.core.faults import crash_point
from sddd.index.lexical import (
    DOCUMENT_COLUMNS,
    LEXICAL_VERSION,
    PASSAGE_COLUMNS,
    TOKENIZER,
    document_row,
    passage_row,
)
from sddd.index.store import CHUNKER_VERSION, Snapshot, current_generation, faiss_module, vector_file

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
LEXICAL_SCHEMA = (
    f"CREATE VIRTUAL TABLE lexical USING fts5({', '.join(PASSAGE_COLUMNS)}, tokenize='{TOKENIZER}');"
    f"CREATE VIRTUAL TABLE doc_lexical USING fts5({', '.join(DOCUMENT_COLUMNS)}, tokenize='{TOKENIZER}');"
)


def _write_metadata(db: sqlite3.Connection, snap: Snapshot) -> None:
    db.executescript(SCHEMA)
    meta = {
        "fingerprint": snap.fingerprint,
        "dims": json.dumps([int(v.shape[1]) if v.ndim == 2 else 0 for v in snap.vectors]),
        "chunker_version": CHUNKER_VERSION,
        "lexical_version": LEXICAL_VERSION,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **snap.meta,
    }
    db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    db.executemany(
        "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(f.path, f.kind, f.sha256, f.size, f.mtime_ns, f.chunks, f.title, f.skipped) for f in snap.files],
    )
    db.executemany(
        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(i, c.path, c.kind, c.heading, c.anchor, c.line, c.part, c.title, c.text, c.embed_hash)
         for i, c in enumerate(snap.chunks)],
    )


def _write_lexical(db: sqlite3.Connection, snap: Snapshot) -> None:
    db.executescript(LEXICAL_SCHEMA)
    db.executemany(
        f"INSERT INTO lexical (rowid, {', '.join(PASSAGE_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
        [(i, *passage_row(c.title, c.heading, c.path, c.text)) for i, c in enumerate(snap.chunks)],
    )
    sections: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for chunk in snap.chunks:
        sections.setdefault(chunk.path, []).append(f"{chunk.heading}\n{chunk.text}")
        titles.setdefault(chunk.path, chunk.title)
    paths = sorted(sections)
    db.executemany("INSERT INTO documents VALUES (?, ?)", list(enumerate(paths)))
    db.executemany(
        f"INSERT INTO doc_lexical (rowid, {', '.join(DOCUMENT_COLUMNS)}) VALUES (?, ?, ?, ?)",
        [(number, *document_row(titles[path], path, sections[path])) for number, path in enumerate(paths)],
    )


def _write_vectors(tmp: Path, snap: Snapshot) -> list[str]:
    faiss = faiss_module()
    names = []
    for member, vectors in enumerate(snap.vectors):
        dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1
        index = faiss.IndexFlatIP(dim)
        if len(snap.chunks):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        names.append(vector_file(member))
        faiss.write_index(index, str(tmp / names[-1]))
    return names


def write_generation(tmp: Path, snap: Snapshot) -> None:
    db = sqlite3.connect(tmp / "meta.sqlite")
    try:
        _write_metadata(db, snap)
        _write_lexical(db, snap)
        db.commit()
    finally:
        db.close()
    for name in ["meta.sqlite", *_write_vectors(tmp, snap)]:
        with open(tmp / name, "rb") as handle:
            os.fsync(handle.fileno())
    fsync_dir(tmp)


def commit(folder: Path, snap: Snapshot) -> Path:
    """Write ``snap`` as the new live generation (call under ``writer_lock``)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        write_generation(tmp, snap)
        crash_point("store-before-rename")
        previous = None
        with contextlib.suppress(IndexCorrupt):
            previous = current_generation(folder)
        existing = [int(p.name[4:]) for p in folder.glob("gen-*") if p.name[4:].isdigit()]
        generation = folder / f"gen-{max(existing, default=0) + 1:06d}"
        os.rename(tmp, generation)
        fsync_dir(folder)
        crash_point("store-before-switch")
        atomic_write_text(folder / "CURRENT", generation.name + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # The generation just replaced stays one commit longer: a reader that read CURRENT a moment
    # before the switch may still be opening it. Anything older is unreferenced by now.
    for stale in [*folder.glob("gen-*"), *folder.glob("tmp-*")]:
        if stale not in (generation, previous):
            shutil.rmtree(stale, ignore_errors=True)
    return generation
