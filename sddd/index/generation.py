"""The index on disk, write side: a new generation written whole, then switched to atomically.

A commit writes a complete new generation into a temporary folder (the caller's ``write``: the
metadata and lexical tables of ``sddd.index.draft``, one vector file per model), fsyncs it,
renames it into place and then atomically replaces ``CURRENT``. A crash at any instant leaves
``CURRENT`` naming a complete generation.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from sddd.core.atomic import atomic_write_text, fsync_dir
from sddd.core.errors import IndexCorrupt
from sddd.core.faults import crash_point
from sddd.index.store import current_generation


def _fsync_folder(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    fsync_dir(folder)


def remove_abandoned(folder: Path) -> list[str]:
    """Remove what writers that died left behind (call under ``writer_lock``: no writer is alive
    then): ``tmp-*`` folders (a killed build's vectors, 0.3-1.3 GB for a large corpus) and any
    ``gen-*`` newer than the live one (renamed, never switched to). Done at the start of every
    run, not only after a commit: a run that finds nothing to change commits nothing."""
    live = None  # no readable CURRENT: the commit that makes one cleans up after itself
    with contextlib.suppress(IndexCorrupt, ValueError):
        current = current_generation(folder)
        live = int(current.name[4:]) if current is not None else None
    removed = []
    for stale in sorted(folder.glob("tmp-*")):
        removed.append(stale.name)
        shutil.rmtree(stale, ignore_errors=True)
    for stale in sorted(folder.glob("gen-*")):
        if live is not None and stale.name[4:].isdigit() and int(stale.name[4:]) > live:
            removed.append(stale.name)
            shutil.rmtree(stale, ignore_errors=True)
    return removed


def commit(folder: Path, write: Callable[[Path], None]) -> Path:
    """Write a generation with ``write(tmp)`` and make it the live one (call under ``writer_lock``)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        write(tmp)
        _fsync_folder(tmp)
        crash_point("store-before-rename")
        previous = None
        with contextlib.suppress(IndexCorrupt):
            previous = current_generation(folder)
        existing = [int(p.name[4:]) for p in folder.glob("gen-*") if p.name[4:].isdigit()]
        generation = folder / f"gen-{max(existing, default=0) + 1:06d}"
        os.rename(tmp, generation)
        fsync_dir(folder)
        crash_point("store-before-switch")
        atomic_write_text(folder / "CURRENT", generation.name + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # The generation just replaced stays one commit longer: a reader that read CURRENT a moment
    # before the switch may still be opening it. Anything older is unreferenced by now.
    for stale in [*folder.glob("gen-*"), *folder.glob("tmp-*")]:
        if stale not in (generation, previous):
            shutil.rmtree(stale, ignore_errors=True)
    return generation
