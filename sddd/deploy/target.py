"""The deploy target protocol, and the one place a target is chosen by name (``--target``).

A target is an engine sddd runs a profile on: ``compose`` (the local engine, with Docker
Compose) and ``swarm`` (a stack on the swarm the engine belongs to). Each is one module
``sddd.deploy.<name>`` that defines ``TARGET``, an object with the five operations of the
``Target`` protocol below, each returning the dataclasses of ``sddd.deploy.report`` (the same
for every target), and the few words people see (``engine``, ``place``, ``unit``) so that the
output and the commands never ask which target they were given. ``target(name)`` is the only
choice between them: `sddd deploy` / `status` / `logs` / `down`, the MCP tools and the grid all
go through it.

This module imports nothing heavy: the CLI reads ``TARGETS`` for ``--target``'s help.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sddd.core.errors import UsageError

if TYPE_CHECKING:
    from sddd.core.config import Config
    from sddd.deploy.report import DeployPlan, DeployResult, DownResult, ServiceStatus
    from sddd.deploy.wait import WaitState

# name -> what it is, for --target's help; each is the module sddd.deploy.<name>. The first is
# the default, the one commands name without --target.
TARGETS = {
    "compose": "the local engine, with Docker Compose",
    "swarm": "a stack on the swarm the engine belongs to (docker stack deploy)",
}
DEFAULT = next(iter(TARGETS))


class Target(Protocol):
    name: str  # as --target names it
    engine: str  # what the pre-flight checks: "the engine", "the swarm"
    place: str  # where `sddd status` looks: "on this engine", "on this swarm"
    unit: str  # what runs the service: "container", "task"
    columns: tuple[str, ...]  # ServiceStatus fields `sddd status` shows besides the common ones

    def plan(self, config: Config, profile: str | None = None, env_file: Path | str | None = None, *,
             overrides: Sequence[Path] = (), placeholders: bool = False) -> DeployPlan:
        """Resolve and lint, and what the target adds; touches nothing (the --dry-run)."""

    def up(self, config: Config, profile: str | None = None, env_file: Path | str | None = None, *,
           timeout: float = 900.0, wait: bool = True,
           on_state: Callable[[WaitState], None] | None = None,
           overrides: Sequence[Path] = (), grid: str = "") -> DeployResult:
        """Pre-flight, record, start, and (``wait``) wait until healthy or ``timeout``.

        ``overrides`` (more compose files over the profile) and ``grid`` (the grid whose variant
        this is, for the history) are a grid variant's; a target that cannot run one refuses."""

    def status(self, config: Config) -> list[ServiceStatus]:
        """Every service sddd runs there."""

    def logs(self, config: Config, profile: str | None = None, *, follow: bool = False,
             tail: int | None = 100) -> Iterator[str]:
        """The profile's log lines, secrets redacted."""

    def down(self, config: Config, profile: str | None = None) -> DownResult:
        """Stop and remove what runs the profile (volumes, hence weights, are kept)."""


def target(name: str = DEFAULT) -> Target:
    """The target called ``name``; UsageError (``--target must be one of ...``) for another name."""
    if name not in TARGETS:
        raise UsageError(f"must be one of {', '.join(TARGETS)}; got {name!r}", option="target")
    found: Target = importlib.import_module(f"sddd.deploy.{name}").TARGET
    return found


def flag(name: str) -> str:
    """How a command line names the target: nothing for the default, `` --target NAME`` else."""
    return "" if name == DEFAULT else f" --target {name}"


def help_text() -> str:
    return "; ".join(f"{name}: {what}" for name, what in TARGETS.items()) + "."
