"""The commands that show progress, run on a real pseudo-terminal (80 and 200 columns) as a person
runs them: the final result is on screen and whole, and Ctrl-C mid-way is exit 130, one line, and
nothing half-written. In a pipe, the same progress is plain lines without a carriage return.

(`sddd index` on a terminal crashed on every run before: rich's live display was handed a stand-in
for its console, which could not be entered; no test ran a command on a terminal.)
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path

import pytest

from tests.fixtures.archive_tree import FOLDER, SEED_NAMES, make_tree, snapshot
from tests.fixtures.terminal import assert_interrupted, assert_whole_lines, on_pty
from tests.helpers import REPO, run_sddd, write

COLUMNS = [80, 200]
WORDS = ("gpu memory vllm docker compose port health model cache token throughput latency prefix "
         "batch quantization tensor parallel").split()
TARGETS = """\
targets:
  - id: guide-one
    query: "guide one section"
    expect: docs/guide01.md
"""


def small_corpus(root: Path, files: int = 3, config: str = "", seed: object = None) -> Path:
    """``files`` guides of six sections each (36 passages for 3): seconds to embed, long enough
    to be interrupted. Each ``seed`` its own words: a corpus embedded before (the same test at
    another width) must not come back from a cache faster than the Ctrl-C it waits for."""
    rng = random.Random(f"{files}-{seed}")
    write(root, "sddd.yaml", "docs: ['docs/**/*.md']\nmin_score: 0.0\ntop_k: 5\n" + config)
    for i in range(files):
        sections = "\n\n".join(f"## Section {j} of guide {i}\n\n"
                               + " ".join(rng.choice(WORDS) for _ in range(90)) for j in range(6))
        write(root, f"docs/guide{i:02d}.md", f"# Guide {i}\n\n{sections}\n")
    return root


@pytest.mark.parametrize("columns", COLUMNS)
def test_index_on_a_terminal_interrupted_then_whole(tmp_path, columns):
    # Ctrl-C as soon as embedding starts: on an idle machine 18 passages embed in well under 0.5 s.
    root = small_corpus(tmp_path, seed=columns)
    stopped = on_pty(["index"], root, columns=columns, interrupt_on=r"Embedding", interrupt_delay=0.0)
    assert_interrupted(stopped)
    assert stopped.after_lines() == ["interrupted: sddd index stopped (nothing half-written is kept)"]
    assert not (root / ".sddd" / "CURRENT").exists()  # no generation was published half-built
    assert re.search(r"0/18 passages", stopped.frames)  # the live line: passages done of total
    screen = on_pty(["index"], root, columns=columns)
    assert screen.code == 0, screen.text
    assert_whole_lines(screen, columns)
    lines = screen.lines()
    assert lines[0] == "Index .sddd: updated", lines
    rows = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in lines[1:])
    assert rows["files"] == "3" and rows["chunks"] == rows["embedded"] == "18", rows
    # The live line went away (transient): the summary is all that stays on screen.
    assert "Embedding" not in screen.text
    assert "18/18 passages" in screen.frames, screen.frames  # the live line ran to the total


def test_index_in_a_pipe_says_what_it_does_in_plain_lines(tmp_path):
    root = small_corpus(tmp_path, files=2)
    proc = run_sddd("index", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert "embedding 12 passage(s)" in lines, lines  # said when embedding starts
    # Said after a second of reading and chunking (before anything else is said), when it takes that.
    reading = [i for i, line in enumerate(lines) if line.startswith("sddd index: reading the files under ")]
    assert reading in ([], [0]), lines
    (root / "docs" / "guide00.md").write_text("# Guide 0\n\nchanged\n", encoding="utf-8")
    quiet = run_sddd("index", "--quiet", cwd=root)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert "Index .sddd: updated" in quiet.stdout


@pytest.mark.parametrize("columns", COLUMNS)
def test_check_on_a_terminal_builds_the_index_and_shows_every_target(tmp_path, columns):
    root = small_corpus(tmp_path, config=TARGETS)
    stopped = on_pty(["check"], root, columns=columns, interrupt_on=r"building it first")
    assert_interrupted(stopped)
    assert not (root / ".sddd" / "CURRENT").exists()
    screen = on_pty(["check"], root, columns=columns)
    assert screen.code == 0, screen.text
    assert_whole_lines(screen, columns)
    assert "docs/guide01.md" in screen.text and "guide-one" in screen.text
    assert "1/1 targets pass" in screen.text, screen.text
    # Piped at 80 columns with -o: the summary is one whole line (it wrapped before), and the
    # JUnit file is readable by CI's next step (it was 0600 whatever the umask).
    old = os.umask(0o022)
    try:
        piped = run_sddd("check", "-f", "junit", "-o", "junit.xml", cwd=root, env={"COLUMNS": "80"})
    finally:
        os.umask(old)
    assert piped.returncode == 0 and len(piped.stdout.splitlines()) == 1, piped.stdout
    assert piped.stdout.startswith("1/1 targets pass") and "(report written to junit.xml)" in piped.stdout
    assert (root / "junit.xml").stat().st_mode & 0o777 == 0o644
    # search on the same terminal: every path#anchor whole on one line (a table folded it mid-word).
    hits = json.loads(run_sddd("search", "gpu memory section", "--json", cwd=root).stdout)["results"]
    found = on_pty(["search", "gpu memory section"], root, columns=columns)
    assert found.code == 0, found.text
    assert_whole_lines(found, columns)
    lines = found.text.split("\n")
    for hit in hits:
        location = f"{hit['path']}#{hit['anchor']}"
        assert any(location in line for line in lines), (location, found.text)


@pytest.mark.parametrize("columns", COLUMNS)
def test_archive_on_a_terminal(tmp_path, columns):
    root = tmp_path / "repo"
    make_tree(root, use_git=False)
    detect = on_pty(["archive", "--detect"], root, columns=columns)
    assert detect.code == 0, detect.text
    assert_whole_lines(detect, columns)
    data = json.loads(run_sddd("archive", "--detect", "--json", cwd=root).stdout)
    for candidate in data["candidates"]:
        assert candidate["path"] in detect.text, candidate["path"]
    before = snapshot(root)
    done = on_pty(["archive", *SEED_NAMES[:3], "--reason", "superseded by profiles/", "--date",
                   "2025-10-16"], root, columns=columns)
    assert done.code == 0, done.text
    assert_whole_lines(done, columns)
    after = snapshot(root)
    for name in SEED_NAMES[:3]:
        assert name not in after and after[f"{FOLDER}/{name}"] == before[name]


@pytest.mark.parametrize("columns", COLUMNS)
def test_site_build_on_a_terminal(tmp_path, columns):
    root = small_corpus(tmp_path, files=2)
    write(root, "docs/index.md", "# Home\n\nThe guides.\n")
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    # Ctrl-C while the pages build (the index is brought up to date first, for related pages).
    stopped = on_pty(["site", "build"], root, columns=columns, interrupt_on=r"\S", interrupt_delay=1.0)
    assert_interrupted(stopped)
    assert not (root / "site").exists()  # the site is renamed into place whole, or not at all
    screen = on_pty(["site", "build"], root, columns=columns, timeout=600)
    assert screen.code == 0, screen.text[-3000:]
    assert_whole_lines(screen, columns)
    built = [line for line in screen.lines() if line.startswith("Site built in ")]
    assert len(built) == 1 and (root / "site" / "index.html").is_file(), screen.text[-3000:]
    assert (root / "site" / "guide00" / "index.html").is_file()
