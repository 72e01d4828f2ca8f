"""A reranker on the team's own OpenAI-compatible server: how relevant each passage is to a query.

Three ways to ask, the first two served by vLLM for cross-encoders such as Qwen3-Reranker:

- ``rerank``: ``POST /v1/rerank`` (query, documents) -> ``results[].relevance_score``;
- ``score``: ``POST /v1/score`` (``text_1`` the query, ``text_2`` the passages) -> ``data[].score``;
- ``chat``: a chat model asked, passage by passage, whether the passage answers the query, with
  the answer's first token's log-probabilities: the relevance is P(yes) / (P(yes) + P(no)).

``protocol: auto`` tries them in that order and keeps the first the server answers (a route it
does not serve answers 404). Every answer is checked: a relevance per passage, each a number;
scores outside [0, 1] are read as logits (a sigmoid brings them to 0-1). Whatever goes wrong
(refused, too slow, an answer of the wrong shape, a chat model that says neither yes nor no)
raises an ``SdddError`` of one line; the caller (``sddd.index.rerank``) falls back on retrieval.
The whole call, every request included, fits in the time it is given.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field
from typing import Any

from sddd.core.config import Config
from sddd.core.errors import ConfigError, EndpointTimeout, EndpointUnreachable, SdddError
from sddd.endpoint.client import Endpoint, Response, resolve_endpoint

PROTOCOLS = ("rerank", "score", "chat")  # the order ``auto`` tries them in
PASSAGE_CHARS = 2000  # what a reranker reads of a passage: its heading and first paragraphs
CHAT_WORKERS = 8  # chat requests in flight at once (vLLM batches them)
TOP_LOGPROBS = 20  # vLLM's default ceiling (--max-logprobs)
# Qwen3-Reranker's own instruction, so that a Qwen3 chat model reads the task it was trained on.
JUDGE = ('Judge whether the Document meets the requirements based on the Query and the Instruct '
         'provided. Note that the answer can only be "yes" or "no".')
INSTRUCT = "Given a question about a team's documentation, does this passage answer it?"


class RerankFailed(EndpointUnreachable):
    """The reranker answered, but not with a relevance per passage."""


class NotServed(RerankFailed):
    """The server does not serve this protocol (404, 405, or a model that cannot do it)."""


@dataclass
class HttpReranker:
    """``search.rerank`` of sddd.yaml: the server, the model and how to ask it."""

    endpoint: Endpoint
    model: str
    protocol: str = "auto"
    timeout_ms: int = 2000
    detected: str | None = field(default=None)  # what ``auto`` found, kept for the next query

    @property
    def name(self) -> str:
        return f"{self.endpoint.base_url} ({self.model})"

    @property
    def seconds(self) -> float:
        return self.timeout_ms / 1000

    def __call__(self, query: str, passages: Sequence[str]) -> list[float]:
        """A relevance in [0, 1] per passage, within ``timeout_ms`` of now; raises SdddError."""
        deadline = time.monotonic() + self.seconds
        tried = [self.detected] if self.detected else (
            list(PROTOCOLS) if self.protocol == "auto" else [self.protocol])
        missing: list[str] = []
        for protocol in tried:
            try:
                scores = ASK[protocol](self, query, [p[:PASSAGE_CHARS] for p in passages], deadline)
            except NotServed as exc:
                missing.append(f"{protocol}: {exc.message}")
                continue
            self.detected = protocol
            return scores
        raise RerankFailed("serves no reranking protocol (" + "; ".join(missing) + ")")

    def post(self, path: str, body: dict[str, Any], deadline: float) -> Response:
        left = deadline - time.monotonic()
        if left <= 0:
            raise EndpointTimeout(f"no time left for POST {path} within {self.timeout_ms} ms")
        try:
            response = self.endpoint.post(path, body, timeout=left)
        except EndpointTimeout:
            raise EndpointTimeout(f"did not answer POST {path} within {self.timeout_ms} ms") from None
        except EndpointUnreachable as exc:  # the client's advice (--url) is for other commands
            raise EndpointUnreachable(exc.message.split("; ")[0]) from None
        if response.status in (404, 405) or (response.status == 400 and _unsupported(response)):
            raise NotServed(f"{response.status} {response.error_message()}")
        if response.status != 200:
            raise RerankFailed(f"answered POST {path} with {response.status}: {response.error_message()}")
        return response


def _unsupported(response: Response) -> bool:
    """vLLM answers 400 "... does not support ..." for a task the served model cannot do."""
    return "support" in response.error_message().lower()


def _relevance(values: list[Any], count: int, what: str) -> list[float]:
    """``values`` as ``count`` relevances in [0, 1]; logits (any outside) through a sigmoid."""
    if len(values) != count or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                       and math.isfinite(v) for v in values):
        raise RerankFailed(f"{what} did not give a number for each of the {count} passages")
    floats = [float(v) for v in values]
    if all(0.0 <= v <= 1.0 for v in floats):
        return floats
    return [1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, v)))) for v in floats]


def _by_index(items: Any, key: str, count: int, what: str) -> list[float]:
    """``[{index, <key>}]`` in any order -> the values in passage order."""
    if not isinstance(items, list):
        raise RerankFailed(f"{what} held no list of results")
    values: list[Any] = [None] * count
    for item in items:
        index = item.get("index") if isinstance(item, dict) else None
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < count:
            values[index] = item.get(key)
    return _relevance(values, count, what)


def ask_rerank(reranker: HttpReranker, query: str, passages: list[str], deadline: float) -> list[float]:
    body = {"model": reranker.model, "query": query, "documents": passages, "top_n": len(passages)}
    answer = reranker.post("/v1/rerank", body, deadline).obj()
    return _by_index(answer.get("results"), "relevance_score", len(passages), "/v1/rerank's answer")


def ask_score(reranker: HttpReranker, query: str, passages: list[str], deadline: float) -> list[float]:
    body = {"model": reranker.model, "text_1": query, "text_2": passages}
    answer = reranker.post("/v1/score", body, deadline).obj()
    return _by_index(answer.get("data"), "score", len(passages), "/v1/score's answer")


def yes_probability(answer: dict[str, Any]) -> float | None:
    """P(yes) / (P(yes) + P(no)) over the first answer token's top log-probabilities ("yes",
    " Yes", "YES" all count); None when neither is among them or the answer has no log-probs."""
    try:
        top = answer["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    except (KeyError, IndexError, TypeError):
        return None
    mass = {"yes": 0.0, "no": 0.0}
    for item in top if isinstance(top, list) else []:
        token = item.get("token") if isinstance(item, dict) else None
        logprob = item.get("logprob") if isinstance(item, dict) else None
        word = token.strip().lower() if isinstance(token, str) else ""
        if word in mass and isinstance(logprob, int | float) and math.isfinite(logprob):
            mass[word] += math.exp(logprob)
    total = mass["yes"] + mass["no"]
    return mass["yes"] / total if total > 0 else None


def _chat_one(reranker: HttpReranker, query: str, passage: str, deadline: float) -> float | None:
    body = {"model": reranker.model, "max_tokens": 1, "temperature": 0.0, "logprobs": True,
            "top_logprobs": TOP_LOGPROBS, "chat_template_kwargs": {"enable_thinking": False},
            "messages": [{"role": "system", "content": JUDGE},
                         {"role": "user", "content": f"<Instruct>: {INSTRUCT}\n<Query>: {query}\n"
                                                     f"<Document>: {passage}"}]}
    return yes_probability(reranker.post("/v1/chat/completions", body, deadline).obj())


def ask_chat(reranker: HttpReranker, query: str, passages: list[str], deadline: float) -> list[float]:
    """One chat request per passage, ``CHAT_WORKERS`` at a time, all within the deadline; while the
    protocol is not known yet, the first alone (a server without the route is asked once)."""
    first: list[float | None] = []
    if reranker.detected is None and passages:
        first = [_chat_one(reranker, query, passages[0], deadline)]
    pool = ThreadPoolExecutor(max_workers=min(CHAT_WORKERS, max(1, len(passages))))
    try:
        futures = [pool.submit(_chat_one, reranker, query, p, deadline) for p in passages[len(first):]]
        try:
            found = first + [f.result(timeout=max(0.0, deadline - time.monotonic())) for f in futures]
        except FuturesTimeout:
            raise EndpointTimeout(f"did not answer the {len(passages)} yes/no questions within "
                                  f"{reranker.timeout_ms} ms") from None
    finally:
        # Requests still running end at the deadline (their socket timeout): do not wait for them.
        pool.shutdown(wait=False, cancel_futures=True)
    if any(p is None for p in found):
        missing = sum(p is None for p in found)
        raise RerankFailed(f"the model answered neither yes nor no (in its top "
                           f"{TOP_LOGPROBS} first tokens) for {missing} of {len(found)} passages: "
                           "is it a chat model that follows instructions?")
    return [float(p) for p in found if p is not None]


ASK: dict[str, Callable[[HttpReranker, str, list[str], float], list[float]]] = {
    "rerank": ask_rerank, "score": ask_score, "chat": ask_chat}


def reranker_from_config(config: Config) -> HttpReranker | None:
    """The reranker ``search.rerank`` of sddd.yaml describes; None when it has no ``url`` (off)."""
    settings = config.section("search")["rerank"]
    if not settings["url"]:
        return None
    path = config.relpath(config.path) if config.path else None
    line = config.line_of("search", "rerank", "url")
    if not settings["model"]:
        raise ConfigError("search.rerank has a url but no model: name the model the server serves "
                          "for reranking (its GET /v1/models lists them)", path=path, line=line)
    try:
        endpoint = resolve_endpoint(settings["url"], api_key_env=settings["api_key_env"])
    except SdddError as exc:
        raise ConfigError(f"search.rerank.{exc.option or 'url'}: {exc.message}", path=path,
                          line=line) from None
    return HttpReranker(endpoint, settings["model"], settings["protocol"], int(settings["timeout_ms"]))
