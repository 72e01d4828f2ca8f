"""Indexing and cold-search benchmark on a synthetic 1,000-chunk corpus.

Prints a table and writes bench/results/index.json. Run from the repository root:

    .venv/bin/python bench/index_bench.py [--chunks 1000] [--runs 5] [--model NAME]

``--model use-multilingual-v3`` measures the multilingual model (results in
bench/results/index-use-multilingual-v3.json).

Measures: a full index (chunks per second), re-index with nothing changed, re-index after
one file changed (and how many chunks were re-embedded), and the wall time and peak memory
(max RSS) of `sddd search` in a fresh process, for a query seen before (cached embedding)
and a new one (the model is loaded).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _meta import CLI_WITH_PEAK, peak_mb

WORDS = (
    "vllm qwen3 medium mini micro profile compose docker gpu memory utilization tensor parallel "
    "prefix caching chunked prefill kv cache fp8 awq marlin healthcheck port token latency ttft "
    "throughput batch sequence context window reasoning parser hermes tool call deploy restart "
    "volume secret environment archive retention review drift audit budget naming image tag "
    "server engine container health endpoint request stream model weights quantization graph "
    "capture startup timeout error oom nvidia driver runtime device ids shm ipc host network"
).split()
SECTIONS_PER_FILE = 20
RESULTS = Path(__file__).resolve().parent / "results"


def paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def make_corpus(root: Path, chunks: int, model: str, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    files = []
    for f in range(chunks // SECTIONS_PER_FILE):
        lines = [f"---\ntitle: Synthetic guide {f}\nkind: guide\n---\n", f"# Synthetic guide {f}\n"]
        for s in range(SECTIONS_PER_FILE):
            lines.append(f"## Section {f}.{s} about {rng.choice(WORDS)} and {rng.choice(WORDS)}\n")
            lines.append(paragraph(rng, 150) + "\n")
        path = root / "docs" / "guides" / f"guide-{f:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")
        files.append(path)
    (root / "sddd.yaml").write_text(f"docs: ['docs/**/*.md']\nmodel: {model}\n", encoding="utf-8")
    return files


def sddd_process(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run the CLI in a fresh process: (wall seconds, peak RSS in MB, stdout)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CLI_WITH_PEAK, *args], cwd=cwd, capture_output=True,
                          text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sddd {' '.join(args)} failed: {proc.stderr.strip()}")
    return wall, peak_mb(proc.stderr), proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from sddd.core.config import load_config
    from sddd.index.encoders.models import load_encoder
    from sddd.index.indexer import build_index

    load_encoder(args.model)  # make sure the one-time preparation (ONNX export, cache) is not timed
    root = Path(tempfile.mkdtemp(prefix="sddd-bench-"))
    try:
        files = make_corpus(root, args.chunks, args.model)
        config = load_config(root / "sddd.yaml")
        full = build_index(config)
        same = [build_index(config).seconds for _ in range(args.runs)]
        wall_same, _, out = sddd_process(["index", "--json"], root)
        assert json.loads(out)["embedded"] == 0
        target = files[len(files) // 2]
        text = target.read_text().replace("Section", "Part", 1)
        target.write_text(text + "\nA new closing paragraph.\n")
        one = build_index(config)
        cached_query = "chunked prefill medium"
        sddd_process(["search", cached_query, "--json"], root)  # fills the query cache
        walls_new, rss_new, walls_cached, rss_cached = [], [], [], []
        for run in range(args.runs):
            wall, rss, _ = sddd_process(["search", f"gpu memory headroom question {run}", "--json"], root)
            walls_new.append(wall)
            rss_new.append(rss)
            wall, rss, _ = sddd_process(["search", cached_query, "--json"], root)
            walls_cached.append(wall)
            rss_cached.append(rss)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    results = {
        "model": args.model,
        "corpus_chunks": full.chunks,
        "full_index_seconds": round(full.seconds, 2),
        "full_index_chunks_per_second": round(full.chunks / full.seconds, 1),
        "nothing_changed_seconds_in_process": round(statistics.median(same), 3),
        "nothing_changed_seconds_fresh_process": round(wall_same, 3),
        "one_file_changed_seconds": round(one.seconds, 2),
        "one_file_changed_embedded": one.embedded,
        "one_file_changed_file_chunks": SECTIONS_PER_FILE + 1,
        "cold_search_new_query_wall_s_median": round(statistics.median(walls_new), 3),
        "cold_search_new_query_peak_rss_mb": round(max(rss_new), 1),
        "cold_search_cached_query_wall_s_median": round(statistics.median(walls_cached), 3),
        "cold_search_cached_query_peak_rss_mb": round(max(rss_cached), 1),
        "runs": args.runs,
        "machine": f"{os.cpu_count()} cores",
    }
    RESULTS.mkdir(exist_ok=True)
    name = "index.json" if args.model == "all-MiniLM-L6-v2" else f"index-{args.model}.json"
    (RESULTS / name).write_text(json.dumps(results, indent=2) + "\n")
    width = max(len(k) for k in results)
    print(f"{'measure':<{width}}  value")
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
