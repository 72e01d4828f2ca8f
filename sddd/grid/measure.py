"""Measure one healthy variant with the scenarios of ``sddd bench`` (sddd.endpoint.loadbench).

Each scenario runs ``repetitions`` times; every run is a ``sddd bench`` result
(``bench_history.new_run``), so ``sddd bench --history`` / ``--compare`` work on grid runs too.
The variant's figures are the medians over the repetitions, with the spread (min, max) of the
objective kept so the report can say whether two variants are really apart. A request that
fails ends the measurement: the variant is rejected with the server's error.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sddd.endpoint import bench_history
from sddd.endpoint.client import DEFAULT_TIMEOUT, Endpoint, normalize_url
from sddd.endpoint.loadbench import LoadParams, PrefixParams, run_load, run_prefix
from sddd.endpoint.target import served_model
from sddd.grid.spec import GridSpec, metric_names


@dataclass
class Measurement:
    runs: list[dict[str, Any]] = field(default_factory=list)  # bench runs, in order
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # scenario -> medians
    spread: dict[str, list[float]] = field(default_factory=dict)  # "scenario.metric" -> per repetition
    server: dict[str, Any] = field(default_factory=dict)  # /version, cache settings
    failure: str = ""  # why the measurement stopped (a failed request)


def endpoint_for(url: str, api_key: str | None) -> Endpoint:
    """The variant's server; its key comes from the container, never from a file."""
    return Endpoint(normalize_url(url), api_key=api_key, timeout=DEFAULT_TIMEOUT)


def _median(values: list[Any]) -> Any:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if numbers and len(numbers) == len(values):
        middle = statistics.median(numbers)
        return round(middle, 3) if isinstance(middle, float) else middle
    return values[-1]


def aggregate(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per scenario, each metric's median over the runs (errors pooled, failures summed)."""
    out: dict[str, dict[str, Any]] = {}
    for scenario in dict.fromkeys(r["scenario"] for r in runs):
        metrics = [r["metrics"] for r in runs if r["scenario"] == scenario]
        merged = {k: _median([m.get(k) for m in metrics]) for k in metrics[0]}
        merged["errors"] = [e for m in metrics for e in m.get("errors") or []][:5]
        merged["failed"] = sum(int(m.get("failed") or 0) for m in metrics)
        merged["repetitions"] = len(metrics)
        out[scenario] = merged
    return out


def measure(spec: GridSpec, endpoint: Endpoint, profile: dict[str, Any],
            progress: Callable[[str], None] | None = None) -> Measurement:
    served, server = served_model(endpoint, None, None)
    result = Measurement(server=server)
    for rep in range(spec.repetitions):
        for scenario, params in spec.bench.items():
            if progress:
                progress(f"bench {scenario}" + (f" {rep + 1}/{spec.repetitions}" if spec.repetitions > 1
                                                else ""))
            if isinstance(params, PrefixParams):
                metrics = run_prefix(endpoint, served, params)
            else:
                assert isinstance(params, LoadParams)
                metrics = run_load(endpoint, served, params)
            run = bench_history.new_run(scenario, vars(params), endpoint.base_url, served, profile,
                                        server, metrics)
            result.runs.append(run)
            if metrics.get("failed"):
                errors = "; ".join(str(e) for e in metrics.get("errors") or [])[:300]
                result.failure = f"{metrics['failed']} {scenario} request(s) failed: {errors}"
                result.metrics = aggregate(result.runs)
                return result
    result.metrics = aggregate(result.runs)
    for scenario in spec.bench:
        for name in metric_names(scenario):
            values = [r["metrics"].get(name) for r in result.runs if r["scenario"] == scenario]
            if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                result.spread[f"{scenario}.{name}"] = [float(v) for v in values]
    return result
