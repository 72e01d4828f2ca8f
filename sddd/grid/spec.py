"""The grid file: the base profile, the axes and their values, what to measure and what wins.

``load_grid(config, path)`` reads and validates it the way sddd.yaml is validated: an unknown
key, a wrong type or a bad value is one ConfigError naming the file, the line and the key
(exit 2). The whole format::

    profile: tiny                # the base profile (default: canonical_profile)
    project: tiny-grid           # Compose project of the variants (default: <profile's>-grid)
    env_file: .env               # variables for ${VAR}, relative to the repository root
    axes:                        # one vLLM flag, environment variable or Compose key each
      prefix-caching: {flag: --enable-prefix-caching, values: [true, false]}
      max-num-seqs: {flag: --max-num-seqs, values: [2, 8]}
      kv-cache: {env: VLLM_CPU_KVCACHE_SPACE, values: [1, 2]}
      memory: {key: mem_limit, values: [3g, absent]}
      dtype: {flag: --dtype}     # no values: not varied; `include` may set it
    exclude:                     # combinations left out (every axis named must match)
      - {prefix-caching: false, max-num-seqs: 2}
    include:                     # more variants: the profile with these axes set
      - {dtype: float99}
    bench:                       # the scenarios of `sddd bench` and their sizes
      prefix: {rounds: 3, prefix_tokens: 512, max_tokens: 4}
      load: {requests: 16, concurrency: 4, input_tokens: 128, output_tokens: 16}
    repetitions: 1               # each scenario this many times; figures are the medians
    objective:
      metric: prefix.p50_warm_ttft_ms     # scenario.metric, as `sddd bench --json` names it
      goal: min                  # default: max for throughputs, speed-ups and hit rates
      caps: {prefix.p50_cold_ttft_ms: {max: 5000}}   # limits a champion must meet
    timeout: 600                 # seconds each variant may take to be healthy

A flag's ``true`` is the bare switch, ``false`` its ``--no-`` form, ``absent`` (or an empty
value) removes the flag and its ``--no-`` form, ``keep`` leaves the profile's setting; any other
value gives ``--flag=value``. For an environment variable or a Compose key, ``absent`` removes
it from the merged service (Compose's ``!reset``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from sddd.core import options as opt
from sddd.core.config import Config
from sddd.core.errors import ConfigError, InputError
from sddd.core.yamlio import YamlDoc, load_yaml
from sddd.endpoint.loadbench import PERCENTILES, LoadParams, PrefixParams

SCENARIOS: dict[str, type[PrefixParams] | type[LoadParams]] = {"prefix": PrefixParams, "load": LoadParams}
MINIMUM = {"rounds": 1, "prefix_tokens": 16, "max_tokens": 1, "requests": 1, "concurrency": 1,
           "input_tokens": 1, "output_tokens": 1}
PROJECT = re.compile(r"[a-z0-9][a-z0-9_-]*")
DEFAULT_TIMEOUT = 900.0
# The grid file's keys as typed options (sddd.yaml's, sddd.core.options); nested ones read below.
GRID: dict[str, opt.Option] = {
    "profile": opt.Str(default=None, help="the base profile (default: canonical_profile)"),
    "project": opt.Option(help="Compose project of the variants (default: <profile's>-grid)"),
    "env_file": opt.Str(default=None, help="variables for ${VAR}, relative to the repository root"),
    **{key: opt.Option(help=f"checked by _{key}") for key in ("axes", "exclude", "include", "bench")},
    "repetitions": opt.Number(default=1, minimum=1, integer=True, help="each scenario this many times"),
    "objective": opt.Option(help="checked by _objective"),
    "timeout": opt.Number(default=DEFAULT_TIMEOUT, minimum=1, help="seconds a variant has to be healthy"),
}


class Special(Enum):
    ABSENT = "absent"  # remove the flag / variable / key
    KEEP = "keep"  # leave the profile's setting as it is

    def __str__(self) -> str:
        return self.value


Value = Any  # a YAML scalar (str, int, float, bool), a list or mapping (Compose keys), or Special


@dataclass(frozen=True)
class Axis:
    name: str
    kind: str  # "flag", "env" or "key"
    target: str  # "--max-num-seqs", "VLLM_CPU_KVCACHE_SPACE", "deploy.resources.limits.memory"
    values: tuple[Value, ...]
    line: int | None = None

    @property
    def shown(self) -> str:
        return self.target if self.kind != "env" else f"env {self.target}"


@dataclass
class Cap:
    metric: str  # "prefix.p50_cold_ttft_ms"
    limit: float
    bound: str  # "max" or "min"


@dataclass
class Objective:
    metric: str
    goal: str  # "min" or "max"
    caps: list[Cap] = field(default_factory=list)

    @property
    def scenario(self) -> str:
        return self.metric.split(".", 1)[0]


@dataclass
class GridSpec:
    path: Path
    rel: str  # the grid file relative to the repository root
    name: str  # the file's stem: names the results folder and the report page
    profile: str
    project: str | None
    env_file: Path | None
    axes: list[Axis]
    exclude: list[dict[str, Value]]
    include: list[dict[str, Value]]
    bench: dict[str, PrefixParams | LoadParams]
    repetitions: int
    objective: Objective
    timeout: float
    doc: YamlDoc = field(repr=False, default_factory=lambda: YamlDoc(None))

    def axis(self, name: str) -> Axis:
        return next(a for a in self.axes if a.name == name)

    def bench_json(self) -> dict[str, Any]:
        return {"scenarios": {k: vars(v) for k, v in self.bench.items()}, "repetitions": self.repetitions}


# Compose keys that reach beyond the container, with the value that does (None: any value but
# absent/false). A grid file is the user's own, so they are allowed; the dry run says so.
HOST_KEYS: dict[str, tuple[str | None, str]] = {
    "privileged": (None, "the host's devices and every kernel capability"),
    "cap_add": (None, "extra kernel capabilities"),
    "volumes": (None, "host folders mounted in the container"),
    "devices": (None, "host devices in the container"),
    "security_opt": (None, "seccomp/AppArmor profiles changed"),
    "network_mode": ("host", "the host's network"),
    "pid": ("host", "the host's processes"),
}


@dataclass(frozen=True)
class KeyAxis:
    """An axis that sets a Compose key beyond ``command``/``environment``; ``risk`` when it is
    one of HOST_KEYS at a value that reaches the host."""

    axis: str
    key: str
    values: list[str]
    line: int | None
    risk: str | None

    def to_json(self) -> dict[str, Any]:
        return {"axis": self.axis, "key": self.key, "values": self.values, "line": self.line,
                "flagged": self.risk is not None, "risk": self.risk}


def compose_keys(spec: GridSpec) -> list[KeyAxis]:
    """The axes of ``spec`` that set Compose keys (not flags, not variables), riskiest first."""
    found = []
    for axis in (a for a in spec.axes if a.kind == "key"):
        top = axis.target.split(".")[0]
        shown = [str(v) if isinstance(v, str | Special) else json.dumps(v) for v in axis.values]
        wanted, why = HOST_KEYS.get(top, (None, None))
        reaching = [v for v in axis.values
                    if v not in (Special.ABSENT, Special.KEEP, False, None)
                    and (wanted is None or str(v).strip().lower() == wanted)]
        risk = f"{top}: {why}" if why is not None and reaching else None
        found.append(KeyAxis(axis.name, axis.target, shown, axis.line, risk))
    return sorted(found, key=lambda k: k.risk is None)


class _Reader:
    """Validation by sddd.yaml's options, with the line of every key, errors as the CLI shows them."""

    def __init__(self, doc: YamlDoc, rel: str):
        self.doc, self.rel = doc, rel

    def fail(self, message: str, *keys: str | int, below: tuple[str | int, ...] = ()) -> ConfigError:
        where, line = ".".join(str(k) for k in keys), self.doc.line_of(*keys, *below)
        return ConfigError(f"{where}: {message}" if where else message, path=self.rel,
                           line=line or self.doc.line_of(*keys) or 1)

    def check(self, option: opt.Option, value: Any, *keys: str | int) -> Any:
        """``value`` validated by ``option``; its error (whose message names the keys below
        ``keys`` itself) at the line of the key at fault."""
        try:
            return option.validate(value)
        except opt.OptionError as exc:
            raise self.fail(str(exc), *keys, below=exc.keys) from None

    def mapping(self, value: Any, *keys: str | int) -> dict[str, Any]:
        if not isinstance(value, dict):  # (opt.Mapping would take an empty value for {})
            raise self.fail(f"expected a mapping, got {opt.type_name(value)}", *keys)
        return value

    def known(self, data: dict[str, Any], allowed: tuple[str, ...], *keys: str | int) -> None:
        self.check(opt.Mapping(schema=dict.fromkeys(allowed, opt.Option())), data, *keys)

    def text(self, value: Any, *keys: str | int) -> str:
        return str(self.check(opt.Str(), value, *keys))

    def number(self, value: Any, minimum: float, *keys: str | int, integer: bool = False) -> float:
        return float(self.check(opt.Number(minimum=minimum, integer=integer), value, *keys))


def value_of(raw: Any) -> Value:
    """A value as written in the grid file, with ``absent``/``keep``/empty made special."""
    if raw is None or raw == "absent":
        return Special.ABSENT
    if raw == "keep":
        return Special.KEEP
    return raw


def load_grid(config: Config, path: Path) -> GridSpec:
    if not path.is_file():
        raise ConfigError("grid file not found; pass the path of a grid YAML file", path=str(path))
    rel = config.relpath(path.resolve())
    try:
        doc = load_yaml(path, rel)
    except InputError as exc:
        raise ConfigError(exc.message, path=exc.path, line=exc.line) from None
    r = _Reader(doc, rel)
    data = r.mapping(doc.data if doc.data is not None else {})
    plain = r.check(opt.Mapping(schema=GRID), data)
    if "axes" not in data:
        raise r.fail("the grid needs `axes:` (e.g. max-num-seqs: {flag: --max-num-seqs, values: [2, 8]})")
    axes = [_axis(r, name, raw) for name, raw in r.mapping(data["axes"], "axes").items()]
    if not axes:
        raise r.fail("name at least one axis", "axes")
    _check_size(r, axes, data.get("include"), config.section("limits")["grid_variants"])
    bench = _bench(r, data.get("bench"))
    project = data.get("project")
    if project is not None and not PROJECT.fullmatch(str(project)):
        raise r.fail(f"{project!r} is not a Compose project name (lowercase letters, digits, - and _)",
                     "project")
    env_file = plain["env_file"]
    return GridSpec(
        path=path.resolve(), rel=rel, name=path.stem, project=project,
        profile=plain["profile"] or config.canonical_profile,
        env_file=config.resolve(env_file) if env_file is not None else None,
        axes=axes, exclude=_combos(r, data.get("exclude"), axes, "exclude"),
        include=_combos(r, data.get("include"), axes, "include"), bench=bench,
        repetitions=int(plain["repetitions"]), objective=_objective(r, data.get("objective"), bench),
        timeout=float(plain["timeout"]), doc=doc)


def _check_size(r: _Reader, axes: list[Axis], include: Any, limit: int) -> None:
    """Refuse a grid with more than ``limit`` variants, counted from the axes' sizes before any
    variant is built: 10 axes of 10 values are 10^10 variants, whose list took 14.5 GB within
    four minutes of a dry run. Excludes are not subtracted: counting them means building."""
    count = len(include) if isinstance(include, list) else 0
    product = 1
    for axis in axes:
        product *= len(axis.values)
        if product + count > limit:
            sizes = " x ".join(str(len(a.values)) for a in axes)
            raise r.fail(f"the axes make {sizes} = {math.prod(len(a.values) for a in axes) + count:,} "
                         f"variants, more than {limit:,} (limits.grid_variants in sddd.yaml); "
                         "vary fewer settings at once, or raise the limit", "axes")


def _axis(r: _Reader, name: Any, raw: Any) -> Axis:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][\w.-]*", name):
        raise r.fail(f"axis name {name!r}: use letters, digits, '-', '_' or '.'", "axes")
    data = r.mapping(raw, "axes", name)
    r.known(data, ("flag", "env", "key", "values"), "axes", name)
    kinds = [k for k in ("flag", "env", "key") if k in data]
    if len(kinds) != 1:
        raise r.fail("give exactly one of flag: (a vLLM flag), env: (a variable) or key: (a Compose key)",
                     "axes", name)
    kind = kinds[0]
    target = r.text(data[kind], "axes", name, kind).strip()
    if kind == "flag" and not re.fullmatch(r"--[A-Za-z][\w-]*", target):
        raise r.fail(f"{target!r} is not a flag; write it with its dashes, e.g. --max-num-seqs",
                     "axes", name, kind)
    if kind == "env" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", target):
        raise r.fail(f"{target!r} is not an environment variable name", "axes", name, kind)
    if kind == "key" and (target.split(".")[0] in ("command", "image", "entrypoint") or
                          not re.fullmatch(r"[A-Za-z][\w-]*(\.[\w-]+)*", target)):
        raise r.fail(f"{target!r}: name a Compose service key such as mem_limit or "
                     "deploy.resources.limits.memory (vLLM flags are axes with flag:, the image is "
                     "the profile's)", "axes", name, kind)
    raw_values = data.get("values", ["keep"])
    if not isinstance(raw_values, list) or not raw_values:
        raise r.fail("values must be a non-empty list, e.g. values: [2, 8]", "axes", name, "values")
    values = tuple(_value(r, kind, v, "axes", name, "values", i) for i, v in enumerate(raw_values))
    if len(set(map(repr, values))) != len(values):
        raise r.fail("a value is listed twice", "axes", name, "values")
    return Axis(name, kind, target, values, r.doc.line_of("axes", name))


def _value(r: _Reader, kind: str, raw: Any, *keys: str | int) -> Value:
    value = value_of(raw)
    if kind != "key" and isinstance(value, dict | list):
        raise r.fail(f"a {'flag' if kind == 'flag' else 'variable'} takes a single value, not "
                     f"{type(value).__name__}", *keys)
    if kind == "env" and isinstance(value, bool):
        raise r.fail("an environment variable is a string: quote it (\"true\")", *keys)
    return value


def _combos(r: _Reader, raw: Any, axes: list[Axis], key: str) -> list[dict[str, Value]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise r.fail("expected a list of mappings, e.g. - {max-num-seqs: 2}", key)
    by_name = {a.name: a for a in axes}
    out = []
    for i, item in enumerate(raw):
        combo = r.mapping(item, key, i)
        if not combo:
            raise r.fail("an empty mapping matches everything; name at least one axis", key, i)
        values: dict[str, Value] = {}
        for name, rawv in combo.items():
            if name not in by_name:
                raise r.fail(f"unknown axis {name!r} (axes: {', '.join(by_name)})", key, i, name)
            value = _value(r, by_name[name].kind, rawv, key, i, name)
            if key == "exclude" and repr(value) not in map(repr, by_name[name].values):
                raise r.fail(f"never matches: axis {name} has no value {rawv!r}", key, i, name)
            values[name] = value
        out.append(values)
    return out


def _bench(r: _Reader, raw: Any) -> dict[str, PrefixParams | LoadParams]:
    if raw is None:
        return {"prefix": PrefixParams()}
    data = r.mapping(raw, "bench")
    r.known(data, tuple(SCENARIOS), "bench")
    if not data:
        raise r.fail("name at least one scenario: prefix or load", "bench")
    out: dict[str, PrefixParams | LoadParams] = {}
    for scenario, params in data.items():
        cls = SCENARIOS[scenario]
        fields = tuple(vars(cls()))
        given = r.mapping(params if params is not None else {}, "bench", scenario)
        r.known(given, fields, "bench", scenario)
        out[scenario] = cls(**{k: int(r.number(v, MINIMUM[k], "bench", scenario, k, integer=True))
                               for k, v in given.items()})
    return out


def metric_names(scenario: str) -> list[str]:
    """The figures ``sddd.endpoint.loadbench`` reports for a scenario, by their JSON names."""
    stats = ["mean", *(f"p{p}" for p in PERCENTILES)]
    if scenario == "prefix":
        return [f"{s}_{kind}_ttft_ms" for kind in ("cold", "warm") for s in stats] + [
            "speedup_p50", "p50_round_ratio", "prefix_cache_hit_rate"]
    return [f"{s}_{m}_ms" for m in ("ttft", "tpot", "itl", "e2el") for s in stats] + [
        "request_throughput", "output_throughput", "total_token_throughput"]


def default_goal(metric: str) -> str:
    return "max" if re.search(r"throughput|speedup|ratio|hit_rate", metric) else "min"


def _metric(r: _Reader, name: Any, bench: dict[str, Any], *keys: str | int) -> str:
    text = r.text(name, *keys)
    scenario, _, metric = text.partition(".")
    if scenario not in bench:
        raise r.fail(f"{text!r}: scenario {scenario!r} is not under bench: (it has "
                     f"{', '.join(bench)}); write scenario.metric, e.g. prefix.p50_warm_ttft_ms", *keys)
    if metric not in metric_names(scenario):
        raise r.fail(f"{text!r}: {scenario} has no metric {metric!r} (it has "
                     f"{', '.join(metric_names(scenario))})", *keys)
    return text


def _objective(r: _Reader, raw: Any, bench: dict[str, Any]) -> Objective:
    if raw is None:
        metric = "prefix.p50_warm_ttft_ms" if "prefix" in bench else "load.output_throughput"
        return Objective(metric, default_goal(metric))
    data = r.mapping(raw, "objective")
    r.known(data, ("metric", "goal", "caps"), "objective")
    if "metric" not in data:
        raise r.fail("name the metric to optimise, e.g. metric: prefix.p50_warm_ttft_ms", "objective")
    metric = _metric(r, data["metric"], bench, "objective", "metric")
    goal = data.get("goal", default_goal(metric))
    if goal not in ("min", "max"):
        raise r.fail(f"expected min or max, got {goal!r}", "objective", "goal")
    caps = []
    for name, bound in r.mapping(data.get("caps") or {}, "objective", "caps").items():
        cap_metric = _metric(r, name, bench, "objective", "caps", name)
        limits = r.mapping(bound, "objective", "caps", name)
        r.known(limits, ("max", "min"), "objective", "caps", name)
        if len(limits) != 1:
            raise r.fail("give one bound: {max: N} or {min: N}", "objective", "caps", name)
        (side, limit), = limits.items()
        caps.append(Cap(cap_metric, float(r.number(limit, float("-inf"), "objective", "caps", name,
                                                   side)), side))
    return Objective(metric, goal, caps)
