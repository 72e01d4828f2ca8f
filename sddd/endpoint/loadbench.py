"""Measure a live vLLM server: the prefix-cache scenario and the load scenario.

Requests are streamed to ``/v1/completions`` (as ``vllm bench serve --backend vllm`` does) and
timed with the same definitions as ``vllm bench serve``:

- TTFT: from sending the request to the first streamed chunk;
- ITL: the gaps between successive chunks of a request (pooled over all requests);
- TPOT: (E2EL - TTFT) / (output tokens - 1), per request;
- E2EL: from sending the request to the last chunk;
- output throughput: output tokens of the successful requests / wall time of the run.

``prefix``: each round sends a long prompt with a prefix never seen before (cold), then the same
prefix with another question (warm). With prefix caching on, the warm request skips the prefill
of the shared blocks; the server's own counters (``vllm:prefix_cache_hits_total``) say how many
tokens it really took from the cache.

``load``: C concurrent streams for N requests of random prompts (no shared prefix) with a fixed
output length (``ignore_eos``), so every request does the same work.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sddd.core.errors import EndpointUnreachable, UsageError
from sddd.endpoint.client import Endpoint

PERCENTILES = (50, 95, 99)
# A plain vocabulary for prompts: any tokenizer splits these into a few tokens each.
WORDS = [
    "cache", "block", "token", "prefix", "server", "model", "engine", "request", "answer", "memory",
    "latency", "profile", "config", "deploy", "health", "stream", "queue", "batch", "kernel", "tensor",
    "layer", "weight", "route", "port", "guide", "report", "search", "index", "drift", "audit",
    "archive", "restore", "budget", "target", "metric", "value", "window", "north", "river", "stone",
    "cloud", "paper", "glass", "light", "sound", "green", "yellow", "orange", "purple", "silver",
]

Progress = Callable[[str], None]


@dataclass
class RequestResult:
    ok: bool
    ttft: float = 0.0
    latency: float = 0.0
    itl: list[float] = field(default_factory=list)
    output_tokens: int = 0
    prompt_tokens: int = 0
    error: str | None = None


@dataclass
class PrefixParams:
    rounds: int = 5
    prefix_tokens: int = 1200
    max_tokens: int = 4

    def check(self) -> None:
        _at_least("--rounds", self.rounds, 1)
        _at_least("--prefix-tokens", self.prefix_tokens, 16)
        _at_least("--max-tokens", self.max_tokens, 1)


@dataclass
class LoadParams:
    requests: int = 32
    concurrency: int = 4
    input_tokens: int = 256
    output_tokens: int = 32

    def check(self) -> None:
        _at_least("--rounds", self.requests, 1)
        _at_least("--concurrency", self.concurrency, 1)
        _at_least("--input-tokens", self.input_tokens, 1)
        _at_least("--output-tokens", self.output_tokens, 1)


def _at_least(flag: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise UsageError(f"{flag} must be at least {minimum}; got {value}")


def stream_completion(endpoint: Endpoint, model: str, prompt: str, max_tokens: int, *,
                      ignore_eos: bool = False) -> RequestResult:
    """One streamed completion, timed chunk by chunk as ``vllm bench serve`` does."""
    body = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
            "ignore_eos": ignore_eos, "stream_options": {"include_usage": True}}
    try:
        stream = endpoint.stream("/v1/completions", body)
    except EndpointUnreachable as exc:
        return RequestResult(False, error=exc.message)
    if stream.status != 200:
        return RequestResult(False, error=f"HTTP {stream.status}: {stream.error}")
    result = RequestResult(True)
    last = stream.started
    chunks = 0
    try:
        for event in stream.events:
            if event.data.get("choices"):
                if chunks == 0:
                    result.ttft = event.at - stream.started
                else:
                    result.itl.append(event.at - last)
                last = event.at
                chunks += 1
            usage = event.data.get("usage")
            if usage:
                result.output_tokens = int(usage.get("completion_tokens") or 0)
                result.prompt_tokens = int(usage.get("prompt_tokens") or 0)
    except EndpointUnreachable as exc:  # cut, or stalled, before data: [DONE]: not a completion
        return RequestResult(False, error=exc.message)
    if chunks == 0:
        return RequestResult(False, error="the stream ended without a token")
    result.latency = last - stream.started
    result.output_tokens = result.output_tokens or chunks
    return result


def percentiles(values: list[float], name: str, scale: float = 1000.0) -> dict[str, float | None]:
    """``mean_<name>_ms`` and ``p50/p95/p99_<name>_ms`` (numpy's linear percentiles, as vLLM)."""
    if not values:
        return {f"mean_{name}_ms": None, **{f"p{p}_{name}_ms": None for p in PERCENTILES}}
    data = np.asarray(values, dtype=float) * scale
    out: dict[str, float | None] = {f"mean_{name}_ms": round(float(data.mean()), 3)}
    for p in PERCENTILES:
        out[f"p{p}_{name}_ms"] = round(float(np.percentile(data, p)), 3)
    return out


class PromptMaker:
    """Random prompts of about N tokens, calibrated once with the server's /tokenize."""

    def __init__(self, endpoint: Endpoint, model: str, seed: int | None = None):
        self.rng = random.Random(seed if seed is not None else int.from_bytes(os.urandom(8), "big"))
        self.tokens_per_word = self._calibrate(endpoint, model)

    def _calibrate(self, endpoint: Endpoint, model: str) -> float:
        sample = self.words(400)
        try:
            resp = endpoint.post("/tokenize", {"model": model, "prompt": sample, "add_special_tokens": False})
            count = resp.obj().get("count") if resp.status == 200 else None
        except EndpointUnreachable:
            count = None
        return float(count) / 400 if count else 1.3  # 1.3: English words in a BPE vocabulary

    def words(self, n: int) -> str:
        # A random salt first, so a prompt never shares a block with an earlier run's prompts.
        salt = f"run {self.rng.getrandbits(48):x}."
        return salt + " " + " ".join(self.rng.choice(WORDS) for _ in range(n))

    def prompt(self, tokens: int) -> str:
        return self.words(max(1, round(tokens / self.tokens_per_word)))


def run_prefix(endpoint: Endpoint, model: str, params: PrefixParams,
               progress: Progress | None = None) -> dict[str, Any]:
    """Cold then warm TTFT per round; medians, p95 and their ratio; the server's cache hits."""
    params.check()
    maker = PromptMaker(endpoint, model)
    stream_completion(endpoint, model, maker.prompt(64), 1)  # warm-up, not counted (as vllm bench)
    before = endpoint.metrics()
    cold: list[float] = []
    warm: list[float] = []
    ratios: list[float] = []
    prompt_tokens: list[int] = []
    failures: list[str] = []
    for i in range(params.rounds):
        prefix = maker.prompt(params.prefix_tokens)
        first = stream_completion(endpoint, model, f"{prefix}\nQuestion one: what comes first?",
                                  params.max_tokens)
        second = stream_completion(endpoint, model, f"{prefix}\nQuestion two: what comes last?",
                                   params.max_tokens)
        if not (first.ok and second.ok):
            failures += [r.error or "failed" for r in (first, second) if not r.ok]
            continue
        cold.append(first.ttft)
        warm.append(second.ttft)
        ratios.append(first.ttft / second.ttft if second.ttft > 0 else float("inf"))
        prompt_tokens.append(first.prompt_tokens)
        if progress:
            progress(f"round {i + 1}/{params.rounds}: cold {first.ttft * 1000:.0f} ms, "
                     f"warm {second.ttft * 1000:.0f} ms")
    after = endpoint.metrics()
    hits = _delta(before, after, "vllm:prefix_cache_hits_total")
    queries = _delta(before, after, "vllm:prefix_cache_queries_total")
    cold_p = percentiles(cold, "cold_ttft")
    warm_p = percentiles(warm, "warm_ttft")
    cold_p50, warm_p50 = cold_p["p50_cold_ttft_ms"], warm_p["p50_warm_ttft_ms"]
    speedup = cold_p50 / warm_p50 if cold_p50 is not None and warm_p50 else None
    return {
        "rounds": len(cold), "failed": len(failures), "errors": failures[:5],
        "prompt_tokens": round(float(np.mean(prompt_tokens)), 1) if prompt_tokens else None,
        **cold_p, **warm_p,
        "speedup_p50": round(speedup, 3) if speedup else None,
        "p50_round_ratio": round(float(np.median(ratios)), 3) if ratios else None,
        "prefix_cache_hit_tokens": hits, "prefix_cache_query_tokens": queries,
        "prefix_cache_hit_rate": round(hits / queries, 4) if hits is not None and queries else None,
    }


def run_load(endpoint: Endpoint, model: str, params: LoadParams,
             progress: Progress | None = None) -> dict[str, Any]:
    """C concurrent streams for N requests; the metrics of ``vllm bench serve``."""
    params.check()
    maker = PromptMaker(endpoint, model)
    stream_completion(endpoint, model, maker.prompt(16), 1)  # warm-up, not counted
    prompts = [maker.prompt(params.input_tokens) for _ in range(params.requests)]
    done = 0
    lock = threading.Lock()

    def one(prompt: str) -> RequestResult:
        nonlocal done
        result = stream_completion(endpoint, model, prompt, params.output_tokens, ignore_eos=True)
        with lock:
            done += 1
        if progress and (done % max(1, params.requests // 8) == 0 or done == params.requests):
            progress(f"{done}/{params.requests} requests")
        return result

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=params.concurrency) as pool:
        results = list(pool.map(one, prompts))
    duration = time.perf_counter() - start
    good = [r for r in results if r.ok]
    output = sum(r.output_tokens for r in good)
    inputs = sum(r.prompt_tokens for r in good)
    tpot = [(r.latency - r.ttft) / (r.output_tokens - 1) for r in good if r.output_tokens > 1]
    return {
        "completed": len(good), "failed": len(results) - len(good),
        "errors": [r.error for r in results if not r.ok][:5],
        "duration_s": round(duration, 3),
        "total_input_tokens": inputs, "total_output_tokens": output,
        "request_throughput": round(len(good) / duration, 3),
        "output_throughput": round(output / duration, 3),
        "total_token_throughput": round((inputs + output) / duration, 3),
        **percentiles([r.ttft for r in good], "ttft"),
        **percentiles(tpot, "tpot"),
        **percentiles([gap for r in good for gap in r.itl], "itl"),
        **percentiles([r.latency for r in good], "e2el"),
    }


def _delta(before: dict[str, float], after: dict[str, float], name: str) -> float | int | None:
    if name not in after:
        return None
    delta = after[name] - before.get(name, 0.0)
    return int(delta) if float(delta).is_integer() else delta
