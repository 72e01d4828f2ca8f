"""What vLLM does with a flag a profile leaves out: its defaults per version, and a service's
effective value of a flag.

The facts live in ``sddd/data/vllm_defaults.yaml``, each with the version range it holds for and
where vLLM defines it. ``effective(svc, flag)`` reads a resolved service: the flag as the
command sets it (``--no-<flag>`` turns a switch off), else vLLM's default for the version of the
service's image (``vllm/vllm-openai:v0.11.0``), else None (unknown: nothing to compare)::

    effective(svc, "--enable-prefix-caching")
    # Effective(value="true", how="default", version="0.11.0", source="vllm/engine/...")
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from sddd.compose.service import ResolvedService

Version = tuple[int, ...]
TRUE = "true"
FALSE = "false"


@dataclass(frozen=True)
class Default:
    value: str | None  # "true"/"false" for a switch; None: it depends, not compared
    since: Version | None
    until: Version | None
    engine: str | None  # "v1", "v0" or None (both)
    source: str

    def holds(self, version: Version, engine: str) -> bool:
        return ((self.since is None or version >= self.since) and (self.until is None or version < self.until)
                and self.engine in (None, engine))


@dataclass(frozen=True)
class Effective:
    value: str  # as the profile runs it: "true"/"false" for a switch, else the value
    how: str  # "set" (the command sets it), "off" (--no-<flag>) or "default"
    version: str | None = None  # the vLLM version a default was read for
    source: str = ""  # where vLLM defines that default

    @property
    def is_default(self) -> bool:
        return self.how == "default"


def parse_version(text: str) -> Version | None:
    """``v0.11.0`` / ``0.9.2`` / ``v0.10.1.1-cu128`` -> (0, 11, 0) ...; None for ``latest`` and friends."""
    match = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    if match is None:
        return None
    return tuple(int(g) for g in match.groups(default="0"))


def image_version(image: str | None) -> Version | None:
    """The vLLM version an image tag names (``vllm/vllm-openai:v0.11.0``), None when it names none."""
    if not image or "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    return parse_version(last.split(":", 1)[1]) if ":" in last else None


@cache
def table() -> dict[str, tuple[Default, ...]]:
    """sddd/data/vllm_defaults.yaml, flag (with dashes) -> its rows."""
    text = resources.files("sddd").joinpath("data", "vllm_defaults.yaml").read_text(encoding="utf-8")
    data: dict[str, list[dict[str, Any]]] = yaml.safe_load(text)
    out: dict[str, tuple[Default, ...]] = {}
    for flag, rows in data.items():
        out["--" + flag] = tuple(Default(
            value=None if row.get("default") is None else _text(row["default"]),
            since=parse_version(str(row["since"])) if row.get("since") else None,
            until=parse_version(str(row["until"])) if row.get("until") else None,
            engine=row.get("engine"), source=" ".join(str(row.get("source", "")).split()))
            for row in rows)
    return out


def _text(value: Any) -> str:
    return (TRUE if value else FALSE) if isinstance(value, bool) else str(value)


def default_for(flag: str, version: Version | None, engine: str = "v1") -> Default | None:
    """vLLM's default of ``flag`` at ``version``; with the version unknown, only a default that
    every known version of the engine shares."""
    rows = table().get(flag, ())
    if version is not None:
        return next((r for r in rows if r.holds(version, engine)), None)
    candidates = [r for r in rows if r.engine in (None, engine)]
    if candidates and len({r.value for r in candidates}) == 1:
        return candidates[0]
    return None


def engine_of(svc: ResolvedService) -> str:
    """``v0`` when the service asks for the old engine (VLLM_USE_V1=0) or its vLLM predates V1."""
    version = image_version(svc.image)
    if version is not None and version < (0, 8, 0):
        return "v0"
    return "v0" if str(svc.environment.get("VLLM_USE_V1") or "").strip() == "0" else "v1"


def effective(svc: ResolvedService, flag: str, version_hint: str | None = None) -> Effective | None:
    """How ``svc`` runs ``flag`` (normalised, not a --no- form): set, turned off, or by default."""
    if flag in svc.vllm:
        value = svc.vllm[flag]
        return Effective(TRUE if value is None else value, "set")
    if "--no-" + flag[2:] in svc.vllm:
        return Effective(FALSE, "off")
    version = image_version(svc.image) or (parse_version(version_hint) if version_hint else None)
    row = default_for(flag, version, engine_of(svc))
    if row is None or row.value is None:
        return None
    shown = ".".join(map(str, version)) if version else None
    return Effective(row.value, "default", shown, row.source)
