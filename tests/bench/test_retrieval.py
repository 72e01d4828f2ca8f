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


def test_files_rank_at_their_best_passage(harness):
    import numpy as np

    files = ["g.md", "g.md", "h.md", "g.md", "h.md", "k.md", "x.md"]
    scores = np.array([0.9, 0.8, 0.7, 0.95, 0.2, 0.1, -np.inf])
    assert harness.file_order(files, scores) == ["g.md", "h.md", "k.md"]  # -inf: not a result


def test_eval_sets_are_well_formed(harness):
    corpora = harness.load_corpora(None)
    assert {c.name for c in corpora if c.public} >= {"vllm", "kserve", "kuberay", "sglang"}
    for corpus in corpora:
        queries = corpus.queries
        assert len(queries) >= (40 if corpus.public else 30), corpus.name
        assert len({q.id for q in queries}) == len(queries), corpus.name
        assert all(q.relevant and all(g > 0 for g in q.relevant.values()) for q in queries)
        if corpus.public:
            styles = [q.style for q in queries]
            assert set(styles) <= set(harness.STYLES), corpus.name
            # a quarter in French: `fr` questions over English pages, or (otel-fr) every question
            # but the pasted ones, over French pages, each with its English version
            assert sum(1 for q in queries if q.style == "fr" or q.en) >= len(styles) / 4, corpus.name
            assert all(q.en for q in queries if q.style == "fr"), corpus.name
            built = harness.REPO / "bench" / "corpora" / corpus.name
            if (built / "corpus.json").is_file():  # materialised here: every answer is a real file
                missing = {f for q in queries for f in q.relevant if not (built / f).is_file()}
                assert not missing, (corpus.name, sorted(missing)[:5])


def test_a_twin_asks_its_corpus_questions_and_stays_out_of_the_means(harness):
    import yaml

    specs = yaml.safe_load((harness.EVAL / "corpora.yaml").read_text(encoding="utf-8"))["corpora"]
    corpora = {c.name: c for c in harness.load_corpora(None)}
    twins = {name: spec["twin_of"] for name, spec in specs.items() if spec.get("twin_of")}
    assert twins, "otel-en is otel-fr's twin"
    for twin, original in twins.items():
        assert not corpora[twin].public and corpora[original].public
        asked = {q.id.removeprefix(original): q for q in corpora[original].queries}
        assert {q.id.removeprefix(twin) for q in corpora[twin].queries} == set(asked)
        for q in corpora[twin].queries:  # the same question in English (a pasted one as it is)
            assert q.text == (asked[q.id.removeprefix(twin)].en or asked[q.id.removeprefix(twin)].text)


def test_every_corpus_is_pinned(harness):
    import yaml

    corpora = yaml.safe_load((harness.EVAL / "corpora.yaml").read_text(encoding="utf-8"))["corpora"]
    for name, spec in corpora.items():
        assert spec["repo"] and spec["commit"] and spec["globs"], name
        assert spec["repo"] not in ("vllm-project/production-stack", "huggingface/text-generation-inference")
