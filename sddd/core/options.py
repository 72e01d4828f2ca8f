"""Typed options for sddd.yaml, each with its own validation and message (after mkdocs).

An option validates one value and returns it converted; on a bad value it raises
``OptionError`` with a message that the loader prefixes with the file, line and key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class OptionError(ValueError):
    """A value does not fit its option; the message says what is expected. ``keys`` is the path
    below the option to the value at fault (a nested key, a list index), for its line."""

    def __init__(self, message: str, keys: tuple[str | int, ...] = ()):
        super().__init__(message)
        self.keys = keys


def type_name(value: Any) -> str:
    """How a message names the type of ``value``: "a mapping", "a string", "empty"."""
    return {dict: "a mapping", list: "a list", str: "a string", bool: "true/false",
            int: "an integer", float: "a number", type(None): "empty"}.get(type(value), type(value).__name__)


@dataclass
class Option:
    default: Any = None
    help: str = ""

    def validate(self, value: Any) -> Any:
        return value


@dataclass
class Str(Option):
    choices: tuple[str, ...] = ()
    pattern: str = ""

    def validate(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise OptionError(f"expected a non-empty string, got {type_name(value)}")
        if self.choices and value not in self.choices:
            raise OptionError(f"expected one of {', '.join(self.choices)}; got {value!r}")
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise OptionError(f"{value!r} does not match the expected form {self.pattern}")
        return value


@dataclass
class StrList(Option):
    def validate(self, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise OptionError(f"expected a list of strings, got {type_name(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise OptionError(f"expected a list of strings, item {index + 1} is {type_name(item)}",
                                  (index,))
        return list(value)


@dataclass
class Number(Option):
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False

    def expected(self) -> str:
        """What a value must be, as a sentence ends: "an integer at least 1"."""
        kind = "an integer" if self.integer else "a number"
        if self.minimum is not None and self.maximum is not None:
            return f"{kind} between {self.minimum} and {self.maximum}"
        if self.minimum is not None:
            return f"{kind} at least {self.minimum}"
        return kind if self.maximum is None else f"{kind} at most {self.maximum}"

    def validate(self, value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise OptionError(f"expected a number, got {type_name(value)}")
        if self.integer and not isinstance(value, int):
            raise OptionError(f"expected an integer, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise OptionError(f"must be at least {self.minimum}, got {value}")
        if self.maximum is not None and value > self.maximum:
            raise OptionError(f"must be at most {self.maximum}, got {value}")
        return value


@dataclass
class Mapping(Option):
    """A nested group of options: unknown keys inside are errors too."""

    schema: dict[str, Option] | None = None

    def validate(self, value: Any) -> dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise OptionError(f"expected a mapping, got {type_name(value)}")
        schema = self.schema or {}
        out: dict[str, Any] = {}
        for key in value:
            if key not in schema:
                known = ", ".join(sorted(schema))
                raise OptionError(f"unknown key {key!r} (known keys: {known})", (key,))
        for key, option in schema.items():
            if key in value and value[key] is not None:
                try:
                    out[key] = option.validate(value[key])
                except OptionError as exc:
                    raise OptionError(f"{key}: {exc}", (key, *exc.keys)) from None
            else:  # a nested group left out still has its own defaults
                out[key] = option.validate(None) if isinstance(option, Mapping) else option.default
        return out


@dataclass
class LabelMap(Option):
    """Names (profiles) to labels: ``{medium: {sddd.gpus: "2"}}``. Label values are kept as
    strings, as node labels are (``2`` and ``"2"`` are the same label)."""

    def validate(self, value: Any) -> dict[str, dict[str, str]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise OptionError(f"expected a mapping of names to labels, got {type_name(value)}")
        out: dict[str, dict[str, str]] = {}
        for name, labels in value.items():
            if not isinstance(labels, dict):
                raise OptionError(f"{name}: expected a mapping of label: value, got {type_name(labels)}",
                                  (str(name),))
            for key, item in labels.items():
                if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9_./-]*[A-Za-z0-9])?", str(key)):
                    raise OptionError(f"{name}: {key!r} is not a label name (letters, digits, . _ - /)",
                                      (str(name), str(key)))
                if isinstance(item, dict | list) or item is None:
                    raise OptionError(f"{name}: label {key} needs a plain value, got {type_name(item)}",
                                      (str(name), str(key)))
            out[str(name)] = {str(k): str(v).lower() if isinstance(v, bool) else str(v)
                              for k, v in labels.items()}
        return out


@dataclass
class ListOf(Option):
    """A list whose items are checked by ``item`` (a callable returning the converted item)."""

    item: Callable[[Any], Any] | None = None

    def validate(self, value: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise OptionError(f"expected a list, got {type_name(value)}")
        if self.item is None:
            return list(value)
        out = []
        for index, entry in enumerate(value):
            try:
                out.append(self.item(entry))
            except OptionError as exc:
                raise OptionError(f"item {index + 1}: {exc}", (index, *exc.keys)) from None
        return out
