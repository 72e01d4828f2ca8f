"""The reranker's three protocols against real vLLM servers of a tiny reranker whose relevance is
known in advance (tests/fixtures/tiny_reranker.py: a passage full of ``quokka`` is relevant, one
without is not), and the servers that are not one."""

from __future__ import annotations

import time

import pytest

from sddd.core.config import load_config
from sddd.core.errors import ConfigError, EndpointTimeout, EndpointUnreachable
from sddd.endpoint.client import resolve_endpoint
from sddd.endpoint.rerank import HttpReranker, RerankFailed, reranker_from_config
from tests.fixtures.fake_servers import not_vllm, openai_like
from tests.fixtures.reranker_server import KEYWORD, SERVED, counting, reranker_servers, slow
from tests.fixtures.vllm_server import SERVED_NAME, free_port, servers

QUERY = "which port does the medium service listen on?"
PASSAGES = [
    "The medium service listens on port 5002 behind the proxy.",
    f"{KEYWORD} " * 12 + "the medium profile",
    "Restart the container after changing the port mapping.",
    f"A {KEYWORD}, another {KEYWORD} and a third {KEYWORD} {KEYWORD} {KEYWORD} {KEYWORD} {KEYWORD}.",
]
RELEVANT = [False, True, False, True]


def reranker(url: str, protocol: str, timeout_ms: int = 20_000) -> HttpReranker:
    return HttpReranker(resolve_endpoint(url), SERVED, protocol, timeout_ms)


@pytest.mark.parametrize("protocol", ["rerank", "score", "auto"])
def test_pooling_server_rescores_as_its_model_says(request, protocol):
    server, _ = reranker_servers(request, "pooling", "chat")  # both start at once
    ask = reranker(server.url, protocol)
    relevance = ask(QUERY, PASSAGES)
    assert all(0.0 <= p <= 1.0 for p in relevance)
    assert min(p for p, r in zip(relevance, RELEVANT, strict=True) if r) > 0.9, relevance
    assert max(p for p, r in zip(relevance, RELEVANT, strict=True) if not r) < 0.1, relevance
    assert ask.detected == ("rerank" if protocol == "auto" else protocol)


def test_chat_model_is_asked_yes_or_no(request):
    _, server = reranker_servers(request, "pooling", "chat")
    ask = reranker(server.url, "auto")  # /v1/rerank and /v1/score answer 404: the chat route
    relevance = ask(QUERY, PASSAGES)
    assert ask.detected == "chat"
    assert min(p for p, r in zip(relevance, RELEVANT, strict=True) if r) > 0.9, relevance
    assert max(p for p, r in zip(relevance, RELEVANT, strict=True) if not r) < 0.1, relevance


def test_a_slow_server_costs_the_budget_and_no_more():
    with slow(3.0) as url:
        for protocol in ("rerank", "chat"):
            started = time.monotonic()
            with pytest.raises(EndpointTimeout, match="within 300 ms"):
                reranker(url, protocol, timeout_ms=300)(QUERY, PASSAGES)
            assert time.monotonic() - started < 1.5


def test_servers_that_are_no_reranker_say_so_in_one_line(tmp_path):
    with counting() as (url, asked), pytest.raises(RerankFailed, match="serves no reranking protocol"):
        reranker(url, "auto")(QUERY, PASSAGES)  # 404 on every route: all three were tried
    assert asked == ["/v1/rerank", "/v1/score", "/v1/chat/completions"]
    with not_vllm(tmp_path) as url, pytest.raises(RerankFailed, match="with 501: an HTML page") as info:
        reranker(url, "auto")(QUERY, PASSAGES)  # a web server that takes no POST at all
    assert "\n" not in info.value.message
    with openai_like(None) as url, pytest.raises(RerankFailed, match="this fake serves streams only"):
        reranker(url, "score")(QUERY, PASSAGES)
    with pytest.raises(EndpointUnreachable, match="connection refused") as down:
        reranker(f"http://127.0.0.1:{free_port()}", "auto")(QUERY, PASSAGES)
    assert "--url" not in down.value.message  # the client's advice is for other commands


def test_configuration(tmp_path):
    (tmp_path / "sddd.yaml").write_text("search:\n  rerank:\n    url: http://gpu:8000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no model") as info:
        reranker_from_config(load_config(tmp_path / "sddd.yaml"))
    assert info.value.line == 3
    (tmp_path / "sddd.yaml").write_text("search:\n  rerank:\n    url: http://gpu:8000/v1\n    model: m\n"
                                        "    protocol: score\n", encoding="utf-8")
    made = reranker_from_config(load_config(tmp_path / "sddd.yaml"))
    assert made is not None and (made.endpoint.base_url, made.protocol, made.timeout_ms) == \
        ("http://gpu:8000", "score", 2000)
    (tmp_path / "sddd.yaml").write_text("docs: ['*.md']\n", encoding="utf-8")
    assert reranker_from_config(load_config(tmp_path / "sddd.yaml")) is None  # off by default


def test_a_chat_model_that_says_neither_yes_nor_no_is_refused(request):
    (full,) = servers(request, "full")  # the scripted tiny Qwen3: its first token is always <think>
    with pytest.raises(RerankFailed, match="answered neither yes nor no"):
        HttpReranker(resolve_endpoint(full.url), SERVED_NAME, "auto", 20_000)(QUERY, PASSAGES)
