"""A read-only index folder (a CI cache restored read-only, a volume mounted ro): every command
that must write there says so in one line with exit 4; one that needs no write still works."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sddd.core.errors import EXIT_INPUT
from tests.fixtures.readonly import sddd_read_only
from tests.helpers import run_sddd, write

CONFIG = """\
docs: ['docs/**/*.md']
profiles: []
targets:
  - query: which port does the server listen on
    expect: docs/guides/ports.md
    min_score: 0.1
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ro")
    write(root, "sddd.yaml", CONFIG)
    write(root, "docs/guides/ports.md", "# Ports\n\n## Medium\n\nThe medium server listens on port 5002.\n")
    write(root, "docker-compose-old.yml", "services:\n  old:\n    image: vllm/vllm-openai:v0.9.2\n")
    assert run_sddd("index", cwd=root).returncode == 0
    assert run_sddd("search", "port", cwd=root).returncode == 0  # the query cache exists
    return root


def one_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_an_up_to_date_read_only_index_still_answers(repo: Path):
    found = sddd_read_only(repo / ".sddd", "search", "--json", "port of the medium server", cwd=repo)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"][0]["path"] == "docs/guides/ports.md"
    checked = sddd_read_only(repo / ".sddd", "check", "--json", cwd=repo)
    assert checked.returncode == 0 and json.loads(checked.stdout)["passed"], checked.stderr


@pytest.mark.parametrize("args", [["index"], ["archive", "docker-compose-old.yml", "--reason", "old",
                                               "--yes"]])
def test_commands_that_must_write_say_so_in_one_line(repo: Path, args: list[str]):
    proc = sddd_read_only(repo / ".sddd", *args, cwd=repo)
    line = one_line(proc)
    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert ".sddd" in line and "cannot write here" in line and "`index:`" in line
    assert (repo / "docker-compose-old.yml").is_file()  # nothing moved


def test_after_a_change_search_and_check_say_the_index_cannot_be_updated(repo: Path):
    path = repo / "docs/guides/ports.md"
    path.write_text(path.read_text() + "\nThe mini server listens on port 5001.\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    for args in (["search", "port"], ["check"]):
        proc = sddd_read_only(repo / ".sddd", *args, cwd=repo)
        assert proc.returncode == EXIT_INPUT and "cannot write here" in one_line(proc), proc.stderr
    assert run_sddd("search", "mini port", cwd=repo).returncode == 0  # writable again: it updates
