"""YAML loading that keeps line numbers, so every error can name ``file:line``.

``load_yaml`` returns the plain data and a map from key paths (tuples of keys and
list indexes) to 1-based line numbers, e.g. ``("services", "vllm-medium") -> 3``.
A key written twice in one mapping is an error naming both lines (PyYAML would silently
keep the last; Docker Compose refuses it too). ``read_text`` drops a UTF-8 byte-order mark.

Every document is bounded before any Python value is built from it (``limits:`` in sddd.yaml,
``YamlLimits``): its size, its nesting, and the number of values it holds once its aliases are
expanded. A 1.7 KB file of aliases of aliases (``&b [*a, *a, ...]`` seven levels deep) stands for
ten million values: every reader that walks it (line numbers, Compose merging, JSON) took
gigabytes, until the kernel killed it. Safe loaders elsewhere (Go's yaml.v3, SnakeYAML) refuse
such a document the same way.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sddd.core.errors import InputError
from sddd.core.schema import SCHEMA

KeyPath = tuple[str | int, ...]
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C when PyYAML was built with libyaml


@dataclass
class YamlDoc:
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, *keys: str | int) -> int | None:
        """Line of the deepest known prefix of ``keys`` (a key that is missing points at its parent)."""
        path: KeyPath = tuple(keys)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


@dataclass(frozen=True)
class YamlLimits:
    kb: int
    nodes: int
    depth: int

    @classmethod
    def of(cls, limits: dict[str, Any]) -> YamlLimits:
        """From the validated ``limits:`` section of sddd.yaml."""
        return cls(kb=limits["yaml_kb"], nodes=limits["yaml_nodes"], depth=limits["yaml_depth"])


DEFAULT_LIMITS = YamlLimits.of(SCHEMA["limits"].validate(None))
# The limits of the sddd.yaml in use: set once it is loaded (``use_limits``), so that every file
# read after it, by whichever module, is held to them. sddd.yaml itself is read under the defaults.
_active = [DEFAULT_LIMITS]


def use_limits(limits: YamlLimits) -> None:
    _active[0] = limits


def active_limits() -> YamlLimits:
    return _active[0]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _over(what: str, setting: str, node: yaml.Node, source: str, line_offset: int) -> InputError:
    return InputError(f"{what} (limits.{setting} in sddd.yaml); simplify the document or raise the limit",
                      path=source, line=node.start_mark.line + 1 + line_offset)


def check_size(root: yaml.Node, limits: YamlLimits, source: str, line_offset: int = 0) -> None:
    """Refuse a node graph whose expansion holds more than ``limits.nodes`` values or nests deeper
    than ``limits.depth``, or an alias inside its own anchor. Linear in the graph as written (each
    node is measured once, an alias reuses its anchor's measure), so a bomb costs nothing; and
    iterative, so deep nesting is no RecursionError."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()  # nodes being measured: meeting one again is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, measured_children = stack.pop()
        key = id(node)
        if measured_children:
            open_nodes.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(kid)] for kid in kids)
            depth[key] = 1 + max((depth[id(kid)] for kid in kids), default=0)
            if size[key] > limits.nodes:
                raise _over(f"aliases expand this document to more than {limits.nodes:,} values",
                            "yaml_nodes", node, source, line_offset)
            if depth[key] > limits.depth:
                raise _over(f"nested more than {limits.depth} levels deep", "yaml_depth", node, source,
                            line_offset)
        elif key not in size:
            if key in open_nodes:
                raise InputError("an alias refers to the node that holds it (a recursive alias); "
                                 "YAML data cannot contain itself", path=source,
                                 line=node.start_mark.line + 1 + line_offset)
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((kid, False) for kid in _children(node) if id(kid) not in size)


def _walk(node: yaml.Node, prefix: KeyPath, lines: dict[KeyPath, int], source: str,
          line_offset: int) -> None:
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            line = key_node.start_mark.line + 1
            if key in first_line and key != "<<":  # several merge keys are YAML's own business
                raise InputError(
                    f"duplicate key {key!r}, already at line {first_line[key] + line_offset}; YAML "
                    "would silently keep only this one: merge the two or delete one",
                    path=source, line=line + line_offset)
            first_line[key] = line
            path = (*prefix, key)
            lines[path] = line
            _walk(value_node, path, lines, source, line_offset)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, index)
            lines[path] = item.start_mark.line + 1
            _walk(item, path, lines, source, line_offset)


def parse_yaml(text: str, source: str, *, line_offset: int = 0,
               loader: type[yaml.SafeLoader] | None = None) -> YamlDoc:
    """Parse ``text``; a syntax error becomes an InputError naming ``source`` and the line.

    ``loader``: a SafeLoader subclass that knows more tags (Compose's ``!reset``)."""
    # One pass: the nodes (with their lines), then the data built from them; in libyaml's C
    # parser where PyYAML has it and no other loader is asked for. The pure-Python parser takes
    # ~10 times longer, and every command reads sddd.yaml before doing anything.
    limits = active_limits()
    if len(text) > limits.kb * 1024:
        raise InputError(f"larger than {limits.kb} KB, the largest YAML document sddd reads "
                         "(limits.yaml_kb in sddd.yaml)", path=source, line=line_offset or None)
    parser = (loader or _LOADER)(text)  # a SafeLoader (subclass): no arbitrary objects
    try:
        node = parser.get_single_node()
        if node is not None:  # measured before any value is built: merge keys expand in the building
            check_size(node, limits, source, line_offset)
        data = parser.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark else None
        problem = exc.problem or "malformed YAML"
        raise InputError(f"malformed YAML: {problem}; fix the syntax", path=source, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}", path=source) from None
    finally:
        parser.dispose()
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _walk(node, (), lines, source, line_offset)
        if line_offset:
            lines = {key: value + line_offset for key, value in lines.items()}
    return YamlDoc(data=data, lines=lines)


def read_text(path: Path, display: str | None = None) -> str:
    """Read a UTF-8 text file; binary or non-UTF-8 content is an InputError naming the file."""
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", path=shown) from None
    # A byte-order mark (Windows editors write one) is not text: left in, it would hide a
    # Markdown file's first heading and a YAML file's first key.
    raw = raw.removeprefix(codecs.BOM_UTF8)
    if b"\x00" in raw[:8192]:
        raise InputError("binary file, not text; skipped", path=shown)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8", path=shown, line=line
        ) from None


def load_yaml(path: Path, display: str | None = None,
              loader: type[yaml.SafeLoader] | None = None) -> YamlDoc:
    return parse_yaml(read_text(path, display), display or str(path), loader=loader)
