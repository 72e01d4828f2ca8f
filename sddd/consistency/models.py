"""Model ids in guides: which are well formed, which cannot exist, and when two name the same model.

Any well-formed ``org/name`` (or bare ``name``) is taken to exist: drift does not know the Hub.
What it knows is wrong (``sddd/data/model_ids.yaml``): ids the team's documents invented
(``Qwen/Qwen2-32B-Instruct-AWQ``) and Qwen ids whose size their generation never had
(``Qwen2-1.7B-...``). ``drift.known_models`` and ``sddd/data/known_models.txt`` always win.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import yaml

WELL_FORMED = re.compile(r"(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.+-]*")
QWEN_SIZE = re.compile(r"^qwen(\d(?:\.\d)?)-(\d+(?:\.\d+)?)b(?![a-z0-9])", re.IGNORECASE)


def model_key(model: str) -> str:
    """The comparable part of an id: its name without the organisation, lowercased."""
    return model.strip().lower().rsplit("/", 1)[-1]


@cache
def _data() -> dict[str, Any]:
    text = resources.files("sddd").joinpath("data", "model_ids.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@cache
def _invented() -> dict[str, str]:
    return {model_key(k): str(v) for k, v in (_data().get("invented") or {}).items()}


@cache
def _known() -> frozenset[str]:
    text = resources.files("sddd").joinpath("data", "known_models.txt").read_text(encoding="utf-8")
    ids = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(model_key(i) for i in ids if i)


def _sizes(size: float) -> str:
    return f"{size:g}B"


def model_problem(model: str, extra_known: list[str] | tuple[str, ...] = ()) -> str | None:
    """Why ``model`` cannot exist, or None when it may (well formed, not known to be wrong)."""
    key = model_key(model)
    if key in _known() or key in {model_key(m) for m in extra_known}:
        return None
    if model.startswith(("/", "./", "~")):
        return None  # a local folder: vLLM loads it from disk
    if not WELL_FORMED.fullmatch(model.strip()):
        return "it is not a model id (org/name)"
    if key in _invented():
        return _invented()[key]
    match = QWEN_SIZE.match(key)
    sizes = (_data().get("qwen_sizes") or {}).get(match.group(1)) if match else None
    if match and sizes and float(match.group(2)) not in [float(s) for s in sizes]:
        shown = ", ".join(_sizes(float(s)) for s in sizes)
        return f"Qwen{match.group(1)} has no {match.group(2)}B model (its sizes: {shown})"
    return None


def same_model(doc: str, profile: str, *, exact: bool) -> bool:
    """Whether a guide's id names the profile's model; a mere mention (``exact=False``) may
    leave the build out (``Qwen3-32B`` names ``Qwen/Qwen3-32B-AWQ``)."""
    mine, theirs = model_key(doc), model_key(profile)
    return mine == theirs or (not exact and theirs.startswith(mine + "-"))
