"""Output that fits where it goes, on a repository like the seeds'.

Through a pipe at 80 columns (a CI log): one whole ``path:line: severity: type: message`` line per
finding, then the summary line, for drift, audit, archive --detect / --list, check and search
(validate: tests/endpoint/test_validate.py). On a terminal of 80 columns (a real pty): the table
never cuts a path:line.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.seed_repo import CHAMPION_GUIDE, CHAMPION_PATH, CONFIG, build_seed_repo
from tests.helpers import sddd_here

PIPE = {"COLUMNS": "80"}
ARCH = "docs/docker/ARCHITECTURE.md"
TARGETS = """\
targets:
  - id: architecture
    query: "architecture docker du service vllm medium, fichiers actifs et archivés"
    expect: docs/docker/ARCHITECTURE.md
  - id: never-first
    query: "point quotidien du 3 octobre"
    expect: docs/RESTORATION_PLAN_V2.md
    top_k: 1
"""


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    return build_seed_repo(tmp_path_factory.mktemp("seed"),
                           extra={CHAMPION_PATH: CHAMPION_GUIDE, "sddd.yaml": CONFIG + TARGETS})


def where(path: str | None, line: int | None) -> str:
    return f"{path}:{line}" if path and line else (path or "")


def piped(seed, *args: str) -> tuple[int, list[str]]:
    proc = sddd_here(*args, cwd=seed.root, env=PIPE)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout.splitlines()


def assert_whole(lines: list[str], location: str, severity: str, kind: str, message: str) -> None:
    head = f"{location}: {severity}: {kind}: " if location else f"{severity}: {kind}: "
    hits = [line for line in lines if line.startswith(head) and message in line]
    assert hits, f"no whole line for {head}{message}"


@pytest.mark.parametrize("command", ["drift", "audit"])
def test_drift_and_audit_print_one_whole_line_per_finding(seed, command):
    data = json.loads(sddd_here(command, "--json", cwd=seed.root).stdout)
    code, lines = piped(seed, command)
    assert code == 1 and lines[-1].startswith(f"sddd {command} FAILED: ")
    assert len(lines) == len(data["findings"]) + 1  # nothing else: no table, no banner
    assert any(len(line) > 80 for line in lines)  # long lines stay whole: nothing wraps or cuts them
    for f in data["findings"]:
        path, line = (f["doc_path"], f["doc_line"]) if command == "drift" and f["doc_path"] else (
            (f["profile_path"], f["profile_line"]) if command == "drift" else (f["path"], f["line"]))
        assert_whole(lines, where(path, line), f["severity"], f.get("type") or f["rule"], f["message"])


def test_known_findings_of_the_seeds_in_the_pipe(seed):
    _, lines = piped(seed, "drift")
    arch = seed.line(ARCH, "| `--gpu-memory-utilization` | 0.95")
    medium = seed.line("profiles/medium.yml", "--gpu-memory-utilization=0.85")
    assert (f"{ARCH}:{arch}: error: value_mismatch: --gpu-memory-utilization is 0.95 here but medium has "
            f"0.85; update the document (profiles/medium.yml:{medium}; profile by heading)") in lines
    said = seed.line(CHAMPION_PATH, "Le prefix caching est désactivé")
    assert_whole(lines, f"{CHAMPION_PATH}:{said}", "error", "value_mismatch",
                 "--enable-prefix-caching is off here but medium leaves it unset")
    _, lines = piped(seed, "audit")
    budget = seed.line("sddd.yaml", "max_compose_outside_profiles")
    assert_whole(lines, f"sddd.yaml:{budget}", "error", "budget", "5 compose files outside profiles, "
                 "budget 3: docker-compose-medium-qwen3-memory-optimized.yml")
    assert_whole(lines, ".env:1", "error", "secret", "Hugging Face token hf_*** in a tracked file")


def test_archive_detect_and_list(seed, tmp_path: Path):
    data = json.loads(sddd_here("archive", "--detect", "--json", cwd=seed.root).stdout)
    code, lines = piped(seed, "archive", "--detect")
    assert code == 0 and len(lines) == len(data["candidates"]) + 1
    for c in data["candidates"]:
        assert_whole(lines, c["path"], "info", ",".join(c["causes"]), c["reason"])
    assert lines[-1].startswith(f"sddd archive --detect: {len(data['candidates'])} candidate(s)")
    other = build_seed_repo(tmp_path / "other")
    done = sddd_here("archive", "docker-compose-micro-qwen3-new.yml", "--reason", "superseded by micro",
                    "--date", "2025-01-02", "--json", cwd=other.root)
    assert done.returncode == 0, done.stderr
    archives = json.loads(sddd_here("archive", "--list", "--json", cwd=other.root).stdout)["archives"]
    proc = sddd_here("archive", "--list", cwd=other.root, env=PIPE)
    lines = proc.stdout.splitlines()
    assert len(archives) == 1 and len(lines) == 2, proc.stdout
    folder = archives[0]["folder"]
    assert lines[0] == (f"{folder}/: warning: archive: 1 file(s), review {archives[0]['review_date']}: "
                        "due for review")
    assert lines[1].startswith("sddd archive --list: 1 archive(s) in all, 1 due for review, 0 problem(s)")


def test_check_and_search(seed):
    assert sddd_here("index", "--json", cwd=seed.root).returncode == 0
    report = json.loads(sddd_here("check", "--json", cwd=seed.root).stdout)
    code, lines = piped(seed, "check")
    assert code == 1 and lines[-1].startswith("sddd check: ")
    results = {t["id"]: t for t in report["targets"]}
    assert {i: t["passed"] for i, t in results.items()} == {"architecture": True, "never-first": False}
    found = results["architecture"]["matched"]
    assert found["path"] == ARCH
    assert_whole(lines, f"{ARCH}:{found['line']}", "pass", "architecture", f"finds {ARCH}")
    assert_whole(lines, "docs/RESTORATION_PLAN_V2.md:1", "error", "never-first",
                 "'point quotidien du 3 octobre' should find docs/RESTORATION_PLAN_V2.md in the top 1")
    # On an 80-column terminal: every location whole (blocks when the table has no room for them).
    text = on_terminal(seed.root, 80, "check")
    assert all(len(line.rstrip()) <= 80 for line in text.splitlines())
    for t in report["targets"]:
        wanted = t["matched"] or {"path": t["expect"][0].split("#")[0], "anchor": None}
        location = wanted["path"] + (f"#{wanted['anchor']}" if wanted.get("anchor") else "")
        assert location in text, (location, text)
    query = "prefix caching désactivé"
    hits = json.loads(sddd_here("search", query, "--json", cwd=seed.root).stdout)["results"]
    code, lines = piped(seed, "search", query)
    assert code == 0 and len(lines) == len(hits) + 1 and lines[-1].startswith(f"sddd search: {len(hits)}")
    for hit in hits:
        snippet = " ".join(hit["snippet"].split())
        assert any(line.startswith(f"{hit['path']}:{hit['line']}: #{hit['rank']} ") and snippet in line
                   for line in lines), hit


def on_terminal(root: Path, columns: int, *args: str) -> str:
    """The CLI's stdout on a pseudo-terminal ``columns`` wide, escape codes removed."""
    master, slave = pty.openpty()
    import fcntl
    import struct
    import termios
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm", "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sddd.cli", *args], cwd=root, stdout=slave,
                            stderr=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=60)
    os.close(master)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode()).replace("\r\n", "\n")


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("command", ["drift", "audit"])
def test_tables_on_a_terminal_keep_every_path_line_whole(seed, command, columns):
    data = json.loads(sddd_here(command, "--json", cwd=seed.root).stdout)
    text = on_terminal(seed.root, columns, command)
    lines = text.splitlines()
    assert all(len(line.rstrip()) <= columns for line in lines) and "…" not in text
    for f in data["findings"]:
        path, line = (f["doc_path"], f["doc_line"]) if command == "drift" and f["doc_path"] else (
            (f["profile_path"], f["profile_line"]) if command == "drift" else (f["path"], f["line"]))
        location = where(path, line)
        assert re.search(rf"(?<![\w/.-]){re.escape(location)}(?![\w/.:-])", text), (columns, location)
