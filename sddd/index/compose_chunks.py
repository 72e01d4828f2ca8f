"""Compose file -> one record per service, readable and searchable.

The record's text says what matters in words a person would search for (image, model,
every vLLM flag and value, GPUs, ports, environment variable names) and then carries the
service's raw YAML. Secret values never enter the text.
"""

from __future__ import annotations

from typing import Any

from sddd.compose.vllm_args import parse_vllm_args
from sddd.core.errors import InputError
from sddd.core.secrets import is_secret_name, redact
from sddd.core.yamlio import parse_yaml
from sddd.index.chunking import Window, fit
from sddd.index.corpus import Chunk

SEP = " › "


def _env_names(environment: Any) -> list[str]:
    """Variable names with their non-secret values; secret values are dropped."""
    items: list[tuple[str, str | None]] = []
    if isinstance(environment, dict):
        items = [(str(k), None if v is None else str(v)) for k, v in environment.items()]
    elif isinstance(environment, list):
        for entry in environment:
            name, sep, text = str(entry).partition("=")
            items.append((name, text if sep else None))
    out = []
    for name, value in items:
        if value is None or is_secret_name(name):
            out.append(name)
        else:
            out.append(f"{name}={value}")
    return out


def _gpus(service: dict[str, Any]) -> str:
    parts: list[str] = []
    devices = (
        ((service.get("deploy") or {}).get("resources") or {}).get("reservations") or {}
    ).get("devices") or []
    for device in devices if isinstance(devices, list) else []:
        if not isinstance(device, dict):
            continue
        ids = device.get("device_ids")
        count = device.get("count")
        driver = device.get("driver", "")
        if ids is not None:
            parts.append(f"{driver} device_ids {', '.join(map(str, ids)) if isinstance(ids, list) else ids}")
        elif count is not None:
            parts.append(f"{driver} count {count}")
    if service.get("gpus") is not None:
        parts.append(f"gpus {service['gpus']}")
    if service.get("runtime"):
        parts.append(f"runtime {service['runtime']}")
    return "; ".join(parts)


def describe_service(name: str, service: dict[str, Any], rel: str) -> str:
    """The readable summary of one service."""
    lines = [f"Compose service {name} in {rel}"]
    if service.get("image"):
        lines.append(f"image: {service['image']}")
    args = parse_vllm_args(service.get("command"))
    model = next((a.value for a in args if a.flag == "--model"), None)
    if model:
        lines.append(f"model: {model}")
    flags = [f"{a.flag} {a.value}" if a.value is not None else a.flag
             for a in args if a.flag != "--model"]
    if flags:
        lines.append("vLLM flags: " + ", ".join(flags))
    gpus = _gpus(service)
    if gpus:
        lines.append(f"GPUs: {gpus}")
    ports = service.get("ports")
    if ports:
        lines.append("ports: " + ", ".join(str(p) for p in ports))
    env = _env_names(service.get("environment"))
    if env:
        lines.append("environment: " + ", ".join(env))
    for key in ("ipc", "shm_size", "container_name", "restart"):
        if service.get(key) is not None:
            lines.append(f"{key}: {service[key]}")
    if isinstance(service.get("healthcheck"), dict):
        health = service["healthcheck"]
        test = health.get("test")
        test_text = " ".join(map(str, test)) if isinstance(test, list) else str(test)
        lines.append(f"healthcheck: {test_text} (start_period {health.get('start_period', '-')})")
    return redact("\n".join(lines))


def _raw_block(lines: list[str], start: int, end: int) -> str:
    return "\n".join(lines[start - 1 : end - 1]).rstrip()


def compose_chunks(text: str, rel: str, kind: str, window: Window) -> list[Chunk]:
    """Records of one compose file (raises InputError, with the line, on malformed YAML)."""
    doc = parse_yaml(text, rel)
    data = doc.data
    if data is None:
        return []
    if not isinstance(data, dict):
        raise InputError("a compose file must be a YAML mapping", path=rel, line=1)
    lines = text.split("\n")
    title = rel.rsplit("/", 1)[-1]
    services = data.get("services")
    chunks: list[Chunk] = []
    if isinstance(services, dict) and services:
        names = list(services)
        starts = [doc.lines.get(("services", n), 1) for n in names]
        top_keys_after = sorted(
            line for key, line in doc.lines.items() if len(key) == 1 and line > min(starts)
        )
        for position, name in enumerate(names):
            start = starts[position]
            later = [s for s in starts if s > start] + [t for t in top_keys_after if t > start]
            end = min(later) if later else len(lines) + 1
            service = services[name] if isinstance(services[name], dict) else {}
            summary = describe_service(str(name), service, rel)
            raw = redact(_raw_block(lines, start, end))
            body = f"{summary}\n\n```yaml\n{raw}\n```"
            heading = f"{title}{SEP}{name}"
            for part, piece in enumerate(fit(heading, body, window)):
                chunks.append(Chunk(rel, kind, heading, str(name), start, piece, title, part))
    else:
        keys = ", ".join(str(k) for k in data)
        body = f"Compose file {rel} (no services; defines {keys})\n\n```yaml\n{redact(text.strip())}\n```"
        for part, piece in enumerate(fit(title, body, window)):
            chunks.append(Chunk(rel, kind, title, None, 1, piece, title, part))
    return chunks
