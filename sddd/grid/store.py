"""Where a grid keeps its state, under ``<index>/grid/<grid name>/``, all written atomically.

- ``results/<config hash>.json``: one file per finished variant (measured or rejected), written
  whole with ``sddd.core.atomic`` once the variant is done, so a kill at any instant leaves
  either the complete result or none: a variant with a result is never run again;
- ``running.json``: the variant being deployed now (its project, the pid of ``grid run``); a
  run that finds it left by a killed one takes that variant down before anything else;
- ``overrides/*.yml``: the compose override of each variant (regenerated on every run);
- ``confirm/<config hash>.json``: the leader deployed and measured again (``grid run --confirm``);
- ``logs/<config hash>.log``: each variant's container log (secrets redacted);
- ``run.lock``: held (flock) while ``grid run`` runs, so two runs of one grid cannot interleave;
  ``project_lock`` (a flock in the system's temporary folder, per Compose project) keeps two
  grids over one profile, or two repositories, out of one project.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sddd.core.atomic import atomic_write_text
from sddd.core.config import Config
from sddd.core.errors import ConflictError, IndexCorrupt
from sddd.core.secrets import redact

SCHEMA = "sddd.grid.result/1"


class GridStore:
    def __init__(self, config: Config, name: str):
        self.config = config
        self.root = config.index_dir / "grid" / name
        self.results_dir = self.root / "results"
        self.overrides_dir = self.root / "overrides"
        self.logs_dir = self.root / "logs"
        self.marker = self.root / "running.json"

    def results(self) -> dict[str, dict[str, Any]]:
        """Every saved result by config hash; a file that cannot be read is an error naming it."""
        found: dict[str, dict[str, Any]] = {}
        for path in sorted(self.results_dir.glob("*.json")) if self.results_dir.is_dir() else []:
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise IndexCorrupt(f"not a grid result ({exc}); delete it to measure that variant "
                                   "again", path=self.config.relpath(path)) from None
            if isinstance(record, dict) and record.get("schema") == SCHEMA:
                found[str(record["config_hash"])] = record
        return found

    def save(self, record: dict[str, Any]) -> Path:
        path = self.results_dir / f"{record['config_hash']}.json"
        atomic_write_text(path, json.dumps({"schema": SCHEMA, **record}, indent=1, ensure_ascii=False,
                                           default=str) + "\n")
        return path

    def confirmation(self, config_hash: str) -> dict[str, Any] | None:
        """The leader's second measurement (``confirm/<config hash>.json``), if any."""
        path = self.root / "confirm" / f"{config_hash}.json"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (ValueError, UnicodeDecodeError) as exc:
            raise IndexCorrupt(f"not a grid result ({exc}); delete it to confirm again",
                               path=self.config.relpath(path)) from None
        return record if isinstance(record, dict) and record.get("schema") == SCHEMA else None

    def save_confirmation(self, record: dict[str, Any]) -> Path:
        path = self.root / "confirm" / f"{record['config_hash']}.json"
        atomic_write_text(path, json.dumps({"schema": SCHEMA, **record}, indent=1, ensure_ascii=False,
                                           default=str) + "\n")
        return path

    def save_log(self, config_hash: str, lines: list[str]) -> Path:
        path = self.logs_dir / f"{config_hash}.log"
        atomic_write_text(path, "".join(redact(line) + "\n" for line in lines))
        return path

    def running(self) -> dict[str, Any] | None:
        if not self.marker.is_file():
            return None
        try:
            data = json.loads(self.marker.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            return {}  # a marker is written atomically; an unreadable one still means "clean up"
        return data if isinstance(data, dict) else {}

    def mark_running(self, info: dict[str, Any]) -> None:
        atomic_write_text(self.marker, json.dumps({**info, "pid": os.getpid()}, indent=1) + "\n")

    def clear_running(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.marker.unlink()

    @contextlib.contextmanager
    def lock(self, grid: str) -> Iterator[None]:
        """Held for the whole run; the kernel drops it when the process dies, even by SIGKILL."""
        self.root.mkdir(parents=True, exist_ok=True)
        with held(self.root / "run.lock", str(os.getpid()), lambda holder: (
                f"another `sddd grid run` of {grid} is running (pid {holder or '?'}); wait for it to "
                "finish or stop it (Ctrl-C brings its variant down)")):
            yield


def project_lock_path(project: str) -> Path:
    """One lock per Compose project on this host, whatever repository or grid file runs it: two
    grids over one profile share its project, and each run's clean-up takes the project down."""
    return Path(tempfile.gettempdir()) / f"sddd-compose-{project}.lock"


@contextlib.contextmanager
def project_lock(project: str, grid_file: str, root: Path) -> Iterator[None]:
    """Held while a grid deploys into ``project``: a second run stops (ConflictError, exit 6)
    before it looks at, cleans up or starts anything of that project."""
    with held(project_lock_path(project), f"{os.getpid()} {grid_file} in {root}", lambda holder: (
            f"Compose project {project} is in use by another `sddd grid run` (pid {holder or '?'}); "
            "one grid per project at a time: wait for it, or give this grid its own `project:`")):
        yield


@contextlib.contextmanager
def held(path: Path, holder: str, refusal: Callable[[str], str]) -> Iterator[None]:
    """An exclusive flock on ``path`` naming ``holder`` inside, or ConflictError(refusal(who holds it))."""
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise ConflictError(refusal(handle.read().strip())) from None
        handle.seek(0)
        handle.truncate()
        handle.write(holder)
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
