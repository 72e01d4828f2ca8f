"""The record of what agents asked the write tools to do: ``<index folder>/mcp-writes.jsonl``
(``.sddd/mcp-writes.jsonl`` by default), one JSON object per line, for the user to read
(``tail``, ``jq``).

Each call of ``archive``, ``restore``, ``deploy`` or ``down`` is recorded with its tool, its
arguments (secrets masked), when, and its outcome: ``applied``, ``dry run``, ``refused`` (with
the line the agent got) or ``failed``. A call that may change something is recorded once
*before* it runs (``started``), so a call the process did not survive still shows; when that
line cannot be written, the call is refused: no write goes unrecorded.

Appends are atomic: one ``write`` of a whole line on a descriptor opened with ``O_APPEND``,
then ``fsync``; two servers on one repository interleave whole lines, never halves.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from sddd.core.atomic import writing
from sddd.core.config import Config
from sddd.mcp.spec import redact_data

NAME = "mcp-writes.jsonl"


def record_path(config: Config) -> Path:
    return config.index_dir / NAME


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def append(config: Config, entry: dict[str, Any]) -> None:
    """Add one line; NotWritable when the index folder cannot be written."""
    path = record_path(config)
    line = json.dumps(redact_data({"at": _now(), **entry}), ensure_ascii=False, sort_keys=False)
    data = (line.replace("\n", " ") + "\n").encode("utf-8")
    with writing(path.parent, "the record of agents' writes lives there: make it writable"):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            written = os.write(fd, data)
            if written != len(data):  # a full disk mid-line: end the line so the next one parses
                os.write(fd, b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)


def read_all(config: Config) -> list[dict[str, Any]]:
    """Every recorded line (for tests and tools that show them)."""
    path = record_path(config)
    if not path.is_file():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue  # a line a full disk cut short
    return found
