"""`sddd serve` for people: the line that says it listens, each request's log line, the last line."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from sddd.output.console import notice, print_json, warn

if TYPE_CHECKING:
    from sddd.resident.server import Ready


def ready(state: Ready, relpath: str, as_json: bool) -> None:
    """Once listening: JSON on stdout (for scripts that wait for it), or a line on stderr."""
    if state.warning:
        warn(f"not ready to answer yet: {state.warning}")
    if as_json:
        print_json(asdict(state))
        return
    index = f"index open ({state.chunks} chunks)" if state.chunks is not None else "no index yet"
    notice(f"sddd serve: ready in {state.seconds:.2f} s: {' + '.join(state.models)} loaded, {index}; "
           f"listening on {relpath} (pid {state.pid}). `sddd search` and `sddd check` of this "
           "repository now ask it. Ctrl-C or SIGTERM stops it.")


def log(message: str) -> None:
    notice(f"sddd serve: {message}")


def stopped(served: int) -> None:
    notice(f"sddd serve: stopped after {served} request(s); socket removed")
