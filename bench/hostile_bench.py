"""Hostile text: issue 16's targets, measured on the real tokenizers, chunker, index and search.

Prints a table and writes bench/results/hostile.json. Run from the repository root:

    .venv/bin/python bench/hostile_bench.py [--big-mb 20] [--searches 1000] [--reindexes 100]

Measures, each beside its target:
  * tokenising 1 MB of each hostile kind (one run of letters, base64, a minified line, mixed
    scripts, control characters, ordinary words): the lexical tokenizer, the model's token count
    and the whole Markdown chunker (target: under 1 s each);
  * the work of a query before the model (redaction, lexical clauses, the FTS5 query) for
    queries of 1 KB to 1 MB (target: under 1 s);
  * `sddd index` of one 20 MB Markdown file in a fresh process: wall and CPU seconds, peak
    memory (target: under 2 minutes and 600 MB);
  * searches racing re-indexes after edits: spurious "index missing/corrupt" errors (target: 0);
  * YAML alias and merge-key bombs (a profile, sddd.yaml) and a 10 x 10 grid, each in a fresh
    process under an address-space cap: exit code, wall and CPU seconds, peak memory (target:
    refused in under 1 s with one line naming the limit). Before/after: run it with PYTHONPATH
    pointing at each checkout, `--skip tokenise queries big race`.
  * `sddd index` of one guide holding one long word (100 KB, 1 MB) or a 300 KB base64 data URI
    (issue 31: 21 s / 1.5 GB, 223 s / 12.3 GB, 31 s / 4.3 GB before), in a fresh process: wall,
    CPU, peak memory (target: under the 1 GB budget). ``--code DIR`` runs another checkout's
    sddd (``PYTHONPATH=DIR``) for the "before" figures.
The machine is often shared: CPU seconds are printed beside wall seconds.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the YAML bombs are the tests' own
from _meta import CLI_WITH_PEAK, peak_mb, run_facts

from tests.fixtures.hostile_yaml import alias_bomb, merge_bomb

RESULTS = Path(__file__).resolve().parent / "results"
MB = 1 << 20
WORDS = ("vllm qwen3 profile compose gpu memory utilization tensor parallel prefix caching chunked "
         "prefill kv cache healthcheck port latency throughput batch deploy restart volume secret "
         "archive drift audit budget image server engine container endpoint model quantization").split()


def hostile(kind: str, size: int, rng: random.Random) -> str:
    if kind == "letters":
        return "x" * size
    if kind == "base64":
        return base64.b64encode(rng.randbytes(size * 3 // 4)).decode()[:size]
    if kind == "minified":
        unit = "function aB(c){return c.dE+fG[hI]||jK(lM,nO)};var pQ=rS.tU(vW);"
        return (unit * (size // len(unit) + 1))[:size]
    if kind == "mixed_scripts":
        unit = "Qwen3 模型 الخادم сервер 🚀 vLLMサーバー camelCaseWord Ünïcödé "
        return (unit * (size // len(unit) + 1))[:size]
    if kind == "control":
        return "".join(rng.choice(["a", "b", "\x00", "\x1b[31m", "\u202e", "\r", "\x0c", "\ufeff"])
                       for _ in range(size))[:size]
    return " ".join(rng.choice(WORDS) for _ in range(size // 6))[:size]


KINDS = ("letters", "base64", "minified", "mixed_scripts", "control", "words")


def timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def tokenising(rng: random.Random) -> list[dict[str, object]]:
    from sddd.core.config import Config
    from sddd.index.chunking import Window
    from sddd.index.encoders.ensemble import load_ensemble
    from sddd.index.lexical import index_text
    from sddd.index.markdown_chunks import markdown_chunks

    encoder = load_ensemble(Config(root=Path.cwd()).model)  # the default models
    window = Window(encoder.count_tokens, encoder.max_tokens, count_many=encoder.count_tokens_many)
    rows = []
    for kind in KINDS:
        text = hostile(kind, MB, rng)
        doc = f"# Hostile {kind}\n\n## The section\n\n{text}\n"
        stages = (("lexical tokenizer", functools.partial(index_text, text)),
                  ("model token count", functools.partial(encoder.count_tokens_many, [text])),
                  ("markdown chunker", functools.partial(markdown_chunks, doc, "h.md", "guide", window)))
        for stage, fn in stages:
            _, wall, cpu = timed(fn)
            rows.append({"part": "tokenise 1 MB", "kind": kind, "stage": stage, "wall_s": round(wall, 3),
                         "cpu_s": round(cpu, 3), "target_s": 1.0})
    return rows


def uncached_clauses(query: str) -> object:
    from sddd.index.lexical import match_expression, query_clauses

    query_clauses.cache_clear()  # a search computes them once: time that once, not the cache
    return match_expression(query)


def queries(root: Path, rng: random.Random) -> list[dict[str, object]]:
    from sddd.core.config import load_config
    from sddd.core.secrets import redact
    from sddd.index.search import search

    config = load_config(root / "sddd.yaml")
    rows = []
    for size in (1_000, 100_000, MB):
        for kind in ("letters", "base64", "words"):
            query = hostile(kind, size, rng)
            search(config, query, k=5, refresh=False)  # embeds once; the second call is a cache hit
            stages = (("redact", functools.partial(redact, query)),
                      ("lexical clauses", functools.partial(uncached_clauses, query)),
                      ("search, embedding cached",
                       functools.partial(search, config, query, k=5, refresh=False)))
            for stage, fn in stages:
                _, wall, cpu = timed(fn)
                rows.append({"part": "query before the model", "kind": f"{kind} {size // 1000} KB",
                             "stage": stage, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                             "target_s": 1.0})
    return rows


def big_file(kind: str, megabytes: int, rng: random.Random) -> dict[str, object]:
    root = Path(tempfile.mkdtemp(prefix="sddd-hostile-"))
    try:
        (root / "sddd.yaml").write_text("docs: ['docs/**/*.md']\n", encoding="utf-8")
        target = root / "docs" / "guides" / "big.md"
        target.parent.mkdir(parents=True)
        with target.open("w", encoding="utf-8") as out:
            out.write("# A 20 MB guide\n\n")
            written, section = 0, 0
            unit = " ".join(rng.choice(WORDS) for _ in range(150)) + "\n\n"
            while written < megabytes * MB:
                body = hostile("base64", 64 * 1024, rng) if kind == "base64 blobs" else unit * 20
                block = f"## Section {section}\n\n{body}\n\n"
                out.write(block)
                written += len(block)
                section += 1
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CLI_WITH_PEAK, "index", "--json"], cwd=root,
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"sddd index failed on the {kind} file: {proc.stderr.strip()[-400:]}")
        report = json.loads(proc.stdout)
        peak = peak_mb(proc.stderr)
        return {"part": f"index one {megabytes} MB file", "kind": kind, "stage": "sddd index (fresh process)",
                "wall_s": round(wall, 1), "cpu_s": round(after.ru_utime + after.ru_stime
                                                       - before.ru_utime - before.ru_stime, 1),
                "peak_mb": round(peak), "chunks": report.get("chunks"), "embedded": report.get("embedded"),
                "target_s": 120.0, "target_mb": 600}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def long_word(kind: str, rng: random.Random, code: str | None) -> dict[str, object]:
    """One guide with one long run, indexed by the CLI in a fresh process."""
    root = Path(tempfile.mkdtemp(prefix="sddd-hostile-word-"))
    try:
        (root / "docs").mkdir()
        (root / "sddd.yaml").write_text("docs: ['docs/**/*.md']\n", encoding="utf-8")
        if kind == "data URI 300 KB":
            image = base64.b64encode(rng.randbytes(225_000)).decode()
            body = f"An exported page.\n\n![d](data:image/png;base64,{image})\n\nThe end."
        else:
            body = f"Prose first.\n\n{'x' * (MB if kind == 'word 1 MB' else 100_000)}\n\nAfter the word."
        (root / "docs" / "guide.md").write_text(f"# Guide\n\n## Section\n\n{body}\n", encoding="utf-8")
        env = {**os.environ, **({"PYTHONPATH": code} if code else {})}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CLI_WITH_PEAK, "index", "--json"], cwd=root,
                              capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            return {"part": "index one long word", "kind": kind, "stage": "sddd index",
                    "failed": proc.returncode, "wall_s": round(wall, 1)}
        report = json.loads(proc.stdout)
        return {"part": "index one long word", "kind": kind, "stage": "sddd index (fresh process)",
                "wall_s": round(wall, 1), "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime
                                                         - before.ru_stime, 1),
                "peak_mb": round(peak_mb(proc.stderr)), "chunks": report.get("chunks"),
                "code": code or "this checkout", "target_mb": 1024}
    finally:
        shutil.rmtree(root, ignore_errors=True)


WRITER = """
import sys
from pathlib import Path
from sddd.core.config import load_config
from sddd.index.indexer import build_index
config = load_config(Path(sys.argv[1]))
for i in range(int(sys.argv[2])):
    (config.root / 'docs/guides/race.md').write_text(f'# Race\\n\\n## Ports\\n\\nport {6000 + i}\\n')
    build_index(config)
"""


def race(root: Path, searches: int, reindexes: int) -> dict[str, object]:
    from sddd.core.config import load_config
    from sddd.core.errors import IndexCorrupt, IndexMissing
    from sddd.index.search import search

    config = load_config(root / "sddd.yaml")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root / "sddd.yaml"), str(reindexes)])
    failures: list[str] = []
    done = during = 0
    start = time.perf_counter()
    try:
        while done < searches or writer.poll() is None:
            try:
                search(config, "which port does medium use", k=3, refresh=False)
            except (IndexCorrupt, IndexMissing) as exc:
                failures.append(str(exc))
            done += 1
            during += writer.poll() is None
    finally:
        writer.wait(timeout=3600)
    return {"part": "race", "kind": f"{reindexes} re-indexes", "stage": "in-process searches",
            "searches": done, "searches_during_writes": during, "spurious_errors": len(failures),
            "writer_exit": writer.returncode, "wall_s": round(time.perf_counter() - start, 1), "target": 0}


def repo_copy() -> Path:
    root = Path(tempfile.mkdtemp(prefix="sddd-hostile-repo-"))
    repo = Path(__file__).resolve().parents[1]
    for name in ("docs", "profiles", "sddd.yaml"):
        src = repo / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    subprocess.run([sys.executable, "-m", "sddd.cli", "index", "--json"], cwd=root, check=True,
                   capture_output=True)
    return root


# --- issue 31: inputs that cost far more than they weigh (YAML bombs, a grid too large) --------

COMPOSE = "services:\n  vllm-medium:\n    image: vllm/vllm-openai:v0.11.0\n"


SIZED = {"sddd.yaml": "canonical_profile: medium\n", "profiles/base.yml": COMPOSE,
         "profiles/medium.yml": COMPOSE}
DRY_RUN = ["deploy", "medium", "--dry-run"]
GRID = "axes:\n" + "".join(f"  a{i}: {{flag: --f{i}, values: {list(range(10))}}}\n" for i in range(10))
LIMIT_CASES = {  # name -> (files, the command)
    "alias bomb, profile": ({**SIZED, "profiles/medium.yml": alias_bomb() + COMPOSE}, DRY_RUN),
    "alias bomb, sddd.yaml": ({**SIZED, "sddd.yaml": alias_bomb()}, DRY_RUN),
    "merge bomb, profile": ({**SIZED, "profiles/medium.yml": merge_bomb(24) + COMPOSE}, DRY_RUN),
    "grid 10 axes x 10": ({**SIZED, "g.yml": GRID}, ["grid", "run", "g.yml", "--dry-run"]),
}


def limit_case(name: str, cap_mb: int, timeout_s: float) -> dict[str, object]:
    """One case in a fresh process under an address-space cap (the code before the limits ran out
    of memory or was killed): exit code, wall and CPU seconds, peak memory, the first error line."""
    files, command = LIMIT_CASES[name]
    root = Path(tempfile.mkdtemp(prefix="sddd-limits-"))
    try:
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        cap = cap_mb << 20
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-c", CLI_WITH_PEAK, *command], cwd=root, text=True,
                                  capture_output=True, timeout=timeout_s,
                                  preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)))
            code, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired:
            code, stderr = "timeout", ""
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("PEAK_KB")]
        return {"part": "limits", "kind": name, "stage": f"sddd {command[0]} (cap {cap_mb} MB)",
                "wall_s": round(wall, 2), "cpu_s": round(after.ru_utime + after.ru_stime
                                                          - before.ru_utime - before.ru_stime, 2),
                "peak_mb": round(peak_mb(stderr)) if "PEAK_KB" in stderr else None, "exit": code,
                "says": lines[-1][:160] if lines else "", "target_s": 1.0}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def limits(cap_mb: int, timeout_s: float) -> list[dict[str, object]]:
    return [limit_case(name, cap_mb, timeout_s) for name in LIMIT_CASES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mb", type=int, default=20)
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--reindexes", type=int, default=100)
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["tokenise", "queries", "big", "race", "limits", "words"])
    parser.add_argument("--limits-cap-mb", type=int, default=3072,
                        help="address-space cap of each limits case (the code before them had none)")
    parser.add_argument("--limits-timeout", type=float, default=120.0)
    parser.add_argument("--code", help="run the long-word cases with this checkout's sddd (before)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rng = random.Random(16)
    rows: list[dict[str, object]] = []
    print(f"{'part':<24} {'kind':<20} {'stage':<28} {'wall s':>8} {'cpu s':>8}  other", flush=True)

    def keep(new: list[dict[str, object]]) -> None:
        for row in new:  # each row as it is measured: the 20 MB files take minutes
            rows.append(row)
            other = {k: v for k, v in row.items() if k not in ("part", "kind", "stage", "wall_s", "cpu_s")}
            print(f"{row['part']:<24} {row['kind']!s:<20} {row['stage']:<28} {row.get('wall_s', ''):>8} "
                  f"{row.get('cpu_s', ''):>8}  {other}", flush=True)
        RESULTS.mkdir(exist_ok=True)
        name = "hostile.json" if not args.skip else f"hostile-without-{'-'.join(sorted(args.skip))}.json"
        name = name.replace(".json", "-before.json") if args.code else name
        (RESULTS / name).write_text(json.dumps({"_meta": run_facts(), "rows": rows}, indent=2) + "\n")

    if "limits" not in args.skip:
        keep(limits(args.limits_cap_mb, args.limits_timeout))
    if "tokenise" not in args.skip:
        keep(tokenising(rng))
    if "queries" not in args.skip or "race" not in args.skip:
        root = repo_copy()
        try:
            if "queries" not in args.skip:
                keep(queries(root, rng))
            if "race" not in args.skip:
                keep([race(root, args.searches, args.reindexes)])
        finally:
            shutil.rmtree(root, ignore_errors=True)
    if "words" not in args.skip:
        for kind in ("word 100 KB", "data URI 300 KB", "word 1 MB"):
            keep([long_word(kind, rng, args.code)])
    if "big" not in args.skip:
        for kind in ("repeated sections", "base64 blobs"):
            keep([big_file(kind, args.big_mb, rng)])

if __name__ == "__main__":
    main()
