"""A grid's variants and the Compose override file that runs each one.

``expand(spec)`` gives the variants in run order: the product of the axes' values (first axis
slowest), less the ``exclude`` matches, then each ``include``. ``render_override`` writes one as
a compose file laid over base + profile (``docker compose -f base -f profile -f override``): the
profile files are never touched. It holds:

- ``name:`` the grid's own Compose project, so a variant never replaces the live service;
- ``command:`` the profile's command as written (``${VAR}`` left for Compose to fill in), with
  each flag axis applied (Compose replaces ``command`` whole, so removing a flag works);
- ``environment:`` and any Compose key an axis sets; ``absent`` is Compose's ``!reset``;
- ``container_name: !reset`` when the profile pins a container name, for the same reason.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from typing import Any

import yaml

from sddd.compose.merge import RESET, Reset
from sddd.compose.vllm_args import NOT_VLLM, command_tokens, parse_vllm_args
from sddd.core.errors import ConfigError
from sddd.grid.spec import Axis, GridSpec, Special, Value


@dataclass
class Variant:
    index: int  # 1-based, in run order
    settings: dict[str, Value]  # axis name -> value; axes left as the profile has them are absent
    origin: str  # "grid" (the product) or "include"

    @property
    def label(self) -> str:
        return " ".join(f"{k}={show(v)}" for k, v in self.settings.items()) or "the profile as it is"

    @property
    def slug(self) -> str:
        """A file name for the override: the label, shortened with a hash when long."""
        text = re.sub(r"[^A-Za-z0-9.=_-]+", "_", self.label.replace(" ", "__")).strip("_") or "profile"
        if len(text) > 80:
            text = text[:64] + "-" + hashlib.sha256(self.label.encode()).hexdigest()[:8]
        return text

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "label": self.label, "origin": self.origin,
                "settings": {k: show(v) for k, v in self.settings.items()}}


def show(value: Value) -> str:
    """A value as the grid file would write it."""
    if isinstance(value, Special):
        return value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return yaml.safe_dump(value, default_flow_style=True, width=200).strip()
    return str(value)


def _matches(settings: dict[str, Value], combo: dict[str, Value]) -> bool:
    return all(name in settings and repr(settings[name]) == repr(v) for name, v in combo.items())


def expand(spec: GridSpec) -> list[Variant]:
    names = [a.name for a in spec.axes]
    combos: list[tuple[dict[str, Value], str]] = []
    for values in itertools.product(*(a.values for a in spec.axes)):
        settings = dict(zip(names, values, strict=True))
        if not any(_matches(settings, ex) for ex in spec.exclude):
            combos.append((settings, "grid"))
    combos += [(dict(inc), "include") for inc in spec.include]
    out: list[Variant] = []
    seen: set[str] = set()
    for settings, origin in combos:
        kept = {k: v for k, v in settings.items() if v is not Special.KEEP}
        key = repr(sorted((k, repr(v)) for k, v in kept.items()))
        if key not in seen:
            seen.add(key)
            out.append(Variant(len(out) + 1, kept, origin))
    return out


# --- the override ----------------------------------------------------------------------------------

def apply_flag(tokens: list[str], flag: str, value: Value) -> list[str]:
    """``tokens`` with every form of ``flag`` (``--flag v``, ``--flag=v``, ``--no-flag``) removed,
    then the one the value asks for appended."""
    positive = "--" + flag[5:] if flag.startswith("--no-") else flag
    negative = "--no-" + positive[2:]
    drop: set[int] = set()
    for arg in parse_vllm_args(tokens):
        if arg.flag in (positive, negative):
            drop.add(arg.index)
            if arg.value is not None and "=" not in tokens[arg.index]:
                drop.add(arg.index + 1)
    kept = [t for i, t in enumerate(tokens) if i not in drop]
    if value is Special.ABSENT or value is Special.KEEP:
        return kept
    if value is True:
        return [*kept, flag]
    if value is False:
        return [*kept, negative if flag == positive else positive]
    return [*kept, f"{flag}={show(value)}"]


def _set_key(service: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = service
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _as_yaml(value: Value) -> Any:
    return RESET if value is Special.ABSENT else value


def override_data(spec: GridSpec, variant: Variant, service: str, command: Any,
                  project: str, pins_container_name: bool) -> dict[str, Any]:
    """The override as data (``RESET`` where a key is removed)."""
    body: dict[str, Any] = {}
    flag_axes = [spec.axis(n) for n in variant.settings if spec.axis(n).kind == "flag"]
    if flag_axes:
        tokens = command_tokens(command)
        if tokens and tokens[0].rsplit("/", 1)[-1] in NOT_VLLM:
            raise ConfigError(f"axis {flag_axes[0].name}: the profile's command starts with "
                              f"{tokens[0]!r}, not vLLM flags, so flags cannot be set in it",
                              path=spec.rel, line=flag_axes[0].line)
        for axis in flag_axes:
            tokens = apply_flag(tokens, axis.target, variant.settings[axis.name])
        body["command"] = tokens
    for name, value in variant.settings.items():
        setting: Axis = spec.axis(name)
        if setting.kind == "env":
            body.setdefault("environment", {})[setting.target] = RESET if value is Special.ABSENT \
                else show(value)
        elif setting.kind == "key":
            _set_key(body, setting.target, _as_yaml(value))
    if pins_container_name:
        body["container_name"] = RESET
    return {"name": project, "services": {service: body}}


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Reset, lambda dumper, _value: dumper.represent_scalar("!reset", ""))


def render_override(spec: GridSpec, variant: Variant, data: dict[str, Any]) -> str:
    head = (f"# sddd grid {spec.name}, variant {variant.index}: {variant.label}\n"
            f"# Written by `sddd grid run {spec.rel}` over profile {spec.profile}; the profile files\n"
            "# are not touched. Regenerated on every run: edit the grid file, not this one.\n")
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=200,
                     allow_unicode=True)
    return head + text.replace("!reset ''", "!reset null")
