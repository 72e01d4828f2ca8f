"""A resolved profile as a Docker Swarm stack file, and the lint of what has no Swarm meaning.

``render_stack(config, profile)`` turns the one resolved profile (``sddd.compose.profiles``)
into the file `docker stack deploy` reads (schema 3.8, which Debian's docker.io 20.10 and
every later docker CLI accept):

- the GPU reservation (``deploy.resources.reservations.devices``, ``gpus:`` or ``runtime:
  nvidia``) becomes a count of the generic resource the daemons advertise
  (``cluster.gpu_resource`` in sddd.yaml, ``NVIDIA-GPU`` by default);
- ``cluster.node_labels`` of the profile become placement constraints;
- ports are published in host mode: a GPU server runs one task on one node, and the routing
  mesh (IPVS) adds a hop and is missing from many kernels;
- ``ipc: host`` and ``shm_size``, which Swarm ignores, become a tmpfs at ``/dev/shm``;
- ``restart:`` becomes ``deploy.restart_policy``;
- updates replace one task at a time, stopping the old one first (a GPU cannot hold both
  copies), roll back on failure and watch the new task for as long as its health check needs
  to call it unhealthy. Swarm reports a task running only once its health check passes, so a
  rolling update waits for it.

Keys with no Swarm meaning are dropped with a finding (file:line) that says what happens
instead. No secret reaches the file: where a value comes from a secret (a value the resolver
masked, or a ``${VAR}`` naming a secret), the stack keeps the profile's own ``${VAR}``, which
`docker stack deploy` fills from the environment sddd hands it (the env file, then the process
environment, as Compose reads them); a secret written literally is an error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sddd.compose.lint import ERROR, WARNING, Finding, parse_size
from sddd.compose.profiles import ResolvedProfile
from sddd.compose.service import ResolvedService
from sddd.core.config import Config
from sddd.core.secrets import MASK, is_secret_name
from sddd.core.yamlio import KeyPath
from sddd.deploy import docker as engine

STACK_VERSION = "3.8"
# Service keys that mean the same in a stack file (docker/cli's v3.8 schema): copied.
COPIED = ("image", "command", "entrypoint", "environment", "healthcheck", "logging", "networks",
          "init", "user", "working_dir", "stop_grace_period", "stop_signal", "ulimits", "sysctls",
          "cap_add", "cap_drop", "extra_hosts", "hostname", "dns", "dns_search", "read_only", "tty",
          "stdin_open", "secrets", "configs", "labels")
# Keys sddd translates itself (below); every other key has no Swarm meaning.
TRANSLATED = ("ports", "volumes", "deploy", "restart", "ipc", "shm_size", "gpus", "runtime", "env_file")
RESTART = {"no": "none", "always": "any", "unless-stopped": "any", "on-failure": "on-failure"}
VARIABLE = re.compile(r"\$\{?([_A-Za-z][_A-Za-z0-9]*)")
GIB = 1 << 30


@dataclass
class Stack:
    name: str  # the stack: the profile's Compose project
    service: str  # the service in the stack; Swarm names it NAME_SERVICE
    data: dict[str, Any]  # the stack file
    findings: list[Finding]
    gpus: int  # generic resources reserved (0: none)
    gpu_resource: str
    node_labels: dict[str, str]
    host_port: int | None
    container_port: int
    sources: str = ""  # the profile's files, for the header
    kept: list[str] = field(default_factory=list)  # ${VAR}s left for `docker stack deploy`

    @property
    def swarm_service(self) -> str:
        return f"{self.name}_{self.service}"

    @property
    def constraints(self) -> list[str]:
        return [f"node.labels.{k} == {v}" for k, v in self.node_labels.items()]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    def text(self, path: str = "STACK_FILE") -> str:
        head = (f"# Written by sddd from {self.sources}: do not edit, change the profile.\n"
                f"# docker stack deploy --resolve-image never -c {path} {self.name}\n")
        return head + yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True, width=120)

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.name, "service": self.swarm_service, "gpus": self.gpus,
                "gpu_resource": self.gpu_resource, "constraints": self.constraints,
                "host_port": self.host_port, "variables": self.kept, "file": self.data,
                "findings": [f.to_json() for f in self.findings]}


def render_stack(config: Config, profile: ResolvedProfile, container_port: int = 8000) -> Stack:
    """The stack file of ``profile``'s service, with the findings of what has no Swarm meaning."""
    svc = profile.service
    cluster = config.section("cluster")
    findings: list[Finding] = []

    def finding(rule: str, severity: str, message: str, *keys: str | int) -> None:
        findings.append(Finding.at(svc, rule, severity, message, *keys))

    kept: list[str] = []
    out: dict[str, Any] = {}
    for key in COPIED:
        if key in svc.spec:
            out[key] = _without_secrets(svc.spec[key], svc.raw.get(key), (key,), kept, finding)
    for key in svc.spec:
        if key not in COPIED and key not in TRANSLATED:
            finding("swarm-no-meaning", WARNING, _dropped(key, svc), key)
    out["labels"] = {**(out.get("labels") or {}), **_labels(profile)}
    ports, host_port = _ports(svc, container_port, finding)
    if ports:
        out["ports"] = ports
    volumes = _volumes(config, profile, svc, finding)
    if volumes:
        out["volumes"] = volumes
    if svc.spec.get("env_file"):
        out["env_file"] = _env_files(config, profile, svc.spec["env_file"])
    gpus = _gpu_count(svc, cluster["gpu_resource"], finding)
    labels = cluster["node_labels"].get(profile.name, {})
    out["deploy"] = _deploy(svc, profile, gpus, cluster["gpu_resource"], labels)
    data: dict[str, Any] = {"version": STACK_VERSION, "services": {svc.name: out}}
    for key in ("networks", "volumes", "secrets", "configs"):
        if profile.top.get(key):
            data[key] = _escape(profile.top[key])
    return Stack(name=profile.project, service=svc.name, data=data, findings=findings, gpus=gpus,
                 gpu_resource=cluster["gpu_resource"], node_labels=labels, host_port=host_port,
                 container_port=container_port, sources=" + ".join(profile.files),
                 kept=sorted(set(kept)))


def _dropped(key: str, svc: ResolvedService) -> str:
    if key == "container_name":
        return (f"container_name has no Swarm meaning: Swarm names the task's container "
                f"{svc.project}_{svc.name}.1.<task id>; use `sddd logs --target swarm` rather than "
                f"`docker logs {svc.spec[key]}`")
    return f"{key} has no Swarm meaning (docker stack deploy ignores it); it is left out of the stack"


def _without_secrets(value: Any, raw: Any, keys: KeyPath, kept: list[str], finding: Any) -> Any:
    """``value`` (resolved, secrets masked) with every secret put back as the profile's ``${VAR}``,
    every other ``$`` escaped so that `docker stack deploy` leaves it alone."""
    if isinstance(value, dict):
        by_key = raw if isinstance(raw, dict) else {}
        return {k: _without_secrets(v, by_key.get(k), (*keys, k), kept, finding) for k, v in value.items()}
    if isinstance(value, list):
        items = raw if isinstance(raw, list) and len(raw) == len(value) else [None] * len(value)
        return [_without_secrets(v, items[i], (*keys, i), kept, finding) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    names = VARIABLE.findall(raw) if isinstance(raw, str) else []
    if isinstance(raw, str) and any(is_secret_name(n) for n in names):
        kept += names
        return raw
    if MASK in value:
        what = ".".join(str(k) for k in keys)
        if isinstance(raw, str) and names:
            kept += names
            return raw
        finding("secret-literal", ERROR, f"{what} holds a secret written in the profile itself; sddd "
                "writes no secret into a stack file or a manifest: write it as ${VAR} and set VAR in "
                "the env file", *keys)
        return value
    return value.replace("$", "$$")


def _escape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value.replace("$", "$$") if isinstance(value, str) else value


def _labels(profile: ResolvedProfile) -> dict[str, str]:
    svc = profile.service
    return {engine.LABEL_MANAGED: "true", engine.LABEL_PROFILE: profile.name,
            engine.LABEL_HASH: svc.config_hash, engine.LABEL_MODEL: svc.model or ""}


def _ports(svc: ResolvedService, container_port: int,
           finding: Any) -> tuple[list[dict[str, Any]], int | None]:
    ports: list[dict[str, Any]] = []
    host_port = None
    for i, p in enumerate(svc.ports):
        entry: dict[str, Any] = {"target": p.container, "protocol": p.protocol, "mode": "host"}
        if p.host is not None:
            entry["published"] = p.host
        if p.host_ip:
            finding("swarm-no-meaning", WARNING, f"the host address {p.host_ip} of a port has no Swarm "
                    "meaning: a host-mode port listens on every address of the node", "ports", i)
        if p.container == container_port:
            host_port = p.host
        ports.append(entry)
    return ports, host_port


def _volumes(config: Config, profile: ResolvedProfile, svc: ResolvedService, finding: Any) -> list[Any]:
    """The service's volumes (relative bind paths made absolute: the stack file lives elsewhere),
    plus a tmpfs at /dev/shm where the profile asked for shared memory."""
    folder = (config.root / profile.files[0]).parent
    out: list[Any] = []
    for entry in svc.spec.get("volumes") or []:
        if isinstance(entry, str) and entry.startswith((".", "~")):
            source, _, rest = entry.partition(":")
            entry = f"{(folder / Path(source).expanduser()).resolve()}:{rest}"
        elif isinstance(entry, dict) and str(entry.get("source", "")).startswith("."):
            entry = {**entry, "source": str((folder / entry["source"]).resolve())}
        out.append(_escape(entry))
    shm = _shm_bytes(config, svc)
    if shm:
        gib = f"{shm / GIB:g} GiB"
        if svc.spec.get("ipc") == "host":
            finding("swarm-no-meaning", WARNING, f"ipc: host has no Swarm meaning (docker stack deploy "
                    f"ignores it); the stack mounts a {gib} tmpfs at /dev/shm for the workers' shared "
                    "memory instead (cluster.shm_size in sddd.yaml)", "ipc")
        out.append({"type": "tmpfs", "target": "/dev/shm", "tmpfs": {"size": shm}})
    return out


def _shm_bytes(config: Config, svc: ResolvedService) -> int:
    """Shared memory the profile asks for: its shm_size, or cluster.shm_size for `ipc: host` or
    tensor parallelism without either."""
    asked = parse_size(svc.spec.get("shm_size"))
    if asked:
        return asked
    if svc.spec.get("ipc") == "host" or svc.tensor_parallel > 1:
        return quantity_bytes(config.section("cluster")["shm_size"])
    return 0


def quantity_bytes(quantity: str) -> int:
    """``16Gi`` -> bytes (the binary suffixes sddd.yaml accepts)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti)", quantity)
    if not match:
        raise ValueError(quantity)
    return int(float(match.group(1)) * 1024 ** ("KMGT".index(match.group(2)[0]) + 1))


def _env_files(config: Config, profile: ResolvedProfile, value: Any) -> list[str]:
    folder = (config.root / profile.files[0]).parent
    files = value if isinstance(value, list) else [value]
    return [str((folder / str(f if not isinstance(f, dict) else f.get("path"))).resolve()) for f in files]


def _gpu_count(svc: ResolvedService, kind: str, finding: Any) -> int:
    gpu = svc.gpu
    if gpu is None:
        return 0
    where: tuple[str, ...] = {"deploy": ("deploy", "resources", "reservations", "devices"),
                              "gpus": ("gpus",), "runtime": ("runtime",)}[gpu.via]
    if gpu.via == "runtime":
        finding("swarm-no-meaning", WARNING, "runtime has no Swarm meaning: a service cannot choose its "
                "runtime; make nvidia the default runtime of the GPU nodes' daemons (nvidia-ctk runtime "
                "configure --set-as-default) so that the reserved GPUs reach the container", "runtime")
    count = gpu.gpus
    if count is None:
        finding("swarm-gpu-count", ERROR, f"a Swarm reservation is a number of {kind}; `all` is none: "
                "write the number of GPUs (count: N) in the profile", *where)
        return 0
    if gpu.device_ids:
        ids = ", ".join(repr(i) for i in gpu.device_ids)
        finding("swarm-no-meaning", WARNING, f"device_ids [{ids}] have no Swarm meaning: Swarm reserves a "
                f"count ({count} {kind}) and the node's daemon chooses which GPUs; pin GPUs per node with "
                f"the daemon's node-generic-resources ({kind}=GPU-uuid)", *where)
    return count


def _deploy(svc: ResolvedService, profile: ResolvedProfile, gpus: int, kind: str,
            node_labels: dict[str, str]) -> dict[str, Any]:
    """deploy: for Swarm, the profile's own settings kept where they mean something."""
    own = svc.spec.get("deploy") or {}
    out: dict[str, Any] = {"mode": own.get("mode", "replicated")}
    if out["mode"] == "replicated":
        out["replicas"] = int(own.get("replicas", 1))
    out["labels"] = {**(own.get("labels") or {}), **_labels(profile)}
    placement = dict(own.get("placement") or {})
    constraints = list(placement.get("constraints") or [])
    constraints += [f"node.labels.{k} == {v}" for k, v in node_labels.items()]
    if constraints:
        placement["constraints"] = constraints
    if placement:
        out["placement"] = placement
    resources: dict[str, Any] = {}
    asked = own.get("resources") or {}
    for part in ("limits", "reservations"):
        kept = {k: v for k, v in (asked.get(part) or {}).items() if k in ("cpus", "memory")}
        if kept:
            resources[part] = kept
    if gpus:
        resources.setdefault("reservations", {})["generic_resources"] = [
            {"discrete_resource_spec": {"kind": kind, "value": gpus}}]
    if resources:
        out["resources"] = resources
    restart = str(svc.spec.get("restart") or "no")
    out["restart_policy"] = own.get("restart_policy") or {"condition": RESTART.get(restart.split(":")[0],
                                                                                   "any")}
    out["update_config"] = {"parallelism": 1, "order": "stop-first", "failure_action": "rollback",
                            "monitor": f"{_monitor_s(svc)}s", **(own.get("update_config") or {})}
    out["rollback_config"] = {"parallelism": 1, "order": "stop-first", **(own.get("rollback_config") or {})}
    return out


def _monitor_s(svc: ResolvedService) -> int:
    """How long the health check needs to call a started task unhealthy: interval x retries."""
    hc = svc.healthcheck
    interval = duration_s(hc.interval if hc else None, 30.0)
    retries = hc.retries if hc and hc.retries else 3
    return max(1, math.ceil(interval * retries))


def duration_s(text: str | None, default: float) -> float:
    """A Compose duration (``1m30s``, ``900s``, ``1.5s``, ``500ms``) in seconds."""
    if not text:
        return default
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(text))
    if not parts:
        return default
    return sum(float(n) * units[u] for n, u in parts)
