"""`sddd check` end to end: the real CLI (its `main()`, in this process unless what a fresh process
loads is under test), exit codes, every report format."""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET

import pytest

from sddd.check.evaluate import run_checks
from sddd.check.targets import load_targets
from sddd.index.indexer import build_index
from tests.fixtures.corpora import CHECK_CORPUS as CORPUS
from tests.fixtures.corpora import PORT_QUERY
from tests.helpers import run_sddd, sddd_here, write

TARGETS = f"""\
docs: ['docs/**/*.md']
min_score: 0.3
top_k: 3
targets:
  - id: ports
    query: {PORT_QUERY}
    expect: docs/guides/ports.md
    tags: [net]
  - id: memory
    query: why is gpu memory utilization 0.85
    expect: docs/guides/memory.md#why-gpu-memory-utilization-is-085
  - id: caching
    query: prefix caching reuses the KV cache across requests
    expect: docs/guides/caching.md
"""
# A target broken on purpose: the port question cannot be answered by the caching guide.
BROKEN = f"""\
- id: broken
  query: {PORT_QUERY}
  expect: docs/guides/caching.md
  top_k: 1
- id: fine
  query: {PORT_QUERY}
  expect: docs/guides/ports.md
"""


@pytest.fixture
def repo(make_repo, encoder):
    """The corpus, indexed, and its targets' queries already in the cache (as after one run)."""
    config = make_repo(CORPUS, TARGETS)
    build_index(config, encoder=encoder)
    run_checks(config, load_targets(config), encoder=encoder)
    write(config.root, "broken.yaml", BROKEN)
    run_checks(config, load_targets(config, config.root / "broken.yaml"), encoder=encoder)
    return config


def test_all_pass_exit_0(repo):
    proc = sddd_here("check", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    assert "3/3 targets pass" in proc.stdout and "✗" not in proc.stdout


def test_broken_target_exit_1_failed_rows_first(repo):
    proc = sddd_here("check", "--targets", "broken.yaml", cwd=repo.root)
    assert proc.returncode == 1, proc.stderr
    assert "1/2 targets pass" in proc.stdout
    assert proc.stdout.index("broken") < proc.stdout.index("fine")
    assert "docs/guides/ports.md" in proc.stdout  # the wrong document that won is shown
    assert re.search(r"rank [2-4] > top_k 1", proc.stdout)


def test_json_schema(repo):
    proc = sddd_here("check", "--targets", "broken.yaml", "--json", cwd=repo.root)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["schema"] == "sddd.check/1" and data["passed"] is False
    assert set(data) == {"schema", "passed", "summary", "gates", "targets", "model_loaded", "seconds"}
    assert data["summary"]["targets"] == 2 and data["summary"]["failed"] == 1
    assert set(data["summary"]) == {"targets", "passed", "failed", "hit_at_1", "hit_at_k", "mrr_at_k",
                                    "mean_expected_score"}
    broken, fine = data["targets"]
    assert set(broken) == {"id", "query", "expect", "min_score", "top_k", "tags", "source", "passed",
                           "rank", "score", "margin", "reason", "matched", "best_wrong", "runner_up"}
    assert broken["id"] == "broken" and broken["passed"] is False and broken["rank"] >= 2
    assert broken["source"] == {"file": "broken.yaml", "line": 1}
    assert broken["best_wrong"]["path"] == "docs/guides/ports.md" and broken["margin"] < 0
    assert set(broken["best_wrong"]) == {"rank", "score", "path", "anchor", "heading", "line"}
    assert fine["passed"] is True and fine["rank"] == 1 and fine["best_wrong"] is None
    assert fine["margin"] > 0 and fine["runner_up"]["path"] != "docs/guides/ports.md"
    # The same document through --format json.
    again = json.loads(sddd_here("check", "--targets", "broken.yaml", "-f", "json", cwd=repo.root).stdout)
    assert again["targets"] == data["targets"]


def test_junit_parses_and_counts_failures(repo):
    proc = sddd_here("check", "--targets", "broken.yaml", "--format", "junit", "--fail-under-mrr", "0.9",
                    cwd=repo.root)
    assert proc.returncode == 1
    root = ET.fromstring(proc.stdout)
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in cases] == ["broken", "fine", "mrr_at_k >= 0.9"]
    assert [c.get("name") for c in failed] == ["broken", "mrr_at_k >= 0.9"]
    assert suite.get("tests") == root.get("tests") == "3"
    assert suite.get("failures") == root.get("failures") == "2"
    assert cases[0].get("file") == "docs/guides/caching.md"
    assert "docs/guides/ports.md" in failed[0].find("failure").get("message")


def test_github_annotations_point_at_the_expected_file(repo):
    proc = sddd_here("check", "--targets", "broken.yaml", "--format", "github", cwd=repo.root)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 1
    assert errors[0].startswith("::error file=docs/guides/caching.md,line=1,title=sddd check%3A broken::")
    assert lines[-1].startswith("::notice title=sddd check::1/2 targets pass")
    # An anchored target points at its heading's line.
    write(repo.root, "anchored.yaml", "- query: prefix caching\n  expect: docs/guides/memory.md#cuda-out-"
                                      "of-memory\n  top_k: 1\n  min_score: 0.99\n")
    proc = sddd_here("check", "--targets", "anchored.yaml", "--format", "github", cwd=repo.root)
    assert proc.stdout.startswith("::error file=docs/guides/memory.md,line=12,")


def test_output_file_and_gate(repo):
    proc = sddd_here("check", "--format", "junit", "--output", "reports/check.xml", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    assert "3/3 targets pass" in proc.stdout and "report written to reports/check.xml" in proc.stdout
    assert ET.parse(repo.root / "reports/check.xml").getroot().get("tests") == "3"
    proc = sddd_here("check", "--fail-under-mrr", "1.01", cwd=repo.root)
    assert proc.returncode == 2 and "--fail-under-mrr must be between 0 and 1; got 1.01" in proc.stderr
    proc = sddd_here("check", "--tag", "net", "--fail-under-hit-at-k", "1", "--json", cwd=repo.root)
    data = json.loads(proc.stdout)
    assert proc.returncode == 0 and [t["id"] for t in data["targets"]] == ["ports"]
    assert data["gates"] == [{"name": "hit_at_k", "threshold": 1.0, "value": 1.0, "passed": True}]


@pytest.mark.parametrize(("targets", "expected"), [
    ("- query: q\n  expect: docs/guides/gone.md\n",
     "t.yaml:1: target 'q' expects docs/guides/gone.md, which does not exist; fix the path"),
    ("- query: q\n  expect: docs/guides/ports.md#nowhere\n",
     "has no heading #nowhere; its anchors: ports-and-networking, which-port-the-medium-server"),
    ("- query: q\n  expect: [docs/guides/ports.md\n- query: r\n", "t.yaml:3: malformed YAML"),
    ("- query: q\n  expect: docs/guides/ports.md\n  min_score: high\n", "t.yaml:3: target 1: min_score"),
])
def test_usage_errors_exit_2_on_one_line(repo, targets, expected):
    write(repo.root, "t.yaml", targets)
    proc = sddd_here("check", "--targets", "t.yaml", cwd=repo.root)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_bad_format_and_tag_exit_2(repo):
    proc = sddd_here("check", "--format", "xml", cwd=repo.root)
    assert proc.returncode == 2 and "--format must be one of table, plain, json, junit, github" in proc.stderr
    proc = sddd_here("check", "--tag", "nope", cwd=repo.root)
    assert proc.returncode == 2 and "no target has tag nope; known tags: net" in proc.stderr


COLD_WARM = """\
import sys
from sddd import cli
sys.argv = ["sddd", "check", "--json"]
try:
    cli.main()
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("onnxruntime", "torch", "sentence_transformers") if m in sys.modules)
sys.stderr.write(f"exit={code} heavy={heavy}\\n")
"""


def test_second_run_loads_no_model(make_repo, encoder):
    config = make_repo(CORPUS, TARGETS)
    build_index(config, encoder=encoder)  # documents indexed; the queries never seen
    write(config.root, "probe.py", COLD_WARM)
    cold = run_sddd("check", "--json", cwd=config.root)  # a fresh process: what it loads is under test
    assert cold.returncode == 0, cold.stderr
    assert json.loads(cold.stdout)["model_loaded"] is True
    warm = __import__("subprocess").run([sys.executable, "probe.py"], cwd=config.root,
                                        capture_output=True, text=True, timeout=300)
    assert "exit=0 heavy=[]" in warm.stderr, warm.stderr
    data = json.loads(warm.stdout)
    assert data["model_loaded"] is False
    assert data["targets"] == json.loads(cold.stdout)["targets"]
    # A new query is a cache miss again: the model is loaded for it alone.
    write(config.root, "new.yaml", "- query: firewall rules for the office network\n"
                                   "  expect: docs/guides/ports.md#firewall-rules\n")
    again = run_sddd("check", "--targets", "new.yaml", "--json", cwd=config.root)
    assert json.loads(again.stdout)["model_loaded"] is True


def test_suggest(repo):
    proc = sddd_here("check", "--suggest", "docs/guides/memory.md", "--json", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["schema"] == "sddd.check.suggest/1" and data["path"] == "docs/guides/memory.md"
    assert data["targets"] == ["memory"]
    first = data["suggestions"][0]
    assert first["query"] == "GPU memory" and first["source"] == "title"
    assert first["expect"] == "docs/guides/memory.md" and first["rank"] == 1
    assert data["suggestions"][2]["expect"] == "docs/guides/memory.md#cuda-out-of-memory"
    table = sddd_here("check", "--suggest", "docs/reports/2025-10-01-benchmark.md", cwd=repo.root)
    assert table.returncode == 0 and "No target expects this document yet." in table.stdout
    assert "Benchmark of 1 October" in table.stdout
    gone = sddd_here("check", "--suggest", "docs/nope.md", cwd=repo.root)
    assert gone.returncode == 2 and "docs/nope.md does not exist" in gone.stderr


def test_shipped_hook_and_workflow_run_real_commands(tmp_path):
    """The pre-commit hook and the example workflow call options that exist, as documented."""
    import yaml

    from tests.helpers import REPO

    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "sddd-check"]
    assert hook["entry"] == "sddd-hook check" and hook["pass_filenames"] is False  # sddd-hook: model first
    flow = yaml.safe_load((REPO / "examples/github-actions.yml").read_text(encoding="utf-8"))
    steps = flow["jobs"]["discoverability"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "sddd check --format github" in runs
    assert "sddd check --format junit --output reports/sddd-check.xml" in runs
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "reports/sddd-check.xml"
    help_text = sddd_here("check", "--help", cwd=tmp_path).stdout
    for option in ("--format", "--output", "--targets", "--tag", "--fail-under-mrr", "--suggest"):
        assert option in help_text
