"""Lexical search: identifier-aware tokenisation, accent folding, exact identifiers, and hybrid
ranking on a real index (real FTS5 table, real FAISS vectors, the real bundled model)."""

from __future__ import annotations

import json

import pytest

from sddd.core.errors import UsageError
from sddd.index import draft, indexer
from sddd.index.indexer import build_index
from sddd.index.lexical import index_text, match_expression, parts
from sddd.index.search import search
from sddd.index.store import embed_text, open_store
from tests.helpers import sddd_here

FILES = {
    "docs/guides/gpu.md": """
        # GPU problems

        ## Container sees no GPU

        The log shows `libcuda.so.1: cannot open shared object file` and then
        `RuntimeError: Failed to infer device type`: the container was started without a GPU.

        ## Driver library versions

        The libcuda library of the host driver is mounted into the container; `libcuda.so` links
        to the versioned file. The so-called driver library path is set by the toolkit, and so on.
        """,
    "docs/guides/models.md": """
        # Models

        ## The medium model

        Medium serves Qwen3-32B-AWQ with tensor parallelism over two GPUs.

        ## Other sizes

        Mini serves Qwen3-8B-AWQ; an older note named a 32B model in FP8 and AWQ kernels for 8B.
        """,
    "docs/guides/tools.md": """
        # Tool calling

        ## Why the tool-call parser is hermes

        Qwen3 writes tool calls between tool_call tags; `--tool-call-parser hermes` with
        `--enable-auto-tool-choice` turns them into `tool_calls` in the response.
        """,
    "docs/guides/memoire.md": """
        # Mémoire du GPU

        ## Réserver la mémoire

        Le déploiement réserve 85 % de la mémoire de chaque carte : à 95 % le serveur plantait.
        """,
}


@pytest.fixture
def indexed(make_repo, encoder):
    config = make_repo(FILES)
    build_index(config, encoder=encoder)
    return config


def lexical_targets(config, query: str) -> list[str]:
    s = open_store(config.index_dir)
    try:
        hits = s.lexical.search("passages", query, 10)
        by_id = {c.id: c for c in s.chunks([cid for cid, _ in hits])}
        return [by_id[cid].target for cid, _ in hits]
    finally:
        s.close()


def test_identifiers_are_indexed_whole_and_in_parts():
    text = index_text("Set --gpu-memory-utilization for Qwen3-32B-AWQ; libcuda.so.1 is missing; maxModelLen")
    extra = text.splitlines()[-1].split()
    assert {"gpumemoryutilization", "qwen332bawq", "libcudaso1", "maxmodellen"} <= set(extra)
    assert {"max", "model", "len"} <= set(extra)  # camelCase parts are added; dashed parts are in the text
    assert parts("--tool-call-parser") == ["tool", "call", "parser"]
    assert index_text("plain words only") == "plain words only"


def test_query_expression_asks_for_identifier_whole_or_as_phrase_and_quotes_operators():
    expression = match_expression("why libcuda.so.1 NEAR missing*")
    assert expression == '("libcudaso1" OR "libcuda so 1") OR "near" OR "missing"'
    assert match_expression("the of le la") is None


def test_lexical_finds_exact_identifiers_first(indexed):
    assert lexical_targets(indexed, "libcuda.so.1")[0] == "docs/guides/gpu.md#container-sees-no-gpu"
    assert lexical_targets(indexed, "Qwen3-32B-AWQ")[0] == "docs/guides/models.md#the-medium-model"
    tools = "docs/guides/tools.md#why-the-tool-call-parser-is-hermes"
    assert lexical_targets(indexed, "--tool-call-parser")[0] == tools
    # Operators typed by a person are words, not FTS5 syntax errors.
    assert lexical_targets(indexed, 'AND OR NOT "quoted" NEAR(x y) col:value *') == []


def test_lexical_folds_french_accents_and_inflections(indexed):
    assert lexical_targets(indexed, "memoire deploiement")[0] == "docs/guides/memoire.md#reserver-la-memoire"
    assert lexical_targets(indexed, "RÉSERVER LA MÉMOIRE")[0] == "docs/guides/memoire.md#reserver-la-memoire"


def test_hybrid_ranks_an_identifier_query_and_a_paraphrase_query_right(indexed):
    identifier = search(indexed, "libcuda.so.1", k=3, refresh=False)
    assert identifier.results[0].anchor == "container-sees-no-gpu"
    paraphrase = search(indexed, "the graphics card was invisible inside docker", k=3, refresh=False)
    assert paraphrase.results[0].anchor == "container-sees-no-gpu"
    paraphrase = search(indexed, "how do function invocations get parsed out of the reply", k=3,
                        refresh=False)  # no word in common: the dense side alone decides
    assert paraphrase.results[0].path == "docs/guides/tools.md"
    model_id = search(indexed, "Qwen3-32B-AWQ", k=3, refresh=False)
    assert model_id.results[0].anchor == "the-medium-model"
    # Each hit carries the cosines that ranked it, whatever the mode.
    dense = {h.anchor: h.cosines for h in search(indexed, "libcuda.so.1", k=10, mode="dense",
                                                   refresh=False).results}
    shared = [hit for hit in identifier.results if hit.anchor in dense]  # a file shows its best passage
    assert shared
    for hit in shared:
        assert hit.cosines == pytest.approx(dense[hit.anchor], abs=1e-5)
    assert all(hit.fused is not None for hit in identifier.results)


def test_lexical_scores_on_the_ideal_scale(indexed):
    s = open_store(indexed.index_dir)
    try:
        # A passage holding every term of the query scores close to the ideal; one that holds a
        # single common word of a long question scores a small share of it, though it ranks first.
        full = "libcuda.so.1 cannot open shared object"
        ideal = s.lexical.ideal("passages", full)
        best = s.lexical.search("passages", full, 5)
        assert ideal > 0 and all(score <= ideal + 1e-9 for _, score in best)
        assert best[0][1] / ideal > 0.6
        weak = "which sizes could we deploy if the budget allowed another card"
        weak_best = s.lexical.search("passages", weak, 1)
        assert weak_best and weak_best[0][1] / s.lexical.ideal("passages", weak) < 0.5
        assert s.lexical.ideal("passages", "the of le la") == 0.0
    finally:
        s.close()


def test_hybrid_hits_carry_the_features_that_ranked_them(indexed, encoder):
    """Each feature a hit reports is the real one, recomputed here from its parts: the cosine of
    every model (query and passage embedded again) and the passage's BM25 / ideal BM25."""
    query = "libcuda.so.1"
    s = open_store(indexed.index_dir)
    try:
        ideal = s.lexical.ideal("passages", query)
        bm25 = {cid: min(score / ideal, 1.0) for cid, score in s.lexical.search("passages", query, 10)}
        texts = {c.target: embed_text(c) for c in s.chunks()}
        ids = {c.target: c.id for c in s.chunks()}
    finally:
        s.close()
    hits = search(indexed, query, k=5, refresh=False).results
    assert hits[0].anchor == "container-sees-no-gpu"
    for hit in hits:
        target = f"{hit.path}#{hit.anchor}" if hit.anchor else hit.path
        for member in encoder.members:
            expected = float(member.encode([query])[0] @ member.encode([texts[target]])[0])
            assert hit.cosines[member.name] == pytest.approx(expected, abs=1e-4), (member.name, target)
        assert (hit.lexical_score or 0.0) == pytest.approx(bm25.get(ids[target], 0.0), abs=1e-6)
        assert 0.0 < hit.score <= 1.0
    # Sorted by the fused score, and the 0-1 score grows with it.
    assert [h.fused for h in hits] == sorted((h.fused for h in hits), reverse=True)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_modes_and_filters(indexed):
    lexical = search(indexed, "hermes", k=5, mode="lexical", refresh=False).results
    assert [h.path for h in lexical] == ["docs/guides/tools.md"]  # lexical mode: only matching passages
    only_models = search(indexed, "libcuda.so.1", k=5, path_glob="docs/guides/models.md", refresh=False)
    assert only_models.results and all(h.path == "docs/guides/models.md" for h in only_models.results)
    with pytest.raises(UsageError, match="mode: must be one of hybrid, dense, lexical"):
        search(indexed, "x", mode="bm25")


def test_cli_mode_and_explain(indexed):
    proc = sddd_here("search", "Qwen3-32B-AWQ", "--json", "--explain", "-k", "2", cwd=indexed.root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mode"] == "hybrid"
    top = data["results"][0]
    assert top["anchor"] == "the-medium-model" and top["lexical_rank"] == 1 and top["fused_score"] > 0
    assert top["file_ranks"]["files"] == 1 and set(top["file_ranks"]) >= {"files", "passages"}
    proc = sddd_here("search", "x", "--mode", "fuzzy", cwd=indexed.root)
    assert proc.returncode == 2 and "--mode must be one of" in proc.stderr


def test_lexical_table_follows_incremental_updates(indexed, encoder):
    path = indexed.root / "docs/guides/models.md"
    path.write_text(path.read_text().replace("Qwen3-32B-AWQ", "Qwen3-14B-AWQ"), encoding="utf-8")
    report = build_index(indexed, encoder=encoder)
    assert report.embedded == 1  # only the changed section
    assert lexical_targets(indexed, "Qwen3-14B-AWQ")[0] == "docs/guides/models.md#the-medium-model"
    assert "docs/guides/models.md#the-medium-model" not in lexical_targets(indexed, "Qwen3-32B-AWQ")


def test_new_lexical_version_retokenises_without_embedding(indexed, encoder, monkeypatch):
    monkeypatch.setattr(indexer, "LEXICAL_VERSION", "test-next")
    monkeypatch.setattr(draft, "LEXICAL_VERSION", "test-next")
    report = build_index(indexed, encoder=encoder)
    assert report.written and report.embedded == 0 and report.reused == report.chunks
    assert open_store(indexed.index_dir).lexical_version == "test-next"
    assert lexical_targets(indexed, "libcuda.so.1")[0] == "docs/guides/gpu.md#container-sees-no-gpu"
