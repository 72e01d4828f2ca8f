"""`sddd mcp` through the official Python SDK's client over stdio: start to first answer, warm
search calls, and the first call after a one-file edit.

Prints a table and writes bench/results/mcp.json. Run from the repository root:

    .venv/bin/python bench/mcp_bench.py [--queries 100] [--starts 5] [--edits 5]

The corpus is a copy of this repository's docs/, profiles/ and sddd.yaml with its index; the
queries are the corpus's own section headings (real wording, each one new to the server, so
each is embedded by the warm model), then the same queries again (query cache hits).
Times are measured by the client, around each `tools/call`, so they include the protocol
round trip, the JSON encoding and the freshness check the server makes before every call.

* start to first answer: spawn `sddd mcp`, initialize, call `search` with a new query;
* warm search: p50 / p95 over the queries, one session;
* first call after a one-file edit: a sentence appended to one guide, then `search`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import anyio

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
GUIDE = "docs/guides/maintenance.md"


def make_repo(root: Path) -> list[str]:
    """Copy the knowledge base and its index; return its targets' queries and headings as queries."""
    from sddd.core.config import load_config
    from sddd.index.indexer import build_index
    from sddd.index.markdown_chunks import parse_markdown

    build_index(load_config(REPO / "sddd.yaml"))
    for folder in ("docs", "profiles"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copy2(REPO / "sddd.yaml", root / "sddd.yaml")
    shutil.copytree(REPO / ".sddd", root / ".sddd", ignore=shutil.ignore_patterns("lock", "queries.sqlite"))
    queries = [str(t["query"]) for t in load_config(root / "sddd.yaml").targets]
    for path in sorted((root / "docs").rglob("*.md")):
        doc = parse_markdown(path.read_text(encoding="utf-8"), path.name)
        queries += [s.title for s in doc.sections if s.level >= 2 and len(s.title) > 8]
    return list(dict.fromkeys(queries))


def server_cpu() -> float:
    """CPU seconds (user + system) of this process's children: the server, under load too."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # ppid
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def client(root: Path, stderr: Any) -> Any:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "sddd.cli", "mcp"], cwd=str(root),
                                   env={"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"})
    return Client(stdio_client(params, errlog=stderr), read_timeout_seconds=300)


async def timed_call(session: Any, query: str) -> float:
    start = time.perf_counter()
    result = await session.call_tool("search", {"query": query, "k": 5})
    elapsed = time.perf_counter() - start
    if result.is_error:
        raise SystemExit(f"search failed: {result.content[0].text}")
    return elapsed


async def start_to_answer(root: Path, query: str, log: Path) -> tuple[float, float, float]:
    """(seconds to the first answer, of which connecting, the server's CPU seconds until then)."""
    with log.open("w") as stderr:
        start = time.perf_counter()
        async with client(root, stderr) as session:
            connected = time.perf_counter() - start
            await timed_call(session, query)
            return time.perf_counter() - start, connected, server_cpu()


async def warm_session(root: Path, queries: list[str], edits: int, log: Path) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"new": [], "cached": [], "edited": [], "after_edit": [], "cpu": []}
    guide = root / GUIDE
    with log.open("w") as stderr:
        async with client(root, stderr) as session:
            await timed_call(session, "warm-up question that is not timed")
            cpu = server_cpu()
            for query in queries:
                out["new"].append(await timed_call(session, query))
            out["cpu"].append((server_cpu() - cpu) / len(queries))
            cpu = server_cpu()
            for query in queries:
                out["cached"].append(await timed_call(session, query))
            out["cpu"].append((server_cpu() - cpu) / len(queries))
            for i in range(edits):
                with guide.open("a", encoding="utf-8") as handle:
                    handle.write(f"\nEdit number {i} of the benchmark: the restart window moved.\n")
                out["edited"].append(await timed_call(session, queries[i]))
                out["after_edit"].append(await timed_call(session, queries[i + 1]))
    return out


def cold_cli(root: Path, query: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sddd.cli", "search", "--json", query], cwd=root, check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    return time.perf_counter() - start


def ms(values: list[float], q: float = 0.5) -> float:
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _commit() -> str:
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def measure(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    queries = make_repo(root)[: args.queries]
    if len(queries) < args.queries:
        raise SystemExit(f"only {len(queries)} headings to use as queries")
    load = os.getloadavg()[0]
    starts = [anyio.run(start_to_answer, root, f"start question {i}", root / "start.log")
              for i in range(args.starts)]
    calls = anyio.run(warm_session, root, queries, args.edits, root / "warm.log")
    cli = [cold_cli(root, f"cold question {i}") for i in range(3)]
    return {
        "commit": _commit(), "python": platform.python_version(), "mcp": version("mcp"),
        "machine": f"{os.cpu_count()} cores", "load_average_at_start": round(load, 2),
        "queries": len(queries), "starts": args.starts, "edits": args.edits,
        "start_to_first_answer_s_median": round(statistics.median(s for s, _, _ in starts), 3),
        "start_to_first_answer_s_min": round(min(s for s, _, _ in starts), 3),
        "of_which_connect_s_median": round(statistics.median(c for _, c, _ in starts), 3),
        "server_cpu_to_first_answer_s_median": round(statistics.median(u for _, _, u in starts), 3),
        "warm_search_new_query_ms_p50": ms(calls["new"]),
        "warm_search_new_query_ms_p95": ms(calls["new"], 0.95),
        "server_cpu_per_new_query_ms": round(1000 * calls["cpu"][0], 1),
        "warm_search_cached_query_ms_p50": ms(calls["cached"]),
        "warm_search_cached_query_ms_p95": ms(calls["cached"], 0.95),
        "server_cpu_per_cached_query_ms": round(1000 * calls["cpu"][1], 1),
        "first_call_after_one_file_edit_ms_median": round(1000 * statistics.median(calls["edited"]), 1),
        "first_call_after_one_file_edit_ms_max": round(1000 * max(calls["edited"]), 1),
        "next_call_after_edit_ms_median": round(1000 * statistics.median(calls["after_edit"]), 1),
        "cold_cli_search_s_median": round(statistics.median(cli), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--edits", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = Path(tempfile.mkdtemp(prefix="sddd-mcp-bench-"))
    try:
        results = measure(root, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mcp.json").write_text(json.dumps(results, indent=2) + "\n")
    width = max(len(k) for k in results)
    print(f"{'measure':<{width}}  value")
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
