"""Search with a reranker (``search.rerank``): the order follows the endpoint where it may, the
first file keeps its place, the score stays the order; slow, down or skipped, the results are
retrieval's. The reranker is the real vLLM server of the tiny reranker (a passage full of
``quokka`` is relevant to it, others are not: tests/fixtures/tiny_reranker.py), or a real socket
that sleeps or counts."""

from __future__ import annotations

import json
import time

import pytest

from sddd.core.config import load_config
from sddd.endpoint.rerank import reranker_from_config
from sddd.index.indexer import build_index
from sddd.index.search import search
from sddd.resident.warm import Workspace
from tests.fixtures.reranker_server import KEYWORD, SERVED, counting, reranker_servers, slow
from tests.fixtures.vllm_server import free_port
from tests.helpers import sddd_here, write

FILES = {
    "docs/ports.md": "# Ports\n\nThe medium server answers clients on port 5002; the mini server on 5001.\n",
    "docs/proxy.md": "# Proxy\n\nClients reach every server through the proxy, which forwards port 80.\n",
    "docs/firewall.md": "# Firewall\n\nOpen the server's port in the firewall so that clients reach it.\n",
    "docs/memory.md": "# Memory\n\nLower gpu-memory-utilization when the server runs out of memory.\n",
    "docs/field-notes.md": "# Field notes\n\n" + f"A {KEYWORD} " * 15 + "was seen near the server room.\n",
    "docs/tools.md": "# Tool calling\n\nThe hermes parser turns the model's answer into tool calls.\n",
}
QUERY = "how do clients reach the medium server"
PASTED = "gpu-memory-utilization"  # one file holds it: BM25 is sure


def configured(root, url: str, timeout_ms: int = 20_000, protocol: str = "auto") -> str:
    return (f"docs: ['docs/**/*.md']\nsearch:\n  rerank:\n    url: {url}\n    model: {SERVED}\n"
            f"    protocol: {protocol}\n    timeout_ms: {timeout_ms}\n")


@pytest.fixture(scope="module")
def repo(tmp_path_factory, encoder):
    root = tmp_path_factory.mktemp("rerank")
    for rel, text in FILES.items():
        write(root, rel, text)
    write(root, "sddd.yaml", "docs: ['docs/**/*.md']\n")
    build_index(load_config(root / "sddd.yaml"), encoder=encoder)
    return root


def with_reranker(root, url: str, **settings) -> object:
    write(root, "sddd.yaml", configured(root, url, **settings))
    return load_config(root / "sddd.yaml")


def plain(root) -> list[str]:
    write(root, "sddd.yaml", "docs: ['docs/**/*.md']\n")
    return [h.path for h in search(load_config(root / "sddd.yaml"), QUERY, k=6, refresh=False).results]


def test_the_endpoint_reorders_all_but_the_first(request, repo):
    server, _ = reranker_servers(request, "pooling", "chat")  # both start at once
    before = plain(repo)
    assert before.index("docs/field-notes.md") >= 2, before  # the fixture's premise: it ranks low
    workspace = Workspace(with_reranker(repo, server.url), log=lambda line: None)  # MCP's path
    result = workspace.search(QUERY, 6)
    after = [h.path for h in result.results]
    # By the model's design, field-notes is relevant (p ~ 1) and no other file is (p ~ 0): it
    # climbs to second (0.6/4 + 0.4 beats 0.75/2 + 0), the first keeps its place, the rest their
    # order.
    assert result.notice is None and result.reranked
    assert after == [before[0], "docs/field-notes.md", *[p for p in before[1:] if p != "docs/field-notes.md"]]
    scores = [h.score for h in result.results]
    assert scores == sorted(scores, reverse=True) and scores[0] >= 0.75
    notes = result.results[1].to_json(explain=True)
    assert notes["retrieval_rank"] == before.index("docs/field-notes.md") + 1 and notes["relevance"] > 0.9
    # `sddd search` (in its own process's path) gives the same ranking, and --explain says why
    cli = sddd_here("search", QUERY, "-k", "6", "--format", "plain", "--explain", cwd=repo)
    assert cli.returncode == 0 and cli.stderr == ""
    lines = cli.stdout.splitlines()[:-1]
    assert [line.split(":")[0] for line in lines] == after
    assert f"was #{notes['retrieval_rank']}, relevance 1.00" in lines[1]


def test_a_slow_reranker_costs_its_budget_then_one_notice(repo):
    expected = plain(repo)
    with slow(5.0) as url:
        config = with_reranker(repo, url, timeout_ms=400)
        started = time.monotonic()
        result = search(config, QUERY, k=6, refresh=False, reranker=reranker_from_config(config))
        took = time.monotonic() - started
    assert [h.path for h in result.results] == expected
    assert result.notice and "within 400 ms" in result.notice and "\n" not in result.notice
    assert took < 3.0, took  # the budget, not the server's 5 s


def test_a_reranker_that_is_down_changes_nothing_but_one_line(repo):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    write(repo, "sddd.yaml", "docs: ['docs/**/*.md']\n")
    alone = sddd_here("search", QUERY, "-k", "6", "--format", "plain", cwd=repo)
    with_reranker(repo, url)
    down = sddd_here("search", QUERY, "-k", "6", "--format", "plain", cwd=repo)
    assert down.returncode == 0 and down.stdout == alone.stdout
    assert alone.stderr == ""
    assert down.stderr.count("\n") == 1 and "connection refused" in down.stderr, down.stderr
    document = json.loads(sddd_here("search", QUERY, "--json", cwd=repo).stdout)
    assert "connection refused" in document["notice"]


def test_no_question_when_bm25_is_sure_or_one_file_is_asked(repo):
    with counting() as (url, asked):
        config = with_reranker(repo, url)
        reranker = reranker_from_config(config)
        sure = search(config, PASTED, k=5, refresh=False, reranker=reranker)
        assert sure.results[0].path == "docs/memory.md" and sure.notice is None
        assert sure.to_json(explain=True)["rerank_skipped"] == "the lexical match is sure"
        one = search(config, QUERY, k=1, refresh=False, reranker=reranker)
        assert one.notice is None and one.rerank_skipped and one.rerank_skipped.startswith("one result")
        assert asked == []
        asked_too = search(config, QUERY, k=3, refresh=False, reranker=reranker)  # neither: asked
        assert asked and asked_too.notice and "serves no reranking protocol" in asked_too.notice
