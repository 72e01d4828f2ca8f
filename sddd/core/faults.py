"""Named crash points, so tests can kill the process at an exact instant.

Production code calls ``crash_point("name")`` at the steps where a crash matters. When
the environment variable ``SDDD_CRASH_AT`` equals that name, the process kills itself with
SIGKILL on the spot (no cleanup, no ``finally``), the way a power cut or OOM kill would.
``SDDD_CRASH_AT=name#N`` crashes at the N-th time that point is reached.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    target = os.environ.get("SDDD_CRASH_AT")
    if not target:
        return
    wanted, _, nth = target.partition("#")
    if wanted != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
