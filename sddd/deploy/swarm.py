"""The ``swarm`` deploy target: the resolved profile as a stack on the swarm the engine belongs to.

``deploy_swarm(config, profile, ...)`` runs, in order: resolve and lint as `sddd deploy` does
(``sddd.deploy.compose.plan_deploy``), render the stack file (``sddd.deploy.stack``; its findings
of keys with no Swarm meaning join the lint), pre-flight (the engine is a manager of an active
swarm, a ready node carries the profile's node labels and advertises enough GPUs, the host
port is free, the image is there), record what ran before, `docker stack deploy`, then wait on
the service's new task with the same health wait and fatal-log watch as Compose deploys
(``sddd.deploy.wait.watch``, through ``sddd.deploy.swarm_tasks.TaskWatch``). Status, logs
and down find the stack's services by their labels (``sddd.deploy.swarm_tasks``).

The stack file (``.sddd/deploy/STACK.stack.yml``) holds no secret: secrets stay ``${VAR}``
references that `docker stack deploy` fills from the environment sddd gives it (the env file,
then the process environment).

Exit codes are those of `sddd deploy`: 2 bad profile / lint error, 5 no swarm / no node with
the labels or the GPUs / engine unreachable / image unavailable, 6 host port taken, 7 not
healthy in time, 1 the task failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sddd.compose.lint import Finding, LintFailed
from sddd.compose.profiles import load_profile
from sddd.core.atomic import atomic_write_text
from sddd.core.config import Config
from sddd.core.errors import ConflictError, EngineError, UsageError
from sddd.deploy import docker as engine
from sddd.deploy.compose import plan_deploy
from sddd.deploy.history import Entry, append, update_last
from sddd.deploy.report import DeployPlan, DeployResult, DownResult, PlanPart, ServiceStatus
from sddd.deploy.stack import Stack, render_stack
from sddd.deploy.steps import check_image, finish, has_healthcheck, lines_of, port_free, recorded
from sddd.deploy.swarm_tasks import (
    STACK_LABEL,
    TaskWatch,
    describe_service,
    node_gpus,
    require_manager,
    run_stack,
)
from sddd.deploy.target import Target
from sddd.deploy.wait import WaitState, watch

DOWN_WAIT_S = 60.0


class Swarm:
    """The ``swarm`` target (sddd.deploy.target.Target)."""

    name = "swarm"
    engine = "the swarm"
    place = "on this swarm"
    unit = "task"
    columns: tuple[str, ...] = ("node",)

    def plan(self, config: Config, profile: str | None = None, env_file: Path | str | None = None, *,
             overrides: Sequence[Path] = (), placeholders: bool = False) -> SwarmPlan:
        return plan_swarm(config, profile, env_file, overrides=overrides, placeholders=placeholders)

    def up(self, config: Config, profile: str | None = None, env_file: Path | str | None = None, *,
           timeout: float = 900.0, wait: bool = True,
           on_state: Callable[[WaitState], None] | None = None,
           overrides: Sequence[Path] = (), grid: str = "") -> DeployResult:
        return deploy_swarm(config, profile, env_file, timeout=timeout, wait=wait, on_state=on_state,
                            overrides=overrides, grid=grid)

    def status(self, config: Config) -> list[ServiceStatus]:
        return swarm_status(config)

    def logs(self, config: Config, profile: str | None = None, *, follow: bool = False,
             tail: int | None = 100) -> Iterator[str]:
        return swarm_logs(config, profile, follow=follow, tail=tail)

    def down(self, config: Config, profile: str | None = None) -> DownResult:
        return swarm_down(config, profile)


TARGET: Target = Swarm()


@dataclass
class SwarmPlan(DeployPlan):
    """``plan``: the resolved profile, Compose's lint, ports, as `sddd deploy` sees them; the
    ``command`` is the equivalent `docker stack deploy` (no secret in it)."""

    stack: Stack
    stack_file: Path

    @property
    def parts(self) -> list[PlanPart]:
        stack = self.stack
        gpus = f"{stack.gpus} {stack.gpu_resource}" if stack.gpus else "none"
        return [PlanPart("stack", stack.name, [
            ("service", stack.swarm_service), ("GPUs", gpus),
            ("placement", ", ".join(stack.constraints) or "any node with the GPUs")],
            stack.text(self.command[-2]), stack.findings)]

    @property
    def findings(self) -> list[Finding]:
        return self.plan.findings + self.stack.findings  # as ``parts`` has them, without the text

    def to_json(self) -> dict[str, Any]:
        return {**self.plan.to_json(), "target": "swarm", "command": " ".join(self.command),
                "stack": self.stack.to_json(), "findings": [f.to_json() for f in self.findings]}


def plan_swarm(config: Config, profile: str | None = None, env_file: Path | str | None = None, *,
               overrides: Sequence[Path] = (), placeholders: bool = False) -> SwarmPlan:
    """Resolve, lint and render the stack file; touches nothing (the --dry-run)."""
    plan = plan_deploy(config, profile, env_file, overrides, placeholders=placeholders)
    stack = render_stack(config, plan.profile, plan.container_port)
    path = config.index_dir / "deploy" / f"{stack.name}.stack.yml"
    command = ["docker", "stack", "deploy", "--resolve-image", "never", "-c", config.relpath(path),
               stack.name]
    return SwarmPlan(plan=plan, command=command, stack=stack, stack_file=path)


# --- pre-flight ------------------------------------------------------------------------------------

def preflight_swarm(splan: SwarmPlan, client: Any) -> list[str]:
    """Every check that can fail before anything starts; returns notes for the user."""
    if splan.errors:
        raise LintFailed(splan.errors)
    require_manager(client)
    node = _node_for(splan, client.nodes.list())
    notes = [f"node {node} can run it"] if node else []
    stack, svc = splan.stack, splan.plan.service
    port = stack.host_port
    if port and not port_free(port) and not _own_port(client, stack, port):
        index = next((i for i, p in enumerate(svc.ports) if p.host == port), 0)
        where = svc.source_of("ports", index)
        raise ConflictError(f"host port {port} is already in use; stop what holds it (ss -ltnp) or "
                            "change the port variable in the env file",
                            path=where.path if where else None, line=where.line if where else None)
    return notes + check_image(svc, client)


def _node_for(splan: SwarmPlan, nodes: list[Any]) -> str:
    """A ready node with the profile's labels and enough GPUs (its name), or EngineError saying
    what to run."""
    stack, name = splan.stack, splan.plan.profile.name
    ready = [n.attrs for n in nodes if (n.attrs.get("Spec") or {}).get("Availability") == "active"
             and (n.attrs.get("Status") or {}).get("State") == "ready"]
    labelled = [n for n in ready if all(((n.get("Spec") or {}).get("Labels") or {}).get(k) == v
                                        for k, v in stack.node_labels.items())]
    if stack.node_labels and not labelled:
        wanted = " ".join(f"{k}={v}" for k, v in stack.node_labels.items())
        adds = " ".join(f"--label-add {k}={v}" for k, v in stack.node_labels.items())
        raise EngineError(f"no ready swarm node carries the label(s) {wanted} that cluster.node_labels "
                          f"in sddd.yaml gives profile {name}; label the node that should run it: "
                          f"`docker node update {adds} NODE`")
    hostname = ((labelled[0].get("Description") or {}).get("Hostname", "")) if labelled else ""
    if not stack.gpus:
        return str(hostname)
    counts = {str((n.get("Description") or {}).get("Hostname", n.get("ID", "?"))):
              node_gpus(n, stack.gpu_resource) for n in labelled}
    best = max(counts.values(), default=0)
    if best >= stack.gpus:
        return next(h for h, c in counts.items() if c == best)
    where = splan.plan.service.source_of("deploy", "resources", "reservations", "devices") or \
        splan.plan.service.source_of()
    seen = ", ".join(f"{h}: {c}" for h, c in counts.items()) or "no ready node"
    kind = stack.gpu_resource
    raise EngineError(
        f"profile {name} reserves {stack.gpus} GPU(s) but no swarm node"
        f"{' with its labels' if stack.node_labels else ''} advertises more than {best} {kind} "
        f"({seen}); advertise the node's GPUs to Swarm: \"node-generic-resources\": "
        f"[\"{kind}={stack.gpus}\"] in /etc/docker/daemon.json (or dockerd --node-generic-resource "
        f"{kind}={stack.gpus}), then restart dockerd",
        path=where.path if where else None, line=where.line if where else None)


def _own_port(client: Any, stack: Stack, port: int) -> bool:
    """The port is held by this stack's own task (an update stops it first)."""
    # The low-level list: the high-level one inspects each container, and one may be gone by then.
    return any((c.get("Labels") or {}).get("com.docker.stack.namespace") == stack.name
               for c in client.api.containers(filters={"publish": str(port)}))


# --- deploy ----------------------------------------------------------------------------------------

def _service(client: Any, name: str) -> Any | None:
    found = [s for s in client.services.list(filters={"name": name}) if s.name == name]
    return found[0] if found else None


def _previous(service: Any | None) -> dict[str, Any] | None:
    if service is None:
        return None
    spec = service.attrs.get("Spec") or {}
    labels = spec.get("Labels") or {}
    image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
    return {"service": service.name, "image": str(image).split("@")[0],
            "state": ((service.attrs.get("UpdateStatus") or {}).get("State") or "deployed"),
            "profile": labels.get(engine.LABEL_PROFILE, ""),
            "config_hash": labels.get(engine.LABEL_HASH, "")}


def deploy_swarm(config: Config, profile: str | None = None, env_file: Path | str | None = None, *,
                 timeout: float = 900.0, wait: bool = True,
                 on_state: Callable[[WaitState], None] | None = None,
                 overrides: Sequence[Path] = (), grid: str = "") -> DeployResult:
    splan = plan_swarm(config, profile, env_file, overrides=overrides)
    client = engine.connect()
    notes = preflight_swarm(splan, client)
    stack, plan = splan.stack, splan.plan
    service = _service(client, stack.swarm_service)
    previous = _previous(service)
    entry = Entry(action="deploy", profile=plan.profile.name, project=stack.name,
                  service=stack.swarm_service, outcome="starting", config_hash=plan.service.config_hash,
                  image=plan.service.image or "", previous=previous, target="swarm", grid=grid)
    return recorded(config, entry, lambda: _start_and_wait(config, splan, client, service, previous,
                                                           notes, timeout=timeout, wait=wait,
                                                           on_state=on_state))


def _start_and_wait(config: Config, splan: SwarmPlan, client: Any, service: Any | None,
                    previous: dict[str, Any] | None, notes: list[str], *, timeout: float, wait: bool,
                    on_state: Callable[[WaitState], None] | None) -> DeployResult:
    """`docker stack deploy`, find the task Swarm starts, wait until it is healthy."""
    stack, plan = splan.stack, splan.plan
    before = {t["ID"] for t in service.tasks()} if service is not None else set()
    template = _template(service)
    since = int(time.time())
    atomic_write_text(splan.stack_file, stack.text(config.relpath(splan.stack_file)))
    run_stack(config, ("deploy", "--resolve-image", "never", "-c", str(splan.stack_file), stack.name),
              env_file=plan.profile.env_file)
    service = _service(client, stack.swarm_service)
    if service is None:
        raise EngineError(f"docker stack deploy reported success but no service {stack.swarm_service} "
                          f"exists; see `docker stack ps {stack.name}`")
    if template is not None and _template(service) == template:
        # Nothing a task sees changed, so Swarm starts no new task: watch the one that runs.
        before = set()
    result = DeployResult(plan=plan, outcome="started", container=stack.swarm_service,
                          previous=previous, notes=notes, target="swarm")
    if not wait:
        update_last(config, stack.name, outcome="started")
        return result
    task = TaskWatch(client, service.id, before, plan.container_port, since=since)
    waited = watch(task, plan.container_port, timeout=timeout,
                   has_healthcheck=has_healthcheck(plan.service), on_state=on_state)
    plan.host = task.host
    return finish(config, result, waited)


def _template(service: Any | None) -> Any:
    """What a task is made from; ForceUpdate aside, the same template starts no new task."""
    if service is None:
        return None
    service.reload()
    template = dict((service.attrs.get("Spec") or {}).get("TaskTemplate") or {})
    template.pop("ForceUpdate", None)
    return template


# --- status, logs, down ----------------------------------------------------------------------------

def swarm_status(config: Config) -> list[ServiceStatus]:
    client = engine.connect()
    swarm = require_manager(client)
    services = client.services.list(filters={"label": f"{engine.LABEL_MANAGED}=true"})
    return sorted((describe_service(client, s, str(swarm.get("NodeID") or "")) for s in services),
                  key=lambda s: (s.profile, s.service))


def _stack_service(config: Config, profile: str | None) -> tuple[str, str, str]:
    """(profile, stack, Swarm service) of a profile name, without needing its secrets."""
    resolved = load_profile(config, profile, strict=False)
    return resolved.name, resolved.project, f"{resolved.project}_{resolved.service.name}"


def swarm_logs(config: Config, profile: str | None = None, *, follow: bool = False,
               tail: int | None = 100) -> Iterator[str]:
    """The service's log lines (every task's), secrets redacted."""
    if tail is not None and tail < 0:
        raise UsageError(f"must be 0 or more; got {tail}", option="tail")
    client = engine.connect()
    require_manager(client)
    name, _, service = _stack_service(config, profile)
    found = [s for s in client.services.list(filters={"name": service}) if s.name == service]
    if not found:
        raise UsageError(f"profile {name} is not deployed on the swarm (no service {service}); run "
                         f"`sddd deploy --target swarm {name}`")
    if follow:
        yield from lines_of(client.api.service_logs(found[0].id, follow=True, stdout=True, stderr=True,
                                                    tail="all" if tail is None else tail))
        return
    # The engine applies --tail to each task; the last ``tail`` lines of the service are those
    # of all its tasks in time order, so read them with their timestamps and cut once.
    chunks = client.api.service_logs(found[0].id, stdout=True, stderr=True, timestamps=True,
                                     tail="all" if tail is None else tail)
    stamped = sorted((line.partition(" ") for line in lines_of(chunks)), key=lambda part: part[0])
    lines = [text for _, _, text in stamped]
    yield from (lines if tail is None else lines[len(lines) - tail:])


def swarm_down(config: Config, profile: str | None = None) -> DownResult:
    """`docker stack rm`, then wait until its tasks are gone (volumes, hence weights, are kept)."""
    name, stack, service = _stack_service(config, profile)
    client = engine.connect()
    require_manager(client)
    before = [s.name for s in client.services.list(filters={"label": f"{STACK_LABEL}={stack}"})]
    if before:
        run_stack(config, ("rm", stack))
    deadline = time.monotonic() + DOWN_WAIT_S
    while time.monotonic() < deadline and (
            client.services.list(filters={"label": f"{STACK_LABEL}={stack}"})
            # the low-level list: the high-level one inspects each, and they are being removed
            or client.api.containers(all=True, filters={"label": f"{STACK_LABEL}={stack}"})):
        time.sleep(0.5)
    append(config, Entry(action="down", profile=name, project=stack, service=service, outcome="removed",
                         message=", ".join(before) or "nothing was running", target="swarm"))
    return DownResult(profile=name, project=stack, removed=before)
