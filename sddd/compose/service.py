"""One service of a resolved profile: its image, model, vLLM arguments, GPUs, ports,
environment (secrets masked) and health check, each with the file:line that sets it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sddd.compose.vllm_args import VllmArg, command_tokens, parse_vllm_args
from sddd.core.secrets import find_secrets, is_secret_name, mask_value, redact
from sddd.core.yamlio import KeyPath


@dataclass(frozen=True)
class Source:
    path: str  # relative to the repository root
    line: int | None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass
class PortMapping:
    container: int
    host: int | None  # None: Docker picks a free port
    host_ip: str = ""
    protocol: str = "tcp"


@dataclass
class GpuReservation:
    via: str  # "deploy" (deploy.resources.reservations.devices), "gpus" or "runtime"
    driver: str | None
    device_ids: list[str]  # as written: one entry may wrongly hold "0,1"
    count: int | str | None  # int, "all" or None
    capabilities: list[str]

    @property
    def gpus(self) -> int | None:
        """How many GPUs this reserves (ids split on commas), None when unknown ("all")."""
        if self.device_ids:
            return sum(len([p for p in re.split(r"[,\s]+", i) if p]) for i in self.device_ids)
        return self.count if isinstance(self.count, int) else None


@dataclass
class Healthcheck:
    test: list[str]
    interval: str | None = None
    timeout: str | None = None
    retries: int | None = None
    start_period: str | None = None
    disabled: bool = False


@dataclass
class ResolvedService:
    profile: str
    files: list[str]
    project: str
    name: str
    image: str | None
    model: str | None
    args: list[VllmArg]
    vllm: dict[str, str | None]
    gpu: GpuReservation | None
    ports: list[PortMapping]
    environment: dict[str, str | None]
    healthcheck: Healthcheck | None
    spec: dict[str, Any]
    sources: dict[KeyPath, Source] = field(default_factory=dict, repr=False)
    config_hash: str = ""
    declared_in: list[str] = field(default_factory=list)  # the profile's files that name the service
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # merged, before interpolation

    @property
    def base_only(self) -> bool:
        """Declared by the base file alone: the size file never mentions the service."""
        return len(self.files) > 1 and self.declared_in == self.files[:1]

    @property
    def container_name(self) -> str | None:
        return self.spec.get("container_name")

    @property
    def declared_device(self) -> str | None:
        """``x-sddd: {device: cpu}``: what the service says it runs on (a vLLM CPU build needs no
        GPU; Compose ignores ``x-`` keys), None when it says nothing."""
        ext = self.spec.get("x-sddd")
        device = ext.get("device") if isinstance(ext, dict) else None
        return str(device) if device is not None else None

    @property
    def tensor_parallel(self) -> int:
        value = self.vllm.get("--tensor-parallel-size")
        try:
            return int(value) if value else 1
        except ValueError:
            return 1

    def source_of(self, *keys: str | int) -> Source | None:
        """Where a key of the service is written (deepest known prefix), e.g. ("deploy", "resources")."""
        path = tuple(keys)
        while path:
            if path in self.sources:
                return self.sources[path]
            path = path[:-1]
        return self.sources.get(())

    def flag_source(self, flag: str) -> Source | None:
        """Where a vLLM flag is written; the line of ``command`` when the flag is absent."""
        for arg in reversed(self.args):
            if arg.flag == flag:
                return self.source_of("command", arg.index)
        return self.source_of("command")

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile, "files": self.files, "project": self.project,
            "service": self.name, "image": self.image, "model": self.model,
            "vllm_args": self.vllm, "tensor_parallel": self.tensor_parallel,
            "gpu": None if self.gpu is None else {**self.gpu.__dict__, "gpus": self.gpu.gpus},
            "ports": [p.__dict__ for p in self.ports], "environment": self.environment,
            "healthcheck": None if self.healthcheck is None else self.healthcheck.__dict__,
            "config_hash": self.config_hash,
            "sources": {".".join(map(str, k)): str(v) for k, v in self.sources.items() if k},
        }



def resolve_service(profile: str, files: list[str], project: str, name: str, spec: dict[str, Any],
                    all_sources: dict[KeyPath, Source], *, declared_in: list[str] | None = None,
                    raw: dict[str, Any] | None = None) -> ResolvedService:
    spec = mask_spec(spec)
    prefix = ("services", name)
    sources = {k[2:]: v for k, v in all_sources.items() if k[:2] == prefix}
    if ("services", name) in all_sources:
        sources[()] = all_sources[("services", name)]
    args = parse_vllm_args(spec.get("command"))
    vllm = {a.flag: a.value for a in args}
    env = spec.get("environment") or {}
    service = ResolvedService(
        profile=profile, files=files, project=project, name=name, image=spec.get("image"),
        model=vllm.get("--model"), args=args, vllm=vllm, gpu=gpu_reservation(spec),
        ports=parse_ports(spec.get("ports") or []), environment=dict(env),
        healthcheck=parse_healthcheck(spec.get("healthcheck")), spec=spec, sources=sources,
        declared_in=list(declared_in or files), raw=raw or {},
    )
    canonical = json.dumps({"project": project, "service": name, "spec": spec}, sort_keys=True,
                           default=str)
    service.config_hash = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return service


def mask_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The service with secret values masked: environment by name, flags by name, tokens anywhere."""
    spec = dict(spec)
    env = spec.get("environment")
    if isinstance(env, dict):
        spec["environment"] = {k: _mask_env(k, v) for k, v in env.items()}
    if "command" in spec:
        tokens = command_tokens(spec["command"])
        for arg in parse_vllm_args(tokens):
            if arg.value and is_secret_name(arg.flag.lstrip("-")) and not UNSET.fullmatch(arg.value):
                token = tokens[arg.index]
                tokens[arg.index] = (f"{arg.written or arg.flag}={mask_value(arg.value)}" if "=" in token
                                     else token)
                if "=" not in token and arg.index + 1 < len(tokens):
                    tokens[arg.index + 1] = mask_value(arg.value)
        spec["command"] = [redact(t) for t in tokens] if isinstance(spec["command"], list) \
            else " ".join(redact(t) for t in tokens)
    return spec


UNSET = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")  # a dry run's unset variable: no value to hide


def _mask_env(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None if value is None else ""
    value = str(value)
    if UNSET.fullmatch(value):
        return str(value)
    if is_secret_name(name):
        return mask_value(value)
    return redact(value) if find_secrets(value) else value


def parse_ports(ports: list[Any]) -> list[PortMapping]:
    """Short (``[IP:][HOST:]CONTAINER[/proto]``, ranges) and long syntax -> mappings."""
    out: list[PortMapping] = []
    for port in ports:
        if isinstance(port, dict):
            published = port.get("published")
            out.append(PortMapping(container=int(port.get("target", 0)),
                                   host=int(str(published).split("-")[0]) if published else None,
                                   host_ip=str(port.get("host_ip", "")),
                                   protocol=str(port.get("protocol", "tcp"))))
            continue
        text, _, proto = str(port).partition("/")
        host_ip = ""
        if text.startswith("["):  # [::1]:5000:8000
            host_ip, _, text = text[1:].partition("]:")
        parts = text.split(":")
        if len(parts) == 3:
            host_ip, host, container = parts
        elif len(parts) == 2:
            host, container = parts
        else:
            host, container = "", parts[0]
        containers, hosts = _range(container), _range(host) if host else []
        for i, c in enumerate(containers):
            h = hosts[i] if i < len(hosts) else (hosts[0] if len(hosts) == 1 else None)
            out.append(PortMapping(container=c, host=h, host_ip=host_ip, protocol=proto or "tcp"))
    return out


def _range(text: str) -> list[int]:
    try:
        if "-" in text:
            start, end = text.split("-", 1)
            return list(range(int(start), int(end) + 1))
        return [int(text)]
    except ValueError:
        return []


def gpu_reservation(spec: dict[str, Any]) -> GpuReservation | None:
    """The GPUs the service asks for, in whichever of Compose's three forms it uses."""
    devices = (((spec.get("deploy") or {}).get("resources") or {}).get("reservations") or {}) \
        .get("devices")
    if isinstance(devices, list):
        for dev in devices:
            if not isinstance(dev, dict):
                continue
            caps = [str(c) for c in (dev.get("capabilities") or [])]
            driver = dev.get("driver")
            if "gpu" in caps or driver == "nvidia":
                return GpuReservation("deploy", driver, [str(i) for i in dev.get("device_ids") or []],
                                      _count(dev.get("count")), caps)
    gpus = spec.get("gpus")
    if gpus == "all":
        return GpuReservation("gpus", "nvidia", [], "all", ["gpu"])
    if isinstance(gpus, list) and gpus and isinstance(gpus[0], dict):
        dev = gpus[0]
        return GpuReservation("gpus", dev.get("driver"), [str(i) for i in dev.get("device_ids") or []],
                              _count(dev.get("count")), ["gpu"])
    if spec.get("runtime") == "nvidia":
        visible = (spec.get("environment") or {}).get("NVIDIA_VISIBLE_DEVICES") or "all"
        ids = [] if visible == "all" else [visible]
        return GpuReservation("runtime", "nvidia", ids, "all" if visible == "all" else None, ["gpu"])
    return None


def _count(value: Any) -> int | str | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def parse_healthcheck(value: Any) -> Healthcheck | None:
    if not isinstance(value, dict):
        return None
    test = value.get("test")
    tokens = [str(t) for t in test] if isinstance(test, list) else (["CMD-SHELL", str(test)] if test
                                                                    else [])
    disabled = bool(value.get("disable")) or tokens[:1] == ["NONE"]
    retries = value.get("retries")
    return Healthcheck(test=tokens, interval=_str(value.get("interval")),
                       timeout=_str(value.get("timeout")),
                       retries=int(retries) if retries is not None else None,
                       start_period=_str(value.get("start_period")), disabled=disabled)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
