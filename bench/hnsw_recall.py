"""The vector index at 100k to 1M passages: recall@10 of sddd's HNSW index against the exact flat one,
search time of each, and HNSW build time, on real MiniLM vectors of bench/scale.py's passages.

Run on a GPU machine (the vectors are embedded with `sddd index --device cuda`'s encoder):

    python bench/hnsw_recall.py --model-dir DIR [--sizes 100000,1000000] [--out FILE]

The passages are bench/scale.py's synthetic sections (seed 20); the queries are 200 sections of
another seed, heading and first sentence, so they are near the corpus but not in it. Both indexes
are built with sddd.index.vectors (the parameters `sddd index` uses); searches run one query at a
time on one thread, as `sddd search` does. Writes JSON after each size (bench/results/hnsw.json).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._meta import run_facts
from bench.scale import SECTIONS, section

QUERIES = 200
SLICE = 20_000


def passages(start: int, seed: int = 20) -> list[str]:
    """Passages ``start`` .. ``start + SLICE - 1``, each from its own seeded generator."""
    out = []
    for i in range(start, start + SLICE):
        rng = random.Random(seed * 10_000_019 + i)
        out.append("\n".join(section(rng, i // SECTIONS, i % SECTIONS)))
    return out


def query_texts() -> list[str]:
    texts = []
    for i in range(QUERIES):
        lines = "\n".join(section(random.Random(7_000_003 + i), i, i % SECTIONS)).split("\n")
        texts.append(f"{lines[0][3:]} {' '.join(lines[2].split()[:12])}")  # heading, then 12 words
    return texts


def timed_search(index: object, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    from sddd.index import vectors as vector_index

    ids, times = [], []
    for row in queries:
        start = time.perf_counter()
        ids.append(vector_index.search(index, row[None, :], 10)[1][0])
        times.append(time.perf_counter() - start)
    return np.array(ids), times


def ms(times: list[float], q: float) -> float:
    return round(1000 * float(np.quantile(times, q)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "hnsw.json")
    args = parser.parse_args()
    from sddd.index import vectors as vector_index
    from sddd.index.encoders.cuda_encoder import CudaEncoder
    from sddd.index.encoders.models import model_info

    sizes = [int(s) for s in args.sizes.split(",")]
    total = max(sizes)
    started = time.perf_counter()
    with Pool() as pool:
        texts = [t for block in pool.map(passages, range(0, total, SLICE)) for t in block][:total]
    made_s = time.perf_counter() - started
    encoder = CudaEncoder(model_info(str(args.model_dir)))
    started = time.perf_counter()
    base = encoder.encode(texts)
    embed_s = time.perf_counter() - started
    del texts
    queries = encoder.encode(query_texts())
    result: dict[str, object] = {"facts": run_facts(), "generate_s": round(made_s, 1),
                                 "embed_s": round(embed_s, 1), "embed_per_s": round(total / embed_s),
                                 "hnsw": {"M": vector_index.HNSW_M,
                                          "efConstruction": vector_index.HNSW_EF_CONSTRUCTION,
                                          "efSearch": vector_index.HNSW_EF_SEARCH}, "rows": []}
    for size in sizes:
        flat = vector_index.new_index(base.shape[1], vector_index.FLAT)
        vector_index.add(flat, base[:size])
        start = time.perf_counter()
        hnsw = vector_index.new_index(base.shape[1], vector_index.HNSW)
        vector_index.add(hnsw, base[:size])
        build = time.perf_counter() - start
        exact, flat_times = timed_search(flat, queries)
        found, hnsw_times = timed_search(hnsw, queries)
        hits = sum(len(set(a) & set(b)) for a, b in zip(exact, found, strict=True))
        row = {"passages": size, "recall_at_10": round(hits / (10 * len(queries)), 4),
               "hnsw_build_s": round(build, 1), "hnsw_p50_ms": ms(hnsw_times, 0.5),
               "hnsw_p95_ms": ms(hnsw_times, 0.95), "flat_p50_ms": ms(flat_times, 0.5),
               "flat_p95_ms": ms(flat_times, 0.95), "kind_sddd_picks": vector_index.kind_for(size)}
        result["rows"].append(row)  # type: ignore[attr-defined]
        print(json.dumps(row), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        del flat, hnsw


if __name__ == "__main__":
    main()
