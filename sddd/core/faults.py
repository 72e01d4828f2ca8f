"""Named crash points, so tests can kill the process at an exact instant.

Production code calls ``crash_point("name")`` at the steps where a crash matters. When
the environment variable ``SDDD_CRASH_AT`` equals that name, the process kills itself with
SIGKILL on the spot (no cleanup, no ``finally``), the way a power cut or OOM kill would.
``SDDD_CRASH_AT=name#N`` crashes at the N-th time that point is reached. With
``SDDD_CRASH_GROUP=1`` the whole process group goes (sddd and any git it runs), as when a
terminal or a CI runner kills a job; only when sddd leads its group, so never its caller.
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
        if os.environ.get("SDDD_CRASH_GROUP") and os.getpgrp() == os.getpid():
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
