"""A grid made concrete: each variant's override file written, resolved and linted as
``sddd deploy`` would, with the config hash that identifies its results.

``plan_grid(config, spec, folder)`` touches no engine: it is what ``grid run --dry-run`` shows
and what ``grid run`` then deploys. Two variants that resolve to the same service (a value
that equals the profile's) are run once; the second is listed as a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sddd.compose.lint import Finding
from sddd.compose.merge import ComposeLoader
from sddd.compose.profiles import ResolvedProfile, load_profile
from sddd.core.atomic import atomic_write_text
from sddd.core.config import Config
from sddd.core.errors import ConfigError
from sddd.core.yamlio import load_yaml
from sddd.deploy.report import Plan
from sddd.deploy.target import target
from sddd.grid.spec import GridSpec, Special
from sddd.grid.variants import Variant, expand, override_data, render_override

# Variants are Compose override files, run in a Compose project of the grid's own: the grid
# deploys through the compose target (sddd.deploy.target), as `sddd deploy` does.
TARGET = "compose"


@dataclass
class VariantPlan:
    variant: Variant
    override: Path
    text: str  # the override file's content
    deploy: Plan

    @property
    def config_hash(self) -> str:
        return self.deploy.service.config_hash

    @property
    def errors(self) -> list[Finding]:
        return self.deploy.errors

    def flags(self) -> dict[str, str | None]:
        return dict(self.deploy.service.vllm)

    def to_json(self, config: Config) -> dict[str, Any]:
        return {**self.variant.to_json(), "config_hash": self.config_hash,
                "override": config.relpath(self.override), "override_text": self.text,
                "vllm_args": self.flags(), "command": " ".join(self.deploy.command),
                "findings": [f.to_json() for f in self.deploy.findings]}


@dataclass
class GridPlan:
    spec: GridSpec
    base: ResolvedProfile  # the profile as it is, without any override
    project: str
    env_file: Path | None
    variants: list[VariantPlan]
    duplicates: list[tuple[Variant, Variant]] = field(default_factory=list)  # (dropped, same as)

    @property
    def bench_key(self) -> str:
        """What a result was measured with: a changed scenario size means measuring again."""
        text = json.dumps(self.spec.bench_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def profile_hash(self) -> str:
        return self.base.service.config_hash


def raw_command(config: Config, files: list[str], service: str) -> Any:
    """The service's ``command`` as the last file that sets it writes it (uninterpolated: the
    override keeps ``${VAR}`` for Compose, so no secret is ever written out)."""
    for rel in reversed(files):
        data = load_yaml(config.resolve(rel), rel, loader=ComposeLoader).data
        services = data.get("services") if isinstance(data, dict) else None
        spec = services.get(service) if isinstance(services, dict) else None
        if isinstance(spec, dict) and "command" in spec:
            return spec["command"]
    return None


def _check_removed(spec: GridSpec, variant: Variant, plan: Plan) -> None:
    """An ``absent`` that Compose cannot apply is the grid file's error, not a silent no-op."""
    for name, value in variant.settings.items():
        axis = spec.axis(name)
        if value is not Special.ABSENT or axis.kind == "flag":
            continue
        node: Any = {"environment": plan.service.environment} if axis.kind == "env" else plan.service.spec
        for part in (["environment", axis.target] if axis.kind == "env" else axis.target.split(".")):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            raise ConfigError(
                f"axes.{name}: Compose cannot remove {axis.target} with an override here: the "
                "profile writes environment: as a list or in more than one file (compose-go then "
                "ignores !reset); write it as a mapping in one file", path=spec.rel, line=axis.line)


def plan_grid(config: Config, spec: GridSpec, folder: Path, env_file: Path | None = None,
              placeholders: bool = False) -> GridPlan:
    """``placeholders``: unset variables shown as ``${NAME}`` (a dry run or a report starts nothing)."""
    env = env_file or spec.env_file
    base = load_profile(config, spec.profile, env, strict=True, placeholders=placeholders)
    svc = base.service
    project = spec.project or f"{base.project}-grid"
    command = raw_command(config, base.files, svc.name)
    plans: list[VariantPlan] = []
    duplicates: list[tuple[Variant, Variant]] = []
    by_hash: dict[str, Variant] = {}
    for variant in expand(spec):
        data = override_data(spec, variant, svc.name, command, project, bool(svc.container_name))
        text = render_override(spec, variant, data)
        path = folder / f"{variant.slug}.yml"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            atomic_write_text(path, text)
        deploy_plan = target(TARGET).plan(config, spec.profile, env, overrides=[path],
                                          placeholders=placeholders).plan
        _check_removed(spec, variant, deploy_plan)
        same = by_hash.get(deploy_plan.service.config_hash)
        if same is not None:
            duplicates.append((variant, same))
            continue
        by_hash[deploy_plan.service.config_hash] = variant
        variant.index = len(plans) + 1
        plans.append(VariantPlan(variant, path, text, deploy_plan))
    keep = {p.override.name for p in plans}
    for stale in folder.glob("*.yml"):
        if stale.name not in keep:
            stale.unlink()
    return GridPlan(spec, base, project, env, plans, duplicates)
