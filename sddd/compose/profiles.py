"""Compose profiles: base + size file, merged and interpolated exactly as Docker Compose v2 does.

API (shared by deploy, drift, audit, the site, validate/bench)::

    from sddd.compose.profiles import load_profile, load_all_profiles, profile_names

    profile = load_profile(config, "medium")                  # files: [base_profile, profiles/medium.yml]
    profile = load_profile(config, "medium", env_file=Path(".env"))
    profile = load_profile(config, "medium", strict=False)    # missing ${VAR} -> "" (as Compose)
    profile = load_profile(config, "medium", overrides=[Path(".sddd/grid/x/overrides/v1.yml")])
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

A service is a ``sddd.compose.service.ResolvedService``; lint rules over it live in
``sddd.compose.lint`` (``lint_service(svc) -> [Finding]``).

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

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sddd.compose.interpolation import Interpolator, environment
from sddd.compose.merge import ComposeLoader, merge_files
from sddd.compose.service import ResolvedService, Source, resolve_service
from sddd.core.config import Config
from sddd.core.errors import ConfigError, InputError, UsageError
from sddd.core.files import glob_files
from sddd.core.yamlio import KeyPath, load_yaml

UNSUPPORTED = ("extends", "include")


@dataclass
class ResolvedProfile:
    name: str
    files: list[str]
    project: str
    services: list[ResolvedService]
    env_file: str | None
    variables: list[str]  # names interpolated
    missing: list[str]  # unset names (only when strict=False)
    # The merged top-level keys besides services and name (volumes, networks, secrets, configs),
    # interpolated: what a stack file or a manifest must declare beside the service.
    top: dict[str, Any] = field(default_factory=dict)

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
    close = difflib.get_close_matches(name, list(files), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(f"unknown profile {name!r}; known profiles: {known}{hint}")


# --- loading -----------------------------------------------------------------------------------

def load_profile(config: Config, name: str | None = None, env_file: Path | str | None = None,
                 *, strict: bool = True, overrides: Sequence[Path] = (),
                 placeholders: bool = False) -> ResolvedProfile:
    """Resolve profile ``name`` (default: the canonical profile) over the base file, then any
    ``overrides`` (more compose files, last wins, as ``docker compose -f ... -f ...``).
    ``placeholders``: an unset variable is no error but shows as ``${NAME}`` (dry runs, which
    start nothing and need no secret); ``missing`` lists them."""
    name = name or config.canonical_profile
    name, path = _find(config, name)
    paths = [base_path(config), path, *overrides]
    env_path = _env_path(config, env_file)
    env = environment(env_path, config.relpath(env_path) if env_path else None)
    interp = Interpolator(env, placeholders=placeholders)
    docs, raws, shown = [], [], []
    declared: dict[str, list[str]] = {}  # service -> the files that name it
    sources: dict[KeyPath, Source] = {}
    for file in paths:
        rel = config.relpath(file)
        shown.append(rel)
        doc = load_yaml(file, rel, loader=ComposeLoader)
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
        raws.append(data)
        for svc_name in data.get("services") or {}:
            declared.setdefault(str(svc_name), []).append(rel)
        for key_path, line in doc.lines.items():
            sources[key_path] = Source(rel, line)
        sources.setdefault((), Source(rel, 1))
    if interp.missing and strict and not placeholders:
        raise missing_error(interp, config.relpath(env_path) if env_path else None)
    merged = merge_files(docs)
    raw = merge_files(raws).get("services") or {}  # as written: ${VAR} left in (lint reads it)
    project = str(merged.get("name") or _project_from_dir(paths[0].parent))
    services = [
        resolve_service(name, shown, project, svc_name, spec or {}, sources,
                        declared_in=declared.get(svc_name), raw=raw.get(svc_name) or {})
        for svc_name, spec in (merged.get("services") or {}).items()
    ]
    if not services:
        raise InputError("the profile defines no service", path=shown[-1], line=1)
    return ResolvedProfile(name=name, files=shown, project=project, services=services,
                           env_file=config.relpath(env_path) if env_path else None,
                           variables=sorted(interp.used), missing=sorted(interp.missing),
                           top={k: v for k, v in merged.items() if k not in ("services", "name")})


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
