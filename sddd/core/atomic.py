"""Crash-safe writes: temporary file on the same filesystem, fsync, rename, fsync the folder.

A reader sees either the old bytes or the new ones, never a mix, whatever instant the
process dies at.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a rename or creation inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (flock) held for the duration of the block."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def atomic_folder(folder: Path, marker: str) -> Iterator[Path]:
    """Build ``folder`` whole or not at all: yield a temporary folder beside it to fill.

    On a clean exit its files are made world-readable (it is a cache, not a secret) and
    fsynced, and it is renamed to ``folder``; if another process finished the same folder
    first (its ``marker`` file exists), that copy is kept. On an error, or a crash at any
    instant, ``folder`` does not exist, or holds a finished copy; never a partial one.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield work
        for path in work.iterdir():
            path.chmod(0o644)
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        work.chmod(0o755)
        try:
            os.replace(work, folder)
        except OSError:
            if not (folder / marker).is_file():  # not another process's finished copy
                raise
        fsync_dir(folder.parent)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
