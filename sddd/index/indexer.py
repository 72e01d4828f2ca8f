"""Bring the index up to date with the files, doing as little work as possible.

A file whose size and mtime match the index is not even read. A file that changed is
re-chunked; each of its chunks whose embedded text is unchanged keeps its vector, only
new text is embedded. Chunks of deleted files are pruned. The model is loaded only when
something must be embedded. The lexical (FTS5) table is rebuilt from the chunks' text at every
commit; an index from an older lexical version is rewritten with every vector reused.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sddd.core.atomic import LOCK_HINT, writing
from sddd.core.config import Config
from sddd.core.errors import InputError
from sddd.core.yamlio import read_text
from sddd.index.chunking import Window
from sddd.index.compose_chunks import compose_chunks
from sddd.index.corpus import Chunk, Discovery, SourceFile, discover, is_compose_path
from sddd.index.encoders.base import Encoder
from sddd.index.encoders.ensemble import Ensemble, fingerprint_of, load_ensemble
from sddd.index.encoders.models import model_info
from sddd.index.generation import commit
from sddd.index.lexical import LEXICAL_VERSION
from sddd.index.markdown_chunks import markdown_chunks
from sddd.index.store import (
    CHUNKER_VERSION,
    FileRecord,
    Snapshot,
    Store,
    StoredChunk,
    embed_text,
    open_store,
    try_open_store,
    writer_lock,
)


@dataclass
class Skipped:
    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"

    def encode(self) -> str:
        """How the index stores the reason (with the line) for the next run to report."""
        return f"{self.line or 0}\t{self.reason}"

    @classmethod
    def decode(cls, path: str, stored: str) -> Skipped:
        line, _, reason = stored.partition("\t")
        return cls(path, reason or stored, int(line) if line.isdigit() and line != "0" else None)


@dataclass
class IndexReport:
    files: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    pruned: int = 0
    changed_files: list[str] = field(default_factory=list)
    deleted_files: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    rebuilt: bool = False
    rebuild_reason: str | None = None
    written: bool = False  # False when nothing changed and nothing was written
    index: str = ""


class ProgressSink:
    """Receives embedding progress; the CLI renders it as a bar."""

    def start(self, total: int) -> None: ...

    def advance(self, count: int) -> None: ...


def store_fingerprint(config: Config) -> str:
    return f"{fingerprint_of(config.model, config.root)}|chunker={CHUNKER_VERSION}"


def as_ensemble(config: Config, encoder: Encoder | Ensemble | None) -> Ensemble | None:
    """The encoders a caller passed, checked against the models ``config`` names."""
    if encoder is None:
        return None
    ensemble = encoder if isinstance(encoder, Ensemble) else Ensemble([encoder])
    wanted = [model_info(name, config.root).name for name in config.model]
    if ensemble.names != wanted:
        raise ValueError(f"encoders {ensemble.names} given for an index of {wanted}")
    return ensemble


def is_fresh(store: Store, found: Discovery) -> bool:
    """True when every file has the size and mtime the index recorded, and no file is new or gone."""
    if len(found.files) != len(store.files):
        return False
    for source in found.files:
        record = store.files.get(source.rel)
        if record is None or record.size != source.size or record.mtime_ns != source.mtime_ns:
            return False
    return True


def chunk_file(source: SourceFile, text: str, window: Window) -> list[Chunk]:
    if source.rel.endswith(".md"):
        return markdown_chunks(text, source.rel, source.kind, window)
    if is_compose_path(source.rel):
        if source.path.name == "MANIFEST.yaml":
            return []
        return compose_chunks(text, source.rel, source.kind, window)
    return []


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_index(
    config: Config,
    *,
    rebuild: bool = False,
    progress: ProgressSink | None = None,
    notice: Callable[[str], None] | None = None,
    encoder: Encoder | Ensemble | None = None,
) -> IndexReport:
    """Index ``config``'s corpus incrementally (or from scratch with ``rebuild``)."""
    started = time.perf_counter()
    folder = config.index_dir
    report = IndexReport(index=config.relpath(folder))
    with writer_lock(folder):
        found = discover(config)
        # Files refused before reading (.env, links out of the repository) are skipped lines too.
        refused = [Skipped(path, reason) for path, reason in found.ignored]
        fingerprint = store_fingerprint(config)
        old = None if rebuild else try_open_store(folder)
        if rebuild:
            report.rebuilt, report.rebuild_reason = True, "asked with --rebuild"
        elif old is None and (folder / "CURRENT").exists():
            report.rebuilt, report.rebuild_reason = True, "the previous index was unreadable"
            if notice:
                notice("The index was unreadable: rebuilding it from scratch.")
        elif old is not None and old.fingerprint != fingerprint:
            report.rebuilt = True
            report.rebuild_reason = "the model or chunker changed"
            if notice:
                notice("Model or chunker changed since the last index: rebuilding it from scratch.")
            old.close()
            old = None
        if not found.files:
            raise InputError(
                f"nothing to index: no file matches docs {config.docs} or profiles {config.profiles} "
                f"under {config.root}; add documents or fix the globs in sddd.yaml",
            )
        if old is not None and is_fresh(old, found) and old.lexical_version == LEXICAL_VERSION:
            report.files = len(found.files)
            report.chunks = old.count
            report.reused = old.count
            report.skipped = refused + [Skipped.decode(p, f.skipped) for p, f in old.files.items()
                                        if f.skipped]
            report.seconds = time.perf_counter() - started
            old.close()
            return report
        report.skipped = refused
        _update(config, found, old, fingerprint, report, progress, as_ensemble(config, encoder))
        if old is not None:
            old.close()
    report.seconds = time.perf_counter() - started
    return report


class _Embedder:
    """The encoders and the chunking window, loaded on first need (an unchanged file needs neither)."""

    def __init__(self, config: Config, encoder: Ensemble | None):
        self.config, self.encoder = config, encoder
        self._window: Window | None = None

    def window(self) -> Window:
        if self._window is None:
            encoder = self.get()
            self._window = Window(encoder.count_tokens, encoder.max_tokens,
                                  count_many=encoder.count_tokens_many)
        return self._window

    def get(self) -> Ensemble:
        if self.encoder is None:
            self.encoder = load_ensemble(self.config.model, self.config.root)
        return self.encoder


def _read_file(source: SourceFile, previous: FileRecord | None, old_chunks: list[StoredChunk],
               embedder: _Embedder, report: IndexReport) -> tuple[FileRecord, list[StoredChunk]]:
    """The record and chunks of one file: reused when unchanged, else read and chunked again."""
    if previous and previous.size == source.size and previous.mtime_ns == source.mtime_ns:
        if previous.skipped:
            report.skipped.append(Skipped.decode(source.rel, previous.skipped))
        return previous, old_chunks
    try:
        text = read_text(source.path, source.rel)
    except InputError as exc:
        skipped = Skipped(source.rel, exc.message, exc.line)
        report.skipped.append(skipped)
        return FileRecord(source.rel, source.kind, "", source.size, source.mtime_ns, 0, "",
                          skipped.encode()), []
    digest = _hash(text)
    if previous and previous.sha256 == digest and not previous.skipped:
        return FileRecord(source.rel, previous.kind, digest, source.size, source.mtime_ns,
                          previous.chunks, previous.title), old_chunks
    report.changed_files.append(source.rel)
    try:
        # Whatever a chunker made, no secret reaches the store (nor, so, any output).
        new_chunks = [c.redacted() for c in chunk_file(source, text, embedder.window())]
    except InputError as exc:
        skipped = Skipped(source.rel, exc.message, exc.line)
        report.skipped.append(skipped)
        return FileRecord(source.rel, source.kind, digest, source.size, source.mtime_ns, 0, "",
                          skipped.encode()), []
    kind = new_chunks[0].kind if new_chunks else source.kind
    title = new_chunks[0].title if new_chunks else ""
    record = FileRecord(source.rel, kind, digest, source.size, source.mtime_ns, len(new_chunks), title)
    return record, [StoredChunk(**c.__dict__, embed_hash=_hash(embed_text(c))) for c in new_chunks]


def _vectors(chunks: list[StoredChunk], old_by_hash: dict[str, int], old_vectors: list[np.ndarray],
             embedder: _Embedder, progress: ProgressSink | None,
             report: IndexReport) -> tuple[list[np.ndarray], set[int]]:
    """Vectors per model for every chunk, reused by embedded-text hash or embedded now; and the
    old ids reused. Identical texts are embedded once."""
    reuse: dict[int, int] = {}
    to_embed: list[int] = []
    for position, chunk in enumerate(chunks):
        old_id = old_by_hash.get(chunk.embed_hash)
        if old_id is not None and old_vectors and old_vectors[0].size:
            reuse[position] = old_id
        else:
            to_embed.append(position)
    unique = list(dict.fromkeys(embed_text(chunks[i]) for i in to_embed))
    fresh: list[np.ndarray] = []
    if unique:
        if progress:
            progress.start(len(unique))
        fresh = embedder.get().encode_all(unique, progress=progress.advance if progress else None)
    dims = ([v.shape[1] for v in fresh] if fresh else [v.shape[1] if v.ndim == 2 else 0 for v in old_vectors]
            or [0] * len(embedder.config.model))
    row_of = {text: row for row, text in enumerate(unique)}
    out = []
    for member, dim in enumerate(dims):
        vectors = np.zeros((len(chunks), dim), dtype=np.float32)
        for position, old_id in reuse.items():
            vectors[position] = old_vectors[member][old_id]
        if fresh:
            rows = [row_of[embed_text(chunks[i])] for i in to_embed]
            vectors[to_embed] = fresh[member][rows]
        out.append(vectors)
    report.embedded, report.reused = len(to_embed), len(reuse)
    return out, set(reuse.values())


def _update(
    config: Config,
    found: Discovery,
    old: Store | None,
    fingerprint: str,
    report: IndexReport,
    progress: ProgressSink | None,
    encoder: Ensemble | None,
) -> None:
    old_files = old.files if old else {}
    old_chunks_by_path: dict[str, list[StoredChunk]] = {}
    old_vectors: list[np.ndarray] = []
    if old is not None:
        for chunk in old.chunks():
            old_chunks_by_path.setdefault(chunk.path, []).append(chunk)
        old_vectors = [old.all_vectors(m) for m in range(len(config.model))]
    old_by_hash = {c.embed_hash: c.id for cs in old_chunks_by_path.values() for c in cs}
    embedder = _Embedder(config, encoder)
    records: list[FileRecord] = []
    chunks: list[StoredChunk] = []
    for source in found.files:
        record, file_chunks = _read_file(source, old_files.get(source.rel),
                                         old_chunks_by_path.get(source.rel, []), embedder, report)
        records.append(record)
        chunks.extend(file_chunks)
    seen = {r.path for r in records}
    report.deleted_files = sorted(p for p in old_files if p not in seen)
    vectors, kept = _vectors(chunks, old_by_hash, old_vectors, embedder, progress, report)
    report.pruned = sum(1 for cs in old_chunks_by_path.values() for c in cs if c.id not in kept)
    report.files = len(found.files)
    report.chunks = len(chunks)
    for position, chunk in enumerate(chunks):
        chunk.id = position
    names = [model_info(name, config.root).name for name in config.model]
    with writing(config.index_dir, LOCK_HINT):  # a read-only index folder: one line, exit 4
        commit(config.index_dir, Snapshot(fingerprint, records, chunks, vectors,
                                          {"models": json.dumps(names)}))
    report.written = True


def ensure_fresh(config: Config, notice: Callable[[str], None] | None = None) -> Store:
    """The live index, first brought up to date if any file changed since it was built.

    A missing or corrupt index is an error with its fix, not a silent rebuild.
    """
    store = open_store(config.index_dir)
    for member in range(len(store.models) or 1):
        store.vectors(member)  # surfaces a corrupt vector file now, with the fix
    if (store.fingerprint == store_fingerprint(config) and store.lexical_version == LEXICAL_VERSION
            and is_fresh(store, discover(config))):
        return store
    store.close()
    report = build_index(config, notice=notice)
    if notice and report.written:
        notice(
            f"Index updated first: {len(report.changed_files)} changed, "
            f"{len(report.deleted_files)} deleted file(s), {report.embedded} chunk(s) embedded."
        )
    return open_store(config.index_dir)
