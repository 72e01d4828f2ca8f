"""The files phase of an index: read, hash, chunk, redact and tokenise each changed file for the
lexical tables, in a pool of worker processes, the results handed to the one writer in file order.

Chunking is CPU-bound Python (parsing, redaction, the lexical rows) plus the tokenizer, so on a
machine of N cores it runs in N processes, each with its own tokenizer (``WindowSpec``); SQLite is
written by the calling process alone, as results come back in order. Work is sent in tasks of a
few files (or one large one) and at most ``IN_FLIGHT`` tasks per worker are out at a time, so
memory is bounded by that, never by the corpus. Few files (an incremental update) are read in
this process: starting workers would cost more than it saves.

A file larger than ``indexing.max_file_mb`` is not read: it is skipped with one line naming it
and the setting. Runs without whitespace longer than ``indexing.max_word_chars`` are cut
(``sddd.index.markdown_chunks.cut_long_words``) with one line saying so.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from sddd.core.errors import InputError
from sddd.core.yamlio import read_text
from sddd.index.chunking import Window
from sddd.index.compose_chunks import compose_chunks
from sddd.index.corpus import Chunk, SourceFile, is_compose_path
from sddd.index.counting import WindowSpec, build_window
from sddd.index.lexical import document_row, passage_row
from sddd.index.markdown_chunks import markdown_chunks
from sddd.index.store import FileRecord, StoredChunk, embed_text
from sddd.index.updates import digest_of

MB = 1 << 20
POOL_MIN_FILES = 48  # fewer files to read than this: read in this process
TASK_BYTES = 2 * MB  # a task: files up to this many bytes together (a larger file goes alone)
TASK_FILES = 32
IN_FLIGHT = 3  # tasks out per worker
SLOW_FILE_S = 3.0  # a file taking longer than this is named on the progress display

PassageRow = tuple[str, str, str, str]
DocumentRow = tuple[str, str, str, str]  # lexical.DOCUMENT_COLUMNS: title, headings, path, body


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


@dataclass(frozen=True)
class Limits:
    """``indexing:`` of sddd.yaml."""

    max_file_mb: float = 10.0
    max_word_chars: int = 1024  # long URLs pass (90 % of the real corpus's runs over 256 are under 1,100)
    workers: int = 0  # 0: one per core


@dataclass
class FileWork:
    """One file to read, and what the index holds of it (picklable: it goes to a worker)."""

    source: SourceFile
    previous: FileRecord | None = None


@dataclass
class FileDone:
    """A file read: its record and, when its content changed, its chunks and lexical rows."""

    record: FileRecord
    chunks: list[StoredChunk] | None  # None: the content is the one indexed, keep its chunks
    changed: bool = False
    skipped: Skipped | None = None
    notes: list[str] = field(default_factory=list)
    passages: list[PassageRow] = field(default_factory=list)
    document: DocumentRow | None = None


def chunk_file(source: SourceFile, text: str, window: Window, notes: list[str] | None = None) -> list[Chunk]:
    if source.rel.endswith(".md"):
        return markdown_chunks(text, source.rel, source.kind, window, notes)
    if is_compose_path(source.rel):
        if source.path.name == "MANIFEST.yaml":
            return []
        return compose_chunks(text, source.rel, source.kind, window)
    return []


def _skipped(source: SourceFile, digest: str, skipped: Skipped) -> FileDone:
    record = FileRecord(source.rel, source.kind, digest, source.size, source.mtime_ns, 0, "",
                        skipped.encode())
    return FileDone(record, [], changed=True, skipped=skipped)


def process_file(work: FileWork, window: Callable[[], Window], limits: Limits) -> FileDone:
    """Read one file; chunk it when its content is not the one indexed."""
    source, previous = work.source, work.previous
    if previous is not None and _unchanged(work):  # not even read
        return FileDone(previous, None, skipped=Skipped.decode(source.rel, previous.skipped)
                        if previous.skipped else None)
    if source.size > limits.max_file_mb * MB:
        return _skipped(source, "", Skipped(source.rel, (
            f"{source.size / MB:,.1f} MB is over the {limits.max_file_mb:g} MB limit: not indexed "
            "(raise indexing.max_file_mb in sddd.yaml, then touch the file, to index it)")))
    try:
        text = read_text(source.path, source.rel)
    except InputError as exc:
        return _skipped(source, "", Skipped(source.rel, exc.message, exc.line))
    digest = digest_of(text)
    if previous and previous.sha256 == digest and not previous.skipped:
        return FileDone(FileRecord(source.rel, previous.kind, digest, source.size, source.mtime_ns,
                                   previous.chunks, previous.title), None)
    notes: list[str] = []
    try:
        # Whatever a chunker made, no secret reaches the store (nor, so, any output).
        chunks = [c.redacted() for c in chunk_file(source, text, window(), notes)]
    except InputError as exc:
        return _skipped(source, digest, Skipped(source.rel, exc.message, exc.line))
    kind = chunks[0].kind if chunks else source.kind
    title = chunks[0].title if chunks else ""
    record = FileRecord(source.rel, kind, digest, source.size, source.mtime_ns, len(chunks), title)
    stored = [StoredChunk(**c.__dict__, embed_hash=digest_of(embed_text(c))) for c in chunks]
    done = FileDone(record, stored, changed=True, notes=[f"{source.rel}: {n}" for n in notes])
    done.passages = [passage_row(c.title, c.heading, c.path, c.text) for c in stored]
    if stored:
        done.document = document_row(stored[0].title, [c.heading for c in stored], source.rel,
                                     [c.text for c in stored])
    return done


# -- the worker processes -----------------------------------------------------------------------

_WORKER: tuple[Window, Limits] | None = None


def _start_worker(spec: WindowSpec, limits: Limits) -> None:
    global _WORKER
    # N processes each running the tokenizer's own thread pool would oversubscribe the cores.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    _WORKER = (build_window(spec), limits)


def _run_task(works: list[FileWork]) -> list[FileDone]:
    assert _WORKER is not None
    window, limits = _WORKER
    return [process_file(work, lambda: window, limits) for work in works]


def _tasks(works: list[FileWork]) -> Iterator[list[FileWork]]:
    task: list[FileWork] = []
    size = 0
    for work in works:
        if task and (size + work.source.size > TASK_BYTES or len(task) >= TASK_FILES):
            yield task
            task, size = [], 0
        task.append(work)
        size += 0 if _unchanged(work) else work.source.size
    if task:
        yield task


def worker_count(limits: Limits) -> int:
    return limits.workers or min(os.cpu_count() or 1, 32)


def read_files(works: list[FileWork], spec: WindowSpec | None, window: Callable[[], Window], limits: Limits,
               slow: Callable[[str], None] | None = None) -> Iterator[FileDone]:
    """Every file of ``works`` processed, in order: in a pool when there are many and a spec.

    A pool that breaks (a worker killed for memory, a program that starts sddd without the
    ``__main__`` guard that process pools need) costs speed, not the index: the files it had not
    answered for are read here instead."""
    to_read = sum(1 for w in works if not _unchanged(w))
    workers = worker_count(limits)
    done = 0
    if spec is not None and workers >= 2 and to_read >= POOL_MIN_FILES:
        try:
            for result in _pooled(works, spec, limits, workers, slow):
                done += 1
                yield result
        except BrokenProcessPool:
            pass
    for work in works[done:]:
        with _named_when_slow(work, slow):
            yield process_file(work, window, limits)


def _pooled(works: list[FileWork], spec: WindowSpec, limits: Limits, workers: int,
            slow: Callable[[str], None] | None) -> Iterator[FileDone]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sddd.index.files_phase"])
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(spec, limits)) as pool:
        pending: deque[tuple[list[FileWork], Future[list[FileDone]]]] = deque()
        for task in _tasks(works):
            pending.append((task, pool.submit(_run_task, task)))
            if len(pending) >= IN_FLIGHT * workers:
                yield from _collect(pending.popleft(), slow)
        while pending:
            yield from _collect(pending.popleft(), slow)


def _unchanged(work: FileWork) -> bool:
    previous = work.previous
    return bool(previous and previous.size == work.source.size and previous.mtime_ns == work.source.mtime_ns)


def _collect(item: tuple[list[FileWork], Future[list[FileDone]]],
             slow: Callable[[str], None] | None) -> list[FileDone]:
    task, future = item
    try:
        return future.result(timeout=SLOW_FILE_S)
    except FutureTimeout:
        if slow is not None:
            slow(max(task, key=lambda w: w.source.size).source.rel)
        return future.result()


class _named_when_slow:
    """Names the file on the progress display when it takes longer than SLOW_FILE_S."""

    def __init__(self, work: FileWork, slow: Callable[[str], None] | None):
        self.timer = (threading.Timer(SLOW_FILE_S, slow, args=(work.source.rel,))
                      if slow is not None and not _unchanged(work) else None)

    def __enter__(self) -> None:
        if self.timer is not None:
            self.timer.daemon = True
            self.timer.start()

    def __exit__(self, *_exc: object) -> None:
        if self.timer is not None:
            self.timer.cancel()
