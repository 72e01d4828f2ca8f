"""Compose lint rules, as data: each rule has an id, a severity, what it checks and the fix.

``lint_service(service)`` runs every rule on one resolved service (sddd.profiles) and returns
findings that cite ``file:line``. ``sddd deploy`` runs them as its pre-flight and refuses to
start on any error (exit 2, a configuration error: LintFailed); ``sddd audit`` reports them
(exit 1, a finding). ``RULES`` lists them for docs and ``--json``.

A vLLM CPU build (the tests' image) reserves no GPU: the service says so with the Compose
extension ``x-sddd: {device: cpu}``, which only switches off the "no GPU reserved" error for
that service (a GPU reservation beside it is an error).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sddd.compose.service import ResolvedService, Source
from sddd.core.errors import ConfigError
from sddd.core.yamlio import KeyPath

ERROR, WARNING = "error", "warning"
MIN_SHM_BYTES = 1 << 30  # tensor parallel needs more than Docker's 64 MB default


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    summary: str
    check: Callable[[ResolvedService], list[tuple[str, Source | None]]]


@dataclass
class Finding:
    rule: str
    severity: str
    message: str  # what is wrong and the fix, one line
    profile: str
    service: str
    path: str | None
    line: int | None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}: " if self.path and self.line else \
            (f"{self.path}: " if self.path else "")
        return f"{where}{self.severity} [{self.rule}] {self.message}"

    @classmethod
    def at(cls, svc: ResolvedService, rule: str, severity: str, message: str, *keys: str | int) -> Finding:
        """A finding about ``svc``, placed at the line that sets ``keys`` (the service when none)."""
        where = svc.source_of(*keys)
        return cls(rule, severity, message, svc.profile, svc.name,
                   where.path if where else None, where.line if where else None)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class LintFailed(ConfigError):
    """Pre-flight lint errors: the profile is wrong, nothing was started (exit 2)."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        first = findings[0]
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        super().__init__(f"{first.severity} [{first.rule}] {first.message}{more}",
                         path=first.path, line=first.line)


def is_vllm(svc: ResolvedService) -> bool:
    return bool(svc.model) or "vllm" in (svc.image or "").lower()


# --- the checks ----------------------------------------------------------------------------------

def _gpu_applied(svc: ResolvedService) -> list[tuple[str, Source | None]]:
    out: list[tuple[str, Source | None]] = []
    spec = svc.spec
    resources = ((spec.get("deploy") or {}).get("resources") or {})
    limits = resources.get("limits") or {}
    if isinstance(limits, dict) and limits.get("devices"):
        out.append(("GPU devices under deploy.resources.limits are not applied; move them to "
                    "deploy.resources.reservations.devices", svc.source_of("deploy", "resources", "limits")))
    gpu, device = svc.gpu, svc.declared_device
    if device not in (None, "cpu", "gpu"):
        out.append((f"x-sddd.device must be cpu or gpu, got {device!r}", svc.source_of("x-sddd", "device")))
    if svc.spec.get("runtime") == "nvidia":
        out.append((_runtime_message(gpu.via if gpu else "runtime"), svc.source_of("runtime")))
    if gpu is None:
        if is_vllm(svc) and device != "cpu":
            out.append(("no GPU reserved: vLLM will fail with 'Failed to infer device type'; add "
                        "deploy.resources.reservations.devices: [{driver: nvidia, device_ids: ['0'], "
                        "capabilities: [gpu]}] (a vLLM CPU build: declare `x-sddd: {device: cpu}`)",
                        svc.source_of()))
        return out
    if device == "cpu":
        out.append(("x-sddd.device is cpu but the service reserves GPUs; remove one of the two",
                    svc.source_of("x-sddd", "device")))
    if gpu.via == "deploy":
        where = svc.source_of("deploy", "resources", "reservations", "devices")
        if "gpu" not in gpu.capabilities:
            out.append(("the device reservation has no `capabilities: [gpu]`, so Compose does not "
                        "give the container a GPU; add capabilities: [gpu]", where))
        if gpu.device_ids and gpu.count is not None:
            out.append(("`count` and `device_ids` are both set and Docker refuses that; keep one",
                        where))
    return out


def _runtime_message(via: str) -> str:
    if via == "runtime":
        return ("`runtime: nvidia` only works where that runtime is registered with the Docker daemon; "
                "reserve GPUs with deploy.resources.reservations.devices (driver: nvidia, device_ids, "
                "capabilities: [gpu]) or `gpus:` (Compose 2.30+) instead, and remove runtime: nvidia")
    return ("`runtime: nvidia` beside the GPU reservation: that runtime only works where it is "
            "registered with the Docker daemon, and the reservation already gives the container its "
            "GPUs; remove runtime: nvidia")


def _device_entries(svc: ResolvedService) -> list[tuple[KeyPath, str, str]]:
    """(key path, entry as written, entry as interpolated) of every device_ids entry."""
    out: list[tuple[KeyPath, str, str]] = []
    for prefix in (("deploy", "resources", "reservations", "devices"), ("gpus",)):
        raw_list, list_ = _at(svc.raw, prefix), _at(svc.spec, prefix)
        for d, device in enumerate(list_ if isinstance(list_, list) else []):
            if not isinstance(device, dict):
                continue
            raw_device = raw_list[d] if isinstance(raw_list, list) and d < len(raw_list) else {}
            written = _as_list(raw_device.get("device_ids") if isinstance(raw_device, dict) else None)
            for i, value in enumerate(_as_list(device.get("device_ids"))):
                as_written = written[i] if i < len(written) else value
                out.append(((*prefix, d, "device_ids", i), str(as_written), str(value)))
    return out


def _as_list(value: Any) -> list[Any]:
    """``device_ids: "0,1"`` (a string where Compose wants a list) is one entry, as Compose reads it."""
    return value if isinstance(value, list) else ([] if value is None else [value])


def _at(data: Any, keys: KeyPath) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _one_id_per_entry(svc: ResolvedService) -> list[tuple[str, Source | None]]:
    out: list[tuple[str, Source | None]] = []
    for keys, written, value in _device_entries(svc):
        ids = [p for p in re.split(r"[,\s]+", value.strip()) if p]
        fixed = ", ".join(f"'{i}'" for i in ids) if ids else "'0', '1'"
        if "$" in written:
            held = f"here it is {value!r}" if value else "it is unset here"
            out.append((f"device_ids entry {written!r} is a variable: whatever it holds is ONE id "
                        f"(\"0,1\" would be one id, which no GPU has; {held}); write the ids themselves, "
                        f"one per entry: device_ids: [{fixed}]", svc.source_of(*keys)))
        elif len(ids) > 1:
            out.append((f"device_ids entry {written!r} is ONE id, not {len(ids)}; write one id per entry: "
                        f"device_ids: [{fixed}]", svc.source_of(*keys)))
    return out


def _tp_matches(svc: ResolvedService) -> list[tuple[str, Source | None]]:
    tp = svc.tensor_parallel
    gpus = svc.gpu.gpus if svc.gpu else 0
    if not is_vllm(svc) or gpus is None or (tp == 1 and not gpus):
        return []
    if tp != gpus:
        return [(f"--tensor-parallel-size is {tp} but {gpus} GPU(s) are reserved; make them equal",
                 svc.flag_source("--tensor-parallel-size"))]
    return []


def _shm_for_tp(svc: ResolvedService) -> list[tuple[str, Source | None]]:
    if svc.tensor_parallel <= 1 or svc.spec.get("ipc") == "host":
        return []
    shm = parse_size(svc.spec.get("shm_size"))
    if shm is not None and shm >= MIN_SHM_BYTES:
        return []
    return [(f"tensor parallel {svc.tensor_parallel} needs shared memory between workers: add "
             "`ipc: host` (or shm_size: 16gb)", svc.source_of("shm_size"))]


def _tool_choice(svc: ResolvedService) -> list[tuple[str, Source | None]]:
    if "--tool-call-parser" in svc.vllm and "--enable-auto-tool-choice" not in svc.vllm:
        return [("--tool-call-parser needs --enable-auto-tool-choice for tool_choice: auto; add "
                 "--enable-auto-tool-choice", svc.flag_source("--tool-call-parser"))]
    return []


def missing_image(service: str, base: str, sizes: list[str]) -> str:
    """A service the base declares and no size file gives an image, in words, with the fix."""
    them = " or ".join(sizes)
    return (f"service {service} is declared in {base} but {them} never gives it an image, so "
            f"`docker compose -f {base} -f {sizes[0]} up` stops ('neither an image nor a build "
            f"context'); declare {service} in its own size profile instead of {base} (a base holds "
            f"what every profile shares), or set its image in {base}")


def _pinned_image(svc: ResolvedService) -> list[tuple[str, Source | None]]:
    image = svc.image or ""
    if not image and svc.base_only:
        return [(missing_image(svc.name, svc.files[0], svc.files[1:]), svc.source_of())]
    if not image:
        where = (f"neither {' nor '.join(svc.declared_in)} sets one" if len(svc.declared_in) > 1
                 else f"{svc.declared_in[0]} sets none")
        return [(f"service {svc.name} has no image: {where}; add image: NAME:TAG (a pinned "
                 f"tag, e.g. vllm/vllm-openai:v0.11.0) to it in {svc.files[-1]}", svc.source_of())]
    if "@sha256:" in image:
        return []
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    if tag in ("", "latest"):
        return [(f"image {image!r} is not pinned: `latest` moves; use a version tag, e.g. "
                 f"{image.split(':')[0] if tag else image}:v0.11.0", svc.source_of("image"))]
    return []


def _healthcheck(svc: ResolvedService) -> list[tuple[str, Source | None]]:
    hc = svc.healthcheck
    if hc is None or hc.disabled or not hc.test:
        return [("no healthcheck: nothing tells when the server is ready; add healthcheck: "
                 "{test: [CMD, curl, -fsS, http://localhost:8000/health], start_period: 900s}",
                 svc.source_of("healthcheck"))]
    return []


RULES: list[Rule] = [
    Rule("gpu-reservation", ERROR, "GPU reservation written so Compose applies it", _gpu_applied),
    Rule("gpu-one-id-per-entry", ERROR, "one GPU id per device_ids entry", _one_id_per_entry),
    Rule("tensor-parallel-gpus", ERROR, "--tensor-parallel-size equals the GPUs reserved", _tp_matches),
    Rule("tensor-parallel-shm", ERROR, "ipc: host or a large shm_size when tensor parallel > 1",
         _shm_for_tp),
    Rule("tool-choice", ERROR, "--tool-call-parser with --enable-auto-tool-choice", _tool_choice),
    Rule("image-pinned", ERROR, "image with a pinned tag (not latest, not missing)", _pinned_image),
    Rule("healthcheck", ERROR, "a healthcheck is present", _healthcheck),
]


def lint_service(svc: ResolvedService, rules: list[Rule] | None = None) -> list[Finding]:
    findings: list[Finding] = []
    if not svc.image and svc.base_only:  # one mistake (where the service is declared), one finding
        rules = [r for r in rules or RULES if r.id == "image-pinned"]
    for rule in rules or RULES:
        for message, source in rule.check(svc):
            findings.append(Finding(rule.id, rule.severity, message, svc.profile, svc.name,
                                    source.path if source else None, source.line if source else None))
    return findings


def parse_size(value: object) -> int | None:
    """Compose sizes: 2gb, 512m, 1g, 67108864 -> bytes."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*", str(value).lower())
    if not match:
        return None
    power = " kmgt".index(match.group(2) or " ")
    return int(float(match.group(1)) * (1024 ** power))
