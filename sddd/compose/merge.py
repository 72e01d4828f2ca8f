"""Merge compose files the way Docker Compose v2 (compose-go) does.

Rules, from the Compose specification's merge section and compose-go's override rules:

- mappings merge key by key, recursively; a scalar (image, ipc, shm_size, ...) is replaced;
- ``command``, ``entrypoint`` and ``healthcheck.test`` are replaced whole, never appended;
- ``environment``, ``labels``, ``sysctls``, ``annotations``, ``build.args``, ``deploy.labels``
  are turned into mappings first (``KEY=value`` lists), then merged by key;
- ``ports`` are appended and de-duplicated; ``volumes`` are appended and unique by target path
  (the later file wins); ``networks`` lists become mappings and merge by name;
- ``logging``: same driver, options merge; another driver replaces the options;
- any other list is appended (``deploy.resources.reservations.devices`` included);
- ``!reset`` (``mem_limit: !reset null``) removes what earlier files set for that key, as
  compose-go does; ``ComposeLoader`` reads the tag. Like compose-go, a ``!reset`` inside
  ``environment`` (or labels...) does nothing when earlier files wrote that key as a list or
  in more than one file (measured against ``docker compose config`` v5.6).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import yaml

REPLACED = {"command", "entrypoint"}
KEY_VALUE = {"environment", "labels", "sysctls", "annotations"}


class Reset:
    """The value of a ``!reset`` key: the key is removed from the merged result."""

    _instance: Reset | None = None

    def __new__(cls) -> Reset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "!reset"

    def __copy__(self) -> Reset:
        return self

    def __deepcopy__(self, _memo: dict[int, Any]) -> Reset:
        return self


RESET = Reset()


class ComposeLoader(yaml.SafeLoader):
    """SafeLoader plus Compose's ``!reset`` tag (on a scalar, a list or a mapping)."""


ComposeLoader.add_constructor("!reset", lambda _loader, _node: RESET)


def drop_resets(value: Any) -> Any:
    """``value`` without the keys (and list items) that are still ``!reset`` after merging."""
    if isinstance(value, dict):
        return {k: drop_resets(v) for k, v in value.items() if v is not RESET}
    if isinstance(value, list):
        return [drop_resets(v) for v in value if v is not RESET]
    return value


def to_mapping(value: Any) -> dict[str, Any]:
    """``[A=1, B]`` or ``{A: 1}`` -> ``{"A": "1", "B": None}`` (Compose's normal form)."""
    if isinstance(value, dict):
        return {str(k): (v if v is None or v is RESET else _scalar(v)) for k, v in value.items()}
    out: dict[str, Any] = {}
    for entry in value or []:
        name, sep, rest = str(entry).partition("=")
        out[name] = rest if sep else None
    return out


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalize_service(service: dict[str, Any]) -> dict[str, Any]:
    """The forms that merge by key, as mappings, so two files combine like Compose combines them."""
    service = dict(service)
    for key in KEY_VALUE:
        if key in service and service[key] is not None and service[key] is not RESET:
            service[key] = to_mapping(service[key])
    if isinstance(service.get("networks"), list):
        service["networks"] = {str(n): None for n in service["networks"]}
    build = service.get("build")
    if isinstance(build, dict) and "args" in build:
        service["build"] = {**build, "args": to_mapping(build["args"])}
    deploy = service.get("deploy")
    if isinstance(deploy, dict) and "labels" in deploy:
        service["deploy"] = {**deploy, "labels": to_mapping(deploy["labels"])}
    return service


def _port_key(port: Any) -> str:
    if isinstance(port, dict):
        return "{}:{}:{}/{}".format(port.get("host_ip", ""), port.get("published", ""),
                                    port.get("target", ""), port.get("protocol", "tcp"))
    text = str(port)
    return text if "/" in text else text + "/tcp"


def _volume_target(volume: Any) -> str:
    if isinstance(volume, dict):
        return str(volume.get("target", ""))
    parts = str(volume).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _unique(items: list[Any], key: Callable[[Any], str]) -> list[Any]:
    """Later items win, at the position of the first occurrence (compose-go keeps order)."""
    seen: dict[str, int] = {}
    out: list[Any] = []
    for item in items:
        k = key(item)
        if k in seen:
            out[seen[k]] = item
        else:
            seen[k] = len(out)
            out.append(item)
    return out


def merge_service(base: dict[str, Any], over: dict[str, Any],
                  frozen: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``over`` onto ``base``. ``frozen``: the KEY=value keys (environment, labels...) whose
    ``!reset`` entries compose-go ignores: written as a list, or already merged from two files."""
    base, over = normalize_service(base), normalize_service(over)
    for key in frozen:
        if isinstance(over.get(key), dict):
            over[key] = {k: v for k, v in over[key].items() if v is not RESET}
    merged = dict(base)
    for key, value in over.items():
        old = merged.get(key)
        if value is RESET:
            merged.pop(key, None)
        elif key in REPLACED or old is None or value is None:
            merged[key] = copy.deepcopy(value)
        elif key == "ports" and isinstance(old, list) and isinstance(value, list):
            merged[key] = _unique([*old, *value], _port_key)
        elif key == "volumes" and isinstance(old, list) and isinstance(value, list):
            merged[key] = _unique([*old, *value], _volume_target)
        elif key == "healthcheck" and isinstance(old, dict) and isinstance(value, dict):
            merged[key] = {**old, **copy.deepcopy(value)}  # test is replaced, not appended
        elif key == "logging" and isinstance(old, dict) and isinstance(value, dict):
            if value.get("driver") not in (None, old.get("driver")):
                merged[key] = copy.deepcopy(value)
            else:
                merged[key] = merge_mapping(old, value)
        else:
            merged[key] = merge_value(old, value)
    return merged


def merge_value(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        return merge_mapping(old, new)
    if isinstance(old, list) and isinstance(new, list):
        return [*copy.deepcopy(old), *copy.deepcopy(new)]
    return copy.deepcopy(new)


def merge_mapping(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(old)
    for key, value in new.items():
        if value is RESET:
            out.pop(key, None)
            continue
        out[key] = merge_value(out[key], value) if key in out and out[key] is not None else \
            copy.deepcopy(value)
    return out


def merge_files(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge whole compose documents (already interpolated), first to last."""
    result: dict[str, Any] = {}
    written: dict[tuple[str, str], list[bool]] = {}  # (service, key) -> each file's "as a list"
    for doc in documents:
        for key, value in doc.items():
            if key == "services":
                services = result.setdefault("services", {})
                for name, service in (value or {}).items():
                    service = service or {}
                    frozen = frozenset(k for k in KEY_VALUE if len(written.get((name, k), [])) > 1
                                       or any(written.get((name, k), [])))
                    services[name] = (merge_service(services[name], service, frozen) if name in services
                                      else normalize_service(copy.deepcopy(service)))
                    for k in KEY_VALUE & set(service):
                        written.setdefault((name, k), []).append(isinstance(service[k], list))
            elif isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = merge_mapping(result[key], value)
            elif value is RESET:
                result.pop(key, None)
            else:
                result[key] = copy.deepcopy(value)
    merged: dict[str, Any] = drop_resets(result)
    return merged
