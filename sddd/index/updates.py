"""The two ways a new generation is written: a full build, streamed, or an update in place.

Full build (no index yet, ``--rebuild``, another model, an older lexical version, or more than
``COMPACT_SHARE`` of the vector rows dead after the update): every file goes into a fresh
``Draft`` one at a time (a file whose content did not change keeps its old chunks, and every
chunk whose embedded text is already in the old index keeps its vector), then the vectors are
written in batches of ``BATCH`` passages in id order: reused ones read from the old index,
new texts embedded once each. Nothing holds all passages or all vectors in Python: memory is the
vector index being built, plus one batch.

Update in place (the usual case, a few files changed): the old generation's metadata is copied
and only the changed files' rows are replaced. A new chunk whose text one of the replaced rows
held takes that row's id and vector; one whose text another passage holds gets a copy of that
vector in a new row; only new text is embedded. Rows nobody took are dead (``Draft.bury``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sddd.core.errors import InputError
from sddd.core.yamlio import read_text
from sddd.index import vectors as vector_index
from sddd.index.corpus import Discovery, SourceFile
from sddd.index.draft import INDEXES, Draft
from sddd.index.encoders.ensemble import Ensemble
from sddd.index.store import FileRecord, Store, StoredChunk, vector_file

COMPACT_SHARE = 0.2  # dead vector rows (of all rows) above which an update compacts the index
BATCH = 32_768  # passages embedded and added to the vector index at a time by a full build


@dataclass
class Change:
    """What differs between the files found and an index, read before deciding how to update."""

    touched: list[FileRecord] = field(default_factory=list)  # same content, another size or mtime
    changed: list[SourceFile] = field(default_factory=list)  # new, edited or unreadable
    deleted: list[str] = field(default_factory=list)
    churn: int = 0  # rows of the index that changed and deleted files hold


def digest_of(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def survey(found: Discovery, old: Store) -> Change:
    """Files whose size or mtime changed are read and hashed (nothing is chunked yet)."""
    change = Change()
    for source in found.files:
        previous = old.files.get(source.rel)
        if previous and previous.size == source.size and previous.mtime_ns == source.mtime_ns:
            continue
        if previous and not previous.skipped:
            try:
                same = digest_of(read_text(source.path, source.rel)) == previous.sha256
            except InputError:
                same = False
            if same:
                change.touched.append(FileRecord(source.rel, previous.kind, previous.sha256, source.size,
                                                 source.mtime_ns, previous.chunks, previous.title))
                continue
        change.changed.append(source)
        change.churn += previous.chunks if previous else 0
    seen = {source.rel for source in found.files}
    change.deleted = sorted(path for path in old.files if path not in seen)
    change.churn += sum(old.files[path].chunks for path in change.deleted)
    return change


def needs_compaction(old: Store, change: Change) -> bool:
    """True when the dead rows after this update could pass COMPACT_SHARE of the vector rows."""
    return (old.slots - old.count + change.churn) > COMPACT_SHARE * max(old.slots, 1)


ReadFile = Callable[[SourceFile, FileRecord | None], tuple[FileRecord, list[StoredChunk] | None]]


@dataclass
class Outcome:
    """What a write did, for the report."""

    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    pruned: int = 0
    kind: str = vector_index.FLAT
    dims: list[int] = field(default_factory=list)  # of each model's vectors


def _add_later(pool: ThreadPoolExecutor, pending: Future[None] | None, indexes: list[Any],
               blocks: list[np.ndarray]) -> Future[None]:
    """Add a batch to the vector indexes on a worker thread (FAISS releases the GIL), so the next
    batch is embedded meanwhile; one batch in flight at a time."""
    if pending is not None:
        pending.result()

    def add_all() -> None:
        for index, block in zip(indexes, blocks, strict=True):
            vector_index.add(index, block)

    return pool.submit(add_all)


def _batch_rows(draft: Draft, start: int, end: int) -> list[tuple[int, str, int, int | None]]:
    """(id, embedded text, first id with that text, old id holding it) of ids [start, end)."""
    return [(r[0], f"{r[1]}\n{r[2]}", r[3], r[4]) for r in draft.db.execute(
        "SELECT c.id, c.heading, c.text, f.id, s.old_id FROM main.chunks c "
        "JOIN temp.first f ON f.embed_hash = c.embed_hash LEFT JOIN temp.source s ON s.id = c.id "
        "WHERE c.id >= ? AND c.id < ? ORDER BY c.id", (start, end))]


def _prepare_sources(draft: Draft, old: Store | None) -> tuple[int, int, int]:
    """Temp tables: each text's first id, and the old id of every chunk whose text the old index
    holds. Returns (texts to embed, chunks reused, old chunks whose vector is kept)."""
    db = draft.db
    db.executescript(INDEXES)
    db.execute("CREATE TEMP TABLE first AS "
               "SELECT embed_hash, min(id) AS id FROM main.chunks GROUP BY embed_hash")
    db.execute("CREATE INDEX temp.first_hash ON first(embed_hash)")
    if old is not None and old.count:
        db.execute("ATTACH DATABASE ? AS old", (str(old.generation / "meta.sqlite"),))
        db.execute("CREATE TEMP TABLE source AS SELECT n.id AS id, min(o.id) AS old_id FROM main.chunks n "
                   "JOIN old.chunks o ON o.embed_hash = n.embed_hash GROUP BY n.id")
    else:
        db.execute("CREATE TEMP TABLE source (id INTEGER, old_id INTEGER)")
    db.execute("CREATE INDEX temp.source_id ON source(id)")
    embed = db.execute("SELECT count(*) FROM temp.first f WHERE NOT EXISTS "
                       "(SELECT 1 FROM temp.source s WHERE s.id = f.id)").fetchone()[0]
    reused, kept = db.execute("SELECT count(*), count(DISTINCT old_id) FROM temp.source").fetchone()
    return int(embed), int(reused), int(kept)


def full_vectors(tmp: Any, draft: Draft, old: Store | None, encoder: Callable[[int], Ensemble],
                 dims: list[int], progress: Any) -> Outcome:
    """The vector files of a full build, from the draft's chunks (ids 0..n-1 in order)."""
    count = draft.next_id
    to_embed, reused, kept = _prepare_sources(draft, old)
    outcome = Outcome(count, count - reused, reused, (old.count - kept) if old else 0,
                      vector_index.kind_for(count))
    ensemble = encoder(to_embed) if to_embed else None
    if ensemble is not None:
        dims[:] = [m.dim for m in ensemble.members]
        if progress:
            progress.start(to_embed)
    indexes = [vector_index.new_index(max(d, 1), outcome.kind) for d in dims]
    pending: Future[None] | None = None
    with ThreadPoolExecutor(1) as pool:
        for start in range(0, count, BATCH):
            rows = _batch_rows(draft, start, min(start + BATCH, count))
            blocks = [np.zeros((len(rows), max(d, 1)), dtype=np.float32) for d in dims]
            from_old = [(i, r[3]) for i, r in enumerate(rows) if r[3] is not None]
            if from_old and old is not None:
                where, ids = np.array([p for p, _ in from_old]), np.array([o for _, o in from_old])
                for member, block in enumerate(blocks):
                    block[where] = old.vectors_of(ids, member)
            fresh = [i for i, r in enumerate(rows) if r[3] is None and r[2] == r[0]]
            if fresh and ensemble is not None:
                vectors = ensemble.encode_all([rows[i][1] for i in fresh],
                                              progress=progress.advance if progress else None)
                for member, block in enumerate(blocks):
                    block[fresh] = vectors[member]
            copies = [(i, r[2]) for i, r in enumerate(rows) if r[3] is None and r[2] != r[0]]
            if any(first < start for _, first in copies) and pending is not None:
                pending.result()  # an earlier batch's row is read back from the index
            for i, first in copies:
                for member, block in enumerate(blocks):
                    block[i] = block[first - start] if first >= start else indexes[member].reconstruct(first)
            pending = _add_later(pool, pending, indexes, blocks)
        if pending is not None:
            pending.result()
    for member, index in enumerate(indexes):
        vector_index.write(index, tmp / vector_file(member))
    outcome.dims = list(dims)
    return outcome


@dataclass
class Placed:
    """Where the vectors of an update's new rows come from."""

    ids: list[int] = field(default_factory=list)  # new row ids, in order
    copies: list[tuple[int, int]] = field(default_factory=list)  # (position, existing row)
    embed: list[int] = field(default_factory=list)  # positions embedded (first of each text)
    twins: list[tuple[int, int]] = field(default_factory=list)  # (position, position embedded)
    texts: list[str] = field(default_factory=list)


def place(draft: Draft, files: list[tuple[FileRecord, list[StoredChunk]]],
          freed: dict[str, list[int]]) -> Placed:
    """Give every new chunk an id: a freed row holding its text, else a new row (whose vector is
    copied from a row holding the text, or embedded)."""
    in_place: dict[str, int] = {}
    pending: list[StoredChunk] = []
    for _record, chunks in files:
        for chunk in chunks:
            ids = freed.get(chunk.embed_hash)
            if ids:
                chunk.id = ids.pop(0)
                in_place.setdefault(chunk.embed_hash, chunk.id)
            else:
                pending.append(chunk)
    sources = {**in_place, **draft.live_ids_with_hashes(c.embed_hash for c in pending)}
    placed = Placed(ids=draft.take_ids(len(pending)))
    first: dict[str, int] = {}
    for position, (chunk, new_id) in enumerate(zip(pending, placed.ids, strict=True)):
        chunk.id = new_id
        source = sources.get(chunk.embed_hash)
        if source is not None:
            placed.copies.append((position, source))
        elif chunk.embed_hash in first:
            placed.twins.append((position, first[chunk.embed_hash]))
        else:
            first[chunk.embed_hash] = position
            placed.embed.append(position)
            placed.texts.append(f"{chunk.heading}\n{chunk.text}")
    return placed


def update_in_place(tmp: Any, draft: Draft, old: Store, files: list[tuple[FileRecord, list[StoredChunk]]],
                    deleted: list[str], encoder: Callable[[int], Ensemble], progress: Any,
                    rows: dict[str, Any] | None = None) -> Outcome:
    """Replace the rows of changed and deleted files in a copy of ``old``; add the new vector rows."""
    replaced = [record.path for record, _ in files if record.path in old.files] + deleted
    freed: dict[str, list[int]] = {}
    for path in replaced:
        for row_id, embed_hash in draft.rows_of(path):
            freed.setdefault(embed_hash, []).append(row_id)
        draft.drop(path)
    placed = place(draft, files, freed)
    for record, chunks in files:
        draft.put(record, chunks, *(rows or {}).get(record.path, (None, None)))
    for path in deleted:
        draft.forget(path)
    dead = [row for rows in freed.values() for row in rows]
    draft.bury(dead)
    fresh: list[np.ndarray] = []
    if placed.texts:
        if progress:
            progress.start(len(placed.texts))
        fresh = encoder(len(placed.texts)).encode_all(placed.texts,
                                                      progress=progress.advance if progress else None)
    count = draft.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    outcome = Outcome(count, len(placed.embed) + len(placed.twins), 0, len(dead), dims=list(old.dims))
    outcome.reused = count - outcome.embedded
    for member, dim in enumerate(old.dims):
        index = vector_index.read(old.generation / vector_file(member), writable=True)
        block = np.zeros((len(placed.ids), dim), dtype=np.float32)
        if placed.copies:
            where = np.array([p for p, _ in placed.copies])
            block[where] = index.reconstruct_batch(np.array([s for _, s in placed.copies], dtype=np.int64))
        if placed.embed:
            block[placed.embed] = fresh[member]
        for position, twin in placed.twins:
            block[position] = block[twin]
        vector_index.add(index, block)
        index = vector_index.converted(index, vector_index.kind_for(count, vector_index.kind_of(index)))
        outcome.kind = vector_index.kind_of(index)
        vector_index.write(index, tmp / vector_file(member))
    return outcome


def models_meta(names: list[str], kind: str) -> dict[str, str]:
    return {"models": json.dumps(names), "vector_index": kind}
