"""The ``compose`` deploy target: a profile on the local Docker engine, with Docker Compose v2.

``deploy(config, profile, ...)`` runs, in order: resolve (sddd.compose.profiles, every missing
variable in one error), lint (sddd.compose.lint; errors stop here), pre-flight (engine
reachable, GPU runtime when GPUs are reserved, host port free, image present or pullable),
record what ran before (sddd.deploy.history), start with Compose v2 (labelled ``sddd.*``
through a small override file that holds no secret), then wait (sddd.deploy.wait). Nothing is
started before every check has passed.

Services are found by those labels (``sddd.managed``, ``sddd.profile``, ...) plus Compose's own
project label, so `docker compose ps` and `sddd status` always agree on what exists.

Exit codes (the errors' own): 2 bad profile / lint error / missing variable, 5 engine
unreachable, no GPU runtime or image unavailable, 6 host port taken, 7 not healthy in time,
1 the service failed (a fatal log line, the container exited). 0 healthy.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from sddd.compose.lint import LintFailed, lint_service
from sddd.compose.profiles import ResolvedProfile, load_profile
from sddd.core.atomic import atomic_write_text
from sddd.core.config import Config
from sddd.core.errors import ConflictError, EngineError, UsageError
from sddd.core.secrets import redact
from sddd.deploy import docker as engine
from sddd.deploy.history import Entry, append, update_last
from sddd.deploy.report import DeployPlan, DeployResult, DownResult, Plan, ServiceStatus
from sddd.deploy.steps import check_image, finish, has_healthcheck, lines_of, port_free, recorded, run_docker
from sddd.deploy.target import Target
from sddd.deploy.wait import WaitResult, WaitState, wait_healthy

COMPOSE_TIMEOUT_S = 300


class Compose:
    """The ``compose`` target (sddd.deploy.target.Target)."""

    name = "compose"
    engine = "the engine"
    place = "on this engine"
    unit = "container"
    columns: tuple[str, ...] = ()

    def plan(self, config: Config, profile: str | None = None, env_file: Path | str | None = None, *,
             overrides: Sequence[Path] = (), placeholders: bool = False) -> DeployPlan:
        plan = plan_deploy(config, profile, env_file, overrides, placeholders)
        return DeployPlan(plan=plan, command=plan.command)

    def up(self, config: Config, profile: str | None = None, env_file: Path | str | None = None, *,
           timeout: float = 900.0, wait: bool = True,
           on_state: Callable[[WaitState], None] | None = None,
           overrides: Sequence[Path] = (), grid: str = "") -> DeployResult:
        return deploy(config, profile, env_file, timeout=timeout, wait=wait, on_state=on_state,
                      overrides=overrides, grid=grid)

    def status(self, config: Config) -> list[ServiceStatus]:
        return status(config)

    def logs(self, config: Config, profile: str | None = None, *, follow: bool = False,
             tail: int | None = 100) -> Iterator[str]:
        return logs(config, profile, follow=follow, tail=tail)

    def down(self, config: Config, profile: str | None = None) -> DownResult:
        return down(config, profile)


TARGET: Target = Compose()


# --- plan and pre-flight -------------------------------------------------------------------------

def plan_deploy(config: Config, profile: str | None = None, env_file: Path | str | None = None,
                overrides: Sequence[Path] = (), placeholders: bool = False) -> Plan:
    """Resolve and lint; touches nothing (the --dry-run). ``overrides``: more compose files over
    the profile (a grid variant), passed to Compose with ``-f`` as well."""
    resolved = load_profile(config, profile, env_file, strict=True, overrides=overrides,
                            placeholders=placeholders)
    svc = resolved.service
    port = int(svc.vllm.get("--port") or 8000) if svc.model else None
    mapping = next((p for p in svc.ports if p.container == port), svc.ports[0] if svc.ports else None)
    return Plan(profile=resolved, service=svc, findings=lint_service(svc),
                command=compose_args(config, resolved, ("up", "-d", "--force-recreate", svc.name),
                                     override=None, program=("docker", "compose")),
                container_port=mapping.container if mapping else (port or 8000),
                host_port=mapping.host if mapping else None)


def compose_args(config: Config, resolved: ResolvedProfile, action: tuple[str, ...],
                 override: Path | None, program: tuple[str, ...] | None = None) -> list[str]:
    argv = list(program or engine.require_compose())
    argv += ["-p", resolved.project]
    for rel in resolved.files:
        argv += ["-f", rel]
    if override is not None:
        argv += ["-f", str(override)]
    if resolved.env_file:
        argv += ["--env-file", resolved.env_file]
    return argv + list(action)


def preflight(plan: Plan, client: Any) -> list[str]:
    """Every check that can fail before anything starts; returns notes for the user."""
    svc = plan.service
    if plan.errors:
        raise LintFailed(plan.errors)
    info = engine.engine_info(client)
    if svc.gpu is not None and not info.gpu_runtime:
        where = svc.source_of("deploy", "resources", "reservations", "devices") or svc.source_of()
        count = svc.gpu.gpus if svc.gpu.gpus is not None else "all"
        raise EngineError(
            f"profile {plan.profile.name} reserves {count} GPU(s) but the Docker engine "
            f"({info.version}, runtimes: {', '.join(info.runtimes) or 'none'}) has no NVIDIA runtime; "
            "install the NVIDIA Container Toolkit (nvidia-ctk runtime configure) and restart dockerd",
            path=where.path if where else None, line=where.line if where else None)
    own = {c.name for c in engine.project_containers(client, plan.profile.project, svc.name)}
    if plan.host_port and not port_free(plan.host_port) and not _held_by(client, plan.host_port, own):
        index = next((i for i, p in enumerate(svc.ports) if p.host == plan.host_port), 0)
        where = svc.source_of("ports", index)
        raise ConflictError(f"host port {plan.host_port} is already in use; stop what holds it "
                            "(ss -ltnp) or change the port variable in the env file",
                            path=where.path if where else None, line=where.line if where else None)
    return check_image(svc, client)


def _held_by(client: Any, port: int, names: set[str]) -> bool:
    """The port belongs to this service's own container (a redeploy recreates it)."""
    for container in client.containers.list(filters={"publish": str(port)}):
        if container.name in names:
            return True
    return False


# --- deploy ----------------------------------------------------------------------------------------

def _previous(client: Any, project: str, service: str) -> dict[str, Any] | None:
    for container in engine.project_containers(client, project, service):
        labels = container.labels
        return {"container": container.name, "state": container.status,
                "image": (container.attrs.get("Config") or {}).get("Image", ""),
                "profile": labels.get(engine.LABEL_PROFILE, ""),
                "config_hash": labels.get(engine.LABEL_HASH, "")}
    return None


def _override(config: Config, plan: Plan) -> Path:
    """A compose file that only adds sddd's labels (no secret), so `sddd status` finds it."""
    svc = plan.service
    labels = {engine.LABEL_MANAGED: "true", engine.LABEL_PROFILE: plan.profile.name,
              engine.LABEL_HASH: svc.config_hash, engine.LABEL_MODEL: svc.model or ""}
    path = config.index_dir / "deploy" / f"{plan.profile.project}.labels.yml"
    atomic_write_text(path, yaml.safe_dump({"services": {svc.name: {"labels": labels}}}))
    return path


def deploy(config: Config, profile: str | None = None, env_file: Path | str | None = None, *,
           timeout: float = 900.0, wait: bool = True,
           on_state: Callable[[WaitState], None] | None = None,
           overrides: Sequence[Path] = (), grid: str = "") -> DeployResult:
    plan = plan_deploy(config, profile, env_file, overrides)
    client = engine.connect()
    notes = preflight(plan, client)
    svc, project = plan.service, plan.profile.project
    previous = _previous(client, project, svc.name)
    return recorded(config, Entry(action="deploy", profile=plan.profile.name, project=project,
                                  service=svc.name, outcome="starting", config_hash=svc.config_hash,
                                  image=svc.image or "", previous=previous, grid=grid),
                    lambda: _start_and_wait(config, plan, client, previous, notes, timeout=timeout,
                                            wait=wait, on_state=on_state))


def _start_and_wait(config: Config, plan: Plan, client: Any, previous: dict[str, Any] | None,
                    notes: list[str], *, timeout: float, wait: bool,
                    on_state: Callable[[WaitState], None] | None) -> DeployResult:
    """Compose up, find the container, wait until healthy; record the outcome."""
    svc, project = plan.service, plan.profile.project
    override = _override(config, plan)
    run_compose(config, plan.profile, ("up", "-d", "--force-recreate", "--no-deps", svc.name), override)
    containers = engine.project_containers(client, project, svc.name)
    if not containers:
        raise EngineError(f"Compose reported success but no container of {svc.name} exists; "
                          f"see `docker compose -p {project} ps -a`")
    container = containers[0]
    result = DeployResult(plan=plan, outcome="started", container=container.name, previous=previous,
                          notes=notes)
    if not wait:
        update_last(config, project, outcome="started")
        return result
    waited: WaitResult = wait_healthy(client, container, plan.container_port, timeout=timeout,
                                      has_healthcheck=has_healthcheck(svc), on_state=on_state)
    return finish(config, result, waited)


def run_compose(config: Config, resolved: ResolvedProfile, action: tuple[str, ...],
                override: Path | None = None) -> str:
    return run_docker(compose_args(config, resolved, action, override), config.root, COMPOSE_TIMEOUT_S,
                      f"docker compose {action[0]}")


# --- status, logs, down ----------------------------------------------------------------------------

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
