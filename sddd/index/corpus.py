"""What the index reads: find the files, tell their kind, turn each into chunks.

Kinds: ``guide`` and ``report`` (Markdown, from front matter or folder), ``profile``
(compose files), ``archive`` (anything under the archive root), and ``manual``: sddd's own
manual, a corpus of its own (``manual_config``) indexed beside the repository's, so that its
pages never change how the team's documents rank. ``.env`` files, and files
that a symbolic link takes out of the repository, are never read (``Discovery.ignored``).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from sddd.core.config import Config
from sddd.core.files import glob_files, is_env_file, link_escape, refused_link
from sddd.core.secrets import find_secrets, redact, redact_fields

ARCHIVE_SUFFIXES = (".md", ".yml", ".yaml")
# sddd's manual ships in the package (sddd/manual/*.md); its pages are indexed from the package
# folder under the paths the site gives them, manual/<page>.md.
MANUAL_ROOT = Path(__file__).resolve().parents[1]
MANUAL_KIND = "manual"


def manual_config(config: Config) -> Config:
    """The manual as a corpus: its own index in ``<index>/manual``, the repository's models."""
    folder = config.index_dir / MANUAL_KIND
    models = [str(config.root / name) if (config.root / name).exists() else name for name in config.model]
    return Config(root=MANUAL_ROOT, docs=[f"{MANUAL_KIND}/**/*.md"], profiles=[],
                  archives=str(folder / "no-archives"), index=str(folder), model=models,
                  device=config.device)


@dataclass
class Chunk:
    """One searchable passage."""

    path: str  # relative to the repository root, forward slashes
    kind: str
    heading: str  # heading path, "Title › Section › Subsection"
    anchor: str | None  # the id MkDocs gives the heading; None for a file's preamble
    line: int  # 1-based line where the passage starts
    text: str  # what is shown and embedded (secrets redacted)
    title: str = ""
    part: int = 0  # index of the piece when a long section was split

    def redacted(self) -> Chunk:
        """This chunk with every field that is stored, and so shown, free of secrets."""
        return redact_fields(self, "heading", "anchor", "title", "text")


@dataclass
class SourceFile:
    path: Path
    rel: str
    kind: str  # a hint: the Markdown chunker may refine guide/report from front matter
    size: int = 0
    mtime_ns: int = 0


@dataclass
class Discovery:
    files: list[SourceFile] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)




def discover(config: Config) -> Discovery:
    """Every file the index covers, sorted by path, with size and mtime from one stat."""
    root = config.root
    archive_root = config.archives_dir.resolve()
    index_root = config.index_dir.resolve()
    seen: dict[str, SourceFile] = {}
    found = Discovery()

    def add(path: Path, kind: str) -> None:
        resolved = path.resolve()
        if resolved.is_relative_to(index_root):
            return
        rel = config.relpath(path)
        if rel in seen or any(rel == ignored for ignored, _ in found.ignored):
            return
        if is_env_file(path.name):
            found.ignored.append((rel, ".env files are never indexed"))
            return
        if find_secrets(rel):  # the path is stored, shown and linked: it cannot be redacted
            if not any(redact(rel) == ignored for ignored, _ in found.ignored):
                found.ignored.append((redact(rel), "the file's name holds a secret: not indexed; "
                                                   "rename the file"))
            return
        target = link_escape(root, path)
        if target is not None:
            found.ignored.append((rel, refused_link(target)))
            return
        if resolved.is_relative_to(archive_root):
            kind = "archive"
        stat = path.stat()
        seen[rel] = SourceFile(path, rel, kind, stat.st_size, stat.st_mtime_ns)

    refused: list[tuple[Path, Path]] = []  # links out of the repository: reported, never read
    doc_hint = MANUAL_KIND if root.resolve() == MANUAL_ROOT else "guide"
    for pattern in config.docs:
        for path in glob_files(root, pattern, refused):
            add(path, doc_hint)
    for pattern in config.profiles:
        for path in glob_files(root, pattern, refused):
            add(path, "profile")
    for path, target in refused:
        rel = config.relpath(path)
        if not any(rel == ignored for ignored, _ in found.ignored):
            found.ignored.append((rel, refused_link(target)))
    if config.archives_dir.is_dir():
        for dirpath, _dirs, names in os.walk(config.archives_dir):
            for name in names:
                if name.endswith(ARCHIVE_SUFFIXES) or fnmatch.fnmatch(name, "*.yml.*"):
                    add(Path(dirpath) / name, "archive")
    found.files = sorted(seen.values(), key=lambda f: f.rel)
    return found


def is_compose_path(rel: str) -> bool:
    return rel.endswith((".yml", ".yaml")) or ".yml." in rel or ".yaml." in rel
