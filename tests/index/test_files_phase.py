"""The files phase at scale and under hostile input: worker processes give what one process gives,
a file over the size limit is skipped with one line, an over-long run is cut with one line, and
no single file takes more than a fixed memory budget."""

from __future__ import annotations

import base64
import random
import resource
import subprocess
import sys
from pathlib import Path

from sddd.index.corpus import discover
from sddd.index.counting import build_window, window_spec
from sddd.index.files_phase import POOL_MIN_FILES, FileWork, Limits, read_files
from sddd.index.indexer import build_index
from sddd.index.markdown_chunks import markdown_chunks

WORDS = ("vllm qwen3 profile compose gpu memory utilization tensor parallel prefix caching "
         "maxModelLen kv-cache Qwen/Qwen3-8B healthcheck port latency déploiement 模型").split()


def corpus(count: int, seed: int = 7) -> dict[str, str]:
    rng = random.Random(seed)
    files = {}
    for i in range(count):
        sections = []
        for s in range(rng.randint(1, 6)):
            paragraphs = ["\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40)))
                                    for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 9))]
            sections.append(f"## Part {s}\n\n" + "\n\n".join(paragraphs))
        files[f"docs/g{i:03d}.md"] = f"# Guide {i}\n\n" + "\n\n".join(sections) + "\n"
    return files


def test_worker_processes_give_the_chunks_and_rows_one_process_gives(make_repo):
    config = make_repo(corpus(POOL_MIN_FILES + 12))
    spec = window_spec(config, 256)
    assert spec is not None
    window = build_window(spec)
    works = [FileWork(source) for source in discover(config).files]
    alone = list(read_files(works, spec, lambda: window, Limits(workers=1)))
    pooled = list(read_files(works, spec, lambda: window, Limits(workers=2)))
    assert [d.record for d in pooled] == [d.record for d in alone]
    assert [d.chunks for d in pooled] == [d.chunks for d in alone]
    assert [d.passages for d in pooled] == [d.passages for d in alone]
    assert [d.document for d in pooled] == [d.document for d in alone]
    assert sum(len(d.chunks or []) for d in alone) > 2 * len(works)  # long sections were split


def test_a_file_over_the_size_limit_is_skipped_with_one_line_naming_the_setting(make_repo, encoder):
    config = make_repo({"docs/small.md": "# Small\n\nA short guide.\n",
                        "docs/big.md": "# Big\n\n" + "many words here\n" * 2000},
                       "docs: ['docs/**/*.md']\nindexing:\n  max_file_mb: 0.02\n")
    report = build_index(config, encoder=encoder)
    assert [s.path for s in report.skipped] == ["docs/big.md"]
    assert "indexing.max_file_mb" in str(report.skipped[0]) and "0.02 MB" in str(report.skipped[0])
    assert report.chunks == 1
    again = build_index(config, encoder=encoder)  # nothing changed: said again, not re-read
    assert not again.written and [s.path for s in again.skipped] == ["docs/big.md"]


def test_a_run_longer_than_the_limit_is_cut_with_one_note(make_repo):
    config = make_repo({})
    spec = window_spec(config, 256)
    assert spec is not None
    notes: list[str] = []
    text = "# Word\n\nBefore.\n\n" + "x" * 1_000_000 + "\n\nAfter the word.\n"
    chunks = markdown_chunks(text, "w.md", "guide", build_window(spec), notes)
    assert max(len(c.text) for c in chunks) < 400
    assert "After the word." in chunks[-1].text
    assert notes == ["line 5: 1 run(s) of more than 256 characters without a space (longest 1,000,000) "
                     "indexed as their first 256"]


def test_front_matter_is_not_cut(make_repo):
    config = make_repo({})
    spec = window_spec(config, 16)
    assert spec is not None
    notes: list[str] = []
    text = f"---\ntitle: {'T' * 40}\n---\n# Doc\n\nshort words only\n"
    chunks = markdown_chunks(text, "d.md", "guide", build_window(spec), notes)
    assert chunks[0].title == "T" * 40 and notes == []


def hostile_repo(root: Path) -> None:
    rng = random.Random(31)
    (root / "docs").mkdir(parents=True)
    (root / "sddd.yaml").write_text("docs: ['docs/**/*.md']\n", encoding="utf-8")
    (root / "docs/word1mb.md").write_text("# Word\n\nProse first.\n\n" + "x" * (1 << 20) + "\n",
                                          encoding="utf-8")
    (root / "docs/word100k.md").write_text("# Word\n\n" + "ab" * 50_000 + "\n", encoding="utf-8")
    image = base64.b64encode(rng.randbytes(225_000)).decode()  # 300 KB of base64
    (root / "docs/datauri.md").write_text(f"# Image\n\n![d](data:image/png;base64,{image})\n\nThe end.\n",
                                          encoding="utf-8")


def test_each_hostile_file_indexes_under_a_1_5_gb_memory_cap(tmp_path):
    """Issue 31: a 1 MB word took 12.3 GB, a 300 KB data URI 4.3 GB. Under an address-space cap
    of 1.5 GiB (ulimit -v) the real CLI indexes all of them, and says what it cut."""
    hostile_repo(tmp_path)
    cap = int(1.5 * 2**30)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    proc = subprocess.run([sys.executable, "-m", "sddd.cli", "index"], cwd=tmp_path, preexec_fn=limit,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("without a space") == 3, proc.stderr
    assert "docs/word1mb.md: line 5:" in proc.stderr


def test_a_file_that_takes_a_while_is_named_on_the_progress_display(make_repo, monkeypatch):
    from sddd.index import files_phase

    monkeypatch.setattr(files_phase, "SLOW_FILE_S", 0.05)
    config = make_repo({"docs/a.md": "# A\n\nShort.\n", "docs/big.md": "# Big\n\n" + "word more\n" * 200_000})
    spec = window_spec(config, 256)
    assert spec is not None
    window = build_window(spec)
    named: list[str] = []
    works = [FileWork(source) for source in discover(config).files]
    assert len(list(read_files(works, spec, lambda: window, Limits(workers=1), named.append))) == 2
    assert "docs/big.md" in named  # 2 MB take more than 0.05 s to chunk
