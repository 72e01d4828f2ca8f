"""`--format sarif` of drift, audit and check: valid against the OASIS SARIF 2.1.0 JSON schema (read
offline from ../shared/schemas/), every finding a result on its file and line, passes left out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sddd.check.evaluate import run_checks
from sddd.check.targets import load_targets
from sddd.index.indexer import build_index
from tests.fixtures.corpora import CHECK_CORPUS, PORT_QUERY
from tests.fixtures.seed_repo import build_seed_repo
from tests.helpers import REPO, require, sddd_here, write

# CI puts shared/ beside the clone; SDDD_SHARED names it where the clone lives elsewhere (a worktree).
SHARED = Path(os.environ.get("SDDD_SHARED", REPO.parent / "shared"))
SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"
ARCH = "docs/docker/ARCHITECTURE.md"


@pytest.fixture(scope="module")
def validator():
    import jsonschema

    require(SCHEMA.is_file(), f"the SARIF 2.1.0 schema is not at {SCHEMA} (set SDDD_SHARED)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    return build_seed_repo(tmp_path_factory.mktemp("seed"))


def sarif(validator, *args: str, cwd: Path) -> tuple[int, list[dict]]:
    """The command's SARIF log, checked against the schema; its exit code and its results."""
    proc = sddd_here(*args, "--format", "sarif", cwd=cwd)
    log = json.loads(proc.stdout)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]
    assert not errors, errors[:5]
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
    return proc.returncode, run["results"]


def places(results: list[dict]) -> set[tuple[str, str, int]]:
    out = set()
    for r in results:
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        out.add((r["ruleId"], loc["artifactLocation"]["uri"], loc["region"]["startLine"]))
    return out


def test_drift_findings_are_results_on_the_guide_line_with_the_profile_beside(validator, seed):
    code, results = sarif(validator, "drift", cwd=seed.root)
    assert code == 1  # the exit code of every other format
    line = seed.line(ARCH, "| `--gpu-memory-utilization` | 0.95")
    hits = [r for r in results if ("value_mismatch", ARCH, line) in places([r])]
    assert len(hits) == 1 and hits[0]["level"] == "error"
    related = hits[0]["relatedLocations"][0]["physicalLocation"]
    assert related["artifactLocation"]["uri"] == "profiles/medium.yml"
    assert related["region"]["startLine"] == seed.line("profiles/medium.yml", "--gpu-memory-utilization=0.85")
    data = json.loads(sddd_here("drift", "--json", cwd=seed.root).stdout)
    expected = {(f["type"], f["doc_path"] or f["profile_path"], f["doc_line"] or f["profile_line"])
                for f in data["findings"]}
    assert places(results) == expected


def test_audit_with_compose_lint_and_budgets_on_sddd_yaml(validator, seed):
    code, results = sarif(validator, "audit", cwd=seed.root)
    assert code == 1
    found = places(results)
    assert any(rule.startswith("lint:") and path.startswith("profiles/") for rule, path, _ in found), found
    budgets = {(path, line) for rule, path, line in found if rule == "budget"}
    assert ("sddd.yaml", seed.line("sddd.yaml", "max_scripts")) in budgets, budgets
    data = json.loads(sddd_here("audit", "--json", cwd=seed.root).stdout)
    assert len(results) == len(data["findings"])
    levels = {"error": "error", "warning": "warning", "info": "note"}
    assert sorted(r["level"] for r in results) == sorted(levels[f["severity"]] for f in data["findings"])


BROKEN = f"""\
- id: broken
  query: {PORT_QUERY}
  expect: docs/guides/caching.md
  top_k: 1
- id: fine
  query: {PORT_QUERY}
  expect: docs/guides/ports.md
"""


def test_check_failures_at_the_expected_document_passes_left_out(validator, make_repo, encoder):
    config = make_repo(CHECK_CORPUS, "docs: ['docs/**/*.md']\nmin_score: 0.3\ntop_k: 3\n")
    build_index(config, encoder=encoder)
    write(config.root, "broken.yaml", BROKEN)
    run_checks(config, load_targets(config, config.root / "broken.yaml"), encoder=encoder)
    code, results = sarif(validator, "check", "--targets", "broken.yaml", "--fail-under-mrr", "1",
                          cwd=config.root)
    assert code == 1
    # the failed target on the document it expects; the gate, which has no file, on sddd.yaml
    assert places(results) == {("broken", "docs/guides/caching.md", 1), ("gate", "sddd.yaml", 1)}
    assert all(r["level"] == "error" for r in results)
