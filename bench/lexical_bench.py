"""BM25's cost per query against the corpus size, on a real corpus, without embedding (issue 29).

    .venv/bin/python bench/lexical_bench.py --corpus DIR [--fractions 0.1,0.3,1] [--db-dir DIR]

``DIR`` is a corpus with an ``sddd.yaml`` (bench/real_scale.py builds the six-repository one).
The files phase that ``sddd index`` runs (the same chunker, redaction and lexical rows, in its
worker pool) fills the two FTS5 tables of an index for the first 10 %, 30 % and 100 % of the files
(the embedding, which BM25 does not need, is left out: this runs on the 2-core CPU machine in
minutes). Then each query does what ``sddd search`` asks of the lexical side
(``sddd.index.ranking.candidates``: the 200 best passages and the 100 best files, each on its
0-1 scale), timed over a warm connection, and the SQL statements it ran are counted. Prints a
table, writes bench/results/lexical.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._meta import run_facts

RESULTS = Path(__file__).resolve().parent / "results"
# Short keyword questions and long natural ones: a long question ORs many terms, some common.
QUERIES = ["how are breaking changes to the public API proposed", "graduation criteria for beta",
           "gas cost of the new opcode", "collector exporter configuration", "sig meeting agenda",
           "useEffect cleanup function", "feature gate default enabled", "trait object safety rules",
           "tracing context propagation headers", "code of conduct committee election",
           "what happens to existing clusters when the feature graduates to stable and the "
           "flag is removed from the API server",
           "how should a contributor write the test plan and which e2e tests are required before "
           "the enhancement can be marked implementable",
           "quelle est la procédure pour proposer un changement du langage",
           "kubectl", "the", "state"]


def build(corpus: Path, fraction: float, db_path: Path) -> dict[str, Any]:
    """The FTS5 tables of an index over the first ``fraction`` of the corpus's files."""
    from sddd.core.config import load_config
    from sddd.index.corpus import discover
    from sddd.index.counting import build_window, window_spec
    from sddd.index.draft import LEXICAL_SCHEMA
    from sddd.index.files_phase import FileWork, Limits, read_files

    config = load_config(corpus / "sddd.yaml")
    files = discover(config).files
    files = files[: max(1, round(len(files) * fraction))]
    spec = window_spec(config, 1024)
    assert spec is not None, "the primary model needs its own fast tokenizer"
    db_path.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    db.executescript(LEXICAL_SCHEMA)
    sizes: dict[str, Any] = {"passages": 0, "documents": 0, "files": len(files)}
    with db:
        for done in read_files([FileWork(f) for f in files], spec, lambda: build_window(spec), Limits()):
            if done.passages:
                db.executemany("INSERT INTO lexical VALUES (?, ?, ?, ?)", done.passages)
                sizes["passages"] += len(done.passages)
            if done.document:
                db.execute("INSERT INTO doc_lexical VALUES (?, ?, ?, ?)", done.document)
                sizes["documents"] += 1
    db.close()
    return sizes


def measure(db_path: Path, sizes: dict[str, Any], rounds: int) -> dict[str, Any]:
    from sddd.index.lexical_index import LexicalIndex
    from sddd.index.ranking import CANDIDATES, DOCUMENT_CANDIDATES

    db = sqlite3.connect(db_path)
    statements = 0

    def count(statement: str) -> None:  # FTS5's own reads of its shadow tables are not counted
        nonlocal statements
        statements += statement.lstrip().upper().startswith("SELECT")  and "MATCH" in statement.upper()

    db.set_trace_callback(count)
    lexical = LexicalIndex(db, {"passages": sizes["passages"], "documents": sizes["documents"]}, str(db_path))

    def ask(query: str) -> None:
        lexical.scaled("passages", query, CANDIDATES)
        lexical.scaled("documents", query, DOCUMENT_CANDIDATES)

    for query in QUERIES:  # warm the page cache
        ask(query)
    times: dict[str, list[float]] = {q: [] for q in QUERIES}
    statements = 0
    for _ in range(rounds):
        for query in QUERIES:
            start = time.perf_counter()
            ask(query)
            times[query].append(time.perf_counter() - start)
    medians = [statistics.median(t) for t in times.values()]
    ordered = sorted(medians)
    return {"p50_ms": round(1000 * statistics.median(ordered), 2),
            "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
            "max_ms": round(1000 * ordered[-1], 2),
            "match_statements_per_query": round(statements / (rounds * len(QUERIES)), 1),
            "per_query_ms": {q: round(1000 * m, 2) for q, m in zip(QUERIES, medians, strict=True)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--fractions", default="0.1,0.3,1")
    parser.add_argument("--db-dir", type=Path, default=Path("/tmp/sddd-lexical-bench"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="measure databases built before")
    parser.add_argument("--out", type=Path, default=RESULTS / "lexical.json")
    args = parser.parse_args()
    args.db_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    print(f"{'files':>7} {'passages':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'statements':>10}")
    for fraction in (float(f) for f in args.fractions.split(",")):
        db_path = args.db_dir / f"lexical-{fraction:g}.sqlite"
        sizes_file = db_path.with_suffix(".json")
        if args.reuse and sizes_file.is_file():
            sizes = json.loads(sizes_file.read_text(encoding="utf-8"))
        else:
            start = time.perf_counter()
            sizes = build(args.corpus, fraction, db_path)
            sizes["build_s"] = round(time.perf_counter() - start, 1)
            sizes_file.write_text(json.dumps(sizes), encoding="utf-8")
        row = {"fraction": fraction, **sizes, **measure(db_path, sizes, args.rounds)}
        rows.append(row)
        print(f"{row['files']:>7,} {row['passages']:>9,} {row['p50_ms']:>8} {row['p95_ms']:>8} "
              f"{row['max_ms']:>8} {row['match_statements_per_query']:>10}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"facts": run_facts(), "command": " ".join(sys.argv), "rows": rows},
                                   indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
