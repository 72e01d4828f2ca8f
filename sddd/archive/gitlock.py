"""A ``.git/index.lock`` left by a killed ``git mv``: when it is provably stale, and clearing it.

git creates ``index.lock`` before it rewrites the index and renames it into place when done;
a git killed in between (SIGKILL of the whole ``sddd archive`` process group) leaves the lock,
and every later git command that writes the index refuses to run. The archive journal removes
such a lock itself, but only when it can prove that no git still owns it:

- the lock was made while the interrupted operation ran (not older than its journal), so it
  is one of our own git commands', not a ``git commit`` waiting on the user's editor;
- no live process has it open, and no live git process works in this repository (read from
  ``/proc``; a zombie owns nothing). Where there is no ``/proc`` (macOS, Windows) that cannot
  be proved, so the lock is left and the error says how to remove it by hand.

A git of ours that outlived sddd (only sddd was killed) is given a few seconds to finish.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sddd.core.errors import ConflictError
from sddd.core.files import run_git

PROC = Path("/proc")
WAIT_FOR_LIVE_GIT_S = 5.0
SLACK_S = 1.0  # file times on some filesystems are coarse


def index_lock(root: Path) -> Path | None:
    """Where git's index lock of the repository at ``root`` lives (None outside git)."""
    result = run_git(root, "rev-parse", "--git-path", "index.lock")
    if result.returncode != 0 or not result.stdout.strip():
        return None
    return (root / result.stdout.strip()).resolve()


def _state(pid_dir: Path) -> str:
    """The process state letter of /proc/PID/stat (after the parenthesised command name)."""
    stat = (pid_dir / "stat").read_text(encoding="utf-8", errors="replace")
    return stat.rsplit(")", 1)[-1].split()[0]


def _holds(pid_dir: Path, lock: Path) -> bool:
    try:
        fds = list((pid_dir / "fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.removesuffix(" (deleted)") == str(lock):
            return True
    return False


def live_owners(root: Path, lock: Path) -> list[int] | None:
    """Pids that may own ``lock``: holding it open, or running git in ``root``.

    None when this system cannot tell (no ``/proc``). A git process whose folder cannot be
    read is counted: it may work here.
    """
    if not (PROC / "self" / "fd").is_dir():
        return None
    top = run_git(root, "rev-parse", "--show-toplevel").stdout.strip()
    tree = Path(top).resolve() if top else root.resolve()
    owners = []
    for pid_dir in PROC.iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
            continue
        try:
            if _state(pid_dir) in ("Z", "X"):  # dead, not yet reaped: owns nothing
                continue
            name = (pid_dir / "comm").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue  # gone meanwhile
        is_git = name == "git" or name.startswith("git-")
        if is_git:
            try:
                cwd = Path(os.readlink(pid_dir / "cwd"))
            except OSError:
                owners.append(int(pid_dir.name))
                continue
            if cwd.is_relative_to(tree):
                owners.append(int(pid_dir.name))
                continue
        if _holds(pid_dir, lock):
            owners.append(int(pid_dir.name))
    return owners


def clear_stale_lock(root: Path, since: float) -> bool:
    """Remove git's index lock when it is provably stale (see the module); True if removed.

    ``since``: when the interrupted operation began (its journal's time). A lock that cannot be
    proved stale is left for ``lock_error`` to explain.
    """
    lock = index_lock(root)
    if lock is None:
        return False
    deadline = time.monotonic() + WAIT_FOR_LIVE_GIT_S
    while True:
        try:
            before = lock.stat()
        except FileNotFoundError:
            return False  # its git finished meanwhile
        if before.st_mtime < since - SLACK_S:
            return False  # older than our operation: someone else's
        owners = live_owners(root, lock)
        if owners is None:
            return False
        if not owners:
            break
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)  # a git of ours that outlived sddd: let it finish
    try:
        after = lock.stat()
    except FileNotFoundError:
        return False
    if (after.st_ino, after.st_mtime_ns) != (before.st_ino, before.st_mtime_ns):
        return False  # a new git took it while we looked
    lock.unlink()
    return True


def refuse_if_locked(root: Path) -> None:
    """Before anything moves: a held index lock would stop ``git mv`` half-way, so refuse now."""
    lock = index_lock(root)
    if lock is not None and lock.exists():
        shown = os.path.relpath(lock, root)
        raise ConflictError("git's index is locked: a git command is running in this repository, "
                            "or one was killed; nothing was moved. When none runs, delete this file "
                            "and run the command again", path=shown)


def lock_error(root: Path, action: str, git_message: str, path: str) -> ConflictError:
    """One line for a git command refused because of the index lock (or anything else)."""
    lock = index_lock(root)
    if lock is not None and lock.exists():
        owners = live_owners(root, lock) or []
        shown = os.path.relpath(lock, root)
        who = (f"git process {', '.join(map(str, owners))} holds it" if owners
               else "no git process here seems to hold it")
        return ConflictError(
            f"git {action} refused: {shown} exists ({who}); the file is safe on disk. When no git "
            f"command runs in this repository, delete {shown}, then run any sddd command to finish",
            path=path)
    return ConflictError(f"git {action} failed ({git_message}); the file is safe on disk: fix git, "
                         "then run any sddd command to finish", path=path)


def first_line(stderr: str) -> str:
    """git's own reason in one line: its first ``fatal:`` or ``error:`` line, else the first."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith(("fatal:", "error:"))),
                lines[0] if lines else "no message")
