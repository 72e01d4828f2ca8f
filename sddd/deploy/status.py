"""What sddd runs on the engine: status, logs, down.

Services are found by the labels ``sddd deploy`` puts on them (``sddd.managed``,
``sddd.profile``, ...) plus Compose's own project label, so `docker compose ps` and `sddd
status` always agree on what exists.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sddd.compose.profiles import load_profile
from sddd.core.config import Config
from sddd.core.errors import EngineError, UsageError
from sddd.core.secrets import redact
from sddd.deploy import docker as engine
from sddd.deploy.history import Entry, append


@dataclass
class ServiceStatus:
    profile: str
    project: str
    service: str
    container: str
    state: str
    health: str
    uptime_s: float | None
    port: int | None
    image: str
    model: str
    config_hash: str
    target: str = "compose"  # or "swarm": then ``container`` is the task (SERVICE.SLOT)
    node: str = ""  # the swarm node that runs the task

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _uptime(state: dict[str, Any]) -> float | None:
    started = str(state.get("StartedAt") or "")
    if state.get("Status") != "running" or not started or started.startswith("0001"):
        return None
    try:
        when = datetime.fromisoformat(started[:26].rstrip("Z") + "+00:00")
    except ValueError:
        return None
    return max(0.0, time.time() - when.timestamp())


def describe(container: Any) -> ServiceStatus:
    labels, attrs = container.labels, container.attrs
    state = attrs.get("State") or {}
    return ServiceStatus(
        profile=labels.get(engine.LABEL_PROFILE, ""), project=labels.get(engine.PROJECT_LABEL, ""),
        service=labels.get(engine.SERVICE_LABEL, ""), container=container.name,
        state=str(state.get("Status", "?")), health=str((state.get("Health") or {}).get("Status", "none")),
        uptime_s=_uptime(state), port=engine.published_port(container),
        image=(attrs.get("Config") or {}).get("Image", ""),
        model=labels.get(engine.LABEL_MODEL, ""), config_hash=labels.get(engine.LABEL_HASH, ""))


def status(config: Config) -> list[ServiceStatus]:
    client = engine.connect()
    return sorted((describe(c) for c in engine.managed_containers(client)),
                  key=lambda s: (s.profile, s.container))


def _project(config: Config, profile: str | None) -> tuple[str, str, str]:
    """(profile, project, service) of a profile name, without needing its secrets."""
    resolved = load_profile(config, profile, strict=False)
    return resolved.name, resolved.project, resolved.service.name


def _container(client: Any, config: Config, profile: str | None) -> Any:
    name, project, service = _project(config, profile)
    found = engine.project_containers(client, project, service)
    if not found:
        raise UsageError(f"profile {name} is not deployed (no container in project {project}); "
                         f"run `sddd deploy {name}`")
    return found[0]


def logs(config: Config, profile: str | None = None, *, follow: bool = False,
         tail: int | None = 100) -> Iterator[str]:
    """The service's log lines, secrets redacted; with ``follow``, until the container stops."""
    if tail is not None and tail < 0:
        raise UsageError(f"must be 0 or more; got {tail}", option="tail")
    client = engine.connect()
    container = _container(client, config, profile)
    kwargs: dict[str, Any] = {"stdout": True, "stderr": True, "tail": "all" if tail is None else tail}
    if not follow:
        text = container.logs(**kwargs).decode("utf-8", "replace")
        yield from (redact(line) for line in text.splitlines())
        return
    yield from lines_of(container.logs(stream=True, follow=True, **kwargs))


def lines_of(chunks: Iterable[bytes]) -> Iterator[str]:
    """A stream of log chunks as whole lines, secrets redacted."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            yield redact(raw.decode("utf-8", "replace").rstrip("\r"))
    if buffer:
        yield redact(buffer.decode("utf-8", "replace"))


@dataclass
class DownResult:
    profile: str
    project: str
    removed: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def down(config: Config, profile: str | None = None) -> DownResult:
    """Stop and remove the profile's containers and network (volumes, hence weights, are kept)."""
    name, project, service = _project(config, profile)
    return down_project(config, project, profile=name, service=service)


def down_project(config: Config, project: str, *, profile: str = "", service: str = "",
                 grid: str = "") -> DownResult:
    """``down`` of a Compose project by name (a grid variant runs in its own project)."""
    client = engine.connect()
    before = [c.name for c in engine.project_containers(client, project)]
    _compose_down(config, project)
    append(config, Entry(action="down", profile=profile, project=project, service=service,
                         outcome="removed", message=", ".join(before) or "nothing was running", grid=grid))
    return DownResult(profile=profile, project=project, removed=before)


def _compose_down(config: Config, project: str) -> None:
    """`-p NAME down` needs no compose file: Compose finds the project by its labels."""
    argv = [*engine.require_compose(), "-p", project, "down", "--remove-orphans"]
    done = subprocess.run(argv, cwd=config.root, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise EngineError(f"docker compose down failed: {redact(lines[-1] if lines else '')[:300]}")
