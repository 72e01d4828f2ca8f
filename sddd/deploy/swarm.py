"""`sddd deploy --target swarm`: the resolved profile as a stack on the swarm the engine belongs to.

``deploy_swarm(config, profile, ...)`` runs, in order: resolve and lint as `sddd deploy` does
(``sddd.deploy.up.plan_deploy``), render the stack file (``sddd.deploy.stack``; its findings
of keys with no Swarm meaning join the lint), pre-flight (the engine is a manager of an active
swarm, a ready node carries the profile's node labels and advertises enough GPUs, the host
port is free, the image is there), record what ran before, `docker stack deploy`, then wait on
the service's new task with the same health wait and fatal-log watch as Compose deploys
(``sddd.deploy.wait.watch``, through ``sddd.deploy.swarm_status.TaskWatch``).

The stack file (``.sddd/deploy/STACK.stack.yml``) holds no secret: secrets stay ``${VAR}``
references that `docker stack deploy` fills from the environment sddd gives it (the env file,
then the process environment).

Exit codes are those of `sddd deploy`: 2 bad profile / lint error, 5 no swarm / no node with
the labels or the GPUs / engine unreachable / image unavailable, 6 host port taken, 7 not
healthy in time, 1 the task failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sddd.compose.lint import Finding, LintFailed
from sddd.core.atomic import atomic_write_text
from sddd.core.config import Config
from sddd.core.errors import ConflictError, EngineError
from sddd.deploy import docker as engine
from sddd.deploy.history import Entry, update_last
from sddd.deploy.stack import Stack, render_stack
from sddd.deploy.swarm_status import TaskWatch, node_gpus, require_manager, run_stack
from sddd.deploy.up import (
    DeployResult,
    Plan,
    check_image,
    finish,
    has_healthcheck,
    plan_deploy,
    port_free,
    recorded,
)
from sddd.deploy.wait import WaitState, watch


@dataclass
class SwarmPlan:
    plan: Plan  # resolved profile, Compose lint, ports: as `sddd deploy` sees it
    stack: Stack
    stack_file: Path
    command: list[str]  # the equivalent `docker stack deploy` (no secret in it)

    @property
    def findings(self) -> list[Finding]:
        return self.plan.findings + self.stack.findings

    @property
    def errors(self) -> list[Finding]:
        return self.plan.errors + self.stack.errors

    def to_json(self) -> dict[str, Any]:
        return {**self.plan.to_json(), "target": "swarm", "command": " ".join(self.command),
                "stack": self.stack.to_json(), "findings": [f.to_json() for f in self.findings]}


def plan_swarm(config: Config, profile: str | None = None, env_file: Path | str | None = None,
               placeholders: bool = False) -> SwarmPlan:
    """Resolve, lint and render the stack file; touches nothing (the --dry-run)."""
    plan = plan_deploy(config, profile, env_file, placeholders=placeholders)
    stack = render_stack(config, plan.profile, plan.container_port)
    path = config.index_dir / "deploy" / f"{stack.name}.stack.yml"
    command = ["docker", "stack", "deploy", "--resolve-image", "never", "-c", config.relpath(path),
               stack.name]
    return SwarmPlan(plan=plan, stack=stack, stack_file=path, command=command)


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
                 on_state: Callable[[WaitState], None] | None = None) -> DeployResult:
    splan = plan_swarm(config, profile, env_file)
    client = engine.connect()
    notes = preflight_swarm(splan, client)
    stack, plan = splan.stack, splan.plan
    service = _service(client, stack.swarm_service)
    previous = _previous(service)
    entry = Entry(action="deploy", profile=plan.profile.name, project=stack.name,
                  service=stack.swarm_service, outcome="starting", config_hash=plan.service.config_hash,
                  image=plan.service.image or "", previous=previous, target="swarm")
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
