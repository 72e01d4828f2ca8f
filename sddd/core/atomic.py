"""Crash-safe writes: temporary file on the same filesystem, fsync, rename, fsync the folder.

A reader sees either the old bytes or the new ones, never a mix, whatever instant the
process dies at. Locks are the operating system's own (through ``filelock``), so a holder
that dies releases them. A folder that cannot be written (read-only file system, no
permission, disk full) is one ``NotWritable`` error naming it, never an ``OSError``.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sddd.core.errors import NotWritable

# Why a write fails that the user fixes on the folder, not in sddd.
UNWRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC,
              getattr(errno, "EDQUOT", errno.ENOSPC)}


def not_writable(path: Path, exc: OSError, hint: str = "make it writable") -> NotWritable | None:
    """``exc`` as the one line a person needs, or None when it is another kind of failure."""
    if exc.errno not in UNWRITABLE:
        return None
    return NotWritable(f"cannot write here ({exc.strerror or exc}); {hint}", path=str(path))


@contextlib.contextmanager
def writing(path: Path, hint: str = "make it writable") -> Iterator[None]:
    """Turn an unwritable-folder ``OSError`` raised in the block into ``NotWritable``."""
    try:
        yield
    except OSError as exc:
        error = not_writable(path, exc, hint)
        if error is None:
            raise
        raise error from None


def fsync_dir(path: Path) -> None:
    """Make a rename or creation inside ``path`` durable (POSIX; Windows cannot open a folder
    as a file, and its renames are journalled by NTFS)."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def umask() -> int:
    """The process's umask: from /proc on Linux (setting it to read it back is not thread-safe)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def file_mode(path: Path) -> int:
    """The mode a written file gets: the mode of the file it replaces, else what the umask allows
    (as ``open()`` would; mkstemp alone gives 0600, which CI's next step, run as another user,
    could not read). Nothing written this way holds a secret: what is stored is redacted first."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """``data`` into ``path``, whole or not at all."""
    path = Path(path)
    with writing(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode(path))
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


# Every lock of sddd lives in the index folder (``index:`` in sddd.yaml).
LOCK_HINT = "sddd keeps its index and locks there: make it writable, or set `index:` in sddd.yaml to a " \
    "writable folder"


@contextlib.contextmanager
def file_lock(path: Path, hint: str = LOCK_HINT) -> Iterator[None]:
    """An exclusive lock on ``path`` for the duration of the block; waits for the holder.

    ``filelock`` (the lock pip, tox and virtualenv use) takes the operating system's lock:
    ``flock`` on POSIX, ``msvcrt.locking`` on Windows. The kernel drops it when its holder
    dies, even by SIGKILL, so a crashed command never wedges the next one. The lock file
    itself is left in place: deleting it while another process waits on it would let two in.
    """
    from filelock import FileLock

    with writing(path.parent, hint):
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path, timeout=-1)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


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
