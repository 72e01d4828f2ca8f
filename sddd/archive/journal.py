"""The crash journal behind `sddd archive` and `sddd restore`: plan, journal, move, verify, record.

An operation first writes its whole plan to ``<archives>/.sddd-journal.json`` (atomically),
then moves each file without ever overwriting (hard link + unlink, ``git mv`` for tracked
files, copy + fsync + verify across filesystems), verifies every sha256, writes the
manifest and README atomically and only then removes the journal.

``complete`` is idempotent: it looks at each planned move and does only what is missing, so
the same function runs the operation and finishes one that a crash interrupted. Every sddd
command calls ``recover_pending`` first (one stat when there is no journal), so whatever
instant the process died at, the next command leaves every file existing exactly once, with
its original bytes, and the manifest saying where.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sddd.archive import JOURNAL_NAME
from sddd.archive.git import git_mv, sync_index
from sddd.archive.gitlock import clear_stale_lock
from sddd.archive.manifest import MANIFEST_NAME, Manifest, ManifestEntry, load_manifest, write_records
from sddd.core.atomic import atomic_write_text, file_lock, fsync_dir
from sddd.core.config import Config
from sddd.core.errors import ConflictError, InputError
from sddd.core.faults import crash_point
from sddd.core.files import in_work_tree

LOCK_NAME = "archive.lock"
PARTIAL_SUFFIX = ".sddd-partial"


@dataclass
class Move:
    src: str  # repository-relative
    dst: str
    sha256: str
    size: int
    tracked: bool = False  # in git's index: moved with `git mv`


@dataclass
class Journal:
    op: str  # "archive" or "restore"
    folder: str  # the archive folder whose manifest is updated
    header: dict[str, Any]  # category, date, retention_months, review_date (for a new manifest)
    moves: list[Move]
    entries: list[dict[str, Any]]  # ManifestEntry fields to upsert once the moves are done
    started_at: str = field(default_factory=lambda: now_utc())


@dataclass
class Recovery:
    op: str
    files: int
    journal: str
    warnings: list[str]


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def journal_path(config: Config) -> Path:
    return config.archives_dir / JOURNAL_NAME


def lock_path(config: Config) -> Path:
    return config.index_dir / LOCK_NAME


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_journal(config: Config, journal: Journal) -> None:
    atomic_write_text(journal_path(config), json.dumps(asdict(journal), indent=2, ensure_ascii=False))


def read_journal(config: Config) -> Journal:
    path = journal_path(config)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["moves"] = [Move(**m) for m in data["moves"]]
        return Journal(**data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConflictError(
            f"unreadable archive journal ({exc}); an interrupted archive or restore left it. "
            "Check the files it lists by hand, then delete it", path=config.relpath(path)) from None


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _copy_across(src: Path, dst: Path, sha: str) -> None:
    """Move between filesystems: copy to a partial name, fsync, verify, link into place, unlink."""
    partial = dst.with_name(f".{dst.name}{PARTIAL_SUFFIX}")
    shutil.copyfile(src, partial)
    _fsync_file(partial)
    if sha256_of(partial) != sha:
        partial.unlink()
        raise InputError("copy does not match the original (sha256); nothing was removed", path=str(src))
    os.link(partial, dst)  # FileExistsError rather than overwrite
    partial.unlink()
    fsync_dir(dst.parent)
    crash_point("move-after-copy")
    src.unlink()
    fsync_dir(src.parent)


def _move_no_clobber(src: Path, dst: Path, sha: str) -> None:
    """Move ``src`` to ``dst``; never replaces an existing ``dst``, whatever the filesystem."""
    try:
        os.link(src, dst)
    except FileExistsError:
        raise ConflictError(f"{dst.name} appeared while archiving; nothing was overwritten",
                            path=str(dst)) from None
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            _copy_across(src, dst, sha)
            return
        if os.path.lexists(dst):
            raise
        os.rename(src, dst)  # no hard links on this filesystem; checked just above
        fsync_dir(dst.parent)
        return
    fsync_dir(dst.parent)
    crash_point("move-after-link")
    src.unlink()
    fsync_dir(src.parent)


def _ensure_moved(root: Path, move: Move, git: bool) -> None:
    """Bring one planned move to its end state, from whatever state a crash left."""
    src, dst = root / move.src, root / move.dst
    partial = dst.with_name(f".{dst.name}{PARTIAL_SUFFIX}")
    if partial.exists():
        partial.unlink()  # our own half-copy from a crash; the source is still there
    has_src, has_dst = os.path.lexists(src), os.path.lexists(dst)
    if has_src and not has_dst:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not (git and move.tracked and git_mv(root, move.src, move.dst)):
            _move_no_clobber(src, dst, move.sha256)
    elif has_src and has_dst:
        # A crash between link and unlink (or after a cross-filesystem copy): both hold the
        # same bytes; drop the source only when both are exactly what the plan recorded.
        if sha256_of(dst) == move.sha256 == sha256_of(src):
            src.unlink()
            fsync_dir(src.parent)
        else:
            raise ConflictError(f"both {move.src} and {move.dst} exist with different content; "
                                "nothing was removed: keep the right one by hand, then delete the "
                                "journal", path=move.dst)
    elif not has_dst:
        raise ConflictError(f"{move.src} is missing from both its old place and {move.dst}; "
                            "it was moved or deleted by something else", path=move.src)
    if git and move.tracked:
        sync_index(root, move.src, move.dst)


def complete(config: Config, journal: Journal) -> list[str]:
    """Finish ``journal``'s operation (idempotent); return warnings for the user."""
    root = config.root
    git = any(m.tracked for m in journal.moves) and in_work_tree(root)
    warnings: list[str] = []
    if git and clear_stale_lock(root, since=_journal_time(config)):
        warnings.append("removed a stale git index lock that a killed `git mv` of this operation "
                        "had left")
    actual: dict[str, tuple[str, int]] = {}
    for move in journal.moves:
        _ensure_moved(root, move, git)
        crash_point(f"{journal.op}-after-move")
        dst = root / move.dst
        digest = sha256_of(dst)
        actual[move.dst] = (digest, dst.stat().st_size)
        if digest != move.sha256:
            warnings.append(f"{move.src} changed while it was being moved: the manifest records the "
                            f"bytes now at {move.dst} (sha256 {digest[:12]})")
    folder = root / journal.folder
    manifest_path = folder / MANIFEST_NAME
    if manifest_path.exists():
        manifest = load_manifest(manifest_path, config.relpath(manifest_path))
    else:
        manifest = Manifest(folder=journal.folder, **journal.header)
    for data in journal.entries:
        entry = ManifestEntry(**data)
        if journal.op == "archive" and entry.archived in actual:
            entry.sha256, entry.size = actual[entry.archived]
        manifest.upsert(entry)
    write_records(folder, manifest, journal.op)
    path = journal_path(config)
    path.unlink()
    fsync_dir(path.parent)
    return warnings


def _journal_time(config: Config) -> float:
    """When the operation began: its journal is written once, before the first move."""
    try:
        return journal_path(config).stat().st_mtime
    except FileNotFoundError:
        return 0.0


def run(config: Config, journal: Journal) -> list[str]:
    """Journal then complete, under the archive lock. The caller holds the lock."""
    write_journal(config, journal)
    crash_point(f"{journal.op}-after-journal")
    return complete(config, journal)


def recover_pending(config: Config, notice: Callable[[str], None] | None = None) -> Recovery | None:
    """Finish an archive or restore that a crash interrupted; one stat when there is none."""
    path = journal_path(config)
    if not path.exists():
        return None
    with file_lock(lock_path(config)):
        if not path.exists():  # another process finished it while we waited
            return None
        journal = read_journal(config)
        warnings = complete(config, journal)
    recovery = Recovery(journal.op, len(journal.moves), config.relpath(path), warnings)
    if notice:
        notice(f"finished an interrupted `sddd {journal.op}` of {recovery.files} file(s) "
               f"(journal {recovery.journal}, started {journal.started_at})")
        for warning in warnings:
            notice(f"warning: {warning}")
    return recovery
