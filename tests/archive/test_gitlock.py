"""A `git mv` killed with its process group leaves `.git/index.lock`: the next command, whatever
it is, must finish the archive on its own, without removing a lock that a live git holds.

To kill git exactly while it holds the lock, the tree gets a real git hook: `core.fsmonitor`,
which git runs while it reads the index. The hook below waits (and says so) only when the
index lock exists and the count it keeps reaches PAUSE_AT, so `git ls-files` and the first
moves run through, and the N-th `git mv` stops with the lock held until the test kills the
whole group: real git, leaving a real lock, exactly as a SIGKILL at a random instant does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sddd.archive.journal import JOURNAL_NAME
from tests.fixtures.archive_tree import FOLDER, SEED_NAMES, assert_archived, git, make_tree
from tests.helpers import run_sddd

pytestmark = pytest.mark.slow

ARCHIVE = ["archive", *SEED_NAMES, "--reason", "superseded", "--date", "2025-10-16"]
UNTRACKED = 4
HOOK = """#!/bin/sh
# core.fsmonitor hook (see the test module): pause the PAUSE_AT-th git that holds the index lock.
[ -e .git/index.lock ] || exit 1
n=$(( $(cat "$SDDD_TEST_COUNT" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$SDDD_TEST_COUNT"
if [ "$n" -eq "$SDDD_TEST_PAUSE_AT" ]; then echo "$$" > "$SDDD_TEST_MARK"; sleep 300; fi
exit 1
"""


class PausedGit:
    """A command started in its own session, whose N-th index-locking git waits in the hook."""

    def __init__(self, root: Path, argv: list[str], pause_at: int):
        self.marks = root.parent / f"hook-{pause_at}"
        self.marks.mkdir(exist_ok=True)
        hook = self.marks / "fsmonitor.sh"
        hook.write_text(HOOK)
        hook.chmod(0o755)
        git(root, "config", "core.fsmonitor", str(hook))
        env = {**os.environ, "SDDD_TEST_COUNT": str(self.marks / "count"),
               "SDDD_TEST_PAUSE_AT": str(pause_at), "SDDD_TEST_MARK": str(self.marks / "paused")}
        self.root = root
        self.proc = subprocess.Popen(argv, cwd=root, env=env, start_new_session=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_paused(self) -> None:
        deadline = time.monotonic() + 120
        while not (self.marks / "paused").exists():
            assert self.proc.poll() is None, self.proc.communicate()
            assert time.monotonic() < deadline, "the hook never paused a git holding the lock"
            time.sleep(0.05)
        assert (self.root / ".git" / "index.lock").exists()

    def kill_group(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: this group is ours alone
        self.proc.wait(timeout=30)
        git(self.root, "config", "--unset", "core.fsmonitor")


def sddd_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "sddd.cli", *args]


def assert_git_agrees(root: Path) -> None:
    index = set(git(root, "ls-files").split())
    tracked = SEED_NAMES[: len(SEED_NAMES) - UNTRACKED]
    assert not index & set(SEED_NAMES)
    assert {f"{FOLDER}/{name}" for name in tracked} <= index
    assert not (root / ".git" / "index.lock").exists()


@pytest.mark.parametrize("nth_git_mv", [1, 6, 11])
def test_a_git_mv_killed_with_its_group_leaves_a_lock_the_next_command_clears(tmp_path, nth_git_mv):
    root = tmp_path / "repo"
    hashes = make_tree(root, use_git=True, untracked=UNTRACKED)
    paused = PausedGit(root, sddd_argv(*ARCHIVE), nth_git_mv)
    paused.wait_paused()
    paused.kill_group()
    assert (root / ".git" / "index.lock").exists() and (root / "archives" / JOURNAL_NAME).exists()
    refused = subprocess.run(["git", "add", "-A"], cwd=root, capture_output=True, text=True)
    assert refused.returncode != 0 and "index.lock" in refused.stderr  # git itself is wedged
    proc = run_sddd("drift", "--json", cwd=root)  # not an archive command: it recovers all the same
    assert proc.returncode in (0, 1), proc.stderr
    assert "finished an interrupted `sddd archive`" in proc.stderr
    assert "removed a stale git index lock" in proc.stderr
    assert_archived(root, hashes)
    assert_git_agrees(root)


def test_search_is_not_blocked_and_a_lock_a_live_git_holds_is_never_removed(tmp_path):
    root = tmp_path / "repo"
    hashes = make_tree(root, use_git=True, untracked=UNTRACKED)
    assert run_sddd("index", cwd=root).returncode == 0
    crash_env = {**os.environ, "SDDD_CRASH_AT": "archive-after-move#2", "SDDD_CRASH_GROUP": "1"}
    crashed = subprocess.run(sddd_argv(*ARCHIVE), cwd=root, capture_output=True, text=True,
                             start_new_session=True, env=crash_env)
    assert crashed.returncode == -signal.SIGKILL
    (root / "docs" / "index.md").write_text("# Home\n\nThe profiles live in profiles/; see medium.\n")
    foreign = PausedGit(root, ["git", "add", "docs/index.md"], 1)  # someone's git, holding the lock
    foreign.wait_paused()
    try:
        found = run_sddd("search", "--json", "profiles", cwd=root)
        assert found.returncode == 0, found.stderr  # search answers; recovery waits for another day
        assert json.loads(found.stdout)["results"]
        assert "not finished yet" in found.stderr and "holds it" in found.stderr
        assert found.stderr.count("\n") <= 3, found.stderr  # the warning and the index notice
        strict = run_sddd("archive", "--list", cwd=root)
        lines = strict.stderr.strip().splitlines()
        assert strict.returncode == 6 and len(lines) == 1 and "git process" in lines[0], strict.stderr
        assert (root / ".git" / "index.lock").exists()  # a live git's lock: left alone
    finally:
        foreign.kill_group()  # that git dies holding it: now nobody owns the lock
    proc = run_sddd("archive", "--list", "--json", cwd=root)
    assert proc.returncode == 0 and "finished an interrupted" in proc.stderr, proc.stderr
    assert_archived(root, hashes)
    assert_git_agrees(root)


def test_a_lock_older_than_the_operation_is_left_and_nothing_moves(tmp_path):
    root = tmp_path / "repo"
    hashes = make_tree(root, use_git=True, untracked=UNTRACKED)
    lock = root / ".git" / "index.lock"
    lock.touch()
    an_hour_ago = time.time() - 3600
    os.utime(lock, (an_hour_ago, an_hour_ago))
    proc = run_sddd(*ARCHIVE, cwd=root)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 6 and len(lines) == 1 and "nothing was moved" in lines[0], proc.stderr
    assert lock.exists() and not (root / "archives" / JOURNAL_NAME).exists()
    assert all((root / name).is_file() for name in hashes)
    lock.unlink()
    assert run_sddd(*ARCHIVE, cwd=root).returncode == 0
    assert_archived(root, hashes)
    assert_git_agrees(root)
