"""Start-up and the resident query path: `sddd --help`, cold `sddd search` (a new query, a cached
one), `sddd serve` per query, and index throughput, each in fresh processes.

Prints a table and writes bench/results/start.json. Run from the repository root:

    .venv/bin/python bench/start_bench.py [--runs 10] [--queries 100] [--chunks 200]
    .venv/bin/python bench/start_bench.py --against ../main --against-python ../main/.venv/bin/python

The corpus is a copy of this repository's docs/, profiles/ and sddd.yaml (both bundled models,
as by default), indexed once; queries are its targets' queries and its headings, each new to the query cache
when it is first asked. Every figure is a median over fresh processes, wall time beside CPU
time (user + system of the process, which a loaded machine inflates less than wall time) and
peak memory (the process's own VmHWM). Through `sddd serve`, "per query" is the client's round
trip on the socket (sddd.resident.client.ask: connect, request, search with the warm models,
answer), over --queries new queries, then the same ones again (cached); a fresh `sddd search`
process answered by the server is measured too. Index throughput is `sddd index --json` on a
synthetic corpus of 150-word sections, for the default pair and for MiniLM alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import REPO, run_facts
from index_bench import make_corpus

RESULTS = Path(__file__).resolve().parent / "results"
# The CLI run as a user runs it; at exit, the process's own peak memory and CPU time (measured
# inside: a child forked from this benchmark would count its parent's pages in ru_maxrss).
WRAPPER = """
import atexit, os, sys
def report():
    peak = next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:'))
    t = os.times()
    sys.stderr.write(f'\\nSTATS {peak} {t.user + t.system}\\n')
atexit.register(report)
sys.argv = ['sddd', *sys.argv[1:]]
from sddd.cli import main
main()
"""


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
        python: str = sys.executable) -> tuple[float, float, float, str]:
    """One fresh CLI process: (wall s, CPU s, peak MB, stdout)."""
    start = time.perf_counter()
    proc = subprocess.run([python, "-c", WRAPPER, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sddd {' '.join(args)} failed: {proc.stderr.strip()[-2000:]}")
    peak_kb, cpu = proc.stderr.rsplit("STATS ", 1)[1].split()[:2]
    return wall, float(cpu), int(peak_kb) / 1024, proc.stdout


def summary(samples: list[tuple[float, float, float, str]]) -> dict[str, float]:
    return {"wall_s": round(statistics.median(s[0] for s in samples), 4),
            "cpu_s": round(statistics.median(s[1] for s in samples), 4),
            "peak_mb": round(max(s[2] for s in samples), 1), "runs": len(samples)}


def make_repo(root: Path) -> list[str]:
    """A copy of the knowledge base, indexed; its targets' queries and its headings as queries."""
    from sddd.index.markdown_chunks import parse_markdown

    for folder in ("docs", "profiles"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copy2(REPO / "sddd.yaml", root / "sddd.yaml")
    from sddd.core.config import load_config

    run(["index", "--json"], root, {"SDDD_SERVE": "0"})
    queries = [str(t["query"]) for t in load_config(root / "sddd.yaml").targets]
    for path in sorted((root / "docs").rglob("*.md")):
        doc = parse_markdown(path.read_text(encoding="utf-8"), path.name)
        queries += [s.title for s in doc.sections if len(s.title) > 8]
    return list(dict.fromkeys(queries))


# What no CLI can go under, measured in the same run: on a loaded machine every figure grows,
# these too, so the gap between a command and its floor is what the command itself costs.
FLOORS = {"python": "pass", "numpy + faiss (a cached query)": "import numpy, faiss",
          "+ onnxruntime, tokenizers (a new query)": "import numpy, faiss, onnxruntime, tokenizers"}


def floor(code: str) -> tuple[float, float, float, str]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", f"{code}\nimport os; t = os.times(); "
                           "print(t.user + t.system)"], capture_output=True, text=True, check=True)
    return time.perf_counter() - start, float(proc.stdout), 0.0, ""


def cli_figures(root: Path, queries: list[str], runs: int) -> dict[str, Any]:
    alone = {"SDDD_SERVE": "0"}
    fresh = queries[:runs]
    return {
        "floors": {name: summary([floor(code) for _ in range(runs)]) for name, code in FLOORS.items()},
        "help": summary([run(["--help"], root) for _ in range(runs)]),
        "search_new": summary([run(["search", q, "--json"], root, alone) for q in fresh]),
        "search_cached": summary([run(["search", q, "--json"], root, alone) for q in fresh]),
    }


def serve_figures(root: Path, queries: list[str], runs: int) -> dict[str, Any]:
    from sddd.core.config import load_config
    from sddd.resident.client import ask

    config = load_config(root / "sddd.yaml")
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "sddd.cli", "serve", "--json"], cwd=root,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        start_s = time.perf_counter() - started

        def asked(query: str) -> float:
            t = time.perf_counter()
            answer = ask(config, "search", {"query": query, "k": 5, "kind": None, "path_glob": None,
                                            "mode": "hybrid"})
            assert answer is not None and answer["result"]["results"], query
            return time.perf_counter() - t

        cpu0 = process_cpu(server.pid)
        new = [asked(q) for q in queries]
        cpu1 = process_cpu(server.pid)
        cached = [asked(q) for q in queries]
        cpu2 = process_cpu(server.pid)
        through = summary([run(["search", q, "--json"], root) for q in queries[:runs]])
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"start_s": round(start_s, 2), "ready_s": round(ready["seconds"], 2), "queries": len(new),
            "new_p50_ms": round(statistics.median(new) * 1000, 2),
            "new_p95_ms": round(statistics.quantiles(new, n=20)[18] * 1000, 2),
            "new_server_cpu_ms": round((cpu1 - cpu0) / len(new) * 1000, 2),
            "cached_p50_ms": round(statistics.median(cached) * 1000, 2),
            "cached_p95_ms": round(statistics.quantiles(cached, n=20)[18] * 1000, 2),
            "cached_server_cpu_ms": round((cpu2 - cpu1) / len(cached) * 1000, 2),
            "cli_through_server": through}


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def index_figures(work: Path, chunks: int) -> dict[str, Any]:
    out = {}
    for label, model in (("default pair", None), ("all-MiniLM-L6-v2", "all-MiniLM-L6-v2")):
        root = work / f"corpus-{label.replace(' ', '-')}"
        make_corpus(root, chunks, model or "all-MiniLM-L6-v2")
        if model is None:  # no `model:`: both bundled models, as by default
            (root / "sddd.yaml").write_text("docs: ['docs/**/*.md']\n", encoding="utf-8")
        wall, cpu, peak, stdout = run(["index", "--json"], root, {"SDDD_SERVE": "0"})
        embedded = int(json.loads(stdout)["embedded"])
        out[label] = {"chunks": embedded, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                      "chunks_per_s": round(embedded / wall, 1), "peak_mb": round(peak, 1)}
    return out


def show(cli: dict[str, Any], serve: dict[str, Any], index: dict[str, Any]) -> None:
    def line(what: str, s: dict[str, float], target: str) -> None:
        print(f"| {what} | {s['wall_s']:.3f} s | {s['cpu_s']:.3f} s | {s['peak_mb']:.0f} MB | {target} |")

    print("| measure (fresh processes, median) | wall | CPU | peak | target |")
    print("| --- | --- | --- | --- | --- |")
    line("`sddd --help`", cli["help"], "<= 0.12 s")
    line("`sddd search`, new query (both models load)", cli["search_new"], "<= 0.45 s, <= 250 MB")
    line("`sddd search`, cached query", cli["search_cached"], "<= 0.20 s")
    line("`sddd search` answered by `sddd serve`", serve["cli_through_server"], "")
    for name, s in cli["floors"].items():
        print(f"| floor: `python -c` {name} | {s['wall_s']:.3f} s | {s['cpu_s']:.3f} s | | |")
    print(f"\n`sddd serve`: ready in {serve['ready_s']:.2f} s; per query over the socket "
          f"({serve['queries']} queries): new p50 {serve['new_p50_ms']:.1f} ms "
          f"(p95 {serve['new_p95_ms']:.1f}, "
          f"server CPU {serve['new_server_cpu_ms']:.1f} ms), cached p50 {serve['cached_p50_ms']:.1f} ms "
          f"(p95 {serve['cached_p95_ms']:.1f}, server CPU {serve['cached_server_cpu_ms']:.1f} ms); "
          "target p50 <= 15 ms")
    for label, s in index.items():
        print(f"index, {label}: {s['chunks']} chunks in {s['wall_s']} s (CPU {s['cpu_s']} s): "
              f"{s['chunks_per_s']} chunks/s, peak {s['peak_mb']:.0f} MB (target >= 35 chunks/s)")


def against(root: Path, work: Path, queries: list[str], runs: int, chunks: int, tree: Path,
            python: str) -> dict[str, Any]:
    """The same CLI figures for this tree and another checkout (PYTHONPATH; its own interpreter,
    for its own dependencies), interleaved run by run so that both see the same load."""
    trees = {"this": str(REPO), "other": str(tree)}
    pythons = {"this": sys.executable, "other": python}
    out: dict[str, dict[str, list[Any]]] = {name: {"help": [], "new": [], "cached": []} for name in trees}
    for i in range(runs):
        for name, path in trees.items():
            env = {"PYTHONPATH": path, "SDDD_SERVE": "0"}
            query = queries[2 * i + (name == "other")]  # a query new to the cache for each tree
            out[name]["help"].append(run(["--help"], root, env, pythons[name]))
            out[name]["new"].append(run(["search", query, "--json"], root, env, pythons[name]))
            out[name]["cached"].append(run(["search", query, "--json"], root, env, pythons[name]))
    result: dict[str, Any] = {"tree": str(tree), "python": pythons}
    for name, path in trees.items():
        corpus = work / f"corpus-{name}"
        make_corpus(corpus, chunks, "all-MiniLM-L6-v2")
        wall, cpu, _peak, stdout = run(["index", "--json"], corpus, {"PYTHONPATH": path, "SDDD_SERVE": "0"},
                                       pythons[name])
        embedded = int(json.loads(stdout)["embedded"])
        result[name] = {**{k: summary(v) for k, v in out[name].items()},
                        "index_minilm": {"chunks": embedded, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                                         "chunks_per_s": round(embedded / wall, 1)}}
    print(f"| interleaved, same load | this tree: wall / CPU | {tree}: wall / CPU |")
    print("| --- | --- | --- |")
    for key, label in (("help", "`sddd --help`"), ("new", "`sddd search`, new query"),
                       ("cached", "`sddd search`, cached query")):
        a, b = result["this"][key], result["other"][key]
        print(f"| {label} | {a['wall_s']:.3f} / {a['cpu_s']:.3f} s "
              f"| {b['wall_s']:.3f} / {b['cpu_s']:.3f} s |")
    a, b = result["this"]["index_minilm"], result["other"]["index_minilm"]
    print(f"| index, MiniLM, {a['chunks']} chunks | {a['chunks_per_s']} chunks/s (CPU {a['cpu_s']} s) | "
          f"{b['chunks_per_s']} chunks/s (CPU {b['cpu_s']} s) |")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--against", type=Path, metavar="TREE",
                        help="only compare --help, search and index with another checkout (e.g. main), "
                             "interleaved; writes bench/results/start-against.json")
    parser.add_argument("--against-python", default=sys.executable, metavar="PYTHON",
                        help="the interpreter (so the environment) that runs --against's tree")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="sddd-start-"))
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # the ONNX graph built once here, not reused
    try:
        root = work / "repo"
        root.mkdir()
        queries = make_repo(root)
        if len(queries) < args.queries + args.runs:
            raise SystemExit(f"only {len(queries)} headings to ask; lower --queries or --runs")
        if args.against is not None:
            compared = against(root, work, queries, args.runs, args.chunks, args.against.resolve(),
                               args.against_python)
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / "start-against.json").write_text(json.dumps(
                {**run_facts(), "load_average": [round(x, 2) for x in os.getloadavg()], **compared},
                indent=2) + "\n", encoding="utf-8")
            return
        cli = cli_figures(root, queries, args.runs)
        serve = serve_figures(root, queries[args.runs:args.runs + args.queries], args.runs)
        index = index_figures(work, args.chunks)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    show(cli, serve, index)
    load = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    result = {**run_facts(), "load_average": [round(x, 2) for x in load], "cli": cli, "serve": serve,
              "index": index}
    (RESULTS / "start.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nload average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
