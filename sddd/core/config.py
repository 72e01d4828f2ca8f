"""sddd.yaml -> Config.

The file is found by walking up from the working directory, as git finds ``.git``;
``--config PATH`` overrides. With none found, the repository root is the top of the git work
tree around the working directory (or the working directory itself outside git), every key
takes its default, and ``Config.discovery`` says so in one sentence for the CLI to show.
Every key is optional; its default is declared once, in ``sddd.core.schema``. Unknown keys
and wrong types are errors that name the file, the line of the offending key (nested keys
included) and the key.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sddd.core import options as opt
from sddd.core.errors import ConfigError, InputError
from sddd.core.schema import DEFAULT_MIN_SCORE, SCHEMA, SECTIONS
from sddd.core.yamlio import DEFAULT_LIMITS, YamlDoc, YamlLimits, load_yaml, use_limits

CONFIG_NAME = "sddd.yaml"


def _default(key: str) -> Callable[[], Any]:
    """A dataclass default factory reading the schema, so the default lives in one place."""
    return lambda: copy.deepcopy(SCHEMA[key].default)


@dataclass
class Config:
    root: Path
    path: Path | None = None
    docs: list[str] = field(default_factory=_default("docs"))
    profiles: list[str] = field(default_factory=_default("profiles"))
    archives: str = field(default_factory=_default("archives"))
    index: str = field(default_factory=_default("index"))
    model: list[str] = field(default_factory=_default("model"))  # one or more, fused
    device: str = field(default_factory=_default("device"))  # where `sddd index` embeds
    canonical_profile: str = field(default_factory=_default("canonical_profile"))
    base_profile: str = field(default_factory=_default("base_profile"))
    # None until resolved: the default threshold depends on the model (see __post_init__).
    min_score: float = field(default_factory=_default("min_score"))
    top_k: int = field(default_factory=_default("top_k"))
    targets: list[Any] = field(default_factory=_default("targets"))
    # The validated nested sections (archive, drift, audit); see section().
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    doc: YamlDoc | None = None
    # Set when no sddd.yaml was found: how the root was chosen, for the CLI to say on stderr.
    discovery: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.model, str):  # `model: NAME` and callers setting one name
            self.model = [self.model]
        if self.min_score is None:
            self.min_score = DEFAULT_MIN_SCORE

    def section(self, name: str) -> dict[str, Any]:
        """The validated values of a nested section, every default filled in."""
        if name not in SECTIONS:
            raise KeyError(f"sddd.yaml has no section {name!r}")
        if name not in self.sections:
            self.sections[name] = SCHEMA[name].validate(None)
        return self.sections[name]

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


def find_git_root(start: Path) -> Path | None:
    """The top folder of the git work tree holding ``start`` (a ``.git`` folder or file), or None."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _defaults(start: Path) -> Config:
    """The config of a repository without sddd.yaml: every default, rooted as git would be."""
    git_root = find_git_root(start)
    root = git_root or start
    how = "the top of its git work tree" if git_root else "the current folder (not in a git work tree)"
    return Config(root=root, path=None, discovery=(
        f"no {CONFIG_NAME} in {start} or any folder above it: using the defaults, with {how} "
        f"{root} as the repository root (create {root / CONFIG_NAME} to configure sddd)"))


def load_config(path: Path | str | None = None, *, start: Path | None = None) -> Config:
    """Load ``path`` (or the sddd.yaml found from ``start``); defaults when there is none."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError("config file not found; pass an existing sddd.yaml", path=str(path))
    else:
        path = find_config(start)
    use_limits(DEFAULT_LIMITS)  # sddd.yaml itself is read under the defaults
    if path is None:
        return _defaults((start or Path.cwd()).resolve())
    path = path.resolve()
    try:
        doc = load_yaml(path)
    except InputError as exc:
        # Its own limits cannot apply to reading it: it is read under the defaults.
        over = "(limits." in exc.message
        extra = "; sddd.yaml itself is always read under the default limits" if over else ""
        raise ConfigError(exc.message + extra, path=exc.path, line=exc.line) from None
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError("the config must be a mapping of keys to values", path=str(path), line=1)
    values = _validate(data, doc, path)
    sections = {k: v for k, v in values.items() if k in SECTIONS}
    direct = {k: v for k, v in values.items() if k not in SECTIONS}
    use_limits(YamlLimits.of(sections.get("limits") or SCHEMA["limits"].validate(None)))
    config = Config(root=path.parent, path=path, sections=sections, doc=doc, **direct)
    for key in PLACES:
        _check_place(config, key)
    return config


# Folders sddd writes into and deletes from: set to the wrong place, `archives: .git` moved files
# into git's own folder and `index: /` wrote a lock file at the root of the machine.
PLACES = ("index", "archives")


def _check_place(config: Config, key: str) -> None:
    root = config.root.resolve()
    place = config.resolve(getattr(config, key)).resolve()  # links followed: where writes land
    git = root / ".git"
    if place == root or root not in place.parents:
        why = "the repository itself" if place == root else "outside the repository"
        raise ConfigError(f"{key}: {getattr(config, key)!r} is {why} ({root}); sddd writes and "
                          f"deletes there: name a folder inside it, e.g. {SCHEMA[key].default}",
                          path=str(config.path), line=config.line_of(key))
    if place == git or git in place.parents:
        raise ConfigError(f"{key}: {getattr(config, key)!r} is inside .git/, git's own folder; name a "
                          f"folder of the work tree, e.g. {SCHEMA[key].default}",
                          path=str(config.path), line=config.line_of(key))


def _validate(data: dict[str, Any], doc: YamlDoc, path: Path) -> dict[str, Any]:
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
            # The line of the offending key itself (archive.retention_months), not its section's.
            raise ConfigError(f"{key}: {exc}", path=str(path), line=doc.line_of(key, *exc.keys)) from None
    return values
