"""sddd.checks: targets run against a real index built with the real model."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sddd.check import evaluate as checks
from sddd.check.evaluate import apply_gates, evaluate, run_checks, suggest, summarise
from sddd.check.targets import Expected, Target, load_targets
from sddd.core.errors import UsageError
from sddd.index.indexer import build_index
from tests.fixtures.corpora import CHECK_CONFIG, PORT_QUERY
from tests.fixtures.corpora import CHECK_CORPUS as CORPUS

CONFIG = CHECK_CONFIG


@pytest.fixture
def repo(make_repo, encoder):
    config = make_repo(CORPUS, CONFIG)
    build_index(config, encoder=encoder)
    return config


def target(query: str, *expect: str, min_score: float = 0.3, top_k: int = 3) -> Target:
    parsed = [Expected(*e.split("#", 1)) if "#" in e else Expected(e) for e in expect]
    return Target(query[:20], query, parsed, min_score, top_k)


def test_pass(repo, encoder):
    report = run_checks(repo, [target(PORT_QUERY, "docs/guides/ports.md")], encoder=encoder)
    (result,) = report.results
    assert result.passed and report.passed and result.reason == "ok"
    assert result.rank == 1 and result.best_wrong is None
    assert result.matched.anchor == "which-port-the-medium-server-listens-on"
    assert result.score > 0.5
    # At rank 1 the margin is over the runner-up, another document.
    assert result.runner_up is not None and result.runner_up.path != "docs/guides/ports.md"
    assert result.margin == pytest.approx(result.score - result.runner_up.score)
    assert result.margin > 0


def test_fail_by_rank_names_the_winner(repo, encoder):
    wrong = target(PORT_QUERY, "docs/guides/caching.md", min_score=-1.0, top_k=1)
    (result,) = run_checks(repo, [wrong], encoder=encoder).results
    assert not result.passed and result.rank > 1
    assert "rank" in result.reason and "score" not in result.reason
    assert result.best_wrong.path == "docs/guides/ports.md" and result.best_wrong.rank == 1
    assert result.margin == pytest.approx(result.score - result.best_wrong.score) and result.margin < 0


def test_fail_by_score(repo, encoder):
    # The page ranked first by every ranking scores 1.0; the one below it less, whatever its rank.
    strict = target(PORT_QUERY, "docs/guides/memory.md", min_score=0.99)
    (result,) = run_checks(repo, [strict], encoder=encoder).results
    assert result.rank <= 3 and result.score < 0.99 and not result.passed
    assert result.reason.startswith("score ") and "min_score 0.99" in result.reason


def test_any_of_several_expected_documents_is_a_hit(repo, encoder):
    both = target(PORT_QUERY, "docs/guides/caching.md", "docs/guides/ports.md", top_k=1)
    (result,) = run_checks(repo, [both], encoder=encoder).results
    assert result.passed and result.rank == 1 and result.matched.path == "docs/guides/ports.md"


def test_anchor_must_match_the_heading(repo, encoder):
    firewall = target("firewall rules to block the ports from the internet",
                      "docs/guides/ports.md#firewall-rules")
    (result,) = run_checks(repo, [firewall], encoder=encoder).results
    assert result.passed and result.matched.anchor == "firewall-rules"
    # The other section of the same page does not count as the answer, nor as a wrong document.
    other = target(PORT_QUERY, "docs/guides/ports.md#firewall-rules", min_score=-1.0)
    (result,) = run_checks(repo, [other], encoder=encoder).results
    assert result.matched.anchor == "firewall-rules"
    assert result.best_wrong is None or result.best_wrong.path != "docs/guides/ports.md"


def test_rank_reported_beyond_the_search_depth(repo, encoder, monkeypatch):
    monkeypatch.setattr(checks, "DEPTH", 1)
    monkeypatch.setattr(checks, "PASSAGES_PER_DOC", 1)
    far = target(PORT_QUERY, "docs/reports/2025-10-01-benchmark.md", min_score=-1.0, top_k=1)
    (result,) = run_checks(repo, [far], encoder=encoder).results
    assert result.rank is not None and result.rank > 1 and result.score is not None
    assert not result.passed and "rank" in result.reason


def test_second_run_loads_no_model(repo):
    targets = [target(PORT_QUERY, "docs/guides/ports.md")]
    first = run_checks(repo, targets)
    assert first.model_loaded
    second = run_checks(repo, targets)
    assert not second.model_loaded
    assert second.results[0].score == pytest.approx(first.results[0].score, abs=1e-6)


def test_gates(repo, encoder):
    targets = [target(PORT_QUERY, "docs/guides/ports.md"),
               target(PORT_QUERY, "docs/guides/caching.md", min_score=-1.0, top_k=5)]
    report = run_checks(repo, targets, encoder=encoder, gates={"mrr_at_k": 0.99})
    (gate,) = report.gates
    assert gate.value == pytest.approx(report.summary.mrr_at_k) and gate.value < 0.99
    assert not gate.passed and not report.passed
    assert all(r.passed for r in report.results)
    with pytest.raises(UsageError, match="unknown gate"):
        apply_gates(report.summary, {"precision": 0.5})


def test_no_targets_is_a_usage_error(repo):
    with pytest.raises(UsageError, match="no targets"):
        run_checks(repo, [])


def test_missing_index_is_built_first(make_repo, encoder):
    config = make_repo(CORPUS, CONFIG + "targets:\n  - query: ports\n    expect: docs/guides/ports.md\n")
    report = run_checks(config, load_targets(config), encoder=encoder)
    assert len(report.results) == 1 and (config.index_dir / "CURRENT").is_file()


def test_suggest_proposes_title_and_headings(repo, encoder):
    report = suggest(repo, str(repo.root / "docs/guides/memory.md"), [], encoder=encoder)
    assert report.path == "docs/guides/memory.md" and report.targets == []
    queries = [s.query for s in report.suggestions]
    assert queries == ["GPU memory", "Why gpu-memory-utilization is 0.85", "CUDA out of memory"]
    assert report.suggestions[0].anchor is None
    assert report.suggestions[2].anchor == "cuda-out-of-memory"
    for s in report.suggestions:
        assert s.result.rank is not None and -1.0 <= s.result.score <= 1.0
    assert report.suggestions[0].result.rank == 1
    with pytest.raises(UsageError, match="does not exist"):
        suggest(repo, "docs/guides/nope.md", [], encoder=encoder)


# --- a hand-made ranking: evaluate and aggregates against hand-computed values ----------


@dataclass
class P:
    path: str
    anchor: str | None = None
    heading: str = "h"
    line: int = 1


def t(expect: str, top_k: int = 3, min_score: float = 0.0) -> Target:
    path, _, anchor = expect.partition("#")
    return Target(expect, "q", [Expected(path, anchor or None)], min_score, top_k)


RANKING = [(0.9, P("a.md", "x")), (0.8, P("a.md", "y")), (0.7, P("b.md")), (0.6, P("c.md", "z")),
           (0.5, P("b.md", "w")), (0.4, P("d.md")), (0.3, P("e.md"))]


def test_document_level_ranks():
    by_doc = {e: evaluate(t(e, top_k=10), RANKING) for e in ("a.md", "b.md", "c.md", "d.md", "e.md")}
    assert [by_doc[e].rank for e in ("a.md", "b.md", "c.md", "d.md", "e.md")] == [1, 2, 3, 4, 5]
    d = by_doc["d.md"]
    assert d.best_wrong.path == "a.md" and d.margin == pytest.approx(0.4 - 0.9)
    assert by_doc["a.md"].runner_up.path == "b.md" and by_doc["a.md"].margin == pytest.approx(0.2)
    # An anchor: a.md's other sections do not push a.md#y down, nor count as wrong documents.
    y = evaluate(t("a.md#y"), RANKING)
    assert y.rank == 1 and y.score == pytest.approx(0.8) and y.best_wrong is None
    w = evaluate(t("b.md#w"), RANKING)  # b.md's own first passage (0.7) is not the anchor
    assert w.rank == 3 and w.score == pytest.approx(0.5)
    assert w.best_wrong.path == "a.md"
    missing = evaluate(t("f.md"), RANKING)
    assert missing.rank is None and not missing.passed and missing.best_wrong.path == "a.md"


def test_aggregates_match_hand_computed_values():
    targets = [t("a.md", top_k=1), t("c.md", top_k=3), t("d.md", top_k=3), t("b.md#w", top_k=5),
               t("e.md", top_k=5, min_score=0.35), t("f.md")]
    results = [evaluate(x, RANKING) for x in targets]
    # ranks: 1 (k1), 3 (k3), 4 (k3: miss), 3 (k5), 5 (k5, score 0.3 < 0.35), None
    assert [r.rank for r in results] == [1, 3, 4, 3, 5, None]
    assert [r.passed for r in results] == [True, True, False, True, False, False]
    s = summarise(results)
    assert (s.targets, s.passed, s.failed) == (6, 3, 3)
    assert s.hit_at_1 == pytest.approx(1 / 6)
    assert s.hit_at_k == pytest.approx(4 / 6)  # ranks within their own k: 1, 3, 3, 5
    assert s.mrr_at_k == pytest.approx((1 + 1 / 3 + 0 + 1 / 3 + 1 / 5 + 0) / 6)
    assert s.mean_expected_score == pytest.approx((0.9 + 0.6 + 0.4 + 0.5 + 0.3) / 5)
