"""What a search returns: passages with their score, location and snippet. Plain data, no numpy,
so that a command that only shows results (through `sddd serve`) imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Hit:
    rank: int
    score: float
    path: str
    anchor: str | None
    heading: str
    kind: str
    line: int
    snippet: str
    terms: list[str] = field(default_factory=list, repr=False)
    dense_rank: int | None = field(default=None, repr=False)
    lexical_rank: int | None = field(default=None, repr=False)
    lexical_score: float | None = field(default=None, repr=False)
    fused: float | None = field(default=None, repr=False)
    cosines: dict[str, float] = field(default_factory=dict, repr=False)  # model -> cosine
    document_score: float | None = field(default=None, repr=False)  # the file's BM25 / ideal
    file_ranks: dict[str, int] = field(default_factory=dict, repr=False)  # list -> the file's rank
    relevance: float | None = field(default=None, repr=False)  # the reranker's, 0-1
    retrieval_rank: int | None = field(default=None, repr=False)  # the rank before the reranker

    def to_json(self, explain: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"rank": self.rank, "score": round(self.score, 4), "path": self.path,
                                "anchor": self.anchor, "heading": self.heading, "kind": self.kind,
                                "line": self.line, "snippet": self.snippet}
        if explain:
            data.update(dense_rank=self.dense_rank, lexical_rank=self.lexical_rank,
                        lexical_score=None if self.lexical_score is None else round(self.lexical_score, 4),
                        fused_score=None if self.fused is None else round(self.fused, 6),
                        cosines={m: round(c, 4) for m, c in self.cosines.items()},
                        document_score=None if self.document_score is None else round(self.document_score, 4),
                        file_ranks=self.file_ranks)
            if self.retrieval_rank is not None:
                data.update(retrieval_rank=self.retrieval_rank,
                            relevance=None if self.relevance is None else round(self.relevance, 4))
        return data


@dataclass
class SearchResult:
    query: str
    results: list[Hit]
    mode: str = "hybrid"
    notice: str | None = None  # why a configured reranker was not used (one line)
    reranked: str | None = None  # the reranker that reordered these results
    rerank_skipped: str | None = None  # why a configured reranker was not asked (nothing wrong)

    def to_json(self, explain: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"query": self.query, "results": [h.to_json(explain) for h in self.results]}
        if self.notice:
            data["notice"] = self.notice
        if explain:
            data["mode"] = self.mode
            if self.reranked:
                data["reranked_by"] = self.reranked
            if self.rerank_skipped:
                data["rerank_skipped"] = self.rerank_skipped
        return data
