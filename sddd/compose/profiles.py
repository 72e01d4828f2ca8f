"""Compose profiles: base + size file, merged and interpolated exactly as Docker Compose v2 does.

API (shared by deploy, drift, audit, the site, validate/bench)::

    from sddd.compose.profiles import load_profile, load_all_profiles, profile_names

    profile = load_profile(config, "medium")                  # files: [base_profile, profiles/medium.yml]
    profile = load_profile(config, "medium", env_file=Path(".env"))
    profile = load_profile(config, "medium", strict=False)    # missing ${VAR} -> "" (as Compose)
    svc = profile.service                                     # the profile's (vLLM) service
    svc.image, svc.model                     # "vllm/vllm-openai:v0.11.0", "Qwen/Qwen3-32B-AWQ"
    svc.vllm["--max-model-len"]                               # "131072" (None for a bare switch)
    svc.gpu.gpus, svc.gpu.device_ids                          # 2 (GPUs reserved), ["0", "1"]
    svc.tensor_parallel                                       # 2 (--tensor-parallel-size, default 1)
    svc.ports[0].host, svc.ports[0].container                 # 5002, 8000
    svc.environment                                           # {"VLLM_API_KEY": "abc***", ...} masked
    svc.healthcheck.test                                      # ["CMD", "curl", ...]
    svc.source_of("ipc")                                      # Source("profiles/medium.yml", 38)
    svc.flag_source("--max-model-len")                        # where the flag is written
    str(svc.flag_source("--max-model-len"))                   # "profiles/medium.yml:21"
    svc.config_hash                                           # stable sha256 prefix of the service
    svc.spec                                                  # the merged service mapping (secrets masked)
    for p in load_all_profiles(config): ...                   # every profile, strict=False

Lint rules over a resolved service live in sddd.lint (``lint_service(svc) -> [Finding]``).

Profile names are the stems of the files matched by ``profiles:`` in sddd.yaml, the base file
excluded; a path to a compose file works as a name too. Variables come from the env file
(default: ``.env`` at the repository root when it exists) overridden by the process
environment. With ``strict=True`` (the default) every unset ``${VAR}`` / failed
``${VAR:?msg}`` is collected into ONE ConfigError listing all names.

Secret values (environment variables with secret-looking names, ``--api-key`` and tokens)
are masked in everything this module returns; empty values stay empty, so an empty API key
remains visible. The config hash covers the masked form, so it never leaks a secret.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sddd.compose.interpolation import Interpolator, environment
from sddd.compose.merge import merge_files
from sddd.compose.vllm_args import VllmArg, command_tokens, parse_vllm_args
from sddd.core.config import Config
from sddd.core.errors import ConfigError, InputError, UsageError
from sddd.core.files import glob_files
from sddd.core.secrets import find_secrets, is_secret_name, mask_value, redact
from sddd.core.yamlio import load_yaml

UNSUPPORTED = ("extends", "include")


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
    sources: dict[tuple, Source] = field(default_factory=dict, repr=False)
    config_hash: str = ""

    @property
    def container_name(self) -> str | None:
        return self.spec.get("container_name")

    @property
    def tensor_parallel(self) -> int:
        value = self.vllm.get("--tensor-parallel-size", self.vllm.get("-tp"))
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


@dataclass
class ResolvedProfile:
    name: str
    files: list[str]
    project: str
    services: list[ResolvedService]
    env_file: str | None
    variables: list[str]  # names interpolated
    missing: list[str]  # unset names (only when strict=False)

    @property
    def service(self) -> ResolvedService:
        """The profile's service: the only one, else the one named like the profile, else the first
        one running vLLM."""
        if len(self.services) == 1:
            return self.services[0]
        for svc in self.services:
            if svc.name.endswith(self.name):
                return svc
        return next((s for s in self.services if s.model), self.services[0])


# --- finding the files -------------------------------------------------------------------------

def base_path(config: Config) -> Path:
    path = config.resolve(config.base_profile)
    if not path.is_file():
        raise ConfigError(f"base_profile {config.base_profile!r} does not exist; fix base_profile "
                          "in sddd.yaml", path=config.relpath(config.path) if config.path else None,
                          line=config.line_of("base_profile"))
    return path


def profile_files(config: Config) -> dict[str, Path]:
    """Profile name -> its size file (base file excluded), from the ``profiles:`` globs."""
    base = config.resolve(config.base_profile).resolve()
    found: dict[str, Path] = {}
    for pattern in config.profiles:
        for path in sorted(glob_files(config.root, pattern)):
            if path.suffix in (".yml", ".yaml") and path.resolve() != base:
                found.setdefault(path.stem, path)
    return found


def profile_names(config: Config) -> list[str]:
    return sorted(profile_files(config))


def _find(config: Config, name: str) -> tuple[str, Path]:
    files = profile_files(config)
    if name in files:
        return name, files[name]
    candidate = Path(name) if Path(name).is_absolute() else Path.cwd() / name
    if name.endswith((".yml", ".yaml")) and candidate.is_file():
        return candidate.stem, candidate
    known = ", ".join(sorted(files)) or "none (check `profiles:` in sddd.yaml)"
    raise UsageError(f"unknown profile {name!r}; known profiles: {known}")


# --- loading -----------------------------------------------------------------------------------

def load_profile(config: Config, name: str | None = None, env_file: Path | str | None = None,
                 *, strict: bool = True) -> ResolvedProfile:
    """Resolve profile ``name`` (default: the canonical profile) over the base file."""
    name = name or config.canonical_profile
    name, path = _find(config, name)
    paths = [base_path(config), path]
    env_path = _env_path(config, env_file)
    env = environment(env_path, config.relpath(env_path) if env_path else None)
    interp = Interpolator(env)
    docs, shown = [], []
    sources: dict[tuple, Source] = {}
    for file in paths:
        rel = config.relpath(file)
        shown.append(rel)
        doc = load_yaml(file, rel)
        data = doc.data if doc.data is not None else {}
        if not isinstance(data, dict):
            raise InputError("a compose file must be a mapping (services:, volumes:, ...)", path=rel, line=1)
        for key in UNSUPPORTED:
            if key in data or any(isinstance(s, dict) and key in s for s in (data.get("services") or {})
                                  .values()):
                raise InputError(f"`{key}` is not supported by sddd's resolver; inline the service",
                                 path=rel, line=doc.line_of(key))
        if not isinstance(data.get("services") or {}, dict):
            raise InputError("services: must be a mapping of service names", path=rel,
                             line=doc.line_of("services"))
        docs.append(interp.data(data, rel, doc.lines))
        for key_path, line in doc.lines.items():
            sources[key_path] = Source(rel, line)
        sources.setdefault((), Source(rel, 1))
    if interp.missing and strict:
        raise missing_error(interp, env_path and config.relpath(env_path))
    merged = merge_files(docs)
    project = str(merged.get("name") or _project_from_dir(paths[0].parent))
    services = [
        _resolve_service(name, shown, project, svc_name, spec or {}, sources)
        for svc_name, spec in (merged.get("services") or {}).items()
    ]
    if not services:
        raise InputError("the profile defines no service", path=shown[-1], line=1)
    return ResolvedProfile(name=name, files=shown, project=project, services=services,
                           env_file=config.relpath(env_path) if env_path else None,
                           variables=sorted(interp.used), missing=sorted(interp.missing))


def load_all_profiles(config: Config, env_file: Path | str | None = None,
                      *, strict: bool = False) -> list[ResolvedProfile]:
    """Every profile, in name order (unset variables become blanks unless ``strict``)."""
    return [load_profile(config, n, env_file, strict=strict) for n in profile_names(config)]


def missing_error(interp: Interpolator, env_shown: str | None) -> ConfigError:
    items = sorted(interp.missing.values(), key=lambda m: m.name)
    names = ", ".join(f"{m.name} ({m.message})" if m.message else m.name for m in items)
    where = env_shown or ".env (none found)"
    first = items[0]
    return ConfigError(f"{len(items)} variable(s) not set: {names}; set them in {where} or the "
                       "environment (see .env.example)", path=first.path, line=first.line)


def _env_path(config: Config, env_file: Path | str | None) -> Path | None:
    if env_file is not None:
        path = Path(env_file)
        path = path if path.is_absolute() else Path.cwd() / path
        if not path.is_file():
            raise UsageError(f"env file {env_file} not found; pass an existing file to --env-file")
        return path
    default = config.root / ".env"
    return default if default.is_file() else None


def _project_from_dir(folder: Path) -> str:
    """Compose's default project name: the folder's name, lowercased, [a-z0-9_-] only."""
    return re.sub(r"[^a-z0-9_-]", "", folder.resolve().name.lower()) or "default"


# --- one service -------------------------------------------------------------------------------

def _resolve_service(profile: str, files: list[str], project: str, name: str, spec: dict[str, Any],
                     all_sources: dict[tuple, Source]) -> ResolvedService:
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
            if arg.value and is_secret_name(arg.flag.lstrip("-")):
                token = tokens[arg.index]
                tokens[arg.index] = (f"{arg.flag}={mask_value(arg.value)}" if "=" in token
                                     else token)
                if "=" not in token and arg.index + 1 < len(tokens):
                    tokens[arg.index + 1] = mask_value(arg.value)
        spec["command"] = [redact(t) for t in tokens] if isinstance(spec["command"], list) \
            else " ".join(redact(t) for t in tokens)
    return spec


def _mask_env(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return value
    value = str(value)
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
