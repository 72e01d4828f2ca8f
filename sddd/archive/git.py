"""Moving files the way ``git mv`` does, for archive and restore; never committing.

Read-only questions to git (work tree? tracked? user?) are in ``sddd.core.files``.
"""

from __future__ import annotations

from pathlib import Path

from sddd.archive.gitlock import first_line, lock_error
from sddd.core.files import run_git, tracked


def git_mv(root: Path, src: str, dst: str) -> bool:
    """``git mv src dst``; False when git refuses (the caller falls back to a plain move)."""
    return run_git(root, "mv", "--", src, dst).returncode == 0 and not (root / src).exists()


def sync_index(root: Path, src: str, dst: str) -> None:
    """Make the index show ``src`` moved to ``dst``, as ``git mv`` would have (idempotent).

    Used when a move was done without ``git mv`` or a crash came between the move on disk
    and the index update.
    """
    listed = tracked(root, [src, dst])
    steps: list[tuple[str, ...]] = []
    if dst not in listed:
        steps.append(("add", "-f", "--", dst))
    if src in listed:
        steps.append(("rm", "--cached", "-q", "--", src))
    for step in steps:
        result = run_git(root, *step)
        if result.returncode != 0:
            raise lock_error(root, step[0], first_line(result.stderr), dst)
