"""The index at scale on a real corpus (issue 29): six public repositories' Markdown, pinned.

    .venv/bin/python bench/real_scale.py --from /path/to/sources [--device cpu|cuda] [--copies N]
    .venv/bin/python bench/real_scale.py --corpus DIR          # a corpus built before
    .venv/bin/python bench/real_scale.py --from SRC --build-only --tarball corpus.tar.gz

The corpus (bench/scale/corpus.yaml: repository, commit, folder) is built from local git folders
(``--from DIR`` holding ``OWNER+NAME/repo``, ``OWNER+NAME`` or ``OWNER/NAME`` git directories,
as clones or fetched snapshots) with ``git archive`` of the pinned commit; only ``*.md`` files are
kept. No document is committed here. ``--copies N`` mirrors the corpus N times with each heading
changed (``(copy k)``), so every copy's passages are embedded anew (the 1M-passage row).

Measured, each sddd call in a fresh process as a user runs it (wall, CPU of the process, its peak
RSS): cold index (with where its time went: files phase, vectors, the rest), unchanged re-index
(and whether torch was imported), a one-file edit; warm search in process (``search()`` again,
the store kept open), in a fresh CLI process after the first, and resident (``sddd serve``):
p50/p95 over 50 queries whose embeddings are cached, so model loading is aside. Prints a table,
writes bench/results/real-scale[-DEVICE].json. Name the machine (and the GPU card) beside the
figures: the JSON records the cores and, when torch sees one, the card.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._meta import run_facts

HERE = Path(__file__).resolve().parent
PINS = HERE / "scale" / "corpus.yaml"
RESULTS = HERE / "results"
QUERIES = ["how are breaking changes to the public API proposed", "graduation criteria for beta",
           "gas cost of the new opcode", "collector exporter configuration", "sig meeting agenda",
           "useEffect cleanup function", "feature gate default enabled", "trait object safety rules",
           "tracing context propagation headers", "code of conduct committee election"]
# The CLI with the process's peak memory and whether torch was imported, on stderr at exit.
CLI = """
import atexit, runpy, sys
def report():
    peak = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]
    sys.stderr.write('\\nPEAK_KB %s TORCH %d\\n' % (peak, 'torch' in sys.modules))
atexit.register(report)
sys.argv = ['sddd', *sys.argv[1:]]
runpy.run_module('sddd.cli', run_name='__main__')
"""


def pins() -> list[dict[str, str]]:
    import yaml

    return list(yaml.safe_load(PINS.read_text(encoding="utf-8")))


def git_dir(sources: Path, repo: str) -> Path:
    owner, name = repo.split("/")
    for candidate in (sources / f"{owner}+{name}" / "repo", sources / f"{owner}+{name}",
                      sources / owner / name):
        if candidate.is_dir():
            return candidate
    raise SystemExit(f"{repo}: no git folder under {sources} (OWNER+NAME/repo, OWNER+NAME or OWNER/NAME)")


def build(sources: Path, out: Path) -> int:
    """The pinned corpus under ``out`` (Markdown only, read blob by blob: a snapshot may lack the
    large binaries beside them); returns the number of files."""
    count = 0
    for pin in pins():
        git = ["git", "--git-dir", str(git_dir(sources, pin["repo"]))]
        listing = subprocess.run([*git, "ls-tree", "-r", "-z", pin["commit"], "--",
                                  *([pin["path"]] if pin["path"] else [])],
                                 capture_output=True, check=True).stdout.decode()
        blobs = [(entry.split("\t", 1)[1], entry.split()[2]) for entry in listing.split("\0")
                 if entry and entry.split()[1] == "blob" and entry.endswith(".md")]
        batch = subprocess.run([*git, "cat-file", "--batch"], input="\n".join(b for _, b in blobs).encode(),
                               capture_output=True, check=True).stdout
        position = 0
        for name, _blob in blobs:
            header_end = batch.index(b"\n", position)
            size = int(batch[position:header_end].split()[2])
            path = out / pin["repo"].replace("/", "+") / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(batch[header_end + 1:header_end + 1 + size])
            position = header_end + 1 + size + 1
            count += 1
    (out / "sddd.yaml").write_text("docs: ['**/*.md']\nprofiles: []\n", encoding="utf-8")
    return count


HEADING = re.compile(r"^(#{1,6}[ \t]+.*?)[ \t]*$", re.MULTILINE)


def mirror(corpus: Path, copies: int) -> None:
    """``copies`` more copies of every file, each heading changed, under ``corpus/copy-K/``."""
    files = [p for p in corpus.rglob("*.md") if not p.relative_to(corpus).parts[0].startswith("copy-")]
    for k in range(1, copies + 1):
        for path in files:
            text = path.read_text(encoding="utf-8", errors="replace")
            target = corpus / f"copy-{k}" / path.relative_to(corpus)
            target.parent.mkdir(parents=True, exist_ok=True)
            body = HEADING.sub(lambda m, k=k: f"{m.group(1)} (copy {k})", text)  # type: ignore[misc]
            target.write_text(f"# Copy {k}\n\n{body}", encoding="utf-8")


def sddd(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CLI, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"sddd {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    tail = proc.stderr.rsplit("PEAK_KB ", 1)[1].split()
    return {"wall_s": round(wall, 3), "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime
                                                    - before.ru_stime, 3),
            "peak_mb": round(int(tail[0]) / 1024, 1), "torch_imported": tail[2] == "1",
            "out": json.loads(proc.stdout) if proc.stdout.strip() else None}


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50_ms": round(1000 * statistics.median(ordered), 2),
            "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2)}


def queries() -> list[str]:
    return [f"{q} {i}" if i else q for i in range(5) for q in QUERIES]


def in_process(root: Path) -> dict[str, float]:
    from sddd.core.config import load_config
    from sddd.index.search import search

    config = load_config(root / "sddd.yaml")
    asked = queries()
    for query in asked:  # embeds and caches each query once
        search(config, query, k=10, refresh=False)
    times = []
    for query in asked:
        start = time.perf_counter()
        search(config, query, k=10, refresh=False)
        times.append(time.perf_counter() - start)
    return percentiles(times)


def fresh_cli(root: Path, runs: int = 7) -> dict[str, float]:
    """`sddd search` in a fresh process, the query's embedding cached (the first run caches it)."""
    alone = {"SDDD_SERVE": "0"}
    sddd(["search", "--json", "--", QUERIES[0]], root, alone)
    runs_ = [sddd(["search", "--json", "--", QUERIES[0]], root, alone) for _ in range(runs)]
    return {"wall_p50_ms": round(1000 * statistics.median(r["wall_s"] for r in runs_), 1),
            "cpu_p50_ms": round(1000 * statistics.median(r["cpu_s"] for r in runs_), 1),
            "peak_mb": max(r["peak_mb"] for r in runs_)}


def resident(root: Path) -> dict[str, float]:
    from sddd.core.config import load_config
    from sddd.resident.client import ask

    config = load_config(root / "sddd.yaml")
    server = subprocess.Popen([sys.executable, "-m", "sddd.cli", "serve", "--json"], cwd=root,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        json.loads(server.stdout.readline())

        def asked(query: str) -> float:
            start = time.perf_counter()
            answer = ask(config, "search", {"query": query, "k": 10, "kind": None, "path_glob": None,
                                            "mode": "hybrid"})
            assert answer is not None, query
            return time.perf_counter() - start

        for query in queries():
            asked(query)  # embeds each query once
        return percentiles([asked(q) for q in queries()])
    finally:
        server.terminate()
        server.wait(timeout=60)


def step(name: str, value: Any) -> Any:
    """Each figure printed as soon as it is measured: a run cut short still says what it had."""
    print(json.dumps({name: value}), flush=True)
    return value


def measure(root: Path, device: str) -> dict[str, Any]:
    cold = sddd(["index", "--json", "--device", device], root)
    report = cold.pop("out")
    row: dict[str, Any] = {"passages": report["chunks"], "files": report["files"],
                           "vector_index": report["vector_index"], "embedded_on": report["device"],
                           "cold_index": {**cold, "timings": report.get("timings"),
                                          "passages_per_s": round(report["chunks"] / cold["wall_s"], 1)}}
    step("cold_index", row)
    unchanged = sddd(["index", "--json", "--device", device], root)
    unchanged.pop("out")
    row["unchanged_reindex"] = step("unchanged_reindex", unchanged)
    edited = sorted(root.rglob("*.md"))[len(report["changed_files"]) // 2]
    edited.write_text(edited.read_text(encoding="utf-8") + "\n\nOne more paragraph, edited.\n",
                      encoding="utf-8")
    one = sddd(["index", "--json", "--device", device], root)
    row["one_file_edit"] = {**{k: v for k, v in one.items() if k != "out"},
                            "embedded": one["out"]["embedded"]}
    step("one_file_edit", row["one_file_edit"])
    row["search_in_process"] = step("search_in_process", in_process(root))
    row["search_fresh_cli"] = step("search_fresh_cli", fresh_cli(root))
    try:
        row["search_resident"] = step("search_resident", resident(root))
    except Exception as exc:  # a server that cannot start here: the other figures still count
        row["search_resident"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return row


def card() -> str | None:
    try:
        proc = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="sources", type=Path, help="folder of the sources' git folders")
    parser.add_argument("--corpus", type=Path, help="a corpus built before (else a temporary one)")
    parser.add_argument("--tarball", type=Path, help="also write the built corpus as this .tar.gz")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--copies", type=int, default=0, help="mirror the corpus this many times more")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = args.corpus or Path(tempfile.mkdtemp(prefix="sddd-real-scale-"))
    if args.sources:
        print(f"built {build(args.sources, root):,} files into {root}", flush=True)
    if args.tarball:
        with tarfile.open(args.tarball, "w:gz") as archive:
            archive.add(root, arcname="corpus")
    if args.build_only:
        return
    if args.copies:
        mirror(root, args.copies)
    shutil.rmtree(root / ".sddd", ignore_errors=True)
    row = measure(root, args.device)
    suffix = f"-x{args.copies + 1}" if args.copies else ""
    out = args.out or RESULTS / f"real-scale-{args.device}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"facts": {**run_facts(), "gpu": card()}, "command": " ".join(sys.argv),
                               "pins": pins(), "row": row}, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(row, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
