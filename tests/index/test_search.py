from __future__ import annotations

import json

import numpy as np
import pytest

from sddd.core.errors import UsageError
from sddd.index.encoders.models import load_encoder
from sddd.index.indexer import build_index
from sddd.index.search import make_snippet, search
from tests.fixtures.corpora import INDEXER_CONFIG as CONFIG
from tests.fixtures.corpora import INDEXER_FILES as FILES
from tests.fixtures.terminal import on_pty
from tests.helpers import sddd_here


@pytest.fixture
def indexed(make_repo, encoder):
    config = make_repo(FILES, CONFIG)
    build_index(config, encoder=encoder)
    return config


def test_tool_call_question_finds_tool_calling_section_first(indexed):
    result = search(indexed, "which parser do I need so the model returns tool calls", k=3)
    top = result.results[0]
    assert top.path == "docs/guides/tools.md"
    assert top.anchor == "why-the-tool-call-parser-is-hermes"
    assert top.heading == "Tool calling › Why the tool-call parser is hermes"
    assert result.results[0].score > result.results[-1].score


def test_memory_question_finds_memory_section(indexed):
    top = search(indexed, "out of memory gpu utilization", k=1).results[0]
    assert top.path == "docs/guides/memory.md"


def test_kind_and_path_filters(indexed):
    reports = search(indexed, "server startup time", k=5, kind="report").results
    assert reports and all(h.kind == "report" for h in reports)
    profiles = search(indexed, "medium model", k=5, path_glob="profiles/*").results
    assert profiles and all(h.path.startswith("profiles/") for h in profiles)
    with pytest.raises(UsageError, match="kind: must be one of"):
        search(indexed, "x", kind="novel")


def test_json_schema_is_exact(indexed):
    proc = sddd_here("search", "chunked prefill medium", "--json", "-k", "3", cwd=indexed.root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"query", "results"} and data["query"] == "chunked prefill medium"
    assert len(data["results"]) == 3
    types = {"rank": int, "score": float, "path": str, "heading": str, "kind": str, "line": int,
             "snippet": str}
    for rank, item in enumerate(data["results"], 1):
        assert set(item) == {*types, "anchor"}
        for key, kind in types.items():
            assert isinstance(item[key], kind), key
        assert item["anchor"] is None or isinstance(item["anchor"], str)
        assert item["rank"] == rank and not item["path"].startswith("/")
    # Hybrid ranks by fusion; the score stays the dense cosine, so only dense mode sorts by it.
    proc = sddd_here("search", "chunked prefill medium", "--json", "--mode", "dense", cwd=indexed.root)
    scores = [r["score"] for r in json.loads(proc.stdout)["results"]]
    assert scores == sorted(scores, reverse=True)


def test_table_output_highlights_and_shows_locations(indexed):
    proc = sddd_here("search", "tool call parser", "-k", "2", "--format", "table", cwd=indexed.root)
    assert proc.returncode == 0, proc.stderr
    assert "docs/guides/tools.md" in proc.stdout and "#why-the-tool-call-parser-is-hermes" in proc.stdout


@pytest.mark.parametrize("extra", [[], ["--explain"]])
def test_table_fits_an_80_column_terminal(indexed, extra):
    # On a real 80-column terminal (a pipe is whole lines whatever COLUMNS says): nothing runs past
    # the edge, the location stays whole on one line and the passage keeps the end of its heading.
    screen = on_pty(["search", "tool call parser", "-k", "2", "--format", "table", *extra], indexed.root,
                    columns=80)
    assert screen.code == 0, screen.text
    lines = screen.lines()
    assert lines and all(len(line) <= 80 for line in lines)
    assert any("docs/guides/tools.md#why-the-tool-call-parser-is-hermes" in line for line in lines)
    assert "hermes" in screen.text.split("tools.md#why-the-tool-call-parser-is-hermes", 1)[1]


def test_empty_query_and_bad_k_are_usage_errors(indexed):
    with pytest.raises(UsageError):
        search(indexed, "   ")
    proc = sddd_here("search", "x", "-k", "0", cwd=indexed.root)
    assert proc.returncode == 2 and "at least 1" in proc.stderr


def test_a_query_over_the_limit_is_refused_before_any_work(make_repo):
    """A 1 MB query took 8 s of CPU before the model; now one line naming limits.query_chars,
    before the index is even opened (this repository has none)."""
    config = make_repo({"docs/a.md": "# A\n\ntext\n"})
    with pytest.raises(UsageError, match=r"1,048,576 characters, more than 4,096 \(limits\.query_chars"):
        search(config, "aB" * (1 << 19))
    small = make_repo({}, "docs: ['docs/**/*.md']\nlimits:\n  query_chars: 64\n")
    with pytest.raises(UsageError, match="more than 64"):
        search(small, "x" * 65)


def test_snippet_centres_on_query_words():
    text = "filler " * 100 + "the hermes parser returns tool_calls " + "filler " * 100
    snippet = make_snippet(text, ["hermes", "tool_calls"])
    assert "hermes parser returns tool_calls" in snippet and len(snippet) < 260


def test_onnx_and_torch_encoders_agree():
    """The lean query path must give the same vectors as sentence-transformers."""
    texts = [
        "chunked prefill medium", "Why gpu-memory-utilization is 0.85",
        "Le modèle démarre après la capture des graphes CUDA 🚀", "--tool-call-parser hermes",
        "word " * 400, "", "Qwen/Qwen3-32B-AWQ on two GPUs with tensor parallel 2",
    ]
    onnx = load_encoder("all-MiniLM-L6-v2", engine="onnx").encode(texts)
    torch = load_encoder("all-MiniLM-L6-v2", engine="torch").encode(texts)
    cosines = (onnx * torch).sum(axis=1)
    assert np.all(cosines >= 0.999), cosines


def test_archived_files_rank_only_when_asked_for(make_repo, encoder):
    old = "archives/docker_configs_20251016/docker-compose-medium-qwen3-fixed.yml"
    config = make_repo({**FILES, old: FILES["profiles/medium.yml"]}, CONFIG)
    build_index(config, encoder=encoder)
    live = search(config, "medium model image compose service", k=10).results
    assert live and all(h.kind != "archive" for h in live)
    archived = search(config, "medium model image compose service", k=3, kind="archive").results
    assert [h.path for h in archived] == [old]
    everything = {h.path for h in search(config, "medium model compose", k=10, kind="all").results}
    assert {old, "profiles/medium.yml"} <= everything
