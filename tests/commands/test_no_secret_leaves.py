"""No secret leaves the repository's files: not into the index, the query cache, the reports sddd
writes, nor any command's output.

Tokens shaped like real ones (tests.helpers.PLANTED_SECRETS) are planted where people really
paste them: a heading ("## Staging token hf_…"), a front-matter title, a paragraph, a compose
file's environment and command line, and a query. Every command runs over that repository
through the real CLI (whose every output `run_sddd` checks), then every byte sddd wrote is
searched for the tokens.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import PLANTED_SECRETS, planted_in, run_sddd, write

HF, SK, GH = PLANTED_SECRETS

CONFIG = """\
docs: ['docs/**/*.md']
profiles: ['profiles/*.yml']
base_profile: profiles/base.yml
canonical_profile: medium
targets:
  - query: how to rotate the staging token
    expect: docs/guides/staging.md#staging-token
    min_score: 0.1
    top_k: 5
"""
GUIDE = f"""\
---
title: Staging access with {GH}
---
# Staging access

How the team reaches the staging server.

## Staging token {HF}

Rotate the staging token every month. The old one was HF_TOKEN={HF} in the wiki.

## Ports

The staging server listens on port 5002.
"""
BASE = "services:\n  vllm-medium:\n    image: vllm/vllm-openai:v0.11.0\n"
MEDIUM = f"""\
services:
  vllm-medium:
    image: vllm/vllm-openai:v0.11.0
    environment:
      - HUGGING_FACE_HUB_TOKEN={HF}
    ports:
      - "5002:8000"
    command: ["--model", "Qwen/Qwen3-32B-AWQ", "--api-key", "{SK}"]
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secrets")
    write(root, "sddd.yaml", CONFIG)
    write(root, "docs/guides/staging.md", GUIDE)
    write(root, "profiles/base.yml", BASE)
    write(root, "profiles/medium.yml", MEDIUM)
    return root


def written_files(root: Path) -> list[Path]:
    """Every file sddd wrote: the index folder, whatever it holds."""
    return [p for p in (root / ".sddd").rglob("*") if p.is_file()]


def test_no_planted_token_in_any_output_or_stored_file(repo: Path):
    index = run_sddd("index", "--json", cwd=repo)
    assert index.returncode == 0, index.stderr
    found = run_sddd("search", "--json", f"{HF} staging token rotation", cwd=repo)
    assert found.returncode == 0, found.stderr  # a query holding a secret still works
    result = json.loads(found.stdout)
    staging = [r for r in result["results"] if r["heading"].startswith("Staging")]
    assert staging, result
    headings = {r["heading"] for r in staging}
    # The title and the heading, redacted; the anchor slugged from the redacted heading.
    assert "Staging access with *** › Staging access › Staging token ***" in headings
    assert {r["anchor"] for r in staging} >= {"staging-token"}
    assert result["query"] == "*** staging token rotation"
    outputs = [index, found]
    for args in (["search", "staging token"], ["search", "--explain", "--json", GH],
                 ["check", "--json"], ["check", "--format", "junit"],
                 ["check", "--suggest", "docs/guides/staging.md", "--json"],
                 ["drift", "--json"], ["audit", "--json"], ["deploy", "--dry-run", "--json"],
                 ["archive", "--detect", "--json"]):
        outputs.append(run_sddd(*args, cwd=repo))  # run_sddd fails on any planted token
    check = json.loads(outputs[4].stdout)
    assert check["passed"], check  # the target names the anchor as the index stores it
    # Every file sddd wrote, byte for byte: metadata, FTS tables, vectors, query cache, reports.
    files = written_files(repo)
    assert any(p.name == "meta.sqlite" for p in files) and any(p.name == "queries.sqlite" for p in files)
    leaks = {str(p.relative_to(repo)): planted_in(p.read_bytes()) for p in files}
    assert not any(leaks.values()), leaks
    assert all(not planted_in(p.stdout + p.stderr) for p in outputs)


def test_query_cache_keeps_no_query_text_and_still_serves(repo: Path):
    assert run_sddd("search", "--json", f"{SK} ports of the staging server", cwd=repo).returncode == 0
    db = sqlite3.connect(repo / ".sddd" / "queries.sqlite")
    try:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        keys = [key for (key,) in db.execute("SELECT key FROM query_vectors")]
    finally:
        db.close()
    assert tables == {"query_vectors"}
    assert keys and all(len(k) == 64 and int(k, 16) >= 0 for k in keys)  # sha256 hex, not text


def test_an_old_plain_text_query_cache_is_purged(repo: Path):
    """Caches written before this version held queries in plain text: the first search drops
    the table and vacuums, so the token leaves the file's free pages too."""
    run_sddd("index", cwd=repo)
    path = repo / ".sddd" / "queries.sqlite"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE queries (fingerprint TEXT, query TEXT, vector BLOB, "
                   "PRIMARY KEY (fingerprint, query))")
        db.execute("INSERT INTO queries VALUES (?, ?, ?)",
                   ("fp", f"staging {HF}", np.zeros(4, dtype=np.float32).tobytes()))
    db.close()
    assert planted_in(path.read_bytes()) == [HF]  # the test plants what the old version wrote
    assert run_sddd("search", "staging", cwd=repo).returncode == 0
    assert planted_in(path.read_bytes()) == []
