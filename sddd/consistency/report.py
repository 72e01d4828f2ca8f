"""What drift and audit reports share: severity levels, the findings that fail, the counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

LEVELS = ("info", "warning", "error")


class Graded(Protocol):
    severity: str


@dataclass
class FindingsReport:
    """A list of findings judged against ``fail_on``, the lowest severity that fails."""

    findings: Sequence[Graded]
    fail_on: str

    @property
    def failed(self) -> list[Graded]:
        floor = LEVELS.index(self.fail_on)
        return [f for f in self.findings if LEVELS.index(f.severity) >= floor]

    @property
    def passed(self) -> bool:
        return not self.failed

    def counts(self) -> dict[str, int]:
        return {level: sum(f.severity == level for f in self.findings) for level in LEVELS}


def severity_order(severity: str) -> int:
    """Sort key putting errors first."""
    return -LEVELS.index(severity)
