"""A cheap "did anything the index covers change?" for a server that asks before every call.

``discover`` globs the corpus and resolves every path (a few milliseconds on a small repository,
more than a warm search takes otherwise). Between two calls, nothing changed when every file it
found keeps its size and mtime and every directory its globs walk keeps its mtime: a file added,
removed or renamed changes the mtime of the directory that holds it (and a new directory, its
parent's). So after each full discovery the stamps are kept, and the next call stats them (one
``stat`` per file and per directory) and runs ``discover`` again only when one differs.

A tree too large to stamp cheaply (a ``**/*.md`` glob from the root of a big repository) is not
stamped: every call then discovers in full, as `sddd search` does.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from sddd.core.config import Config
from sddd.index.corpus import Discovery

MAX_DIRS = 2000


def _stamp(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _bases(config: Config) -> dict[str, int | None]:
    """Directory -> how deep the globs look below it (None: all the way, for ``**``)."""
    bases: dict[str, int | None] = {str(config.archives_dir): None}  # discover walks it whole
    for pattern in [*config.docs, *config.profiles]:
        parts = Path(pattern if os.path.isabs(pattern) else config.root / pattern).parts
        static = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts) - 1)
        base = str(Path(*parts[:static]))
        depth = None if "**" in parts else len(parts) - 1 - static
        known = bases.get(base, 0)
        bases[base] = None if depth is None or known is None else max(depth, known)
    return bases


def _walked(config: Config) -> list[str] | None:
    """Every directory the corpus's globs look into; None when there are too many to stamp."""
    index = str(config.index_dir.resolve())
    found: list[str] = []
    for base, depth in sorted(_bases(config).items()):
        if not os.path.isdir(base):  # its creation changes the nearest existing ancestor
            while not os.path.isdir(base) and base != os.path.dirname(base):
                base = os.path.dirname(base)
            found.append(base)
            continue
        top = base.rstrip(os.sep).count(os.sep)
        for dirpath, dirs, _files in os.walk(base):
            found.append(dirpath)
            # The index folder changes at every query (its cache): discover never reads it.
            dirs[:] = [d for d in dirs if os.path.join(dirpath, d) != index]
            if depth is not None and dirpath.count(os.sep) - top >= depth:
                dirs[:] = []
            if len(found) > MAX_DIRS:
                return None
    return found


class TreeStamp:
    """The mtime of every directory the globs walk, and the size and mtime of every file found.

    Directories are stamped first, then ``discover`` runs (``add``): a file added in between
    is caught by the next check instead of missed.
    """

    def __init__(self, config: Config):
        dirs = _walked(config)
        self.dirs = None if dirs is None else {d: _stamp(d) for d in dirs}
        self.files: dict[str, tuple[int, int]] = {}

    def add(self, found: Discovery) -> TreeStamp:
        self.files = {str(f.path): (f.size, f.mtime_ns) for f in found.files}
        return self

    def unchanged(self) -> bool:
        if self.dirs is None:
            return False
        for path, stamp in self.dirs.items():
            if _stamp(path) != stamp:
                return False
        for path, (size, mtime_ns) in self.files.items():
            try:
                stat = os.stat(path)
            except OSError:
                return False
            if (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns):
                return False
        return True
