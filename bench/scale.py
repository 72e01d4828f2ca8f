"""How the index's costs grow with the corpus: full index, re-index, search, check, memory, disk.

Run from the repository root (the sizes are passages; each is a fresh synthetic corpus):

    .venv/bin/python bench/scale.py [--sizes 1000,3000,10000] [--device cpu] [--model NAME ...]

The corpus is deterministic Markdown (``--seed``): guides of 20 sections of about 150 words, with
headings, fenced YAML and shell blocks, vLLM flags, model ids and ports, so the chunker, the
lexical side and the ranking see what a team's docs hold. For each size it measures, every sddd
call in a fresh process as a user runs it (wall time, CPU time of the process, its peak RSS):

* full index (passages/s), then re-index with nothing changed, with one file changed, with 1 %
  of the files changed;
* `sddd search` cold (a fresh process, a query not seen before: the models load) and warm in
  process (``search()`` again, query embeddings cached) p50/p95 for dense, lexical and hybrid;
* `sddd check` over 50 targets (headings of the corpus, expected where they are);
* the index's size on disk and its FAISS kind; and recall@10 of an HNSW index of the same
  vectors (sddd.index.vectors' parameters) against the flat one, with its search time.

Prints a table, writes bench/results/scale.json and plots cost against size (log-log) in
bench/results/scale.png. CPU time is given beside wall time because the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._meta import CLI_WITH_PEAK, peak_mb, run_facts

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = 20
WORDS = ("vllm qwen3 medium mini micro profile compose docker gpu memory utilization tensor parallel "
         "prefix caching chunked prefill kv cache fp8 awq marlin healthcheck port token latency ttft "
         "throughput batch sequence context window reasoning parser hermes tool call deploy restart "
         "volume secret environment archive retention review drift audit budget naming image tag server "
         "engine container health endpoint request stream model weights quantization graph capture "
         "startup timeout error oom nvidia driver runtime device ids shm ipc host network the a of to "
         "and is for with on when that it").split()
FLAGS = ["--gpu-memory-utilization", "--max-num-seqs", "--max-model-len", "--tensor-parallel-size",
         "--enable-prefix-caching", "--kv-cache-dtype", "--enable-chunked-prefill", "--swap-space"]
MODELS = ["Qwen/Qwen3-32B-AWQ", "Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B-Instruct", "mistralai/Mistral-7B"]
QUERIES = ["gpu memory utilization headroom for long contexts", "which port does the medium profile use",
           "--max-num-seqs 32 batch latency", "Qwen/Qwen3-32B-AWQ quantization marlin", "prefix caching ttft",
           "restart the container after an oom", "kv cache fp8 accuracy", "tensor parallel size two cards",
           "healthcheck timeout at startup", "archive retention review"]


def section(rng: random.Random, f: int, s: int) -> list[str]:
    topic = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(WORDS)}"
    flag, value = rng.choice(FLAGS), rng.choice(["0.85", "0.9", "32", "8192", "2", "fp8"])
    prose = " ".join(rng.choice(WORDS) for _ in range(rng.randint(90, 130))).capitalize()
    port, ticket = 5000 + rng.randrange(40), rng.randrange(10_000)
    lines = [f"## {topic.capitalize()} ({f}.{s})", "", f"{prose}. Set `{flag} {value}` for "
             f"`{rng.choice(MODELS)}` on port {port}, ticket OPS-{ticket}.", ""]
    if s % 3 == 0:
        lines += ["```yaml", "services:", f"  vllm-{f}:", f"    command: [\"{flag}\", \"{value}\"]",
                  f"    ports: [\"{5000 + s}:8000\"]", "```", ""]
    elif s % 3 == 1:
        command = f"docker compose -f profiles/p{f % 7}.yml up -d  # {rng.choice(WORDS)}"
        lines += ["```bash", command, "```", ""]
    return lines


def make_corpus(root: Path, passages: int, models: list[str], seed: int) -> list[Path]:
    """Files of SECTIONS sections (one passage each, plus the title's) until ``passages``."""
    rng = random.Random(seed)
    files = []
    for f in range(max(1, passages // (SECTIONS + 1))):
        lines = [f"# Guide {f}: {rng.choice(WORDS)} and {rng.choice(WORDS)}", ""]
        for s in range(SECTIONS):
            lines += section(rng, f, s)
        path = root / "docs" / f"team{f % 50:02d}" / f"guide-{f:06d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")
        files.append(path)
    model_lines = "\n".join(f"  - {name}" for name in models)
    (root / "sddd.yaml").write_text(f"docs: ['docs/**/*.md']\nmodel:\n{model_lines}\n", encoding="utf-8")
    return files


def sddd(args: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> dict[str, object]:
    """One CLI call in a fresh process: wall s, CPU s (user + system), peak RSS MB, parsed --json."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CLI_WITH_PEAK, *args], cwd=cwd, capture_output=True,
                          text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        raise SystemExit(f"sddd {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = peak_mb(proc.stderr)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_mb": round(peak, 1),
            "out": json.loads(proc.stdout) if proc.stdout.strip() else None}


def touch(files: list[Path], count: int, round_: int) -> None:
    for path in files[:: max(1, len(files) // count)][:count]:
        path.write_text(path.read_text(encoding="utf-8") + f"\nEdited in round {round_}: a new line.\n",
                        encoding="utf-8")


def reindex(root: Path, label: str) -> dict[str, object]:
    run = sddd(["index", "--json"], root)
    out = run.pop("out")
    assert isinstance(out, dict)
    return {**run, "embedded": out["embedded"], "changed_files": len(out["changed_files"]), "label": label}


def targets(root: Path, files: list[Path], count: int) -> None:
    """``count`` targets: section headings of the corpus, expected at their own anchor."""
    from sddd.index.markdown_chunks import parse_markdown

    chosen = []
    for path in files[:: max(1, len(files) // count)][:count]:
        rel = path.relative_to(root).as_posix()
        doc = parse_markdown(path.read_text(encoding="utf-8"), rel)
        heading = [s for s in doc.sections if s.level >= 2][3]
        chosen.append((heading.title, f"{rel}#{heading.anchor}"))
    text = (root / "sddd.yaml").read_text(encoding="utf-8") + "targets:\n"
    for query, expect in chosen:
        text += f"  - query: {json.dumps(query)}\n    expect: {expect}\n    min_score: -1\n    top_k: 50\n"
    (root / "sddd.yaml").write_text(text, encoding="utf-8")


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50_ms": round(1000 * statistics.median(ordered), 2),
            "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2)}


def warm_search(root: Path) -> dict[str, object]:
    """In process, the models loaded and the queries' embeddings cached: p50/p95 per mode."""
    from sddd.core.config import load_config
    from sddd.index.search import search

    config = load_config(root / "sddd.yaml")
    queries = [f"{q} {i}" for i in range(5) for q in QUERIES]  # 50 queries
    out: dict[str, object] = {}
    for mode in ("dense", "lexical", "hybrid"):
        for query in queries:  # embeds and caches each query once
            search(config, query, k=10, mode=mode, refresh=False)
        times = []
        for query in queries:
            start = time.perf_counter()
            search(config, query, k=10, mode=mode, refresh=False)
            times.append(time.perf_counter() - start)
        out[mode] = percentiles(times)
    return out


def recall(root: Path, queries: int = 200) -> dict[str, object]:
    """recall@10 of an HNSW index of the index's first model's vectors against exact search."""
    import numpy as np

    from sddd.core.config import load_config
    from sddd.index import vectors as vector_index
    from sddd.index.store import open_store

    store = open_store(load_config(root / "sddd.yaml").index_dir)
    base = store.all_vectors(0)
    store.close()
    rng = np.random.default_rng(1)
    # Queries near the corpus but not in it: a passage's vector, moved and normalised again.
    picked = base[rng.choice(len(base), size=min(queries, len(base)), replace=False)]
    noisy = picked + rng.normal(0, 0.03, picked.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    flat = vector_index.new_index(base.shape[1], vector_index.FLAT)
    vector_index.add(flat, base)
    start = time.perf_counter()
    hnsw = vector_index.new_index(base.shape[1], vector_index.HNSW)
    vector_index.add(hnsw, base)
    build = time.perf_counter() - start
    exact = vector_index.search(flat, noisy, 10)[1]
    times, found = [], []
    for row in noisy:
        start = time.perf_counter()
        found.append(vector_index.search(hnsw, row[None, :], 10)[1][0])
        times.append(time.perf_counter() - start)
    hits = sum(len(set(a) & set(b)) for a, b in zip(exact, found, strict=True))
    return {"recall_at_10": round(hits / (10 * len(noisy)), 4), "hnsw_build_s": round(build, 2),
            "hnsw_search": percentiles(times)}


def disk_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


def measure(size: int, args: argparse.Namespace) -> dict[str, object]:
    root = Path(tempfile.mkdtemp(prefix=f"sddd-scale-{size}-"))
    try:
        files = make_corpus(root, size, args.model, args.seed)
        full = sddd(["index", "--json", "--device", args.device], root)
        report = full.pop("out")
        assert isinstance(report, dict)
        rate = round(report["chunks"] / full["wall_s"], 1)  # type: ignore[operator]
        row: dict[str, object] = {"passages": report["chunks"], "files": len(files),
                                  "vector_index": report["vector_index"], "embedded_on": report["device"],
                                  "full_index": {**full, "passages_per_s": rate}}
        row["nothing_changed"] = reindex(root, "nothing changed")
        touch(files, 1, 1)
        row["one_file_changed"] = reindex(root, "one file")
        touch(files, max(1, len(files) // 100), 2)
        row["one_percent_changed"] = reindex(root, "1 % of files")
        colds = [sddd(["search", "--json", "--", f"{QUERIES[i]} cold {i}"], root) for i in range(3)]
        row["cold_search"] = {"wall_s": statistics.median(c["wall_s"] for c in colds),
                              "cpu_s": statistics.median(c["cpu_s"] for c in colds),
                              "peak_mb": max(c["peak_mb"] for c in colds)}
        row["warm_search"] = warm_search(root)
        targets(root, files, 50)
        check = sddd(["check", "--json"], root, ok=(0, 1))
        check.pop("out")
        row["check_50_targets"] = check
        row["disk_mb"] = disk_mb(root / ".sddd")
        row["hnsw_vs_flat"] = recall(root)
        return row
    finally:
        shutil.rmtree(root, ignore_errors=True)


def table(rows: list[dict[str, object]]) -> str:
    def get(row: dict[str, object], *keys: str) -> object:
        value: object = row
        for key in keys:
            value = value[key] if isinstance(value, dict) else None  # type: ignore[index]
        return value

    lines = [("measure", *[f"{r['passages']:,} passages" for r in rows])]
    spec = [("files", ("files",)), ("FAISS kind", ("vector_index",)),
            ("full index wall s", ("full_index", "wall_s")), ("full index CPU s", ("full_index", "cpu_s")),
            ("full index passages/s", ("full_index", "passages_per_s")),
            ("full index peak MB", ("full_index", "peak_mb")),
            ("re-index, nothing changed: wall s", ("nothing_changed", "wall_s")),
            ("re-index, nothing changed: CPU s", ("nothing_changed", "cpu_s")),
            ("re-index, one file: wall s", ("one_file_changed", "wall_s")),
            ("re-index, one file: embedded", ("one_file_changed", "embedded")),
            ("re-index, 1 % of files: wall s", ("one_percent_changed", "wall_s")),
            ("re-index, 1 % of files: CPU s", ("one_percent_changed", "cpu_s")),
            ("re-index, 1 % of files: embedded", ("one_percent_changed", "embedded")),
            ("cold `sddd search`: wall s", ("cold_search", "wall_s")),
            ("cold `sddd search`: CPU s", ("cold_search", "cpu_s")),
            ("cold `sddd search`: peak MB", ("cold_search", "peak_mb"))]
    spec += [(f"warm search {m} p{p} ms", ("warm_search", m, f"p{p}_ms"))
             for m in ("dense", "lexical", "hybrid") for p in (50, 95)]
    spec += [("`sddd check`, 50 targets: wall s", ("check_50_targets", "wall_s")),
             ("`sddd check`, 50 targets: CPU s", ("check_50_targets", "cpu_s")),
             ("`sddd check`: peak MB", ("check_50_targets", "peak_mb")),
             ("index on disk MB", ("disk_mb",)),
             ("HNSW recall@10 vs flat", ("hnsw_vs_flat", "recall_at_10")),
             ("HNSW search p50 ms", ("hnsw_vs_flat", "hnsw_search", "p50_ms"))]
    lines += [(name, *[str(get(r, *keys)) for r in rows]) for name, keys in spec]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines)


def plot(rows: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [int(r["passages"]) for r in rows]  # type: ignore[call-overload]
    series = {"full index (s)": ("full_index", "wall_s"),
              "re-index, 1 % (s)": ("one_percent_changed", "wall_s"),
              "re-index, nothing (s)": ("nothing_changed", "wall_s"),
              "cold search (s)": ("cold_search", "wall_s"),
              "check, 50 targets (s)": ("check_50_targets", "wall_s"),
              "index on disk (MB)": ("disk_mb",)}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, keys in series.items():
        values = []
        for row in rows:
            value: object = row
            for key in keys:
                value = value[key]  # type: ignore[index]
            values.append(float(value))  # type: ignore[arg-type]
        ax.plot(sizes, values, marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passages")
    ax.set_ylabel("cost")
    ax.set_title("sddd: cost against corpus size (log-log)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,3000,10000")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--model", action="append", help="model(s) for sddd.yaml (default: sddd's default)")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not args.model:
        from sddd.core.models import DEFAULT_MODELS

        args.model = list(DEFAULT_MODELS)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows.append(measure(size, args))
        print(f"measured {size:,} passages", flush=True)
    print(table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"facts": run_facts(), "command": " ".join(sys.argv), "models": args.model,
                                    "rows": rows}, indent=2) + "\n", encoding="utf-8")
    plot(rows, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
