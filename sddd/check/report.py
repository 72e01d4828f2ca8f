"""What `sddd check` finds: per-target results, the summary, the gates, and suggestions. Plain
data, no numpy or FAISS, so that a command that only shows a report (through `sddd serve`)
imports nothing heavy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sddd.check.targets import Target

GATES = {"mrr_at_k": "MRR@k", "hit_at_1": "hit@1", "hit_at_k": "hit@k",
         "mean_expected_score": "mean expected score"}


@dataclass
class RankedDoc:
    """A document as it appears in one target's ranking: its best passage there."""

    rank: int  # document rank, 1-based
    score: float
    path: str
    anchor: str | None
    heading: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}#{self.anchor}" if self.anchor else self.path

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "score": round(self.score, 4), "path": self.path,
                "anchor": self.anchor, "heading": self.heading, "line": self.line}


@dataclass
class TargetResult:
    target: Target
    passed: bool
    rank: int | None  # None: no passage of an expected document is in the index
    score: float | None
    matched: RankedDoc | None  # the expected passage that was found
    best_wrong: RankedDoc | None  # the best other document ranked above it (None at rank 1)
    runner_up: RankedDoc | None  # the best other document ranked below it (when it is first)
    margin: float | None  # score - best_wrong (negative), or score - runner_up (positive)
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            **self.target.to_json(), "passed": self.passed, "rank": self.rank,
            "score": None if self.score is None else round(self.score, 4),
            "margin": None if self.margin is None else round(self.margin, 4),
            "reason": self.reason,
            "matched": self.matched.to_json() if self.matched else None,
            "best_wrong": self.best_wrong.to_json() if self.best_wrong else None,
            "runner_up": self.runner_up.to_json() if self.runner_up else None,
        }


@dataclass
class Summary:
    targets: int
    passed: int
    failed: int
    hit_at_1: float
    hit_at_k: float
    mrr_at_k: float
    mean_expected_score: float | None

    def to_json(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 4)

        return {"targets": self.targets, "passed": self.passed, "failed": self.failed,
                "hit_at_1": r(self.hit_at_1), "hit_at_k": r(self.hit_at_k),
                "mrr_at_k": r(self.mrr_at_k), "mean_expected_score": r(self.mean_expected_score)}


@dataclass
class Gate:
    name: str  # a Summary field: mrr_at_k, hit_at_1, hit_at_k, mean_expected_score
    threshold: float
    value: float | None
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "threshold": self.threshold,
                "value": None if self.value is None else round(self.value, 4), "passed": self.passed}

    def __str__(self) -> str:
        shown = "n/a" if self.value is None else f"{self.value:.3f}"
        return f"{GATES[self.name]} {shown} {'>=' if self.passed else '<'} {self.threshold:g}"


@dataclass
class CheckReport:
    results: list[TargetResult]
    summary: Summary
    gates: list[Gate] = field(default_factory=list)
    model_loaded: bool = False  # True when some query was not in the cache
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results) and all(g.passed for g in self.gates)


@dataclass
class Suggestion:
    query: str
    source: str  # "title" or "heading"
    anchor: str | None  # the heading's anchor, for a path#anchor target
    result: TargetResult


@dataclass
class SuggestReport:
    path: str
    targets: list[str]  # ids of the existing targets that expect this document
    suggestions: list[Suggestion]
    model_loaded: bool = False


def summarise(results: Sequence[TargetResult]) -> Summary:
    """Aggregates; hit@k and MRR@k use each target's own top_k."""
    n = len(results)
    within = [r for r in results if r.rank is not None and r.rank <= r.target.top_k]
    scores = [r.score for r in results if r.score is not None]
    passed = sum(1 for r in results if r.passed)
    return Summary(
        targets=n, passed=passed, failed=n - passed,
        hit_at_1=sum(1 for r in results if r.rank == 1) / n if n else 0.0,
        hit_at_k=len(within) / n if n else 0.0,
        mrr_at_k=sum(1.0 / r.rank for r in within if r.rank) / n if n else 0.0,
        mean_expected_score=sum(scores) / len(scores) if scores else None,
    )
