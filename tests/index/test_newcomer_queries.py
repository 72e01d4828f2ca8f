"""A newcomer's questions on the repository's own docs and profiles rank the page that answers
first (issue 25: a common word such as "turn" or "utilise" used to carry a page)."""

from __future__ import annotations

import shutil

import pytest

from sddd.core.config import load_config
from sddd.index.indexer import build_index
from sddd.index.search import search
from tests.helpers import REPO

PORT_PAGES = {"profiles/mini.yml", "profiles/medium.yml", "docs/guides/troubleshooting.md",
              "docs/guides/configuration.md"}


@pytest.fixture(scope="module")
def own_docs(tmp_path_factory, encoder):
    """A copy of the repository's docs/ and profiles/ with its sddd.yaml, indexed."""
    root = tmp_path_factory.mktemp("own")
    for folder in ("docs", "profiles"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copy2(REPO / "sddd.yaml", root / "sddd.yaml")
    config = load_config(root / "sddd.yaml")
    build_index(config, encoder=encoder)
    return config


def test_turn_on_tool_calling_finds_a_tool_calling_page_not_the_grid_search(own_docs):
    hits = search(own_docs, "how do I turn on tool calling", k=5, refresh=False).results
    assert hits[0].path != "docs/guides/optimization.md"
    assert "tool" in hits[0].heading.lower(), hits[0]  # the passage shown is about tool calling
    assert hits[0].path in {"docs/guides/deployment.md", "docs/guides/configuration.md",
                            "docs/guides/troubleshooting.md"}, [h.path for h in hits]


def test_a_common_french_verb_does_not_carry_a_report(own_docs):
    hits = search(own_docs, "quel port utilise le service mini", k=5, refresh=False).results
    assert hits[0].path in PORT_PAGES and not hits[0].path.startswith("docs/reports/"), [h.path for h in hits]
    assert len({h.path for h in hits}) == len(hits)  # one result per file: five files, not one report


def test_the_medium_server_port_in_french(own_docs):
    hits = search(own_docs, "port du serveur medium", k=5, refresh=False).results
    assert hits[0].path in PORT_PAGES, [h.path for h in hits]
    assert hits[0].score >= 0.5  # the page that answers reads as one, not 0.065


def test_scores_fall_as_ranks_do(own_docs):
    for query in ("how do I turn on tool calling", "port du serveur medium", "libcuda.so.1"):
        scores = [h.score for h in search(own_docs, query, k=10, refresh=False).results]
        assert scores == sorted(scores, reverse=True) and all(0.0 < s <= 1.0 for s in scores), query


def test_fusion_by_hand():
    from sddd.index.scoring import FileList, fuse

    fused = fuse([FileList("words", ["a.md", "b.md"]), FileList("meaning", ["b.md", "c.md"])])
    assert [f.path for f in fused] == ["b.md", "a.md", "c.md"]
    top = 2 / 61 + 0.05  # first in both lists, with the first-place bonus
    assert fused[0].value == pytest.approx(1 / 62 + 1 / 61 + 0.05)
    assert fused[0].score == pytest.approx((1 / 62 + 1 / 61 + 0.05) / top)
    assert fused[2].value == pytest.approx(1 / 62 + 0.02)  # second at best: the smaller bonus
    assert fused[0].ranks == {"words": 2, "meaning": 1}


def test_bad_sub_queries_are_one_clear_usage_error():
    from sddd.core.errors import UsageError
    from sddd.index.search import parse_also

    assert parse_also(["lex:max-model-len", "hyde:the server listens on 5002", "plain words"]) == [
        ("max-model-len", "lexical"), ("the server listens on 5002", "dense"), ("plain words", "dense")]
    with pytest.raises(UsageError, match="has no text after its type"):
        parse_also(["lex:  "])
    with pytest.raises(UsageError, match="at most 8 sub-queries"):
        parse_also(["vec:x"] * 9)
