"""sddd.yaml -> Config.

The file is found by walking up from the working directory, as git finds ``.git``;
``--config PATH`` overrides. Every key is optional. Unknown keys and wrong types are
errors that name the file, the line and the key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sddd import config_options as opt
from sddd.embedder import MULTILINGUAL_NAMES
from sddd.errors import ConfigError, InputError
from sddd.yamlio import YamlDoc, load_yaml

CONFIG_NAME = "sddd.yaml"
DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_MIN_SCORE = 0.5
# Cosines are not comparable across models: the multilingual model scores relevant sections
# lower (this repository's targets: median 0.43, against 0.62 with MiniLM), so its default
# threshold sits at the same place in its own distribution (0.5 / 0.62 * 0.43).
MULTILINGUAL_MIN_SCORE = 0.35


def default_min_score(model: str) -> float:
    """The default target threshold for ``model`` when sddd.yaml sets no ``min_score``."""
    return MULTILINGUAL_MIN_SCORE if model.lower() in MULTILINGUAL_NAMES else DEFAULT_MIN_SCORE

# The schema: one typed option per key. Other modules add their sections here.
SCHEMA: dict[str, opt.Option] = {
    "docs": opt.StrList(default=["docs/**/*.md"], help="globs of Markdown documents"),
    "profiles": opt.StrList(default=["profiles/*.yml"], help="globs of compose profiles"),
    "archives": opt.Str(default="archives", help="root of the dated archive folders"),
    "index": opt.Str(default=".sddd", help="where the index lives (git-ignored)"),
    "model": opt.Str(default=DEFAULT_MODEL, help="embedding model: bundled name, path or hub name"),
    "canonical_profile": opt.Str(default="medium", help="profile deployed by default"),
    "base_profile": opt.Str(default="profiles/base.yml", help="compose file every profile extends"),
    "min_score": opt.Number(default=None, minimum=-1.0, maximum=1.0,
                            help="default target cosine (unset: 0.5, or 0.35 for use-multilingual-v3)"),
    "top_k": opt.Number(default=5, minimum=1, integer=True, help="default target rank"),
    "targets": opt.ListOf(default=[], help="discoverability targets (see `sddd check`)"),
    "archive": opt.Mapping(schema={
        "retention_months": opt.Number(default=6, minimum=0, maximum=120, integer=True,
                                       help="months an archive is kept before its review date"),
        "category": opt.Str(default="docker_configs", pattern=r"[A-Za-z0-9][A-Za-z0-9_-]*",
                            help="default folder prefix: archives/<category>_<YYYYMMDD>/"),
        "variant_markers": opt.StrList(
            default=["fixed", "new", "improved", "optimized", "memory-optimized", "original-parser",
                     "old", "bak", "backup", "orig", "copy"],
            help="name segments that mark a superseded copy (docker-compose-medium-fixed.yml)"),
        "near_duplicate": opt.Number(default=0.6, minimum=0.0, maximum=1.0,
                                     help="share of identical settings that makes a near-duplicate"),
    }, help="`sddd archive`: retention, folder naming, variant detection"),
    "drift": opt.Mapping(schema={
        "fail_on": opt.Str(default="error", choices=("error", "warning", "info"),
                           help="lowest severity that makes `sddd drift` exit 1"),
        "severity": opt.Mapping(schema={
            name: opt.Str(default=None, choices=("error", "warning", "info"), help=f"level of {name}")
            for name in ("value_mismatch", "unknown_flag", "unknown_flag_not_in_profile",
                         "unknown_model", "undocumented", "stale_reference")
        }, help="severity per finding type (unset: the built-in default)"),
        "known_models": opt.StrList(default=[], help="model ids that exist, besides sddd's list"),
        "known_flags": opt.StrList(default=[], help="vLLM flags your version has, besides sddd's list"),
    }, help="`sddd drift`: docs that contradict the profiles"),
    "audit": opt.Mapping(schema={
        "fail_on": opt.Str(default="error", choices=("error", "warning", "info"),
                           help="lowest severity that makes `sddd audit` exit 1"),
        "max_compose_outside_profiles": opt.Number(default=None, minimum=0, integer=True,
                                                   help="compose files allowed outside the profiles"),
        "max_scripts": opt.Number(default=None, minimum=0, integer=True, help="scripts allowed"),
        "scripts": opt.StrList(default=["**/*.sh", "**/*.ps1", "**/*.bat", "**/*.cmd"],
                               help="globs of the files that count as scripts"),
        "max_docs": opt.Mapping(schema={
            kind: opt.Number(default=None, minimum=0, integer=True, help=f"{kind} documents allowed")
            for kind in ("guide", "report", "total")
        }, help="documents allowed per kind"),
        "profile_name": opt.Str(default=r"[a-z0-9]+", help="regex a profile's name must match"),
        "service_name": opt.Str(default="vllm-{size}", help="name of the service in profiles/{size}.yml"),
        "env_example": opt.Str(default=".env.example", help="the template of the env file"),
        "secrets_allow": opt.StrList(default=[], help="globs of tracked files with allowed fake secrets"),
        "severity": opt.Mapping(schema={
            name: opt.Str(default=None, choices=("error", "warning", "info"), help=f"level of {name}")
            for name in ("budget", "naming", "variant", "env_tracked", "secret", "env_missing",
                         "env_unused")
        }, help="severity per audit rule (lint rules keep their own)"),
    }, help="`sddd audit`: entropy budget, naming, secret hygiene, compose lint"),
}


@dataclass
class Config:
    root: Path
    path: Path | None
    docs: list[str] = field(default_factory=lambda: ["docs/**/*.md"])
    profiles: list[str] = field(default_factory=lambda: ["profiles/*.yml"])
    archives: str = "archives"
    index: str = ".sddd"
    model: str = DEFAULT_MODEL
    canonical_profile: str = "medium"
    base_profile: str = "profiles/base.yml"
    min_score: float = DEFAULT_MIN_SCORE
    top_k: int = 5
    targets: list[Any] = field(default_factory=list)
    # Sections validated by other modules, kept as plain data with their line numbers.
    extra: dict[str, Any] = field(default_factory=dict)
    doc: YamlDoc | None = None

    @property
    def index_dir(self) -> Path:
        return self.resolve(self.index)

    @property
    def archives_dir(self) -> Path:
        return self.resolve(self.archives)

    def resolve(self, relative: str) -> Path:
        path = Path(relative)
        return path if path.is_absolute() else self.root / path

    def relpath(self, path: Path) -> str:
        """``path`` relative to the repository root, with forward slashes."""
        try:
            return Path(os.path.relpath(path, self.root)).as_posix()
        except ValueError:
            return Path(path).as_posix()

    def line_of(self, *keys: str | int) -> int | None:
        return self.doc.line_of(*keys) if self.doc else None


def find_config(start: Path | None = None) -> Path | None:
    """The nearest sddd.yaml in ``start`` or a parent folder, or None."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | str | None = None, *, start: Path | None = None) -> Config:
    """Load ``path`` (or the sddd.yaml found from ``start``); defaults when there is none."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError("config file not found; pass an existing sddd.yaml", path=str(path))
    else:
        path = find_config(start)
    if path is None:
        return Config(root=(start or Path.cwd()).resolve(), path=None)
    path = path.resolve()
    try:
        doc = load_yaml(path)
    except InputError as exc:
        raise ConfigError(exc.message, path=exc.path, line=exc.line) from None
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError("the config must be a mapping of keys to values", path=str(path), line=1)
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in SCHEMA:
            known = ", ".join(sorted(SCHEMA))
            raise ConfigError(
                f"unknown key {key!r}; known keys: {known}", path=str(path), line=doc.line_of(key)
            )
        if value is None:
            continue
        try:
            values[key] = SCHEMA[key].validate(value)
        except opt.OptionError as exc:
            raise ConfigError(f"{key}: {exc}", path=str(path), line=doc.line_of(key)) from None
    known_fields = set(Config.__dataclass_fields__)
    direct = {k: v for k, v in values.items() if k in known_fields}
    direct.setdefault("min_score", default_min_score(direct.get("model", DEFAULT_MODEL)))
    extra = {k: v for k, v in values.items() if k not in known_fields}
    for key, option in SCHEMA.items():
        if key not in known_fields and key not in extra:
            extra[key] = option.validate(None) if isinstance(option, opt.Mapping) else option.default
    return Config(root=path.parent, path=path, extra=extra, doc=doc, **direct)
