"""The deployment history: one JSON file under the index folder, rewritten atomically.

Each entry says what was asked (deploy / down), what ran before (container, image, profile,
config hash) and how it ended (healthy with the time it took, failed, timeout). It holds no
secret: only masked values and hashes ever reach it. ``previous_profile`` answers "what do
I roll back to".
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sddd.core.atomic import atomic_write_text, file_lock
from sddd.core.config import Config
from sddd.core.errors import IndexCorrupt
from sddd.core.secrets import redact

HISTORY_FILE = "deploy-history.json"
MAX_ENTRIES = 500


@dataclass
class Entry:
    action: str  # "deploy" or "down"
    profile: str
    project: str
    service: str
    outcome: str  # "started", "healthy", "failed", "timeout", "removed"
    config_hash: str = ""
    image: str = ""
    at: float = field(default_factory=time.time)
    seconds: float | None = None  # time to healthy
    message: str = ""
    previous: dict[str, Any] | None = None  # what ran before: container, image, profile, config_hash
    target: str = "compose"  # or "swarm" (`sddd deploy --target swarm`)
    grid: str = ""  # the grid whose variant this was (`sddd grid run`): hidden from `status --history`
    pid: int | None = None  # the sddd process that recorded "starting", to close it if that died

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def history_path(config: Config) -> Path:
    return config.index_dir / HISTORY_FILE


def read_history(config: Config) -> list[Entry]:
    path = history_path(config)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Entry(**item) for item in data["entries"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(f"deployment history unreadable ({type(exc).__name__}); move it aside, "
                           "a new one starts with the next deploy",
                           path=config.relpath(path)) from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def close_abandoned(entries: list[Entry]) -> bool:
    """Entries left "starting" by a process that died (SIGKILL, a closed terminal) say so, once
    their process is gone (or, recorded before pids were, once a later entry of the project
    exists). True when one changed."""
    changed = False
    for i, entry in enumerate(entries):
        if entry.outcome != "starting":
            continue
        later = any(e.project == entry.project for e in entries[i + 1:])
        if (entry.pid is not None and entry.pid != os.getpid() and not _alive(entry.pid)) or \
                (entry.pid is None and later):
            who = f"pid {entry.pid}" if entry.pid is not None else "its process"
            entry.outcome = "abandoned"
            entry.message = (f"the sddd process ({who}) ended before the outcome was known (killed?); "
                             "closed by a later command")
            changed = True
    return changed


def close_abandoned_entries(config: Config) -> None:
    """``close_abandoned`` written back (what `status --history` does before it shows them)."""
    path = history_path(config)
    if not path.is_file():
        return
    with file_lock(path.with_suffix(".lock")):
        entries = read_history(config)
        if close_abandoned(entries):
            _write(path, entries)


def _write(path: Path, entries: list[Entry]) -> None:
    text = json.dumps({"entries": [e.to_json() for e in entries[-MAX_ENTRIES:]]}, indent=1)
    atomic_write_text(path, text + "\n")


def append(config: Config, entry: Entry) -> None:
    entry.message = redact(entry.message)
    if entry.outcome == "starting" and entry.pid is None:
        entry.pid = os.getpid()
    path = history_path(config)
    with file_lock(path.with_suffix(".lock")):
        entries = read_history(config)
        close_abandoned(entries)
        entries.append(entry)
        _write(path, entries)


def update_last(config: Config, project: str, **changes: Any) -> None:
    """Complete the newest entry of ``project`` (a deploy's outcome once the wait ends)."""
    path = history_path(config)
    with file_lock(path.with_suffix(".lock")):
        entries = read_history(config)
        for entry in reversed(entries):
            if entry.project == project:
                for key, value in changes.items():
                    setattr(entry, key, redact(value) if isinstance(value, str) else value)
                break
        _write(path, entries)


def previous_profile(config: Config, project: str | None = None) -> str | None:
    """The profile that was healthy before the latest deploy (of ``project`` when given)."""
    healthy = [e for e in read_history(config) if e.action == "deploy" and e.outcome == "healthy"
               and not e.grid and (project is None or e.project == project)]
    return healthy[-2].profile if len(healthy) >= 2 else None
