"""`sddd check` over 50 targets, cold and warm, each run in a fresh process.

Prints a table and writes bench/results/check.json. Run from the repository root:

    .venv/bin/python bench/check_bench.py [--targets 50] [--runs 5]

The corpus is a copy of this repository's docs/ and profiles/; the targets are its
headings (query = heading text, expect = path#anchor), so they are real documents and
real queries. Measures the wall time of `sddd check --json` in a fresh process:

* fresh clone: no index at all (check builds it, then embeds the queries);
* cold: the index is up to date but the query cache is empty (the model is loaded);
* warm: documents and targets unchanged since the last run (no model may be loaded).
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

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def make_repo(root: Path, count: int) -> int:
    """Copy the knowledge base and write ``count`` targets made from its headings."""
    from sddd.index.markdown_chunks import parse_markdown

    for folder in ("docs", "profiles"):
        shutil.copytree(REPO / folder, root / folder)
    headings = []
    for path in sorted((root / "docs").rglob("*.md")):
        rel = path.relative_to(root).as_posix()
        doc = parse_markdown(path.read_text(encoding="utf-8"), rel)
        headings += [(s.title, f"{rel}#{s.anchor}") for s in doc.sections if s.level >= 2]
    step = max(1, len(headings) // count)
    chosen = headings[::step][:count]
    lines = ["docs: ['docs/**/*.md']", "profiles: ['profiles/*.yml']", "targets:"]
    for query, expect in chosen:
        lines += [f"  - query: {json.dumps(query, ensure_ascii=False)}", f"    expect: {expect}",
                  "    min_score: -1", "    top_k: 50"]
    (root / "sddd.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(chosen)


def check(root: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sddd.cli", "check", "--json"], cwd=root,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"sddd check failed: {proc.stderr.strip()}")
    return wall, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sddd.index.encoders.models import load_encoder

    load_encoder("all-MiniLM-L6-v2")  # the one-time ONNX export is not what we time
    root = Path(tempfile.mkdtemp(prefix="sddd-check-bench-"))
    try:
        targets = make_repo(root, args.targets)
        fresh_wall, fresh = check(root)
        cold, warm, warm_inner, cold_loaded, warm_loaded = [], [], [], [], []
        for _ in range(args.runs):
            (root / ".sddd" / "queries.sqlite").unlink()
            wall, data = check(root)
            cold.append(wall)
            cold_loaded.append(data["model_loaded"])
            wall, data = check(root)
            warm.append(wall)
            warm_loaded.append(data["model_loaded"])
            warm_inner.append(data["seconds"])
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sddd.cli"], check=True)
        startup = time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)

    results = {
        "targets": targets,
        "fresh_clone_wall_s": round(fresh_wall, 3),
        "cold_wall_s_median": round(statistics.median(cold), 3),
        "cold_wall_s_min": round(min(cold), 3),
        "cold_model_loaded": all(cold_loaded),
        "warm_wall_s_median": round(statistics.median(warm), 3),
        "warm_wall_s_min": round(min(warm), 3),
        "warm_model_loaded": any(warm_loaded),
        "warm_check_in_process_s_median": round(statistics.median(warm_inner), 3),
        "python_import_sddd_cli_s": round(startup, 3),
        "fresh_clone_model_loaded": fresh["model_loaded"],
        "hit_at_1": data["summary"]["hit_at_1"],
        "mrr_at_k": data["summary"]["mrr_at_k"],
        "runs": args.runs,
        "machine": f"{os.cpu_count()} cores",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "check.json").write_text(json.dumps(results, indent=2) + "\n")
    width = max(len(k) for k in results)
    print(f"{'measure':<{width}}  value")
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
