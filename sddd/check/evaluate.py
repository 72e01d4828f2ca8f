"""Run discoverability targets against the index: per-target results, aggregates and gates.

Ranks are counted in documents, not chunks: a target's rank is 1 + the number of other
documents (not expected by the target) whose best passage scores above the first passage
that matches an expected ``path`` or ``path#anchor``. Several passages of one wrong
document push the expected one down only once.

The search goes ``DEPTH`` passages deep, and to the whole index for a target not found
there, so the report gives the rank and score even of a target far beyond its ``top_k``;
passing still needs rank <= top_k and score >= min_score.

Queries are embedded through ``sddd.search.QueryEncoder``: a second run with the same
documents and targets reads every vector from the query cache and loads no model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from sddd.check.report import (
    GATES,
    CheckReport,
    Gate,
    RankedDoc,
    Suggestion,
    SuggestReport,
    Summary,
    TargetResult,
    summarise,
)
from sddd.check.targets import WRITING_TARGETS, Expected, Target, anchors_of, resolve_expected
from sddd.core.config import Config
from sddd.core.errors import UsageError
from sddd.core.yamlio import read_text
from sddd.index.encoders.base import Encoder
from sddd.index.encoders.ensemble import Ensemble
from sddd.index.indexer import as_ensemble, build_index, ensure_fresh
from sddd.index.markdown_chunks import parse_markdown
from sddd.index.ranking import Ranked, rank
from sddd.index.search import QueryEncoder
from sddd.index.store import current_generation

DEPTH = 50  # passages searched per target before falling back to the whole index
PASSAGES_PER_DOC = 10  # and at least this many per document of the largest top_k


class Passage(Protocol):
    """What a ranking holds (a StoredChunk does)."""

    path: str
    anchor: str | None
    heading: str
    line: int


def evaluate(target: Target, ranking: Sequence[tuple[float, Passage]]) -> TargetResult:
    """A target's result from one ranking of passages, best first."""
    expected_paths = {e.path for e in target.expect}
    wrong: dict[str, RankedDoc] = {}  # other documents in order of their best passage
    matched: RankedDoc | None = None
    runner_up: RankedDoc | None = None
    for score, passage in ranking:
        if matched is None and any(e.matches(passage.path, passage.anchor) for e in target.expect):
            matched = RankedDoc(len(wrong) + 1, score, passage.path, passage.anchor,
                                passage.heading, passage.line)
            continue
        if passage.path in expected_paths or passage.path in wrong:
            continue
        doc = RankedDoc(len(wrong) + 1 + (matched is not None), score, passage.path, passage.anchor,
                        passage.heading, passage.line)
        wrong[passage.path] = doc
        if matched is not None:
            runner_up = doc
            break
    best_wrong = next(iter(wrong.values()), None)
    if matched is None:
        reason = "no passage of the expected document is in the index"
        return TargetResult(target, False, None, None, None, best_wrong, None, None, reason)
    if matched.rank > 1:
        margin: float | None = matched.score - best_wrong.score if best_wrong else None
        best_wrong_above: RankedDoc | None = best_wrong
        runner_up = None
    else:
        margin = matched.score - runner_up.score if runner_up else None
        best_wrong_above = None
    reasons = []
    if matched.rank > target.top_k:
        reasons.append(f"rank {matched.rank} > top_k {target.top_k}")
    if matched.score < target.min_score:
        reasons.append(f"score {matched.score:.4f} < min_score {target.min_score:g}")
    return TargetResult(target, not reasons, matched.rank, matched.score, matched, best_wrong_above,
                        runner_up, margin, "; ".join(reasons) or "ok")


def apply_gates(summary: Summary, thresholds: dict[str, float]) -> list[Gate]:
    gates = []
    for name, threshold in thresholds.items():
        if name not in GATES:
            raise UsageError(f"unknown gate {name!r}; known gates: {', '.join(GATES)}")
        value = getattr(summary, name)
        gates.append(Gate(name, threshold, value, value is not None and value >= threshold))
    return gates


def _rankings(config: Config, targets: Sequence[Target], encoder: Encoder | Ensemble | None,
              notice: Callable[[str], None] | None) -> tuple[list[TargetResult], bool]:
    if current_generation(config.index_dir) is None:
        # A fresh clone (the usual CI case) has no index yet: build it rather than fail.
        if notice:
            notice(f"No index yet at {config.relpath(config.index_dir)}: building it first.")
        build_index(config)
    store = ensure_fresh(config, notice)
    try:
        indexed = {path: record.skipped for path, record in store.files.items()}
        resolve_expected(config, list(targets), indexed)
        queries = QueryEncoder(config, as_ensemble(config, encoder))
        texts = [t.query for t in targets]
        vectors = queries.encode(texts)
        depth = max([DEPTH, *(t.top_k * PASSAGES_PER_DOC for t in targets)])
        results = [evaluate(t, _scored(ranked))
                   for t, ranked in zip(targets, rank(store, vectors, texts, depth), strict=True)]
        missing = [i for i, r in enumerate(results) if r.rank is None]
        if missing and store.count > depth:
            deeper = rank(store, [v[missing] for v in vectors], [texts[i] for i in missing], store.count)
            for i, ranked in zip(missing, deeper, strict=True):
                results[i] = evaluate(targets[i], _scored(ranked))
        return results, queries.model_loaded
    finally:
        store.close()


def _scored(ranked: list[Ranked]) -> list[tuple[float, Passage]]:
    return [(r.score, r.chunk) for r in ranked]


def run_checks(
    config: Config,
    targets: Sequence[Target],
    *,
    gates: dict[str, float] | None = None,
    encoder: Encoder | Ensemble | None = None,
    notice: Callable[[str], None] | None = None,
) -> CheckReport:
    """Check ``targets`` against the index (brought up to date first)."""
    started = time.perf_counter()
    if not targets:
        raise UsageError("no targets to check: add some under `targets:` in sddd.yaml "
                         f"or pass --targets FILE (see {WRITING_TARGETS})")
    results, loaded = _rankings(config, targets, encoder, notice)
    summary = summarise(results)
    return CheckReport(results, summary, apply_gates(summary, gates or {}), loaded,
                       time.perf_counter() - started)


def candidate_queries(config: Config, rel: str) -> list[tuple[str, str, str | None]]:
    """(query, source, anchor): a document's title, then its headings, without repeats."""
    if rel.endswith(".md"):
        doc = parse_markdown(read_text(config.resolve(rel), rel), rel)
        found: list[tuple[str, str, str | None]] = [(doc.title, "title", None)] if doc.title else []
        found += [(s.title, "heading", s.anchor) for s in doc.sections if s.level and s.title]
    else:
        found = [(Path(rel).stem.replace("-", " "), "title", None)]
        found += [(f"{name} service", "heading", name) for name in anchors_of(config, rel)]
    seen: set[str] = set()
    out = []
    for query, source, anchor in found:
        key = query.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append((query.strip(), source, anchor))
    return out


def suggest(config: Config, path: str, targets: Sequence[Target], *,
            encoder: Encoder | Ensemble | None = None,
            notice: Callable[[str], None] | None = None) -> SuggestReport:
    """Queries a writer could adopt as targets for ``path``, with the rank and score they reach now."""
    rel = config.relpath(Path(path).resolve()) if Path(path).exists() else path.removeprefix("./")
    if not config.resolve(rel).is_file():
        raise UsageError(f"{path} does not exist; pass a document of the index to --suggest")
    existing = [t.id for t in targets if any(e.path == rel for e in t.expect)]
    found = candidate_queries(config, rel)
    # A heading's query is measured against that section (path#anchor), as a target would be.
    probes = [Target(f"suggest-{i + 1}", query, [Expected(rel, anchor)], config.min_score,
                     config.top_k, source=rel) for i, (query, _s, anchor) in enumerate(found)]
    if not probes:
        return SuggestReport(rel, existing, [])
    results, loaded = _rankings(config, probes, encoder, notice)
    suggestions = [Suggestion(q, s, a, r) for (q, s, a), r in zip(found, results, strict=True)]
    return SuggestReport(rel, existing, suggestions, loaded)
