"""The repository as a long-lived server sees it: the config (read again when sddd.yaml changes),
the embedding model loaded once, and the index kept open and brought up to date between calls.

A CLI search pays for a fresh process every time: imports, opening the index, and the model
whenever the query is new. Here the model stays loaded and the index stays open; before each
call the stamps of ``watch.py`` (a stat per file and directory) tell whether a file changed,
and only then does ``discover`` run and the index get updated, incrementally, with the loaded
model (``build_index(encoder=...)``).
Another process committing a new index generation (`sddd index`) is noticed too.

Every method runs on the server's one worker thread (see ``server.py``): the library is not
meant to be called concurrently, and SQLite connections stay on the thread that opened them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from sddd.core.config import Config, load_config
from sddd.core.errors import InputError, SdddError
from sddd.core.yamlio import read_text
from sddd.endpoint.rerank import HttpReranker, reranker_from_config
from sddd.index.corpus import discover
from sddd.index.encoders.ensemble import Ensemble, load_ensemble
from sddd.index.indexer import build_index, is_fresh, store_fingerprint
from sddd.index.lexical import LEXICAL_VERSION
from sddd.index.markdown_chunks import parse_markdown
from sddd.index.results import SearchResult
from sddd.index.search import QueryEncoder, search
from sddd.index.store import Store, current_generation, open_store
from sddd.resident.watch import TreeStamp
from sddd.site.links import Section, sections_of

Log = Callable[[str], None]


def _stamp(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _generation_stamps(folder: Path) -> dict[str, tuple[int, int] | None]:
    """Size and mtime of each file of the live generation: a few stats per call."""
    try:
        generation = current_generation(folder)
    except SdddError:
        return {}
    if generation is None:
        return {}
    try:
        names = sorted(n for n in os.listdir(generation) if n.endswith((".faiss", ".sqlite")))
    except OSError:  # (not SQLite's -wal and -shm files, which change as it is read)
        return {}
    return {name: _stamp(generation / name) for name in names}


class Workspace:
    """One repository: its config, its model and its index, warm."""

    def __init__(self, config: Config, log: Log):
        self.config = config
        self.log = log
        self._stamp = _stamp(config.path)
        self._fingerprint: str | None = None
        self._encoder: Ensemble | None = None
        self._queries: QueryEncoder | None = None
        self._store: Store | None = None
        self._tree: TreeStamp | None = None  # what the last fresh check saw
        self._files: dict[str, tuple[int, int] | None] = {}  # the open generation's files
        self._sections: dict[str, tuple[tuple[int, int], list[Section]]] = {}
        self._reranker: tuple[Config, HttpReranker | None] | None = None  # for which config

    # --- config and model ---------------------------------------------------------------------

    def refresh_config(self) -> Config:
        """The config, read again when sddd.yaml changed (an invalid one raises, and is retried)."""
        stamp = _stamp(self.config.path)
        if stamp != self._stamp and self.config.path is not None:
            fresh = load_config(self.config.path)
            if (fresh.model, fresh.index_dir) != (self.config.model, self.config.index_dir):
                self.close()
                self._encoder, self._fingerprint, self._queries = None, None, None
            self.config, self._stamp, self._tree = fresh, stamp, None
            self.log("sddd.yaml changed: configuration read again")
        return self.config

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:  # reads the model's config files: once per model
            self._fingerprint = store_fingerprint(self.config)
        return self._fingerprint

    def encoder(self) -> Ensemble:
        if self._encoder is None:
            self._encoder = load_ensemble(self.config.model, self.config.root)
        return self._encoder

    def queries(self) -> QueryEncoder:
        """The query encoder over the warm models (their fingerprints read once, not per query)."""
        if self._queries is None:
            self._queries = QueryEncoder(self.config, self.encoder())
        self._queries.config = self.config  # targets or thresholds may have changed, not the models
        return self._queries

    def warm_up(self) -> None:
        """Load the model and open the index before the first question is asked."""
        self.encoder()
        self.store()

    # --- the index ----------------------------------------------------------------------------

    def store(self, *, build_missing: bool = False) -> Store:
        """The live index, first brought up to date if a file changed since the last call.

        A missing or corrupt index is an error with its fix (as for `sddd search`), not a
        silent rebuild (``build_missing`` builds a missing one, as `sddd check` does); a new
        generation committed by another process is picked up.
        """
        config = self.config
        store = self._store
        if store is not None and (current_generation(config.index_dir) != store.generation
                                  or _generation_stamps(config.index_dir) != self._files):
            self.close()  # another generation, or this one's files written over: open it again
            store = None
        if store is not None and self._tree is not None and self._tree.unchanged():
            return store
        tree = TreeStamp(config)
        found = discover(config)
        if store is None and build_missing and current_generation(config.index_dir) is None:
            self.log(f"no index yet at {config.relpath(config.index_dir)}: building it first")
            build_index(config, encoder=self.encoder(), notice=self.log)
        if store is None:
            store = self._open()
        if (store.fingerprint == self.fingerprint and store.lexical_version == LEXICAL_VERSION
                and is_fresh(store, found)):
            self._tree = tree.add(found)
            return store
        self.close()
        report = build_index(config, encoder=self.encoder(), notice=self.log)
        if report.written:
            self.log(f"index updated: {len(report.changed_files)} changed, {len(report.deleted_files)} "
                     f"deleted file(s), {report.embedded} chunk(s) embedded in {report.seconds:.2f} s")
        store = self._open()
        self._tree = tree.add(found) if is_fresh(store, found) else None
        return store

    def _open(self) -> Store:
        store = open_store(self.config.index_dir)
        try:
            for member in range(len(store.models) or 1):
                store.vectors(member)  # a corrupt vector file is reported now, with its fix
        except Exception:
            store.close()
            raise
        self._store = store
        self._files = _generation_stamps(self.config.index_dir)
        return store

    def forget(self) -> None:
        """After a call that moved files: look at the tree in full next time."""
        self._tree = None

    def close(self) -> None:
        self._tree = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def search(self, query: str, k: int, *, kind: str | None = None, path_glob: str | None = None,
               mode: str = "hybrid", also: Sequence[str] = ()) -> SearchResult:
        """``sddd search`` through the warm models and the open index: the same function, the
        same result, without opening the index or reading the models' files again. The index is
        freshened once the arguments are known to be good (a bad one is said before any indexing)."""
        return search(self.config, query, k, kind=kind, path_glob=path_glob, mode=mode,
                      store=self.store, queries=self.queries(), also=also, reranker=self.reranker())

    def reranker(self) -> HttpReranker | None:
        """``search.rerank``'s reranker, kept while sddd.yaml is unchanged (with the protocol
        ``auto`` found, so later searches ask the right route at once)."""
        if self._reranker is None or self._reranker[0] is not self.config:
            self._reranker = (self.config, reranker_from_config(self.config))
        return self._reranker[1]

    # --- documents ----------------------------------------------------------------------------

    def sections(self) -> list[Section]:
        """Every heading of the indexed Markdown documents (archives left out), for flag links.

        Parsed once per file version: the index's size and mtime say when to parse again.
        """
        store = self.store()
        found: list[Section] = []
        for rel, record in sorted(store.files.items()):
            if not rel.endswith(".md") or record.kind == "archive" or record.skipped:
                continue
            key = (record.size, record.mtime_ns)
            cached = self._sections.get(rel)
            if cached is None or cached[0] != key:
                try:
                    text = read_text(self.config.resolve(rel), rel)
                except InputError:
                    continue
                cached = (key, sections_of(rel, parse_markdown(text, rel)))
                self._sections[rel] = cached
            found.extend(cached[1])
        return found
