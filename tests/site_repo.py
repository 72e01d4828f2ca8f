"""Copies of this repository's knowledge base for the site tests (test_site*.py).

The tests build real sites from the real docs, profiles and mkdocs.yml, but in a copy under
tmp_path, so that they can change a profile, archive a file or break a link without touching
the repository. The copy carries the repository's index (brought up to date first, files copied
with their mtimes), so the indexer finds it fresh and the model is loaded once at most.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

from sddd.core.config import load_config
from sddd.index.indexer import build_index

from .conftest import REPO, run_sddd

CONTENT = ("docs", "profiles", "sddd.yaml", "mkdocs.yml")


def copy_repo(dest: Path) -> Path:
    """The knowledge base (and its up-to-date index) copied to ``dest``."""
    config = load_config(REPO / "sddd.yaml")
    build_index(config)
    dest.mkdir(parents=True, exist_ok=True)
    for name in CONTENT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest / name)
    shutil.copytree(config.index_dir, dest / ".sddd", ignore=shutil.ignore_patterns("lock", "*.lock"))
    return dest


def clone(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, symlinks=True)
    return dest


def build(root: Path, *args: str) -> tuple[int, dict]:
    """``sddd site build --json ARGS`` in ``root``: (exit code, report)."""
    proc = run_sddd("site", "build", "--json", *args, cwd=root)
    assert proc.stdout.strip(), f"no JSON on stdout (exit {proc.returncode}): {proc.stderr}"
    return proc.returncode, json.loads(proc.stdout)


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder`` (to prove a build changed nothing there)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class _Tables(HTMLParser):
    """Rows of every <table> as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[list[str]] = []  # hrefs per row
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
            self.links.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a" and self._cell is not None and self.links:
            self.links[-1].append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str) -> list[tuple[list[str], list[str]]]:
    """(cell texts, link hrefs) of every table row of a page."""
    parser = _Tables()
    parser.feed(html)
    return list(zip(parser.rows, parser.links, strict=True))


def flag_rows(html: str) -> dict[str, tuple[list[str], list[str]]]:
    """The vLLM flag table of a profile page: flag -> (cells, hrefs)."""
    return {cells[0]: (cells, hrefs) for cells, hrefs in table_rows(html)
            if cells and cells[0].startswith("--")}
