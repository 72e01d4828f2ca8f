"""`sddd serve` for people: the line that says it listens, each request's log line, the last line."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

from sddd.output.console import notice, warn

if TYPE_CHECKING:
    from sddd.resident.server import Ready


def ready(state: Ready, relpath: str, as_json: bool) -> None:
    """Once listening: one JSON line on stdout (a script that started it reads one line to know it
    can ask), or a line on stderr."""
    if state.warning:
        warn(f"not ready to answer yet: {state.warning}")
    if as_json:
        sys.stdout.write(json.dumps(asdict(state), ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    index = f"index open ({state.chunks} chunks)" if state.chunks is not None else "no index yet"
    notice(f"sddd serve: ready in {state.seconds:.2f} s: {' + '.join(state.models)} loaded, {index}; "
           f"listening on {relpath} (pid {state.pid}). `sddd search` and `sddd check` of this "
           "repository now ask it. Ctrl-C or SIGTERM stops it.")


def log(message: str) -> None:
    notice(f"sddd serve: {message}")


def stopped(served: int) -> None:
    notice(f"sddd serve: stopped after {served} request(s); socket removed")
