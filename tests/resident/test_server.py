"""`sddd serve` as a user runs it: a real server process on its Unix socket, asked by the real CLI.

It answers search and check as the in-process commands do, notices an edited guide, refuses a
second server on the same index, stops on SIGTERM / SIGINT leaving no socket behind, and a
server killed with SIGKILL leaves a socket that neither blocks the CLI nor the next server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.serve_repo import NEW_GUIDE, PROBE, Server, build_serve_repo
from tests.helpers import run_sddd, write


@pytest.fixture(scope="module")
def repo(tmp_path_factory, encoder) -> Path:
    return build_serve_repo(tmp_path_factory.mktemp("serve") / "repo", encoder)


@pytest.fixture(scope="module")
def server(repo) -> Iterator[Server]:
    running = Server(repo)
    yield running
    running.stop()


def hits(proc: subprocess.CompletedProcess[str]) -> list[tuple[str, int, float]]:
    assert proc.returncode == 0, proc.stderr
    return [(r["path"], r["line"], r["score"]) for r in json.loads(proc.stdout)["results"]]


def probed_search(repo: Path, query: str, **env: str) -> tuple[list[tuple[str, int, float]], set[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, "search", query, "--json"], cwd=repo,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **env})
    imported = next(line for line in proc.stderr.splitlines() if line.startswith("IMPORTED"))
    return hits(proc), set(filter(None, imported.removeprefix("IMPORTED ").split(",")))


def test_it_listens_on_a_private_socket_in_the_index_folder(server, repo):
    assert server.socket == repo / ".sddd" / "serve.sock"
    assert server.socket.is_socket() and (server.socket.stat().st_mode & 0o777) == 0o600
    assert server.ready["pid"] == server.proc.pid and server.ready["chunks"] >= 3


def test_search_through_the_server_is_the_in_process_search_without_numpy(server, repo):
    query = "what memory utilisation leaves headroom"
    served, imported = probed_search(repo, query)
    alone, imported_alone = probed_search(repo, query, SDDD_SERVE="0")
    assert served == alone and served[0][0] == "docs/guides/memory.md"
    assert not imported, f"a search answered by the server imported {sorted(imported)}"
    assert {"numpy", "faiss"} <= imported_alone  # the probe sees imports (the query is cached now)


def test_check_through_the_server_is_the_in_process_check(server, repo):
    served = run_sddd("check", "--json", cwd=repo)
    alone = run_sddd("check", "--json", cwd=repo, env={"SDDD_SERVE": "0"})
    assert served.returncode == alone.returncode == 0, served.stderr
    strip = ("seconds", "elapsed", "duration")
    drop = lambda report: {k: v for k, v in json.loads(report).items() if k not in strip}  # noqa: E731
    assert drop(served.stdout) == drop(alone.stdout)


def test_an_edited_guide_is_seen_by_the_next_question(server, repo):
    write(repo, "docs/guides/zanzibar.md", NEW_GUIDE)
    try:
        found = hits(run_sddd("search", "when is the flux capacitor calibrated", "--json", "-k", "1",
                              cwd=repo))
        assert found[0][0] == "docs/guides/zanzibar.md"
    finally:
        (repo / "docs/guides/zanzibar.md").unlink()
    found = hits(run_sddd("search", "when is the flux capacitor calibrated", "--json", cwd=repo))
    assert "docs/guides/zanzibar.md" not in {path for path, _line, _score in found}


def test_a_second_server_on_the_same_index_is_one_clear_line(server, repo):
    proc = run_sddd("serve", cwd=repo)
    assert proc.returncode == 6, proc.stderr  # ConflictError
    lines = proc.stderr.strip().splitlines()
    assert "already serves this index" in lines[-1] and "Traceback" not in proc.stderr
    assert server.proc.poll() is None and server.socket.is_socket()  # the first one is untouched


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_removes_the_socket_and_the_cli_works_alone(tmp_path, encoder, number):
    build_serve_repo(tmp_path, encoder)
    running = Server(tmp_path)
    assert hits(run_sddd("search", "port of medium", "--json", cwd=tmp_path))[0][0] == "docs/guides/ports.md"
    code, err = running.stop(number)
    assert code == 0, err
    assert "stopped after 1 request(s); socket removed" in err and "Traceback" not in err
    assert not os.path.lexists(running.socket)
    assert hits(run_sddd("search", "port of medium", "--json", cwd=tmp_path))[0][0] == "docs/guides/ports.md"


def test_a_killed_server_leaves_a_socket_that_blocks_nothing(tmp_path, encoder):
    build_serve_repo(tmp_path, encoder)
    killed = Server(tmp_path)
    killed.stop(signal.SIGKILL)
    assert killed.socket.is_socket()  # left behind: no one listens on it
    started = time.monotonic()
    alone = run_sddd("search", "chunked prefill", "--json", cwd=tmp_path)
    assert hits(alone)[0][0] == "docs/guides/setup.md" and time.monotonic() - started < 120
    second = Server(tmp_path)  # replaces the stale socket
    try:
        assert second.socket == killed.socket and second.socket.is_socket()
        found = hits(run_sddd("search", "chunked prefill", "--json", cwd=tmp_path))
        assert found[0][0] == "docs/guides/setup.md"
    finally:
        code, err = second.stop()
    assert code == 0 and "stopped after 1 request(s)" in err and not os.path.lexists(second.socket)
