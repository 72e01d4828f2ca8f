"""YAML loading that keeps line numbers, so every error can name ``file:line``.

``load_yaml`` returns the plain data and a map from key paths (tuples of keys and
list indexes) to 1-based line numbers, e.g. ``("services", "vllm-medium") -> 3``.
A key written twice in one mapping is an error naming both lines (PyYAML would silently
keep the last; Docker Compose refuses it too). ``read_text`` drops a UTF-8 byte-order mark.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sddd.core.errors import InputError

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
    parser = (loader or _LOADER)(text)  # a SafeLoader (subclass): no arbitrary objects
    try:
        node = parser.get_single_node()
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
