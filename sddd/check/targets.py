"""Discoverability targets: a query a person would type and the document that must answer it.

Targets come from ``targets:`` in sddd.yaml or from a separate YAML file (``--targets``),
either a list of targets or a mapping with a ``targets:`` key. Each entry::

    - id: ports-medium                # optional, unique; defaults to a slug of the query
      query: "which port does the medium server listen on"
      expect: docs/guides/deployment.md#ports   # or a list; a hit is any of them
      min_score: 0.55                 # optional 0-1 score floor (default: sddd.yaml min_score)
      top_k: 3                        # optional document rank to reach (default: sddd.yaml top_k)
      tags: [deploy]                  # optional, for `sddd check --tag`

Every error names the file and the line of the offending key. ``resolve_expected`` then
checks every expected path (and anchor) against the files, before any model is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sddd.core import options as opt
from sddd.core.config import Config
from sddd.core.errors import ConfigError, InputError, UsageError
from sddd.core.schema import SCHEMA
from sddd.core.secrets import redact
from sddd.core.yamlio import YamlDoc, load_yaml, parse_yaml, read_text


def _declared(name: str) -> opt.Number:
    option = SCHEMA[name]
    assert isinstance(option, opt.Number)
    return option


# One target's keys, each a typed option of sddd.core.options (the machinery of sddd.yaml). Its
# min_score and top_k are sddd.yaml's own options, per target: type and range declared once.
TARGET: dict[str, opt.Option] = {
    "id": opt.Option(help="unique; defaults to a slug of the query"),
    "query": opt.Str(help="the words a person would type"),
    "expect": opt.Option(help="the document (or path#anchor) that must answer, or a list of them"),
    "min_score": _declared("min_score"),
    "top_k": _declared("top_k"),
    "tags": opt.StrList(default=[], help="for `sddd check --tag`"),
}
KEYS = tuple(TARGET)

# Where a person learns to write targets: the page of sddd's own manual (in the site `sddd site
# build` makes, and in the index with `manual: true`), not a file of any one repository.
WRITING_TARGETS = ("sddd's manual, manual/how-to/write-targets.md; "
                   "`sddd search --kind manual \"write a target\"` finds it")


@dataclass(frozen=True)
class Expected:
    """One acceptable answer: a document, or one heading (section) of it."""

    path: str
    anchor: str | None = None
    line: int = 1  # line of the anchored heading in the file (1 for a whole document)

    def __str__(self) -> str:
        return f"{self.path}#{self.anchor}" if self.anchor else self.path

    def matches(self, path: str, anchor: str | None) -> bool:
        return path == self.path and (self.anchor is None or anchor == self.anchor)


@dataclass
class Target:
    id: str
    query: str
    expect: list[Expected]
    min_score: float
    top_k: int
    tags: list[str] = field(default_factory=list)
    source: str = ""  # the file the target was written in
    line: int | None = None  # line of the target in that file

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "query": self.query, "expect": [str(e) for e in self.expect],
                "min_score": self.min_score, "top_k": self.top_k, "tags": self.tags,
                "source": {"file": self.source, "line": self.line}}


def slug(text: str, limit: int = 48) -> str:
    words = re.findall(r"\w+", text.lower())
    out = "-".join(words)[:limit].rstrip("-")
    return out or "target"


class _Where:
    """Names the file and line of any key of the targets list, for error messages."""

    def __init__(self, source: str, doc: YamlDoc | None, prefix: tuple[str | int, ...]):
        self.source, self.doc, self.prefix = source, doc, prefix

    def line(self, *keys: str | int) -> int | None:
        return self.doc.line_of(*self.prefix, *keys) if self.doc else None

    def error(self, message: str, *keys: str | int) -> ConfigError:
        return ConfigError(message, path=self.source, line=self.line(*keys))


def _field(entry: dict[str, Any], name: str, default: Any, where: _Where, index: int) -> Any:
    """``entry[name]`` (or ``default``) checked by its option; a bad one is one line saying what
    the key must be, at its line."""
    option, value = TARGET[name], entry.get(name, default)
    try:
        return option.validate(value)
    except opt.OptionError:
        if isinstance(option, opt.Number):
            what = f"{name} must be {option.expected()}; got {value!r}"
        elif name == "query":
            what = "query is required (the words a person would type)"
        else:
            what = f"{name} must be a list of words"
        raise where.error(f"target {index + 1}: {what}", index, name) from None


def _expected(value: Any, where: _Where, index: int) -> list[Expected]:
    items = value if isinstance(value, list) else [value]
    out: list[Expected] = []
    for position, item in enumerate(items):
        keys: tuple[str | int, ...] = (index, "expect", position) if isinstance(value, list) else (
            index, "expect")
        if not isinstance(item, str) or not item.strip():
            raise where.error(
                f"target {index + 1}: expect must be a path (or path#anchor) or a list of them; "
                f"got {item!r}", *keys)
        path, _, anchor = item.strip().partition("#")
        path = path.removeprefix("./")
        if not path or (item.count("#") and not anchor):
            raise where.error(f"target {index + 1}: expect {item!r} is not a path or path#anchor",
                              *keys)
        out.append(Expected(path, anchor or None))
    if not out:
        raise where.error(f"target {index + 1}: expect is empty; name the document that must answer",
                          index, "expect")
    return out


def parse_targets(entries: Any, config: Config, where: _Where) -> list[Target]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise where.error("targets must be a list of {query, expect, ...} mappings")
    targets: list[Target] = []
    ids: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise where.error(f"target {index + 1} must be a mapping with query and expect", index)
        for key in entry:
            if key not in KEYS:
                raise where.error(f"target {index + 1}: unknown key {key!r}; known keys: "
                                  f"{', '.join(KEYS)}", index, key)
        query = _field(entry, "query", None, where, index)
        if "expect" not in entry:
            raise where.error(f"target {index + 1}: expect is required (the document that must answer)",
                              index)
        expect = _expected(entry["expect"], where, index)
        min_score = float(_field(entry, "min_score", config.min_score, where, index))
        top_k = int(_field(entry, "top_k", config.top_k, where, index))
        tags = _field(entry, "tags", [], where, index) if entry.get("tags") else []
        explicit = entry.get("id")
        if explicit is not None and (not isinstance(explicit, str | int) or not str(explicit).strip()):
            raise where.error(f"target {index + 1}: id must be a non-empty string", index, "id")
        # Searched redacted anyway; redacted here, so that the reports, and the id made from the
        # query, show no token that sddd.yaml holds.
        query = redact(query)
        target_id = redact(str(explicit).strip()) if explicit is not None else slug(query)
        if target_id in ids:
            if explicit is not None:
                raise where.error(f"target {index + 1}: id {target_id!r} is already used by target "
                                  f"{ids[target_id] + 1}; ids must be unique", index, "id")
            target_id = f"{target_id}-{index + 1}"
        ids[target_id] = index
        targets.append(Target(target_id, query.strip(), expect, min_score, top_k, list(tags),
                              where.source, where.line(index)))
    return targets


def load_targets(config: Config, targets_file: Path | str | None = None) -> list[Target]:
    """The targets of ``targets_file`` if given, else those of sddd.yaml."""
    if targets_file is None:
        source = config.relpath(config.path) if config.path else "sddd.yaml"
        return parse_targets(config.targets, config, _Where(source, config.doc, ("targets",)))
    path = Path(targets_file)
    shown = str(targets_file)
    if not path.is_file():
        raise UsageError("targets file not found; pass an existing YAML file to --targets", path=shown)
    try:
        doc = load_yaml(path, shown)
    except InputError as exc:
        raise ConfigError(exc.message, path=exc.path, line=exc.line) from None
    if isinstance(doc.data, dict):
        unknown = [k for k in doc.data if k != "targets"]
        if unknown:
            raise ConfigError(f"unknown key {unknown[0]!r}; a targets file holds a list, or `targets:`",
                              path=shown, line=doc.line_of(unknown[0]))
        return parse_targets(doc.data.get("targets"), config, _Where(shown, doc, ("targets",)))
    if doc.data is None:
        return []
    return parse_targets(doc.data, config, _Where(shown, doc, ()))


def select(targets: list[Target], tags: list[str]) -> list[Target]:
    """Targets carrying any of ``tags`` (all of them when no tag is given)."""
    if not tags:
        return targets
    chosen = [t for t in targets if set(t.tags) & set(tags)]
    if not chosen:
        known = sorted({tag for t in targets for tag in t.tags})
        raise UsageError(f"no target has tag {', '.join(tags)}; known tags: "
                         f"{', '.join(known) or 'none'}")
    return chosen


def anchors_of(config: Config, rel: str) -> dict[str, int]:
    """The anchors a file offers (heading ids in Markdown, service names in compose), with lines."""
    from sddd.index.markdown_chunks import parse_markdown  # the markdown library: only here

    path = config.resolve(rel)
    text = read_text(path, rel)
    if rel.endswith(".md"):
        doc = parse_markdown(text, rel)
        return {s.anchor: s.line for s in doc.sections if s.anchor}
    data = parse_yaml(text, rel)
    services = data.data.get("services") if isinstance(data.data, dict) else None
    if not isinstance(services, dict):
        return {}
    return {str(name): data.line_of("services", name) or 1 for name in services}


def resolve_expected(config: Config, targets: list[Target], indexed: dict[str, str | None]) -> list[Target]:
    """Check every expected path and anchor; fill in each anchor's line. Errors name the target.

    ``indexed`` maps each indexed file to None, or to the reason it could not be indexed.
    """
    anchor_cache: dict[str, dict[str, int]] = {}
    for target in targets:
        where = f"{target.source}:{target.line}" if target.line else target.source
        resolved: list[Expected] = []
        for expected in target.expect:
            path = config.resolve(expected.path)
            if not path.is_file():
                raise UsageError(f"{where}: target {target.id!r} expects {expected.path}, which does "
                                 "not exist; fix the path")
            if expected.path not in indexed:
                raise UsageError(f"{where}: target {target.id!r} expects {expected.path}, which the "
                                 "index does not cover; add it to the docs/profiles globs of sddd.yaml")
            if (skipped := indexed[expected.path]) is not None:
                reason = skipped.partition("\t")[2] or skipped
                raise UsageError(f"{where}: target {target.id!r} expects {expected.path}, which could "
                                 f"not be indexed ({reason}); fix the file")
            if expected.anchor is None:
                resolved.append(expected)
                continue
            if expected.path not in anchor_cache:
                try:
                    anchor_cache[expected.path] = anchors_of(config, expected.path)
                except InputError as exc:
                    raise UsageError(f"{where}: target {target.id!r} expects {expected}: "
                                     f"{exc}") from None
            anchors = anchor_cache[expected.path]
            if expected.anchor not in anchors:
                known = ", ".join(list(anchors)[:12]) or "none"
                raise UsageError(f"{where}: target {target.id!r} expects {expected}, but "
                                 f"{expected.path} has no heading #{expected.anchor}; its anchors: "
                                 f"{known}")
            resolved.append(Expected(expected.path, expected.anchor, anchors[expected.anchor]))
        target.expect = resolved
    return targets
