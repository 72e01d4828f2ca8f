"""An optional reranker: the top files of the fusion rescored by a model on a server, blended by
position so that exact matches keep their lead (``search.rerank`` in sddd.yaml; off by default).

The best passage of each of the first ``RERANK_FILES`` files (the fusion's order, one passage per
file) goes to the reranker, which says how relevant it is to the query, ``p`` in [0, 1]. A file at
retrieval rank ``r`` then scores ``w / r + (1 - w) * p`` with ``w`` = 0.75 for ranks 1-3, 0.6 for
4-10 and 0.4 beyond (qmd's blend, taken as it is, not fitted here); files past the reranked ones
count ``p = 0``. That value is the score shown, and the results are sorted by it, so the score
order is the ranking. The first file keeps its place whatever the reranker says (it gets at least
0.75, the second at most 0.625): a pasted flag found by BM25 stays first.

The reranker is not asked (the results are retrieval's, scores included) when it could change
nothing or the lexical side is already sure:

- fewer than two files, or one result asked for (the first file keeps its place anyway);
- the best whole-file BM25 match reaches 0.85 of the ideal score for the query and leads the next
  file by 0.15 or more (qmd's "strong signal" for skipping its query expansion, on sddd's 0-1
  BM25 scale, ``sddd.index.lexical_index``): a pasted identifier that one file holds.

A reranker that is slow, down or answers nonsense raises an ``SdddError``; the results are then
retrieval's, with one notice saying why. Search never fails because of the reranker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from sddd.core.errors import SdddError
from sddd.index.ranking import Ranked

RERANK_FILES = 30  # files whose best passage the reranker reads
SURE_SCORE = 0.85  # qmd's strong lexical signal: the best BM25 match, as a share of the ideal
SURE_GAP = 0.15  # ... and its lead over the next file
BLEND = ((3, 0.75), (10, 0.6))  # retrieval's weight up to that rank; 0.4 beyond
TAIL_WEIGHT = 0.4


class Rescorer(Protocol):
    """What reranks: a relevance in [0, 1] per passage, or an SdddError (``sddd.endpoint.rerank``)."""

    @property
    def name(self) -> str: ...

    def __call__(self, query: str, passages: Sequence[str]) -> list[float]: ...


@dataclass
class Reranked:
    """The results, reranked or not; ``notice`` says why a configured reranker was not used."""

    ranked: list[Ranked]
    notice: str | None = None
    skipped: str | None = None  # why the reranker was not asked (no notice: nothing went wrong)
    by: str | None = None  # the reranker that reordered them


def retrieval_weight(rank: int) -> float:
    """How much the retrieval rank weighs against the reranker at that rank (1-based)."""
    return next((weight for last, weight in BLEND if rank <= last), TAIL_WEIGHT)


def blended(rank: int, relevance: float) -> float:
    """The score of the file at retrieval rank ``rank`` that the reranker gave ``relevance``."""
    weight = retrieval_weight(rank)
    return weight / rank + (1.0 - weight) * relevance


def lexically_sure(ranked: Sequence[Ranked]) -> bool:
    """The best whole-file BM25 match reaches SURE_SCORE of the ideal and leads by SURE_GAP."""
    by_file: dict[str, float] = {}
    for item in ranked:
        path = item.chunk.path
        by_file[path] = max(by_file.get(path, 0.0), item.features.document)
    best = [*sorted(by_file.values(), reverse=True)[:2], 0.0]
    return best[0] >= SURE_SCORE and best[0] - best[1] >= SURE_GAP


def passage_text(item: Ranked) -> str:
    """What the reranker reads: where the passage is (its heading path), then its text."""
    chunk = item.chunk
    return f"{chunk.heading}\n\n{chunk.text}" if chunk.heading else chunk.text


def why_not_asked(ranked: Sequence[Ranked], k: int, mode: str) -> str | None:
    if len(ranked) < 2:
        return "fewer than two files"
    if k < 2:
        return "one result asked for: the first file keeps its place"
    if mode != "dense" and lexically_sure(ranked):
        return "the lexical match is sure"
    return None


def rerank(ranked: list[Ranked], query: str, rescorer: Rescorer | None, k: int,
           mode: str = "hybrid") -> Reranked:
    """The first ``k`` of ``ranked`` (files best first, one passage each), reranked by
    ``rescorer`` where it can change something (see the module docstring)."""
    if rescorer is None:
        return Reranked(ranked[:k])
    skipped = why_not_asked(ranked, k, mode)
    if skipped:
        return Reranked(ranked[:k], skipped=skipped)
    head = ranked[:RERANK_FILES]
    try:
        relevance = rescorer(query, [passage_text(item) for item in head])
    except SdddError as exc:
        return Reranked(ranked[:k], notice=f"reranker {rescorer.name} not used ({exc.message}): "
                                           "results from retrieval alone")
    if len(relevance) != len(head):  # the endpoint checks its answer; another rescorer may not
        return Reranked(ranked[:k], notice=f"reranker {rescorer.name} not used (it gave "
                                           f"{len(relevance)} scores for {len(head)} passages): "
                                           "results from retrieval alone")
    scored = [replace(item, score=blended(r, relevance[r - 1] if r <= len(head) else 0.0),
                      relevance=relevance[r - 1] if r <= len(head) else None, retrieval_rank=r)
              for r, item in enumerate(ranked, 1)]
    scored.sort(key=lambda item: -item.score)  # stable: a tie keeps retrieval's order
    return Reranked(scored[:k], by=rescorer.name)
