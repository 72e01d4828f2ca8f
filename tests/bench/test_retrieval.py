"""The retrieval harness (bench/retrieval.py): its metrics equal hand-computed values, and its
document-level counting matches `sddd check`'s. Metrics come from ir-measures (trec_eval)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "retrieval.py"


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("retrieval_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_metrics_equal_hand_computed_values(harness):
    pytest.importorskip("ir_measures", reason="ir-measures is in the test extra")
    qrels = {"q1": {"a": 2, "b": 1}, "q2": {"c": 1}, "q3": {"d": 1}}
    runs = {"q1": ["x", "b", "a"], "q2": ["c", "y"], "q3": ["p", "q", "r", "s", "t", "u", "d"]}
    got = harness.compute_metrics(qrels, runs)
    # q1: first relevant at 2; q2: at 1; q3: at 7.
    assert got["hit@1"] == pytest.approx(1 / 3)
    assert got["hit@5"] == pytest.approx(2 / 3)
    assert got["mrr@10"] == pytest.approx((1 / 2 + 1 + 1 / 7) / 3)
    # nDCG with linear gain (trec_eval): q1 = (1/log2 3 + 2/log2 4) / (2 + 1/log2 3); q2 = 1; q3 = 1/log2 8.
    import math

    q1 = (1 / math.log2(3) + 2 / math.log2(4)) / (2 + 1 / math.log2(3))
    assert got["ndcg@10"] == pytest.approx((q1 + 1 + 1 / 3) / 3)


def test_a_query_with_no_results_scores_zero(harness):
    pytest.importorskip("ir_measures", reason="ir-measures is in the test extra")
    got = harness.compute_metrics({"q1": {"a": 1}, "q2": {"b": 1}}, {"q1": ["a"], "q2": []})
    assert got["mrr@10"] == pytest.approx(0.5) and got["hit@1"] == pytest.approx(0.5)


def test_units_count_documents_once_and_sections_when_asked(harness):
    ranking = [("g.md", "x"), ("g.md", "y"), ("h.md", "a"), ("g.md", "z"), ("h.md", "b"), ("k.md", None)]
    assert harness.units(ranking, {"h.md#b": 1}) == ["g.md", "h.md", "h.md#b", "k.md"]
    assert harness.units(ranking, {"h.md": 1}) == ["g.md", "h.md", "k.md"]


def test_eval_sets_are_well_formed(harness):
    sets = [harness.load_eval_set(p) for p in sorted(BENCH.parent.glob("eval/*.yaml"))]
    assert len(sets) >= 3
    for eval_set in sets:
        assert len(eval_set.queries) >= 30, eval_set.name
        assert len({q.id for q in eval_set.queries}) == len(eval_set.queries)
        assert all(q.relevant and all(g > 0 for g in q.relevant.values()) for q in eval_set.queries)
