"""A swarm as sddd sees it (for the ``swarm`` target, sddd.deploy.swarm): `docker stack`, the
manager an engine must be, the GPUs a node advertises, the new task a deploy waits for
(``TaskWatch``) and what a service's newest task says (``describe_service``).

Services are found by the labels the stack file gives them (``sddd.managed``, ``sddd.profile``,
...) and Swarm's own ``com.docker.stack.namespace``, so `docker stack ps STACK` and `sddd
status --target swarm` agree on what exists. A task's health is its container's where the
container runs on this engine; elsewhere, Swarm's word: a task with a health check is
reported running only once the check has passed.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sddd.compose.interpolation import environment
from sddd.core.config import Config
from sddd.core.errors import EngineError
from sddd.deploy import docker as engine
from sddd.deploy.report import ServiceStatus
from sddd.deploy.steps import run_docker
from sddd.deploy.wait import Poll, api_key

STACK_LABEL = "com.docker.stack.namespace"
ENDED = ("complete", "shutdown", "failed", "rejected", "orphaned", "remove")
PENDING_S = 15.0  # a task the scheduler cannot place for this long ends the wait
STACK_TIMEOUT_S = 300


def docker_cli() -> str:
    found = shutil.which("docker")
    if not found:
        raise EngineError("the docker command line is not installed; `docker stack` needs it "
                          "(apt-get install docker.io, or the docker-ce-cli package)")
    return found


def run_stack(config: Config, action: tuple[str, ...], env_file: str | None = None) -> str:
    """`docker stack ACTION`, with the env file's variables for the stack file's ``${VAR}``s."""
    env = environment(config.resolve(env_file), env_file) if env_file else dict(os.environ)
    return run_docker([docker_cli(), "stack", *action], config.root, STACK_TIMEOUT_S,
                      f"docker stack {action[0]}", env)


def require_manager(client: Any) -> dict[str, Any]:
    """The engine's swarm section; EngineError with what to run when it is not a manager of one."""
    info = client.info()
    swarm = info.get("Swarm") or {}
    state = swarm.get("LocalNodeState") or "inactive"
    if state != "active":
        raise EngineError(f"the Docker engine at {engine.engine_host()} is not part of a swarm (state: "
                          f"{state}); run `docker swarm init` on it (or `docker swarm join` to an "
                          "existing swarm), then deploy again")
    if not swarm.get("ControlAvailable"):
        raise EngineError(f"the Docker engine at {engine.engine_host()} is a swarm worker; run sddd "
                          "against a manager node (DOCKER_HOST=ssh://MANAGER)")
    return dict(swarm)


def node_gpus(node: dict[str, Any], kind: str) -> int:
    """The ``kind`` generic resources a node advertises: a count, or one per named resource."""
    resources = ((node.get("Description") or {}).get("Resources") or {}).get("GenericResources") or []
    total = 0
    for item in resources:
        discrete, named = item.get("DiscreteResourceSpec") or {}, item.get("NamedResourceSpec") or {}
        if discrete.get("Kind") == kind:
            total += int(discrete.get("Value") or 0)
        elif named.get("Kind") == kind:
            total += 1
    return total


def _node_host(client: Any, node_id: str, local_id: str) -> str:
    if not node_id or node_id == local_id:
        return "127.0.0.1"
    try:
        return str((client.api.inspect_node(node_id).get("Status") or {}).get("Addr") or "127.0.0.1")
    except Exception:  # the node left meanwhile: the probe says it cannot reach it
        return "127.0.0.1"


def _published(task: dict[str, Any], container_port: int | None) -> int | None:
    for port in ((task.get("Status") or {}).get("PortStatus") or {}).get("Ports") or []:
        if container_port is None or port.get("TargetPort") == container_port:
            return int(port["PublishedPort"]) if port.get("PublishedPort") else None
    return None


def _container_health(client: Any, task: dict[str, Any]) -> str | None:
    """The health of the task's container when it runs on this engine, else None."""
    cid = ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID")
    if not cid:
        return None
    try:
        state = client.api.inspect_container(cid).get("State") or {}
    except Exception:  # on another node
        return None
    return str((state.get("Health") or {}).get("Status", "none"))


class TaskWatch:
    """The first task of a service that is not in ``before`` (the one a deploy started)."""

    def __init__(self, client: Any, service_id: str, before: set[str], container_port: int, *,
                 since: int):
        self.client, self.service_id, self.before = client, service_id, before
        self.container_port, self.since = container_port, since
        self.local = str((client.info().get("Swarm") or {}).get("NodeID") or "")
        self.host = "127.0.0.1"
        self.pending_since: float | None = None

    def follow_logs(self) -> Iterable[bytes]:
        return self.client.api.service_logs(self.service_id, follow=True, stdout=True,  # type: ignore[no-any-return]
                                            stderr=True, since=self.since)

    def _task(self) -> tuple[dict[str, Any] | None, bool]:
        """The new task, and whether an old one still runs (a stop-first update stops it first)."""
        every = self.client.api.tasks(filters={"service": self.service_id})
        tasks = [t for t in every if t["ID"] not in self.before]
        old_runs = any(t["ID"] in self.before and (t.get("Status") or {}).get("State") not in ENDED
                       for t in every)
        return (min(tasks, key=lambda t: str(t.get("CreatedAt", ""))) if tasks else None), old_runs

    def poll(self) -> Poll:
        task, old_runs = self._task()
        if task is None:
            return Poll("new", "none", running=False, phase="waiting for Swarm to create the task")
        status = task.get("Status") or {}
        state = str(status.get("State", "?"))
        err = str(status.get("Err") or "")
        if state in ENDED:
            code = (status.get("ContainerStatus") or {}).get("ExitCode")
            why = err or str(status.get("Message") or "")
            return Poll(state, "none", running=False,
                        failed=f"the task ended ({state}: {why}" + (f", exit code {code})" if code else ")"))
        phase = ""
        if state == "pending" and err:
            # Pending while the old task stops (its port, its GPUs) is the update, not a failure.
            self.pending_since = None if old_runs else (self.pending_since or time.monotonic())
            if self.pending_since and time.monotonic() - self.pending_since > PENDING_S:
                return Poll(state, "none", running=False, failed=f"Swarm cannot place the task: {err}")
            phase = "waiting for the old task to stop" if old_runs else f"pending: {err}"
        self.host = _node_host(self.client, str(task.get("NodeID") or ""), self.local)
        health = _container_health(self.client, task)
        if health is None:
            health = {"running": "healthy", "starting": "starting"}.get(state, "none")
        env = ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Env")
        return Poll(state, health, running=state == "running", phase=phase, host=self.host,
                    host_port=_published(task, self.container_port), key=api_key(env))


# --- status --------------------------------------------------------------------------------------

def _uptime(task: dict[str, Any]) -> float | None:
    status = task.get("Status") or {}
    if status.get("State") != "running" or not status.get("Timestamp"):
        return None
    try:
        when = datetime.fromisoformat(str(status["Timestamp"])[:26].rstrip("Z") + "+00:00")
    except ValueError:
        return None
    return max(0.0, time.time() - when.timestamp())


def describe_service(client: Any, service: Any, local: str) -> ServiceStatus:
    spec = service.attrs.get("Spec") or {}
    labels = spec.get("Labels") or {}
    tasks = [t for t in client.api.tasks(filters={"service": service.id})
             if t.get("DesiredState") == "running"]
    task = max(tasks, key=lambda t: str(t.get("CreatedAt", ""))) if tasks else {}
    state = str((task.get("Status") or {}).get("State", "no task"))
    health = _container_health(client, task) if task else None
    node = ""
    if task.get("NodeID"):
        try:
            node = str((client.api.inspect_node(task["NodeID"]).get("Description") or {}).get("Hostname"))
        except Exception:
            node = str(task["NodeID"])[:12]
    image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
    return ServiceStatus(
        profile=labels.get(engine.LABEL_PROFILE, ""), project=labels.get(STACK_LABEL, ""),
        service=service.name, container=f"{service.name}.{task.get('Slot', '?')}" if task else "-",
        state=state, health=health or {"running": "healthy", "starting": "starting"}.get(state, "none"),
        uptime_s=_uptime(task) if task else None, port=_published(task, None) if task else None,
        image=str(image).split("@")[0], model=labels.get(engine.LABEL_MODEL, ""),
        config_hash=labels.get(engine.LABEL_HASH, ""), target="swarm", node=node)
