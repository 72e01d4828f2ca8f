"""What every export reads from one resolved profile, and the export it becomes.

``read_source(config, profile)`` resolves the profile (``sddd.compose.profiles``, the one
source of Compose, Swarm and the exports) without needing its secrets: every value that comes
from a secret (a secret-looking name, a value the resolver masked, a ``${VAR}`` naming a
secret) becomes a reference to a key of one Kubernetes Secret (``cluster.secret_name``), never
a value. Other unset variables are an error, as they would be blanks in the manifests.

``Export`` is the result of an export: its YAML documents, the findings of what has no
meaning there, the Secret the documents refer to and the `kubectl create secret` line that
fills it from the user's environment.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sddd.compose.lint import ERROR, WARNING, Finding, parse_size
from sddd.compose.profiles import ResolvedProfile, load_profile
from sddd.compose.service import ResolvedService
from sddd.compose.vllm_args import command_tokens
from sddd.core.atomic import atomic_write_text
from sddd.core.config import Config
from sddd.core.errors import ConfigError
from sddd.core.secrets import MASK, is_secret_name
from sddd.deploy.stack import VARIABLE, duration_s

DNS_NAME = re.compile(r"[^a-z0-9-]+")
HTTP_CHECK = re.compile(r"https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(\d+))?(/\S*)?")


@dataclass
class EnvVar:
    name: str
    value: str = ""  # a plain value, or
    secret_key: str = ""  # the key of the Secret that holds it
    variable: str = ""  # the profile's ${VAR} behind it (what the user's env file sets)


@dataclass
class Health:
    """The Compose health check, as the probes of a cluster read it."""

    http_path: str | None  # an HTTP GET of the container itself (curl/wget of localhost)
    http_port: int | None
    command: list[str]  # otherwise: a command run in the container
    period_s: int
    timeout_s: int
    failures: int
    start_s: int  # start_period: how long the start-up may take


@dataclass
class Source:
    profile: ResolvedProfile
    name: str  # the service, as a Kubernetes name
    secret: str  # the Secret that holds its tokens and keys
    env: list[EnvVar]
    args: list[str]  # the container's arguments; a secret as $(NAME) of an env var
    secret_flags: list[str]  # the vLLM flags whose value is a secret (--api-key)
    gpus: int
    shm: str | None  # a memory-backed /dev/shm of this size, or none
    container_port: int
    service_port: int
    health: Health | None
    node_labels: dict[str, str]
    findings: list[Finding] = field(default_factory=list)

    @property
    def svc(self) -> ResolvedService:
        return self.profile.service


def kube_name(text: str) -> str:
    """A DNS-1123 label: lowercase letters, digits and dashes, at most 63."""
    return DNS_NAME.sub("-", text.lower()).strip("-")[:63].rstrip("-") or "vllm"


def read_source(config: Config, profile: str | None = None, env_file: Path | str | None = None) -> Source:
    resolved = load_profile(config, profile, env_file, strict=False)
    svc = resolved.service
    cluster = config.section("cluster")
    findings: list[Finding] = []

    def finding(rule: str, severity: str, message: str, *keys: str | int) -> None:
        findings.append(Finding.at(svc, rule, severity, message, *keys))

    name = kube_name(svc.name)
    env, secret_vars = _env(svc)
    args, flags, arg_env = _args(svc)
    env += [e for e in arg_env if e.name not in {x.name for x in env}]
    secret_vars |= {e.variable for e in arg_env if e.variable}
    unset = sorted(set(resolved.missing) - secret_vars)
    if unset:
        raise ConfigError(f"{len(unset)} variable(s) not set: {', '.join(unset)}; they would be blanks in "
                          "the export: set them in .env or the environment (secrets need not be set, "
                          "the export refers to a Secret)", path=resolved.files[-1])
    port = int(svc.vllm.get("--port") or 8000) if svc.model else (svc.ports[0].container if svc.ports
                                                                     else 8000)
    mapping = next((p for p in svc.ports if p.container == port), None)
    source = Source(profile=resolved, name=name, secret=cluster["secret_name"].format(service=name),
                    env=env, args=args, secret_flags=flags, gpus=_gpus(svc, finding),
                    shm=_shm(config, svc, finding), container_port=port,
                    service_port=mapping.host if mapping and mapping.host else port,
                    health=_health(svc), node_labels=cluster["node_labels"].get(resolved.name, {}),
                    findings=findings)
    if source.health is None:
        finding("kubernetes-probe", WARNING, "no healthcheck: the export has no readiness or liveness "
                "probe; add healthcheck: {test: [CMD, curl, -fsS, http://localhost:8000/health]}",
                "healthcheck")
    return source


def _raw_env(svc: ResolvedService) -> dict[str, Any]:
    raw = svc.raw.get("environment") or {}
    if isinstance(raw, list):
        return dict(str(item).partition("=")[::2] for item in raw)
    return dict(raw)


def _env(svc: ResolvedService) -> tuple[list[EnvVar], set[str]]:
    raw = _raw_env(svc)
    out: list[EnvVar] = []
    secret_vars: set[str] = set()
    for key, value in (svc.spec.get("environment") or {}).items():
        written = str(raw.get(key) or "")
        names = VARIABLE.findall(written)
        if is_secret_name(key) or MASK in str(value or "") or any(is_secret_name(n) for n in names):
            secret_vars |= set(names)
            out.append(EnvVar(key, secret_key=key, variable=names[0] if len(names) == 1 else ""))
        else:
            out.append(EnvVar(key, value="" if value is None else str(value)))
    return out, secret_vars


def _args(svc: ResolvedService) -> tuple[list[str], list[str], list[EnvVar]]:
    """The command's tokens; a secret one as ``$(NAME)`` of an env var that refers to the Secret
    (Kubernetes expands ``$(NAME)`` in args), every other ``$(`` escaped."""
    tokens = command_tokens(svc.spec.get("command"))
    raws = command_tokens(svc.raw.get("command"))
    raws = raws if len(raws) == len(tokens) else tokens
    out: list[str] = []
    flags: list[str] = []
    refs: list[EnvVar] = []
    for i, (token, raw) in enumerate(zip(tokens, raws, strict=True)):
        names = VARIABLE.findall(raw)
        if MASK not in token and not any(is_secret_name(n) for n in names):
            out.append(token.replace("$(", "$$("))
            continue
        flag = token.split("=", 1)[0] if token.startswith("--") else (tokens[i - 1] if i else "")
        flags.append(flag)
        var = names[0] if names else kube_name(flag.lstrip("-")).upper().replace("-", "_")
        refs.append(EnvVar(var, secret_key=var, variable=names[0] if names else ""))
        out.append(f"{flag}=$({var})" if token.startswith("--") else f"$({var})")
    return out, flags, refs


def _gpus(svc: ResolvedService, finding: Any) -> int:
    gpu = svc.gpu
    if gpu is None:
        return 0
    if gpu.gpus is None:
        finding("kubernetes-gpu-count", ERROR, "a cluster schedules a number of nvidia.com/gpu; `all` is "
                "none: write the number of GPUs (count: N) in the profile",
                "deploy", "resources", "reservations", "devices")
        return 0
    if gpu.device_ids:
        ids = ", ".join(repr(i) for i in gpu.device_ids)
        finding("kubernetes-no-meaning", WARNING, f"device_ids [{ids}] have no Kubernetes meaning: the "
                f"pod asks for {gpu.gpus} nvidia.com/gpu and the device plugin chooses which",
                "deploy", "resources", "reservations", "devices")
    if svc.spec.get("runtime"):
        finding("kubernetes-no-meaning", WARNING, "runtime has no Kubernetes meaning here: the NVIDIA "
                "device plugin gives the pod its GPUs (set runtimeClassName yourself where the cluster "
                "needs one)", "runtime")
    return gpu.gpus


def _shm(config: Config, svc: ResolvedService, finding: Any) -> str | None:
    asked = parse_size(svc.spec.get("shm_size"))
    if asked:
        return f"{max(1, asked // (1 << 20))}Mi"
    if svc.spec.get("ipc") == "host" or svc.tensor_parallel > 1:
        size = config.section("cluster")["shm_size"]
        if svc.spec.get("ipc") == "host":
            finding("kubernetes-no-meaning", WARNING, f"ipc: host becomes a memory-backed volume of {size} "
                    "at /dev/shm for the workers' shared memory (cluster.shm_size in sddd.yaml); a pod "
                    "is not given the node's IPC namespace", "ipc")
        return str(size)
    return None


def _health(svc: ResolvedService) -> Health | None:
    hc = svc.healthcheck
    if hc is None or hc.disabled or not hc.test:
        return None
    kind, rest = hc.test[0], hc.test[1:]
    command = ["/bin/sh", "-c", " ".join(rest)] if kind == "CMD-SHELL" else list(rest)
    text = " ".join(rest)
    match = HTTP_CHECK.search(text) if re.search(r"\b(curl|wget)\b", text) else None
    period = max(1, round(duration_s(hc.interval, 30.0)))
    return Health(http_path=(match.group(2) or "/") if match else None,
                  http_port=int(match.group(1) or 80) if match else None, command=command,
                  period_s=period, timeout_s=max(1, round(duration_s(hc.timeout, 30.0))),
                  failures=hc.retries or 3,
                  start_s=math.ceil(duration_s(hc.start_period, 0.0)))


# --- the export -----------------------------------------------------------------------------------

@dataclass
class Export:
    profile: str
    format: str  # "manifests" or "helm-values"
    documents: list[dict[str, Any]]
    findings: list[Finding]
    secret: str
    secret_keys: dict[str, str]  # key of the Secret -> the variable of the env file that holds it
    kubernetes_version: str
    files: list[str]  # the profile's files it comes from

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    def create_secret(self) -> str:
        """The `kubectl create secret` line that fills the Secret from the user's environment."""
        if not self.secret_keys:
            return ""
        parts = [f'--from-literal={k}="${v}"' if v else f"--from-literal={k}=VALUE"
                 for k, v in self.secret_keys.items()]
        return f"kubectl create secret generic {self.secret} {' '.join(parts)}"

    def text(self) -> str:
        head = [f"# Written by sddd from {' + '.join(self.files)} for Kubernetes {self.kubernetes_version}"
                f" ({self.format}): do not edit, change the profile and export again."]
        if self.secret_keys:
            head.append(f"# Secrets are not in this file. Create the Secret first: {self.create_secret()}")
        body = yaml.safe_dump_all(self.documents, sort_keys=False, allow_unicode=True, width=120)
        return "\n".join(head) + "\n" + body

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "format": self.format,
                "kubernetes_version": self.kubernetes_version, "secret": self.secret,
                "secret_keys": sorted(self.secret_keys), "create_secret": self.create_secret(),
                "documents": self.documents, "findings": [f.to_json() for f in self.findings]}


def secret_keys(source: Source) -> dict[str, str]:
    return {e.secret_key: e.variable for e in source.env if e.secret_key}


def write_export(export: Export, path: Path) -> Path:
    """Write ``export`` atomically to ``path`` (a folder: PROFILE.yaml, or PROFILE.values.yaml, in it)."""
    if path.is_dir() or not path.suffix:
        name = f"{export.profile}.values.yaml" if export.format == "helm-values" else f"{export.profile}.yaml"
        path = path / name
    atomic_write_text(path, export.text())
    return path
