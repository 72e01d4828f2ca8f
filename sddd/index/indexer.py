"""Bring the index up to date with the files, doing as little work as possible.

A file whose size and mtime match the index is not even read. A file that changed is
re-chunked; each of its chunks whose embedded text is unchanged keeps its vector, only
new text is embedded. Chunks of deleted files are pruned. The model is loaded only when
something must be embedded. How the new generation is written, in place or in full, is
``sddd.index.updates``; an index from an older lexical version is rewritten with every vector
reused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sddd.core.atomic import LOCK_HINT, writing
from sddd.core.config import Config
from sddd.core.errors import InputError
from sddd.index.chunking import Window
from sddd.index.corpus import Discovery, discover
from sddd.index.counting import WindowSpec, build_window, window_spec
from sddd.index.draft import Draft
from sddd.index.encoders.base import Encoder
from sddd.index.encoders.device import Overlapped, bulk_ensemble
from sddd.index.encoders.ensemble import Ensemble, fingerprint_of, load_ensemble
from sddd.index.encoders.models import model_info
from sddd.index.files_phase import FileDone, FileWork, Limits, Skipped, read_files
from sddd.index.generation import commit, remove_abandoned
from sddd.index.lexical import LEXICAL_VERSION
from sddd.index.store import (
    CHUNKER_VERSION,
    FileRecord,
    Store,
    StoredChunk,
    shared_store,
    try_open_store,
    writer_lock,
)
from sddd.index.updates import (
    Change,
    Outcome,
    full_vectors,
    models_meta,
    needs_compaction,
    survey,
    update_in_place,
)


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
    device: str = ""  # where passages were embedded (cpu or cuda); "" when none were
    vector_index: str = ""  # the FAISS index kind written: flat or hnsw (sddd.index.vectors)
    notes: list[str] = field(default_factory=list)  # what was indexed otherwise than written (long runs)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase of a write


class ProgressSink:
    """Receives embedding progress; the CLI renders it as a bar."""

    def start(self, total: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def file(self, path: str) -> None:
        """``path`` is taking a while to chunk (a large file): say which."""


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


def build_index(
    config: Config,
    *,
    rebuild: bool = False,
    progress: ProgressSink | None = None,
    notice: Callable[[str], None] | None = None,
    encoder: Encoder | Ensemble | None = None,
    device: str | None = None,
) -> IndexReport:
    """Index ``config``'s corpus incrementally (or from scratch with ``rebuild``).

    ``device`` (else sddd.yaml's ``device:``) says where passages are embedded: ``cpu``,
    ``cuda`` or ``auto`` (sddd.index.encoders.device).
    """
    started = time.perf_counter()
    folder = config.index_dir
    report = IndexReport(index=config.relpath(folder))
    with writer_lock(folder):
        remove_abandoned(folder)  # a killed run's temporary data, whether this run writes or not
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
            return _unchanged(report, found, old, refused, started)
        report.skipped = refused
        embedder = _Embedder(config, as_ensemble(config, encoder), device)
        try:
            _write(config, found, old, fingerprint, report, embedder, progress)
            if notice is not None:
                for note in report.notes:
                    notice(note)
        finally:
            if old is not None:
                old.close()
    report.seconds = time.perf_counter() - started
    return report


def _unchanged(report: IndexReport, found: Discovery, old: Store, refused: list[Skipped],
               started: float) -> IndexReport:
    """The report of a run that found every file as indexed: nothing read, nothing written."""
    report.files = len(found.files)
    report.chunks = report.reused = old.count
    report.skipped = refused + [Skipped.decode(p, f.skipped) for p, f in old.files.items() if f.skipped]
    report.seconds = time.perf_counter() - started
    old.close()
    return report


class _Embedder:
    """The encoders and the chunking window, loaded on first need (an unchanged file needs neither).

    Chunking counts tokens with the primary model's tokenizer alone (``sddd.index.counting``), or
    with the loaded CPU encoders where that model has no fast tokenizer; bulk embedding may use
    the device's (a GPU).
    """

    def __init__(self, config: Config, encoder: Ensemble | None, device: str | None):
        self.config, self.encoder = config, encoder
        self.device = device or str(config.device)
        section = config.section("indexing")
        self.limits = Limits(float(section["max_file_mb"]), int(section["max_word_chars"]),
                             int(section["workers"]))
        self.spec: WindowSpec | None = window_spec(config, self.limits.max_word_chars)
        self._window: Window | None = None
        self._bulk: Ensemble | None = encoder
        self.used = ""  # the device bulk embedding ran on, once it has

    def window(self) -> Window:
        if self._window is None:
            if self.spec is not None:
                self._window = build_window(self.spec)
            else:
                encoder = self.get()
                self._window = Window(encoder.count_tokens, encoder.max_tokens,
                                      count_many=encoder.count_tokens_many,
                                      max_word=self.limits.max_word_chars)
        return self._window

    def get(self) -> Ensemble:
        if self.encoder is None:
            self.encoder = load_ensemble(self.config.model, self.config.root)
        return self.encoder

    def bulk(self, count: int) -> Ensemble:
        """The encoders for embedding ``count`` texts: on the device when it is worth starting."""
        if self._bulk is None:
            self._bulk = bulk_ensemble(self.config.model, self.config.root, self.device, count,
                                       cpu=self.get)
        self.used = "cuda" if isinstance(self._bulk, Overlapped) else "cpu"
        return self._bulk

    def read(self, works: list[FileWork], report: IndexReport,
             progress: ProgressSink | None) -> Iterator[FileDone]:
        """Each file read and chunked (in worker processes when many), in order; skips and notes
        into ``report``."""
        slow = progress.file if progress is not None else None
        for done in read_files(works, self.spec, self.window, self.limits, slow):
            if done.skipped is not None:
                report.skipped.append(done.skipped)
            if done.changed:
                report.changed_files.append(done.record.path)
            report.notes += done.notes
            yield done


def _write(config: Config, found: Discovery, old: Store | None, fingerprint: str, report: IndexReport,
           embedder: _Embedder, progress: ProgressSink | None) -> None:
    """Write the new generation: in place when few files changed, else a full build."""
    names = [model_info(name, config.root).name for name in config.model]
    change = survey(found, old) if old is not None else None
    in_place = (old is not None and change is not None and old.lexical_version == LEXICAL_VERSION
                and old.count > 0 and bool(old.dims) and not needs_compaction(old, change))

    def write(tmp: Path) -> None:
        draft = Draft(tmp, old.generation if in_place and old else None)
        try:
            if in_place and old and change:
                outcome = _in_place(tmp, draft, found, old, change, embedder, progress, report)
            else:
                outcome = _full(tmp, draft, found, old, embedder, progress, report, len(names))
            draft.finish(fingerprint, outcome.dims, models_meta(names, outcome.kind))
        except BaseException:
            draft.abandon()
            raise
        report.chunks, report.embedded, report.reused = outcome.chunks, outcome.embedded, outcome.reused
        report.pruned, report.vector_index, report.device = outcome.pruned, outcome.kind, embedder.used

    report.files = len(found.files)
    seen = {source.rel for source in found.files}
    report.deleted_files = sorted(p for p in (old.files if old else {}) if p not in seen)
    with writing(config.index_dir, LOCK_HINT):  # a read-only index folder: one line, exit 4
        commit(config.index_dir, write)
    report.written = True


def _full(tmp: Path, draft: Draft, found: Discovery, old: Store | None, embedder: _Embedder,
          progress: ProgressSink | None, report: IndexReport, models: int) -> Outcome:
    """Every file into a fresh draft (chunked in worker processes), then the vectors in batches."""
    started = time.perf_counter()
    works = [FileWork(source, old.files.get(source.rel) if old else None) for source in found.files]
    for done in embedder.read(works, report, progress):
        if done.chunks is None:
            draft.append(done.record, old.chunks_of(done.record.path) if old else [])
        else:
            draft.append(done.record, done.chunks, done.passages, done.document)
    dims = list(old.dims) if old and old.dims else [0] * models
    report.timings["files_s"] = round(time.perf_counter() - started, 3)  # chunking and SQLite rows
    started = time.perf_counter()
    outcome = full_vectors(tmp, draft, old, embedder.bulk, dims, progress)
    report.timings["vectors_s"] = round(time.perf_counter() - started, 3)  # embedding and FAISS
    return outcome


def _in_place(tmp: Path, draft: Draft, found: Discovery, old: Store, change: Change, embedder: _Embedder,
              progress: ProgressSink | None, report: IndexReport) -> Outcome:
    """Only the changed and deleted files' rows replaced, in a copy of the old generation."""
    for record in change.touched:
        draft.put(record, [])
    changed = {source.rel for source in change.changed}
    for source in found.files:
        previous = old.files.get(source.rel)
        if source.rel not in changed and previous and previous.skipped:
            report.skipped.append(Skipped.decode(source.rel, previous.skipped))
    files: list[tuple[FileRecord, list[StoredChunk]]] = []
    rows: dict[str, tuple[list[Any], Any]] = {}
    for done in embedder.read([FileWork(source) for source in change.changed], report, progress):
        files.append((done.record, done.chunks or []))
        rows[done.record.path] = (done.passages, done.document)
    return update_in_place(tmp, draft, old, files, change.deleted, embedder.bulk, progress, rows)


def ensure_fresh(config: Config, notice: Callable[[str], None] | None = None) -> Store:
    """The live index, first brought up to date if any file changed since it was built.

    A missing or corrupt index is an error with its fix, not a silent rebuild.
    """
    store = shared_store(config.index_dir)
    for member in range(len(store.models) or 1):
        store.vectors(member)  # surfaces a corrupt vector file now, with the fix
    if (store.fingerprint == store_fingerprint(config) and store.lexical_version == LEXICAL_VERSION
            and is_fresh(store, discover(config))):
        return store
    report = build_index(config, notice=notice)
    if notice and report.written:
        notice(
            f"Index updated first: {len(report.changed_files)} changed, "
            f"{len(report.deleted_files)} deleted file(s), {report.embedded} chunk(s) embedded."
        )
    return shared_store(config.index_dir)
