"""The FAISS index kind chosen by size, and incremental updates (new ids, dead rows, compaction)
with an HNSW index: real FAISS, the real models; the size limit is lowered so a small corpus
crosses it."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from sddd.index import vectors
from sddd.index.indexer import build_index
from sddd.index.search import search
from sddd.index.store import open_store
from tests.fixtures.corpora import INDEXER_CONFIG as CONFIG
from tests.fixtures.corpora import INDEXER_FILES as FILES
from tests.helpers import sddd_here


def test_kind_by_size_with_hysteresis():
    assert vectors.kind_for(vectors.FLAT_LIMIT - 1) == "flat"
    assert vectors.kind_for(vectors.FLAT_LIMIT) == "hnsw"
    # An HNSW index that shrinks a little stays HNSW; one that halves goes back to flat.
    assert vectors.kind_for(vectors.FLAT_LIMIT - 1, "hnsw") == "hnsw"
    assert vectors.kind_for(vectors.FLAT_LIMIT // 2 - 1, "hnsw") == "flat"


TOPICS = ["rotating the Hugging Face cache volume", "pinning the CUDA driver on a host", "reading the "
          "engine's startup log", "a port clash between two profiles", "naming archive folders by date",
          "when prefix caching helps", "the healthcheck's start period", "shared memory for NCCL",
          "restarting a container after a crash", "budgets for review time"]
# Enough passages that one deleted file leaves few dead rows (an update in place, no compaction).
MORE = {f"docs/guides/topic-{n}.md": f"# Topic {n}\n\n## About {topic}\n\nA note on {topic}, number {n}.\n"
        for n, topic in enumerate(TOPICS)}


@pytest.fixture
def hnsw_repo(make_repo, monkeypatch):
    monkeypatch.setattr(vectors, "FLAT_LIMIT", 4)
    return make_repo({**FILES, **MORE}, CONFIG)


def test_hnsw_index_follows_edits_and_deletions(hnsw_repo, encoder):
    config = hnsw_repo
    first = build_index(config, encoder=encoder)
    assert first.vector_index == "hnsw" and open_store(config.index_dir).kind() == "hnsw"
    (config.root / "docs/guides/memory.md").unlink()
    path = config.root / "docs/guides/tools.md"
    path.write_text(path.read_text() + "\n## Streaming tool calls\n\nSet stream true and read each "
                    "delta's tool_calls until finish_reason is tool_calls.\n", encoding="utf-8")
    second = build_index(config, encoder=encoder)
    store = open_store(config.index_dir)
    assert second.written and not second.rebuilt and second.vector_index == store.kind() == "hnsw"
    assert second.embedded == 1 and len(store.dead()) >= 1  # updated in place: the old rows are dead
    assert store.vectors(0).ntotal == store.vectors(1).ntotal == store.slots > store.count
    hits = search(config, "gpu memory utilization headroom", k=store.count, refresh=False).results
    # one result per file (each at its best passage): every file left is found, the deleted one not
    assert sorted(h.path for h in hits) == sorted({c.path for c in store.chunks()})
    top = search(config, "streaming tool calls delta finish_reason", k=1, refresh=False).results[0]
    assert top.path == "docs/guides/tools.md" and top.anchor == "streaming-tool-calls"


def test_hnsw_vectors_are_the_flat_ones(hnsw_repo, encoder):
    # HNSW keeps the vectors themselves: the ranking's cosines are exact either way.
    build_index(hnsw_repo, encoder=encoder)
    store = open_store(hnsw_repo.index_dir)
    ids = np.arange(store.count)
    flat = vectors.new_index(store.dims[0], "flat")
    vectors.add(flat, store.vectors_of(ids, 0))
    query = encoder.members[0].encode(["which tool-call parser does qwen3 need"])
    assert np.array_equal(vectors.search(store.vectors(0), query, 3)[1], vectors.search(flat, query, 3)[1])


def test_many_dead_rows_compact_the_index(hnsw_repo, encoder):
    config = hnsw_repo
    build_index(config, encoder=encoder)
    for rel in list(MORE)[:6]:
        (config.root / rel).unlink()
    report = build_index(config, encoder=encoder)
    store = open_store(config.index_dir)
    assert report.written and report.embedded == 0
    assert len(store.dead()) == 0 and store.slots == store.count == report.chunks


def test_device_flag_errors_are_one_line(make_repo):
    config = make_repo(FILES, CONFIG)
    wrong = sddd_here("index", "--device", "tpu", cwd=config.root)
    assert wrong.returncode == 2 and wrong.stderr.strip().splitlines()[-1] == (
        "error: --device must be one of cpu, cuda, auto; got 'tpu'")
    if importlib.util.find_spec("torch") is not None:
        import torch

        if torch.cuda.is_available():
            return
    missing = sddd_here("index", "--device", "cuda", cwd=config.root)
    assert missing.returncode == 2 and "torch sees no CUDA GPU" in missing.stderr
    assert "Traceback" not in missing.stderr and not (config.root / ".sddd" / "CURRENT").exists()
