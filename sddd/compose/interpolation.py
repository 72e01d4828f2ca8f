"""Compose-style variable interpolation and ``.env`` files, as Docker Compose v2 reads them.

Supported, as in the Compose specification: ``$$`` (a literal ``$``), ``$VAR``, ``${VAR}``,
``${VAR:-default}`` (unset or empty), ``${VAR-default}`` (unset), ``${VAR:?message}`` /
``${VAR?message}`` (required), ``${VAR:+alt}`` / ``${VAR+alt}``; defaults may nest
(``${A:-${B}}``). Keys are not interpolated, only string values.

Unlike Compose, which warns and substitutes a blank string, an unset ``${VAR}`` is recorded
as *missing*; the caller decides whether that is an error (deploy) or a blank (drift, site).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sddd.core.errors import InputError
from sddd.core.yamlio import KeyPath, read_text

NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")
BRACED = re.compile(r"([_A-Za-z][_A-Za-z0-9]*)(?:(:?[-+?])(.*))?", re.DOTALL)


@dataclass
class Missing:
    name: str
    path: str
    line: int | None
    message: str = ""  # from ${VAR:?message}


@dataclass
class Interpolator:
    """Substitutes variables from ``env``; collects what is missing instead of failing at once."""

    env: Mapping[str, str]
    missing: dict[str, Missing] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    # A dry run shows an unset variable as ``${NAME}`` rather than the blank Compose would use.
    placeholders: bool = False

    def text(self, value: str, path: str, line: int | None) -> str:
        out: list[str] = []
        i = 0
        while i < len(value):
            char = value[i]
            if char != "$":
                out.append(char)
                i += 1
                continue
            nxt = value[i + 1] if i + 1 < len(value) else ""
            if nxt == "$":
                out.append("$")
                i += 2
            elif nxt == "{":
                end = _closing_brace(value, i + 2)
                if end < 0:
                    raise InputError(f"unclosed '${{' in {value!r}; close it with '}}' or write $$ "
                                     "for a literal $", path=path, line=line)
                out.append(self._braced(value[i + 2 : end], value, path, line))
                i = end + 1
            else:
                match = NAME.match(value, i + 1)
                if not match:  # a lone "$" stays itself, as Compose keeps it
                    out.append("$")
                    i += 1
                    continue
                out.append(self._lookup(match.group(0), path, line))
                i = match.end()
        return "".join(out)

    def _lookup(self, name: str, path: str, line: int | None) -> str:
        self.used.add(name)
        if name in self.env:
            return self.env[name]
        self.missing.setdefault(name, Missing(name, path, line))
        return f"${{{name}}}" if self.placeholders else ""

    def _braced(self, body: str, whole: str, path: str, line: int | None) -> str:
        match = BRACED.fullmatch(body)
        if not match:
            raise InputError(f"invalid interpolation '${{{body}}}' in {whole!r}; use ${{NAME}}, "
                             "${NAME:-default} or ${NAME:?message}", path=path, line=line)
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if op is None:
            return self._lookup(name, path, line)
        self.used.add(name)
        is_set = name in self.env
        value = self.env.get(name, "")
        present = is_set and (value != "" or not op.startswith(":"))
        if op in (":-", "-"):
            return value if present else self.text(arg, path, line)
        if op in (":+", "+"):
            return self.text(arg, path, line) if present else ""
        # ":?" / "?": required
        if not present:
            self.missing.setdefault(name, Missing(name, path, line, arg.strip()))
            return f"${{{name}}}" if self.placeholders else value
        return value

    def data(self, node: Any, path: str, lines: Mapping[KeyPath, int], key_path: KeyPath = ()) -> Any:
        """``node`` with every string value interpolated (keys are left alone, as Compose does)."""
        if isinstance(node, dict):
            return {k: self.data(v, path, lines, (*key_path, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [self.data(v, path, lines, (*key_path, i)) for i, v in enumerate(node)]
        if isinstance(node, str) and "$" in node:
            return self.text(node, path, _line(lines, key_path))
        return node


def _line(lines: Mapping[KeyPath, int], key_path: KeyPath) -> int | None:
    while key_path:
        if key_path in lines:
            return lines[key_path]
        key_path = key_path[:-1]
    return None


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$$"}  # \$ stays a literal $


def parse_env_file(path: Path, display: str | None = None,
                   environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Read a ``.env`` file as Compose does: ``KEY=value``, ``export KEY=value``, ``#`` comments,
    'single' (literal) and "double" (escapes, interpolation) quotes; unquoted values end at `` #``.
    Values may use variables defined above them or in the environment."""
    shown = display or str(path)
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for number, raw in enumerate(read_text(path, shown).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, rest = line.partition("=")
        key = key.strip()
        if not NAME.fullmatch(key):
            raise InputError(f"not a KEY=value line ({key[:40]!r} is not a variable name); "
                             "fix or comment it out with #", path=shown, line=number)
        if not sep:
            if key in environ:
                values[key] = environ[key]
            continue
        rest = rest.strip()
        scope = {**values, **{k: v for k, v in environ.items() if k not in values}}
        interp = Interpolator(scope)
        if rest.startswith("'"):
            end = rest.find("'", 1)
            if end < 0:
                raise InputError(f"unclosed single quote in the value of {key}", path=shown, line=number)
            values[key] = rest[1:end]
        elif rest.startswith('"'):
            out, i = [], 1
            while i < len(rest) and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < len(rest):
                    out.append(_ESCAPES.get(rest[i + 1], "\\" + rest[i + 1]))
                    i += 2
                    continue
                out.append(rest[i])
                i += 1
            if i >= len(rest):
                raise InputError(f"unclosed double quote in the value of {key}", path=shown, line=number)
            values[key] = interp.text("".join(out), shown, number)
        else:
            value = re.split(r"\s#", rest, maxsplit=1)[0].strip()
            values[key] = interp.text(value, shown, number)
    return values


def environment(env_file: Path | None, display: str | None = None) -> dict[str, str]:
    """The interpolation environment: the env file, overridden by the process environment
    (Compose gives the shell precedence over ``.env``)."""
    values = parse_env_file(env_file, display) if env_file is not None else {}
    values.update(os.environ)
    return values
