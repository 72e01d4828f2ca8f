"""The little git that archiving needs: is this a work tree, which files are tracked, move one.

Every function works without git installed (then nothing is a repository) and never commits:
moves are staged the way ``git mv`` stages them, and the user commits when they choose.
Paths are relative to ``root`` (the folder holding sddd.yaml), which may sit below the
repository's top level: git is always run from ``root``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from sddd.errors import ConflictError


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError:  # git is not installed: behave as outside a repository
        return subprocess.CompletedProcess(["git", *args], 127, "", "git not found")


def in_work_tree(root: Path) -> bool:
    result = _git(root, "rev-parse", "--is-inside-work-tree")
    return result.returncode == 0 and result.stdout.strip() == "true"


def tracked(root: Path, paths: list[str]) -> set[str]:
    """The subset of ``paths`` that git's index holds."""
    if not paths:
        return set()
    result = _git(root, "ls-files", "-z", "--", *paths)
    if result.returncode != 0:
        return set()
    return {p for p in result.stdout.split("\0") if p}


def files(root: Path) -> list[str]:
    """Tracked and untracked files that .gitignore does not exclude, relative to ``root``."""
    result = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return [p for p in result.stdout.split("\0") if p] if result.returncode == 0 else []


def user(root: Path) -> str | None:
    """``Name <email>`` from git's config, or None when git does not know."""
    name = _git(root, "config", "user.name").stdout.strip()
    email = _git(root, "config", "user.email").stdout.strip()
    if not name and not email:
        return None
    return f"{name} <{email}>" if name and email else name or email


def git_mv(root: Path, src: str, dst: str) -> bool:
    """``git mv src dst``; False when git refuses (the caller falls back to a plain move)."""
    return _git(root, "mv", "--", src, dst).returncode == 0 and not (root / src).exists()


def sync_index(root: Path, src: str, dst: str) -> None:
    """Make the index show ``src`` moved to ``dst``, as ``git mv`` would have (idempotent).

    Used when a move was done without ``git mv`` or a crash came between the move on disk
    and the index update.
    """
    listed = tracked(root, [src, dst])
    steps = []
    if dst not in listed:
        steps.append(("add", "-f", "--", dst))
    if src in listed:
        steps.append(("rm", "--cached", "-q", "--", src))
    for step in steps:
        result = _git(root, *step)
        if result.returncode != 0:
            raise ConflictError(
                f"git {step[0]} failed: {result.stderr.strip() or result.returncode}; the file is safe "
                "on disk; fix git (a stale .git/index.lock?) and run any sddd command to finish",
                path=dst,
            )
