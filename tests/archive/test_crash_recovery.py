"""Crash safety: SIGKILL `sddd archive` / `sddd restore` at every step, then run sddd again.

``SDDD_CRASH_AT=name#N`` makes the process kill itself (SIGKILL, no cleanup) the N-th time it
reaches crash point ``name``. After the kill, any sddd command must finish the operation
from its journal: every file exists exactly once, with its original sha256, and the
manifest, README and git's index agree with the disk.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import yaml

from sddd.archive.journal import JOURNAL_NAME, sha256_of
from tests.fixtures.archive_tree import FOLDER, SEED_NAMES, assert_archived, git, make_tree
from tests.helpers import run_sddd

ARCHIVE = ["archive", *SEED_NAMES, "--reason", "superseded", "--date", "2025-10-16"]
UNTRACKED = 4  # in the git tree, the last 4 seed files are untracked: plain moves, not git mv

PLAIN_POINTS = [
    "archive-after-journal",
    *(f"archive-after-move#{n}" for n in range(1, 16)),  # after each file's move
    "move-after-link#1", "move-after-link#8", "move-after-link#15",  # linked, not yet unlinked
    "archive-after-manifest",
    "archive-after-readme",  # records written, journal not yet removed
]
GIT_POINTS = [
    "archive-after-journal", "archive-after-move#1", "archive-after-move#11",
    "archive-after-move#12", "move-after-link#1", "archive-after-move#15",
    "archive-after-manifest", "archive-after-readme",
]


def crash(args: list[str], point: str, root) -> None:
    proc = run_sddd(*args, cwd=root, env={"SDDD_CRASH_AT": point})
    assert proc.returncode == -signal.SIGKILL, (point, proc.returncode, proc.stderr)
    assert (root / "archives" / JOURNAL_NAME).exists(), "killed mid-operation: the journal remains"


# Every crash point an archive of the seed tree reaches in git: after the journal, after each of
# the 15 moves (11 by `git mv`, 4 untracked by link + unlink, each linked one also before its
# unlink), after the manifest and after the README.
EVERY_GIT_POINT = [
    "archive-after-journal",
    *(f"archive-after-move#{n}" for n in range(1, 16)),
    *(f"move-after-link#{n}" for n in range(1, UNTRACKED + 1)),
    "archive-after-manifest",
    "archive-after-readme",
]


def crash_group(args: list[str], point: str, root) -> None:
    """The whole process group killed (sddd and any git it runs), as a CI runner kills a job."""
    proc = subprocess.run([sys.executable, "-m", "sddd.cli", *args], cwd=root, capture_output=True,
                          text=True, timeout=300, start_new_session=True,
                          env={**os.environ, "SDDD_CRASH_AT": point, "SDDD_CRASH_GROUP": "1"})
    assert proc.returncode == -signal.SIGKILL, (point, proc.returncode, proc.stderr)
    assert (root / "archives" / JOURNAL_NAME).exists()


def recover(root) -> None:
    proc = run_sddd("archive", "--list", "--json", cwd=root)  # any command recovers first
    assert proc.returncode == 0, proc.stderr
    assert "finished an interrupted `sddd" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("point", PLAIN_POINTS)
def test_archive_killed_outside_git(tmp_path, point):
    root = tmp_path / "repo"
    hashes = make_tree(root, use_git=False)
    crash(ARCHIVE, point, root)
    recover(root)
    assert_archived(root, hashes)


@pytest.mark.slow
@pytest.mark.parametrize("point", GIT_POINTS)
def test_archive_killed_in_git(tmp_path, point):
    root = tmp_path / "repo"
    hashes = make_tree(root, use_git=True, untracked=UNTRACKED)
    head = git(root, "rev-parse", "HEAD")
    crash(ARCHIVE, point, root)
    recover(root)
    assert_archived(root, hashes)
    index = set(git(root, "ls-files").split())
    for i, name in enumerate(SEED_NAMES):
        was_tracked = i < len(SEED_NAMES) - UNTRACKED
        assert name not in index
        assert (f"{FOLDER}/{name}" in index) == was_tracked, name
    assert git(root, "rev-parse", "HEAD") == head


RESTORE_POINTS = ["restore-after-journal", "restore-after-move", "move-after-link",
                  "restore-after-manifest", "restore-after-readme"]
# Tracked files are restored with `git mv`, which has no link step of ours to kill at.
RESTORE_CASES = [(p, g) for g in (False, True) for p in RESTORE_POINTS
                 if not (g and p == "move-after-link")]


@pytest.mark.slow
@pytest.mark.parametrize(("point", "use_git"), RESTORE_CASES)
def test_restore_killed(tmp_path, point, use_git):
    root = tmp_path / "repo"
    hashes = make_tree(root, use_git=use_git)
    assert run_sddd(*ARCHIVE, cwd=root).returncode == 0
    name = SEED_NAMES[4]
    crash(["restore", f"{FOLDER}/{name}"], point, root)
    recover(root)
    assert sha256_of(root / name) == hashes[name] and not (root / FOLDER / name).exists()
    manifest = yaml.safe_load((root / FOLDER / "MANIFEST.yaml").read_text())
    entries = {e["original"]: e for e in manifest["files"]}
    assert entries[name]["restored_to"] == name and entries[name]["restored_at"]
    others = [n for n in SEED_NAMES if n != name]
    assert all(entries[n]["restored_at"] is None for n in others)
    assert all(sha256_of(root / FOLDER / n) == hashes[n] and not (root / n).exists() for n in others)
    assert "## Restored files" in (root / FOLDER / "README.md").read_text()
    assert not (root / "archives" / JOURNAL_NAME).exists()
    if use_git:
        index = set(git(root, "ls-files").split())
        assert name in index and f"{FOLDER}/{name}" not in index


@pytest.mark.slow
@pytest.mark.parametrize("point", EVERY_GIT_POINT)
def test_archive_group_killed_at_every_point_then_any_command_finishes_it(tmp_path, point):
    """Not only `sddd archive` finishes the job: the next command of any kind does (drift here)."""
    root = tmp_path / "repo"
    hashes = make_tree(root, use_git=True, untracked=UNTRACKED)
    crash_group(ARCHIVE, point, root)
    proc = run_sddd("drift", "--json", cwd=root)
    assert proc.returncode in (0, 1) and "finished an interrupted `sddd archive`" in proc.stderr, proc.stderr
    assert_archived(root, hashes)
    index = set(git(root, "ls-files").split())
    tracked = SEED_NAMES[: len(SEED_NAMES) - UNTRACKED]
    assert not index & set(SEED_NAMES) and {f"{FOLDER}/{n}" for n in tracked} <= index
    assert not (root / ".git" / "index.lock").exists()
