"""``sddd search`` as a library: a question -> ranked passages with snippets.

The query is redacted (``sddd.core.secrets``), then embedded (from the query cache when it
was seen before, so a repeated query loads no model) and ranked by ``sddd.index.ranking``
(dense, lexical, or both fused; hybrid by default). Results are filtered by kind and path and
carry a snippet around the query's words.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from sddd.core.config import Config
from sddd.core.errors import UsageError
from sddd.core.secrets import redact
from sddd.index.corpus import MANUAL_KIND, manual_config
from sddd.index.encoders.base import Encoder
from sddd.index.encoders.ensemble import Ensemble
from sddd.index.encoders.models import load_encoder, model_info
from sddd.index.indexer import build_index, ensure_fresh
from sddd.index.query_cache import QueryCache
from sddd.index.ranking import Ranked, SubQuery, rank, validate_filters
from sddd.index.rerank import RERANK_FILES, Rescorer, rerank
from sddd.index.results import Hit, SearchResult
from sddd.index.store import Store, current_generation, shared_store

SNIPPET_CHARS = 220
WORD = re.compile(r"[\w][\w\-.]*", re.UNICODE)
STOPWORDS = {"the", "a", "an", "of", "to", "in", "on", "for", "and", "or", "is", "how", "what",
             "why", "le", "la", "les", "de", "du", "des", "un", "une", "et", "ou", "en", "pour"}


MAX_SNIPPET_TERMS = 32  # a pasted page as the query: its first words place the snippet


def query_terms(query: str) -> list[str]:
    """The query's words that place a snippet, each once, the first MAX_SNIPPET_TERMS of them."""
    terms: list[str] = []
    for found in dict.fromkeys(WORD.findall(query.lower())):  # C speed, however long the query
        word = found.strip(".-")
        if word and word not in STOPWORDS and word not in terms:
            terms.append(word)
            if len(terms) == MAX_SNIPPET_TERMS:
                break
    return terms


def _occurrences(text: str, terms: Iterable[str]) -> Iterator[int]:
    for term in terms:
        at = text.find(term)
        while at >= 0:
            yield at
            at = text.find(term, at + len(term))


def make_snippet(text: str, terms: Sequence[str], width: int = SNIPPET_CHARS) -> str:
    """The window of ``text`` holding most query words, on one line."""
    flat = re.sub(r"\s+", " ", text.replace("```", " ")).strip()
    if len(flat) <= width:
        return flat
    lowered = flat.lower()
    positions = sorted(_occurrences(lowered, dict.fromkeys(terms)))
    best, best_count = 0, -1
    for start in positions or [0]:
        begin = max(0, start - 40)
        count = bisect.bisect_left(positions, begin + width) - bisect.bisect_left(positions, begin)
        if count > best_count:
            best, best_count = begin, count
    begin = flat.rfind(" ", 0, best) + 1 if best else 0
    piece = flat[begin : begin + width]
    cut = piece.rfind(" ")
    if begin + width < len(flat) and cut > width // 2:
        piece = piece[:cut]
    return ("… " if begin else "") + piece.strip() + (" …" if begin + len(piece) < len(flat) else "")


QUERY_MODEL_CHARS = 16_384  # far more than the 256 word pieces the models read


class QueryEncoder:
    """Embeds queries by every model of the index, through the cache; a model is loaded only when
    one of its queries is missing from the cache."""

    def __init__(self, config: Config, encoder: Ensemble | None = None):
        self.config = config
        self.names = list(config.model)
        self.fingerprints = [model_info(name, config.root).fingerprint for name in self.names]
        self.cache = QueryCache(config.index_dir)
        self.members: list[Encoder | None] = list(encoder.members) if encoder else [None] * len(self.names)
        self.model_loaded = False

    def encode(self, queries: list[str]) -> list[np.ndarray]:
        """One array per model: row q is query q's vector."""
        # The index holds no secret, so a token in a query can match nothing: embed the
        # query without it, and the cache (keyed by a hash) never sees it either.
        # The models read a few hundred word pieces; tokenising a pasted megabyte to keep them
        # would cost a minute, so only the query's head goes to the model.
        queries = [redact(q)[:QUERY_MODEL_CHARS] for q in queries]
        return [self._encode(member, queries) for member in range(len(self.names))]

    def _encode(self, member: int, queries: list[str]) -> np.ndarray:
        fingerprint = self.fingerprints[member]
        cached = self.cache.get_many(fingerprint, queries)
        missing = [q for q in dict.fromkeys(queries) if q not in cached]
        if missing:
            encoder = self.members[member]
            if encoder is None:
                encoder = self.members[member] = load_encoder(self.names[member], self.config.root)
                self.model_loaded = True
            # Models that embed queries differently from passages (e5's "query: ") say so.
            encode = getattr(encoder, "encode_queries", None) or encoder.encode
            new = dict(zip(missing, encode(missing), strict=True))
            self.cache.put_many(fingerprint, new)
            cached.update(new)
        return np.stack([cached[q] for q in queries]).astype(np.float32)


def hit(position: int, ranked: Ranked, terms: list[str], models: list[str]) -> Hit:
    """A ranked passage as search shows it."""
    chunk = ranked.chunk
    return Hit(rank=position, score=ranked.score, path=chunk.path, anchor=chunk.anchor,
               heading=chunk.heading, kind=chunk.kind, line=chunk.line,
               snippet=make_snippet(chunk.text, terms), terms=terms, dense_rank=ranked.dense_rank,
               lexical_rank=ranked.lexical_rank, lexical_score=ranked.lexical_score, fused=ranked.fused,
               cosines=dict(zip(models, ranked.features.dense, strict=False)),
               document_score=ranked.features.document, file_ranks=dict(ranked.file_ranks or {}),
               relevance=ranked.relevance, retrieval_rank=ranked.retrieval_rank)


SUBQUERY_KINDS = {"lex": "lexical", "vec": "dense", "hyde": "dense"}
MAX_SUBQUERIES = 8


def parse_also(also: Sequence[str]) -> list[tuple[str, str]]:
    """``lex:words``, ``vec:a rephrasing`` or ``hyde:a hypothetical answer`` -> (text, mode); a
    sub-query without a type is a rephrasing (``vec:``)."""
    if len(also) > MAX_SUBQUERIES:
        raise UsageError(f"at most {MAX_SUBQUERIES} sub-queries; got {len(also)}", option="also")
    out = []
    for item in also:
        kind, sep, text = item.partition(":")
        if not sep or kind.strip().lower() not in SUBQUERY_KINDS:
            kind, text = "vec", item
        text = redact(text).strip()
        if not text:
            raise UsageError(f"{item!r} has no text after its type; write e.g. 'vec:how is X set'",
                             option="also")
        out.append((text, SUBQUERY_KINDS[kind.strip().lower()]))
    return out


def checked_query(query: str, k: int, kind: str | None, mode: str, *, max_chars: int) -> str:
    """The query as it is searched (redacted), once the arguments are known to be valid.

    ``max_chars`` (``limits.query_chars``) is checked first: a 1 MB query took 8 s of CPU in
    redaction and lexical clauses before the model, which reads 256 word pieces anyway."""
    if len(query) > max_chars:
        raise UsageError(f"the query is {len(query):,} characters, more than {max_chars:,} "
                         "(limits.query_chars in sddd.yaml); search for a shorter passage")
    if not query.strip():
        raise UsageError("the query is empty; say what you are looking for")
    if not any(char.isalnum() for char in query):  # '?!...' would rank passages at random
        raise UsageError(f"the query {query!r} has no word in it; say what you are looking for")
    if k < 1:
        raise UsageError(f"must be at least 1; got {k}", option="k")
    validate_filters(kind, mode)
    return redact(query)  # what is searched, cached and shown back holds no secret


def search(
    config: Config,
    query: str,
    k: int = 5,
    *,
    kind: str | None = None,
    path_glob: str | None = None,
    mode: str = "hybrid",
    refresh: bool = True,
    notice: Callable[[str], None] | None = None,
    store: Store | Callable[[], Store] | None = None,
    queries: QueryEncoder | None = None,
    also: Sequence[str] = (),
    build_missing: bool = False,
    reranker: Rescorer | None = None,
) -> SearchResult:
    """Search the index (brought up to date first unless ``refresh`` is False).

    A long-lived caller (``sddd.resident.warm``) passes its open ``store``, already fresh (or
    the function that freshens it, called once the arguments are known to be good), which is left
    open, and its ``queries`` encoder, whose models stay loaded. ``also`` are the
    caller's own sub-queries (``parse_also``), fused with the query, which weighs twice as much.
    Each file shows its best passage: ``k`` results are ``k`` files. ``build_missing``: no index
    yet (a fresh clone), build it first, as `check` and `site build` do, rather than fail.
    ``reranker`` (built from ``search.rerank`` by ``sddd.endpoint.rerank``) rescores the first
    files (``sddd.index.rerank``); when it fails, the result says so in ``notice`` and holds
    retrieval's ranking.
    """
    query = checked_query(query, k, kind, mode, max_chars=config.section("limits")["query_chars"])
    if build_missing and current_generation(config.index_dir) is None:
        if notice:
            notice(f"No index yet at {config.relpath(config.index_dir)}: building it first.")
        build_index(config)
    if kind == MANUAL_KIND:  # sddd's manual: its own index, never the repository's store
        return _search_manual(config, query, k, path_glob, mode, notice, queries, reranker)
    subs = parse_also(also)
    if callable(store):
        store = store()
    own = store is None
    if store is None:
        store = ensure_fresh(config, notice) if refresh else shared_store(config.index_dir)
    try:
        encoder = queries or QueryEncoder(config)
        vectors = encoder.encode([query])
        also_q = _embedded_subqueries(encoder, subs)
        depth = max(k, RERANK_FILES) if reranker is not None else k
        ranked = rank(store, vectors, [query], depth, kind=kind, path_glob=path_glob, mode=mode,
                      per_file=1, also=[also_q])[0]
        models = store.models
    finally:
        if own:
            store.close()
    reranked = rerank(ranked, query, reranker, k, mode)
    terms = query_terms(query)
    hits = [hit(i + 1, r, terms, models) for i, r in enumerate(reranked.ranked)]
    return SearchResult(query=query, results=hits, mode=mode, notice=reranked.notice, reranked=reranked.by,
                        rerank_skipped=reranked.skipped)


def _embedded_subqueries(encoder: QueryEncoder, subs: Sequence[tuple[str, str]]) -> list[SubQuery]:
    """The sub-queries of ``--also``, the dense ones embedded together in one call."""
    dense = [text for text, sub_mode in subs if sub_mode == "dense"]
    sub_vectors = encoder.encode(dense) if dense else []
    out: list[SubQuery] = []
    row = 0
    for text, sub_mode in subs:
        embedded = [v[row] for v in sub_vectors] if sub_mode == "dense" else []
        row += sub_mode == "dense"
        out.append(SubQuery(text, sub_mode, embedded))
    return out


def _search_manual(config: Config, query: str, k: int, path_glob: str | None, mode: str,
                   notice: Callable[[str], None] | None, queries: QueryEncoder | None,
                   reranker: Rescorer | None) -> SearchResult:
    """``--kind manual``: sddd's manual, indexed on first use into ``<index>/manual``."""
    manual = manual_config(config)
    if current_generation(manual.index_dir) is None:
        if notice:
            notice(f"indexing sddd's manual into {config.relpath(manual.index_dir)} (once)")
        build_index(manual, notice=notice)
    return search(manual, query, k, path_glob=path_glob, mode=mode, notice=notice, queries=queries,
                  reranker=reranker)
