"""Benchmark results on disk: one JSON file per run under ``<index>/bench/``, written atomically.

Every run carries what is needed to trust its numbers later: the resolved profile (its config
hash and vLLM flags) when there was one, the server's ``/version`` and the cache settings it
reports in ``/metrics`` (``enable_prefix_caching`` among them), the date and the scenario's
parameters. ``compare`` lines two runs up, settings that differ first.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sddd import __version__
from sddd.core.atomic import atomic_write_text
from sddd.core.config import Config
from sddd.core.errors import IndexCorrupt, UsageError

FOLDER = "bench"
# The figure `--history` shows for each scenario.
HEADLINE = {"prefix": ("speedup_p50", "p50_cold_ttft_ms", "p50_warm_ttft_ms"),
            "load": ("output_throughput", "p50_ttft_ms", "p99_e2el_ms")}


def bench_dir(config: Config) -> Path:
    return config.index_dir / FOLDER


def new_run(scenario: str, params: dict[str, Any], endpoint: str, model: str,
            profile: dict[str, Any] | None, server: dict[str, Any],
            metrics: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    run_id = f"{now:%Y%m%d-%H%M%S}-{scenario}-{os.urandom(2).hex()}"
    return {"id": run_id, "date": now.isoformat(timespec="seconds"), "scenario": scenario,
            "params": params, "endpoint": endpoint, "model": model, "profile": profile,
            "server": server, "metrics": metrics, "sddd_version": __version__}


def save_run(config: Config, run: dict[str, Any]) -> Path:
    path = bench_dir(config) / f"{run['id']}.json"
    atomic_write_text(path, json.dumps(run, indent=2, ensure_ascii=False) + "\n")
    return path


def list_runs(config: Config) -> list[dict[str, Any]]:
    """Every saved run, oldest first; a file that is not a run is an error naming it."""
    folder = bench_dir(config)
    runs = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise IndexCorrupt(f"not a benchmark result ({exc}); delete the file or restore it",
                               path=config.relpath(path)) from None
        if isinstance(run, dict) and "id" in run:
            runs.append(run)
    return sorted(runs, key=lambda r: (r.get("date", ""), r["id"]))


def find_run(config: Config, key: str) -> dict[str, Any]:
    """A run by id, unique id prefix, ``latest``, or ``-N`` counted from the end as Python
    does: ``-1`` the latest, ``-2`` the one before (``--compare -2 -1``: the last two)."""
    runs = list_runs(config)
    if not runs:
        raise UsageError(f"no benchmark results in {config.relpath(bench_dir(config))}; "
                         "run `sddd bench` first")
    if key == "latest":
        return runs[-1]
    if key.startswith("-") and key[1:].isdigit():
        back = int(key[1:])
        if not 1 <= back <= len(runs):
            raise UsageError(f"{key}: only {len(runs)} run(s) are saved (-1 is the latest, "
                             f"-{len(runs)} the oldest)")
        return runs[-back]
    found = [r for r in runs if r["id"] == key] or [r for r in runs if r["id"].startswith(key)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise UsageError(f"no benchmark run {key!r}; `sddd bench --history` lists them")
    raise UsageError(f"{key!r} matches {len(found)} runs; give more of the id")


def headline(run: dict[str, Any]) -> dict[str, Any]:
    metrics = run.get("metrics") or {}
    return {k: metrics.get(k) for k in HEADLINE.get(run.get("scenario", ""), ())}


@dataclass
class CompareRow:
    section: str  # flags | server | params | metrics
    key: str
    a: Any
    b: Any

    @property
    def differs(self) -> bool:
        return bool(self.a != self.b)

    def to_json(self) -> dict[str, Any]:
        return {"section": self.section, "key": self.key, "a": self.a, "b": self.b, "differs": self.differs}


@dataclass
class Comparison:
    a: dict[str, Any]
    b: dict[str, Any]
    rows: list[CompareRow]

    def to_json(self) -> dict[str, Any]:
        return {"a": summary(self.a), "b": summary(self.b), "rows": [r.to_json() for r in self.rows]}


def summary(run: dict[str, Any]) -> dict[str, Any]:
    profile = run.get("profile") or {}
    return {"id": run["id"], "date": run.get("date"), "scenario": run.get("scenario"),
            "profile": profile.get("name"), "config_hash": profile.get("config_hash"),
            "endpoint": run.get("endpoint")}


def _settings(run: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """What produced the numbers: vLLM flags, then what the server itself reported."""
    profile = run.get("profile") or {}
    server = run.get("server") or {}
    out: dict[tuple[str, str], Any] = {("flags", k): v if v is not None else "(set)"
                                       for k, v in (profile.get("vllm_flags") or {}).items()}
    out[("flags", "profile")] = profile.get("name")
    out[("flags", "config_hash")] = profile.get("config_hash")
    out[("server", "version")] = server.get("version")
    for key, value in (server.get("cache_config") or {}).items():
        out[("server", key)] = value
    out[("server", "model")] = run.get("model")
    return out


def compare(a: dict[str, Any], b: dict[str, Any]) -> Comparison:
    """Rows for A and B: settings that differ, then parameters and metrics, then equal settings."""
    sa, sb = _settings(a), _settings(b)
    keys = list(dict.fromkeys([*sa, *sb]))
    settings = [CompareRow(sec, key, sa.get((sec, key)), sb.get((sec, key))) for sec, key in keys]
    params = [CompareRow("params", "scenario", a.get("scenario"), b.get("scenario"))]
    params += [CompareRow("params", k, (a.get("params") or {}).get(k), (b.get("params") or {}).get(k))
              for k in dict.fromkeys([*(a.get("params") or {}), *(b.get("params") or {})])]
    metric_keys = [k for k in dict.fromkeys([*(a.get("metrics") or {}), *(b.get("metrics") or {})])
                   if k != "errors"]
    metrics = [CompareRow("metrics", k, (a.get("metrics") or {}).get(k), (b.get("metrics") or {}).get(k))
               for k in metric_keys]
    differing = sorted((r for r in settings if r.differs), key=lambda r: r.section != "flags")
    rows = differing + params + metrics + [r for r in settings if not r.differs]
    return Comparison(a, b, rows)
