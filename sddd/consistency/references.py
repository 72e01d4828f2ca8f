"""Stale references of a guide: links, inline-code paths and front-matter profiles that no
longer exist (an archived file is named with its archive path)."""

from __future__ import annotations

import os

from sddd.consistency.claims import Reference
from sddd.core.config import Config
from sddd.core.files import git_files, in_work_tree


class References:
    def __init__(self, config: Config):
        self.config = config
        self._file_list: list[str] | None = None

    def stale(self, ref: Reference, names: list[str]) -> tuple[str, str] | None:
        """(message, key) when ``ref`` points at nothing, else None."""
        if ref.how == "front-matter":
            if ref.target not in names:
                return (f"front matter names profile {ref.target!r}, which does not exist (profiles: "
                        f"{', '.join(names)})", "profile")
            return None
        target = ref.target.split("#", 1)[0]
        if not target:
            return None
        doc_dir = (self.config.root / ref.path).parent
        if any(os.path.lexists(c) for c in (doc_dir / target, self.config.root / target)):
            return None
        if ref.how == "inline" and "/" not in target.rstrip("/") and self._tracked_name(target):
            return None  # a bare name of a file that lives elsewhere in the repository
        archived = self._archived(target)
        if archived:
            return f"{ref.target} was archived to {archived}; point to the profile that replaced it", ref.how
        return f"{ref.target} does not exist; fix or remove the reference", ref.how

    def _files(self) -> list[str]:
        if self._file_list is None:
            root = self.config.root
            self._file_list = git_files(root) if in_work_tree(root) else [
                self.config.relpath(p) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
        return self._file_list

    def _tracked_name(self, name: str) -> bool:
        archive = self.config.relpath(self.config.archives_dir) + "/"
        return any(f.rsplit("/", 1)[-1] == name and not f.startswith(archive) for f in self._files())

    def _archived(self, target: str) -> str | None:
        root = self.config.archives_dir
        if not root.is_dir():
            return None
        name = target.rstrip("/").rsplit("/", 1)[-1]
        hits = sorted(p for p in root.rglob(name) if p.is_file())
        return self.config.relpath(hits[0]) if hits else None
