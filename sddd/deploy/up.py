"""Bring a profile up on the local Docker engine, know when it is healthy, take it down.

``deploy(config, profile, ...)`` runs, in order: resolve (sddd.profiles, every missing
variable in one error), lint (sddd.lint; errors stop here), pre-flight (engine reachable, GPU
runtime when GPUs are reserved, host port free, image present or pullable), record what ran
before (sddd.history), start with Compose v2 (labelled ``sddd.*`` through a small override
file that holds no secret), then wait (sddd.deploy_wait). Nothing is started before every
check has passed.

Exit codes (the errors' own): 2 bad profile / lint error / missing variable, 5 engine
unreachable, no GPU runtime or image unavailable, 6 host port taken, 7 not healthy in time,
1 the service failed (a fatal log line, the container exited). 0 healthy.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sddd.compose.lint import ERROR, Finding, LintFailed, lint_service
from sddd.compose.profiles import ResolvedProfile, load_profile
from sddd.compose.service import ResolvedService
from sddd.core.atomic import atomic_write_text
from sddd.core.config import Config
from sddd.core.errors import ConflictError, EngineError, SdddError
from sddd.core.secrets import redact
from sddd.deploy import docker as engine
from sddd.deploy.history import Entry, append, update_last
from sddd.deploy.wait import WaitResult, WaitState, wait_healthy

COMPOSE_TIMEOUT_S = 300


@dataclass
class Plan:
    profile: ResolvedProfile
    service: ResolvedService
    findings: list[Finding]
    command: list[str]  # the equivalent `docker compose ... up` (no secret in it)
    container_port: int
    host_port: int | None
    host: str = "127.0.0.1"  # where the published port listens (a Swarm task: its node)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile.name, "project": self.profile.project,
                "files": self.profile.files, "env_file": self.profile.env_file,
                "service": self.service.to_json(), "spec": self.service.spec,
                "command": " ".join(self.command), "url": self.url,
                "findings": [f.to_json() for f in self.findings]}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.host_port}" if self.host_port else ""


@dataclass
class DeployResult:
    plan: Plan
    outcome: str  # "healthy", "started" (--no-wait), "failed", "timeout"
    container: str = ""
    seconds: float = 0.0
    message: str = ""
    lines: list[str] = field(default_factory=list)  # offending log lines
    hint: dict[str, Any] | None = None  # best troubleshooting section (searched with ``cause``)
    hint_note: str = ""  # why there is no hint
    cause: str = ""  # the log's first decisive error line (sddd.deploy.rootcause), if found
    previous: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    target: str = "compose"  # or "swarm": then ``container`` is the Swarm service

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "target": self.target, "profile": self.plan.profile.name,
                "project": self.plan.profile.project, "service": self.plan.service.name,
                "container": self.container, "url": self.plan.url, "seconds": round(self.seconds, 2),
                "config_hash": self.plan.service.config_hash, "message": self.message,
                "lines": self.lines, "cause": self.cause or None, "hint": self.hint,
                "hint_note": self.hint_note, "previous": self.previous, "notes": self.notes}


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


def check_image(svc: ResolvedService, client: Any) -> list[str]:
    """The image is present on the engine, or a registry has it; EngineError otherwise."""
    notes: list[str] = []
    image = svc.image or ""
    if not _image_local(client, image):
        try:
            client.images.get_registry_data(image)
            notes.append(f"image {image} is not present locally; the engine will pull it")
        except Exception as exc:
            reason = redact(str(exc).splitlines()[0])[:160] if str(exc) else type(exc).__name__
            where = svc.source_of("image")
            raise EngineError(f"image {image} is not present locally and cannot be pulled ({reason}); "
                              "`docker load` it or check the registry", path=where.path if where else
                              None, line=where.line if where else None) from None
    return notes


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _held_by(client: Any, port: int, names: set[str]) -> bool:
    """The port belongs to this service's own container (a redeploy recreates it)."""
    for container in client.containers.list(filters={"publish": str(port)}):
        if container.name in names:
            return True
    return False


def _image_local(client: Any, image: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(image)
        return True
    except ImageNotFound:
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


def recorded(config: Config, entry: Entry, work: Callable[[], DeployResult]) -> DeployResult:
    """Record ``entry`` as starting, then run ``work``: however it ends, the history says how."""
    append(config, entry)
    try:
        return work()
    except KeyboardInterrupt:
        update_last(config, entry.project, outcome="interrupted",
                    message="interrupted (Ctrl-C) before the service was known to be healthy")
        raise
    except SdddError as exc:
        update_last(config, entry.project, outcome="failed", message=str(exc))
        raise
    except Exception as exc:
        update_last(config, entry.project, outcome="failed", message=f"{type(exc).__name__}: {exc}")
        raise


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


def has_healthcheck(svc: ResolvedService) -> bool:
    return bool(svc.healthcheck and not svc.healthcheck.disabled)


def finish(config: Config, result: DeployResult, waited: WaitResult) -> DeployResult:
    """The wait's outcome into the result and the history, with a guide when it failed."""
    plan = result.plan
    result.outcome, result.seconds = waited.outcome, waited.seconds
    result.message, result.lines, result.cause = waited.message, waited.lines, waited.cause
    if waited.host_port and not plan.host_port:
        plan.host_port = waited.host_port
    if waited.outcome == "failed":
        result.hint, result.hint_note = troubleshooting_hint(config, waited.lines, waited.cause)
    update_last(config, plan.profile.project, outcome=waited.outcome,
                seconds=round(waited.seconds, 2) if waited.outcome == "healthy" else None,
                message=waited.message)
    return result


def run_compose(config: Config, resolved: ResolvedProfile, action: tuple[str, ...],
                override: Path | None = None) -> str:
    argv = compose_args(config, resolved, action, override)
    try:
        done = subprocess.run(argv, cwd=config.root, capture_output=True, text=True,
                              timeout=COMPOSE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise EngineError(f"`docker compose {action[0]}` did not finish in {COMPOSE_TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = redact(lines[-1] if lines else f"exit {done.returncode}")[:300]
        raise EngineError(f"docker compose {action[0]} failed: {reason}")
    return redact(done.stdout + done.stderr)


def troubleshooting_hint(config: Config, lines: list[str],
                         cause: str = "") -> tuple[dict[str, Any] | None, str]:
    """The knowledge base's guide section closest to the decisive error line (``cause``; else the
    last line), or why there is none."""
    from sddd.core.errors import SdddError
    from sddd.index.search import search

    query = cause or (lines[-1] if lines else "")
    if not query.strip():
        return None, ""
    try:
        result = search(config, query[:300], k=1, kind="guide", refresh=False)
    except SdddError as exc:
        return None, f"no troubleshooting hint: {exc.message}"
    if not result.results:
        return None, "no troubleshooting hint: no guide in the index"
    hit = result.results[0]
    ref = f"{hit.path}#{hit.anchor}" if hit.anchor else hit.path
    return {"path": hit.path, "anchor": hit.anchor, "ref": ref, "heading": hit.heading,
            "line": hit.line, "score": round(hit.score, 3), "snippet": hit.snippet}, ""
