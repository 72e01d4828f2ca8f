"""The archive folder's record: ``MANIFEST.yaml`` (for machines) and ``README.md`` (for people).

One manifest per dated folder (``archives/docker_configs_20251016/``). Each entry says where
a file came from, where it lies now, its sha256 and size, why it was archived, when, by whom
(when git knows) and when the archive is due for review. Restoring a file keeps its entry
and adds ``restored_at`` / ``restored_to``: the manifest is the folder's history.

The README is generated from the manifest, never edited by hand, so the two cannot disagree.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from sddd.core.atomic import atomic_write_text
from sddd.core.errors import InputError
from sddd.core.faults import crash_point
from sddd.core.yamlio import load_yaml

MANIFEST_NAME = "MANIFEST.yaml"
README_NAME = "README.md"
RECORD_FILES = (MANIFEST_NAME, README_NAME)
MANIFEST_VERSION = 1


@dataclass
class ManifestEntry:
    original: str  # repository-relative path the file had
    archived: str  # repository-relative path it has in the archive
    sha256: str
    size: int
    reason: str
    archived_on: str  # YYYY-MM-DD: the archive's date (``--date``, else the day it ran)
    moved_at: str  # UTC timestamp of the move itself
    review_date: str  # YYYY-MM-DD: archived_on + retention
    archived_by: str | None = None
    restored_at: str | None = None
    restored_to: str | None = None

    @property
    def restored(self) -> bool:
        return self.restored_at is not None


@dataclass
class Manifest:
    folder: str  # repository-relative, e.g. archives/docker_configs_20251016
    category: str
    date: str  # YYYY-MM-DD
    retention_months: int
    review_date: str
    entries: list[ManifestEntry] = field(default_factory=list)

    def find(self, archived: str) -> ManifestEntry | None:
        """The live (not restored) entry of ``archived``, else its latest restored one."""
        same = [e for e in self.entries if e.archived == archived]
        return next((e for e in same if not e.restored), same[-1] if same else None)

    def upsert(self, entry: ManifestEntry) -> None:
        """Record ``entry``: it replaces the live entry of the same archived path (a rerun, or
        the restore of that file) or, for a rerun of a restore, the entry it already wrote.
        A restored entry is history and is never replaced by a new archiving of the same
        path (archive, restore, archive again on the same date): that one is appended."""
        for i, existing in enumerate(self.entries):
            if existing.archived != entry.archived:
                continue
            if not existing.restored or (entry.restored and existing.restored_at == entry.restored_at):
                self.entries[i] = entry
                return
        self.entries.append(entry)

    def to_data(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION, "folder": self.folder, "category": self.category,
            "date": self.date, "retention_months": self.retention_months,
            "review_date": self.review_date, "files": [asdict(e) for e in self.entries],
        }


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months``, clamped to the end of a shorter month (Aug 31 + 6 = Feb 28)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


HEADER = (
    "# Written by `sddd archive` / `sddd restore`; README.md is generated from this file.\n"
    "# Do not edit by hand: restore a file with `sddd restore <archived path>`.\n"
)


def dump_manifest(manifest: Manifest) -> str:
    return HEADER + yaml.safe_dump(manifest.to_data(), sort_keys=False, allow_unicode=True, width=100)


ENTRY_FIELDS = {f.name for f in fields(ManifestEntry)}


def load_manifest(path: Path, display: str) -> Manifest:
    """Read a MANIFEST.yaml; anything malformed is an InputError naming the file and line."""
    doc = load_yaml(path, display)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("files", []), list):
        raise InputError("not an sddd archive manifest (expected a mapping with a files: list)",
                         path=display, line=1)
    entries = []
    for i, item in enumerate(data.get("files") or []):
        missing = {"original", "archived", "sha256"} - set(item or {}) if isinstance(item, dict) else {"*"}
        if missing:
            raise InputError(f"file entry {i + 1} lacks {', '.join(sorted(missing))}",
                             path=display, line=doc.line_of("files", i))
        known = {k: item[k] for k in item if k in ENTRY_FIELDS}
        known.setdefault("size", 0)
        for key in ("reason", "archived_on", "moved_at", "review_date"):
            known[key] = "" if known.get(key) is None else str(known.get(key))
        entries.append(ManifestEntry(**known))
    return Manifest(
        folder=str(data.get("folder", "")), category=str(data.get("category", "")),
        date=str(data.get("date", "")), retention_months=int(data.get("retention_months") or 0),
        review_date=str(data.get("review_date", "")), entries=entries,
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_readme(manifest: Manifest) -> str:
    """The human index of one archive folder, grouped by reason."""
    live = [e for e in manifest.entries if not e.restored]
    restored = [e for e in manifest.entries if e.restored]
    prefix = manifest.folder.rstrip("/") + "/"
    lines = [
        f"# Archive {manifest.folder.rsplit('/', 1)[-1]}", "",
        "Generated by `sddd archive` from `MANIFEST.yaml`; do not edit by hand.", "",
        f"- **Category**: {manifest.category}",
        f"- **Archived on**: {manifest.date}",
        f"- **Files**: {len(live)} archived" + (f", {len(restored)} restored" if restored else ""),
        f"- **Retention**: {manifest.retention_months} months; **review on {manifest.review_date}** "
        "(`sddd archive --list --due` shows archives past review)",
        "",
        "Nothing here is live configuration: the canonical compose profiles are in `profiles/`.",
        "These files keep their bytes (sha256 below) and their path below the repository root.",
        "",
    ]
    groups: dict[str, list[ManifestEntry]] = {}
    for entry in live:
        groups.setdefault(entry.reason, []).append(entry)
    if live:
        lines += ["## Archived files", ""]
    for reason, entries in groups.items():
        lines += [f"### {_cell(reason) or '(no reason given)'}", "",
                  "| File | Original path | Size | sha256 |", "| --- | --- | ---: | --- |"]
        for e in sorted(entries, key=lambda e: e.original):
            shown = e.archived.removeprefix(prefix)
            lines.append(f"| [{_cell(shown)}]({shown}) | `{_cell(e.original)}` | {e.size} "
                         f"| `{e.sha256[:12]}` |")
        lines.append("")
    if restored:
        lines += ["## Restored files", "", "| Original path | Restored to | Restored at |",
                  "| --- | --- | --- |"]
        for e in sorted(restored, key=lambda e: e.original):
            lines.append(f"| `{_cell(e.original)}` | `{_cell(e.restored_to or e.original)}` "
                         f"| {e.restored_at} |")
        lines.append("")
    lines += [
        "## Restoring a file", "",
        "```bash",
        f"sddd restore {live[0].archived if live else prefix + '<file>'}   # back to its original path",
        "sddd restore <archived path> --to <new path>   # somewhere else; never overwrites",
        "```", "",
        "The restored file's sha256 is checked against this manifest; its entry keeps the history.",
        "",
    ]
    return "\n".join(lines)


def write_records(folder: Path, manifest: Manifest, step: str) -> None:
    """MANIFEST.yaml then README.md, each atomically (crash points between, for the tests)."""
    atomic_write_text(folder / MANIFEST_NAME, dump_manifest(manifest))
    crash_point(f"{step}-after-manifest")
    atomic_write_text(folder / README_NAME, render_readme(manifest))
    crash_point(f"{step}-after-readme")
