"""`sddd archive` / `sddd restore` as a library: plan, apply, restore, list.

``plan_archive`` checks everything before anything moves (paths inside the repository, no
symlinks out, no name clash) and returns the plan; ``apply_archive`` runs it through the
crash journal (``sddd.journal``). ``plan_restore`` / ``apply_restore`` do the reverse for
one file. ``list_archives`` reads every manifest and checks it against the disk.

Archived files keep their path below the repository root:
``configs/medium.yml`` -> ``archives/docker_configs_20251016/configs/medium.yml``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sddd.archive import JOURNAL_NAME
from sddd.archive.gitlock import refuse_if_locked
from sddd.archive.journal import (
    Journal,
    Move,
    lock_path,
    now_utc,
    recover_pending,
    run,
    sha256_of,
)
from sddd.archive.manifest import (
    MANIFEST_NAME,
    RECORD_FILES,
    Manifest,
    ManifestEntry,
    add_months,
    load_manifest,
)
from sddd.core.atomic import file_lock
from sddd.core.config import Config
from sddd.core.errors import ConfigError, ConflictError, InputError, UsageError
from sddd.core.files import git_user, in_work_tree, tracked

CATEGORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
SKIP_DIRS = {".git", ".hg", ".svn"}


@dataclass
class PlannedFile:
    original: str
    archived: str
    sha256: str
    size: int
    reason: str
    tracked: bool = False


@dataclass
class ArchivePlan:
    folder: str
    category: str
    date: str
    review_date: str
    retention_months: int
    git: bool
    files: list[PlannedFile] = field(default_factory=list)


@dataclass
class ArchiveResult:
    plan: ArchivePlan
    applied: bool
    manifest: str | None = None
    readme: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_date(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a date; write it as YYYY-MM-DD", option="date") from None


def archive_root(config: Config) -> Path:
    root = config.archives_dir.resolve()
    if not root.is_relative_to(config.root):
        raise ConfigError(f"archives: {config.archives!r} is outside the repository; "
                          "name a folder inside it", path=str(config.path or "sddd.yaml"),
                          line=config.line_of("archives"))
    return root


def inside_repo(config: Config, arg: str | Path, cwd: Path | None = None) -> Path:
    """``arg`` as an absolute path in the repository, or a UsageError saying why not."""
    base = cwd or Path.cwd()
    lexical = Path(os.path.normpath(base / arg))
    if not lexical.is_relative_to(config.root):
        raise UsageError(f"{arg}: outside the repository ({config.root}); only files inside it "
                         "can be archived or restored")
    if lexical.is_symlink():
        target = lexical.resolve()
        where = "outside the repository" if not target.is_relative_to(config.root) else target
        raise UsageError(f"{arg}: is a symbolic link (to {where}); name the file itself")
    resolved = lexical.resolve()
    if not resolved.is_relative_to(config.root):
        raise UsageError(f"{arg}: leads outside the repository through a symbolic link ({resolved})")
    return resolved


def _expand(config: Config, arg: str, cwd: Path | None) -> list[Path]:
    path = inside_repo(config, arg, cwd)
    if not os.path.lexists(path):
        raise UsageError(f"{arg}: no such file")
    if path.is_dir():
        found = []
        for dirpath, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            found += [Path(dirpath) / n for n in sorted(names) if not Path(dirpath, n).is_symlink()]
        return found
    if not path.is_file():
        raise UsageError(f"{arg}: not a regular file")
    return [path]


def plan_archive(config: Config, paths: list[str], reasons: str | dict[str, str], *,
                 category: str | None = None, date: str | None = None,
                 cwd: Path | None = None) -> ArchivePlan:
    """Check and plan: every refusal happens here, before anything moves.

    ``reasons`` is one reason for all files or a map from repository-relative path to reason.
    """
    opts = config.section("archive")
    category = category or opts["category"]
    if not CATEGORY.fullmatch(category):
        raise UsageError(f"{category!r}: use letters, digits, '_' and '-' only", option="category")
    day = parse_date(date)
    months = int(opts["retention_months"])
    root = archive_root(config)
    folder = root / f"{category}_{day:%Y%m%d}"
    index_dir = config.index_dir.resolve()
    files: list[Path] = []
    for arg in paths:
        for path in _expand(config, arg, cwd):
            rel = config.relpath(path)
            if path.is_relative_to(root):
                raise UsageError(f"{rel}: already in the archive root {config.relpath(root)}/; "
                                 "use `sddd restore` to bring it back")
            if path.is_relative_to(index_dir) or ".git" in Path(rel).parts:
                raise UsageError(f"{rel}: belongs to sddd's index or git, not to the repository's files")
            if path not in files:
                files.append(path)
    if not files:
        raise UsageError("nothing to archive: name at least one file")
    rels = [config.relpath(p) for p in files]
    git = in_work_tree(config.root)
    in_index = tracked(config.root, rels) if git else set()
    plan = ArchivePlan(config.relpath(folder), category, day.isoformat(),
                       add_months(day, months).isoformat(), months, git)
    clashes = []
    for path, rel in zip(files, rels, strict=True):
        reason = reasons if isinstance(reasons, str) else reasons.get(rel, "")
        if not reason.strip():
            raise UsageError(f"{rel}: no reason given; say why with --reason TEXT (it goes in the manifest)")
        dst = folder / rel
        if os.path.lexists(dst) or (dst.parent == folder and dst.name in (*RECORD_FILES, JOURNAL_NAME)):
            clashes.append(config.relpath(dst))
        plan.files.append(PlannedFile(rel, config.relpath(dst), sha256_of(path), path.stat().st_size,
                                      reason.strip(), rel in in_index))
    if clashes:
        raise ConflictError(f"would overwrite {len(clashes)} archived file(s): {', '.join(clashes)}; "
                            "nothing was moved. Use another --date or --category, or restore them first")
    return plan


def apply_archive(config: Config, plan: ArchivePlan) -> ArchiveResult:
    """Move the planned files through the crash journal and write the manifest and README."""
    by = git_user(config.root)
    moved_at = now_utc()
    journal = Journal(
        op="archive", folder=plan.folder,
        header={"category": plan.category, "date": plan.date,
                "retention_months": plan.retention_months, "review_date": plan.review_date},
        moves=[Move(f.original, f.archived, f.sha256, f.size, f.tracked) for f in plan.files],
        entries=[asdict(ManifestEntry(f.original, f.archived, f.sha256, f.size, f.reason, plan.date,
                                      moved_at, plan.review_date, by)) for f in plan.files],
    )
    with file_lock(lock_path(config)):
        recover_pending(config)  # a crash between our own start and this lock
        if plan.git and any(f.tracked for f in plan.files):
            refuse_if_locked(config.root)
        for f in plan.files:  # re-check under the lock: the plan may be seconds old
            if os.path.lexists(config.root / f.archived):
                raise ConflictError("appeared since the plan was made; nothing was moved", path=f.archived)
            if not (config.root / f.original).exists():
                raise ConflictError("disappeared since the plan was made; nothing was moved",
                                    path=f.original)
        warnings = run(config, journal)
    folder = plan.folder
    return ArchiveResult(plan, True, f"{folder}/{MANIFEST_NAME}", f"{folder}/README.md", warnings)


# ---- restore -------------------------------------------------------------------------------


@dataclass
class RestorePlan:
    folder: str
    entry: ManifestEntry
    target: str
    tracked: bool


@dataclass
class RestoreResult:
    archived: str
    restored_to: str
    sha256: str
    applied: bool
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def manifests(config: Config) -> list[tuple[Path, Manifest]]:
    """Every archive folder's manifest, sorted by folder."""
    root = config.archives_dir
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob(MANIFEST_NAME)):
        found.append((path.parent, load_manifest(path, config.relpath(path))))
    return found


def plan_restore(config: Config, arg: str, to: str | None = None, cwd: Path | None = None) -> RestorePlan:
    """Find the entry for ``arg`` (archived or original path), check the target is free."""
    archive_root(config)
    wanted = {config.relpath(Path(os.path.normpath((cwd or Path.cwd()) / arg))),
              Path(os.path.normpath(arg)).as_posix()}
    matches = [(folder, e) for folder, m in manifests(config) for e in m.entries
               if not e.restored and (e.archived in wanted or e.original in wanted)]
    if not matches:
        raise UsageError(f"{arg}: no archived file with that archived or original path; "
                         "`sddd archive --list --json` shows them")
    if len(matches) > 1:
        options = ", ".join(e.archived for _, e in matches)
        raise UsageError(f"{arg}: archived more than once ({options}); name the archived path")
    folder, entry = matches[0]
    source = config.root / entry.archived
    if not source.is_file():
        raise InputError("listed in the manifest but missing from the archive", path=entry.archived)
    if sha256_of(source) != entry.sha256:
        raise InputError("its bytes differ from the manifest's sha256; it was edited after archiving. "
                         "Copy it out by hand if you want this version", path=entry.archived)
    target_path = inside_repo(config, to if to is not None else config.root / entry.original, cwd)
    target = config.relpath(target_path)
    if target_path.is_relative_to(archive_root(config)):
        raise UsageError(f"{to}: inside the archive root; restore to a live path", option="to")
    if os.path.lexists(target_path):
        raise ConflictError(f"{target} already exists; refusing to overwrite it. Move it away or "
                            "restore with --to ANOTHER_PATH", path=target)
    is_tracked = entry.archived in tracked(config.root, [entry.archived])
    return RestorePlan(config.relpath(folder), entry, target, is_tracked)


def apply_restore(config: Config, plan: RestorePlan) -> RestoreResult:
    entry = ManifestEntry(**asdict(plan.entry))
    entry.restored_at, entry.restored_to = now_utc(), plan.target
    journal = Journal(op="restore", folder=plan.folder, header={},
                      moves=[Move(entry.archived, plan.target, entry.sha256, entry.size, plan.tracked)],
                      entries=[asdict(entry)])
    with file_lock(lock_path(config)):
        recover_pending(config)
        if plan.tracked:
            refuse_if_locked(config.root)
        if os.path.lexists(config.root / plan.target):
            raise ConflictError("appeared since the plan was made; nothing was moved", path=plan.target)
        warnings = run(config, journal)
    return RestoreResult(entry.archived, plan.target, entry.sha256, True, warnings)


# ---- list ----------------------------------------------------------------------------------


@dataclass
class ArchiveSummary:
    folder: str
    category: str
    date: str
    review_date: str
    due: bool
    archived: int
    restored: int
    size: int
    problems: list[str] = field(default_factory=list)


def check_archive(config: Config, folder: Path, manifest: Manifest) -> list[str]:
    """What disagrees between a manifest and the disk (missing, changed or unlisted files)."""
    problems = []
    listed = set()
    for e in manifest.entries:
        listed.add(e.archived)
        if e.restored:  # live again: the user may edit or delete it
            continue
        path = config.root / e.archived
        if not path.is_file():
            problems.append(f"missing: {e.archived}")
        elif sha256_of(path) != e.sha256:
            problems.append(f"changed since archiving: {e.archived}")
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            rel = config.relpath(Path(dirpath) / name)
            if rel not in listed and not (Path(dirpath) == folder and name in RECORD_FILES):
                problems.append(f"not in the manifest: {rel}")
    return problems


def list_archives(config: Config, *, due_only: bool = False, today: dt.date | None = None,
                  verify: bool = True) -> list[ArchiveSummary]:
    today = today or dt.date.today()
    summaries = []
    for folder, m in manifests(config):
        due = bool(m.review_date) and m.review_date <= today.isoformat()
        if due_only and not due:
            continue
        live = [e for e in m.entries if not e.restored]
        summaries.append(ArchiveSummary(
            config.relpath(folder), m.category, m.date, m.review_date, due, len(live),
            len(m.entries) - len(live), sum(e.size for e in live),
            check_archive(config, folder, m) if verify else [],
        ))
    return summaries
