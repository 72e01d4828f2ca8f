"""`sddd site build --strict` on this repository's knowledge base, each run in a fresh process.

Prints a table and writes bench/results/site.json. Run from the repository root:

    .venv/bin/python bench/site_bench.py [--runs 3]

The corpus is a copy of docs/, profiles/, sddd.yaml and mkdocs.yml in a temporary folder.
Measures the wall time of the command (CLI start-up included) in three states:

* fresh clone: no index yet; "Related pages" build it first (the model is loaded);
* warm: the index is up to date, nothing to embed (the usual edit-and-rebuild loop);
* no related: ``--no-related`` (no index at all: profiles, archives, discoverability only).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def copy(root: Path) -> None:
    for name in ("docs", "profiles"):
        shutil.copytree(REPO / name, root / name)
    for name in ("sddd.yaml", "mkdocs.yml"):
        shutil.copy2(REPO / name, root / name)


def build(root: Path, *args: str) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sddd.cli", "site", "build", "--strict", "--json", *args],
                          cwd=root, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sddd site build failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return wall, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="sddd-site-bench-") as tmp:
        fresh = []
        for run in range(args.runs):
            root = Path(tmp) / f"fresh{run}"
            copy(root)
            fresh.append(build(root)[0])
        root = Path(tmp) / "fresh0"
        warm = [build(root) for _ in range(args.runs)]
        bare = [build(root, "--no-related")[0] for _ in range(args.runs)]
        pages = warm[-1][1]["pages"]
        rows = [("fresh clone (index built)", fresh), ("warm (index up to date)", [w for w, _ in warm]),
                ("--no-related", bare)]
    print(f"sddd site build --strict, {pages} pages, {args.runs} runs each (fresh processes)")
    print(f"{'state':<28}{'median s':>10}{'min s':>8}{'max s':>8}")
    for name, times in rows:
        print(f"{name:<28}{statistics.median(times):>10.2f}{min(times):>8.2f}{max(times):>8.2f}")
    RESULTS.mkdir(exist_ok=True)
    data = {"command": "sddd site build --strict", "pages": pages, "runs": args.runs,
            "results": {name: {"median_s": round(statistics.median(t), 3), "min_s": round(min(t), 3),
                               "max_s": round(max(t), 3)} for name, t in rows},
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (RESULTS / "site.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"written {RESULTS / 'site.json'}")


if __name__ == "__main__":
    main()
