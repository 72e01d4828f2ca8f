"""One ranking everywhere: what `sddd check` reports for a document is what `sddd search` shows."""

from __future__ import annotations

import json

from sddd.check.evaluate import run_checks
from sddd.check.targets import Expected, Target
from sddd.index.indexer import build_index
from sddd.index.search import search
from tests.fixtures.corpora import CHECK_CONFIG, CHECK_CORPUS
from tests.helpers import sddd_here

QUERIES = ["which port does the medium server listen on", "pourquoi réserver 85 % de la mémoire du GPU",
           "torch.OutOfMemoryError at start-up", "cache hits across requests"]


def document_ranks(hits) -> dict[str, tuple[int, float]]:
    """Each document's rank among documents and its score: its first (best) passage's."""
    out: dict[str, tuple[int, float]] = {}
    for hit in hits:
        if hit.path not in out:
            out[hit.path] = (len(out) + 1, hit.score)
    return out


def test_check_reports_the_rank_and_score_search_shows(make_repo, encoder):
    config = make_repo(CHECK_CORPUS, CHECK_CONFIG)
    build_index(config, encoder=encoder)
    for query in QUERIES:
        shown = document_ranks(search(config, query, k=50, refresh=False).results)
        targets = [Target(f"t{i}", query, [Expected(path)], 0.0, 10) for i, path in enumerate(shown)]
        report = run_checks(config, targets, encoder=encoder)
        for result in report.results:
            path = result.target.expect[0].path
            assert (result.rank, round(result.score, 4)) == (shown[path][0], round(shown[path][1], 4)), \
                (query, path)


def test_the_cli_agrees_too(make_repo, encoder):
    config = make_repo(CHECK_CORPUS, CHECK_CONFIG)
    build_index(config, encoder=encoder)
    query = QUERIES[0]
    proc = sddd_here("search", query, "--json", "-k", "20", cwd=config.root)
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)["results"]
    first = {}
    for hit in hits:
        first.setdefault(hit["path"], (len(first) + 1, hit["score"]))
    (config.root / "targets.yaml").write_text("".join(
        f"- id: t{i}\n  query: {json.dumps(query)}\n  expect: {path}\n  min_score: 0\n  top_k: 10\n"
        for i, path in enumerate(first)), encoding="utf-8")
    proc = sddd_here("check", "--targets", "targets.yaml", "--json", cwd=config.root)
    assert proc.returncode == 0, proc.stderr
    for target in json.loads(proc.stdout)["targets"]:
        assert (target["rank"], target["score"]) == first[target["expect"][0]]
    assert all(0.0 <= s <= 1.0 for _, s in first.values())
