"""How a tool is declared: its parameters (which become its JSON schema), the function that
answers, and the checks every call's arguments go through before that function runs.

Arguments are checked here rather than left to the client: an agent sends what its model wrote,
and a wrong name or type deserves one line that says which argument, what it must be and what
was sent, not a validation dump. Unknown arguments are refused (``additionalProperties: false``),
so a misspelt ``path_glob`` is not silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sddd.core.errors import UsageError
from sddd.core.secrets import redact


@dataclass(frozen=True)
class Answer:
    """A tool's result: the same JSON as the CLI's ``--json``, and a short text form."""

    data: dict[str, Any]
    text: str


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict[str, Any]
    required: bool = False


def string(name: str, description: str, *, required: bool = False, max_length: int | None = None,
           enum: tuple[str, ...] | None = None, default: str | None = None) -> Param:
    schema: dict[str, Any] = {"type": "string", "description": description}
    if default is not None:
        schema["default"] = default
    if max_length is not None:
        schema["maxLength"] = max_length
    if enum is not None:
        schema["enum"] = list(enum)
    return Param(name, schema, required)


def integer(name: str, description: str, *, minimum: int, maximum: int, default: int) -> Param:
    return Param(name, {"type": "integer", "description": description, "minimum": minimum,
                        "maximum": maximum, "default": default})


def number(name: str, description: str, *, minimum: float, default: float) -> Param:
    return Param(name, {"type": "number", "description": description, "minimum": minimum,
                        "default": default})


def boolean(name: str, description: str, *, default: bool = False) -> Param:
    return Param(name, {"type": "boolean", "description": description, "default": default})


def strings(name: str, description: str) -> Param:
    return Param(name, {"type": "array", "items": {"type": "string"}, "description": description})


Run = Callable[[Any, dict[str, Any]], Answer]  # (the server's state, checked arguments)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    run: Run
    output: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    writes: bool = False  # changes files or the engine: only with --allow-writes

    def input_schema(self) -> dict[str, Any]:
        return {"type": "object",
                "properties": {p.name: p.schema for p in self.params},
                "required": [p.name for p in self.params if p.required],
                "additionalProperties": False}

    def check(self, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """The arguments with defaults filled in, or a UsageError naming the wrong one."""
        arguments = arguments or {}
        known = {p.name: p for p in self.params}
        for name in arguments:
            if name not in known:
                takes = ", ".join(known) or "no arguments"
                raise UsageError(f"unknown argument {name!r} for {self.name}; it takes {takes}")
        checked: dict[str, Any] = {}
        for param in self.params:
            if param.name in arguments and arguments[param.name] is not None:
                checked[param.name] = _value(param, arguments[param.name])
            elif param.required:
                raise UsageError(f"{self.name} needs {param.name!r} ({param.schema['description']})")
            else:
                checked[param.name] = param.schema.get("default")
        return checked


def _value(param: Param, value: Any) -> Any:
    schema, name = param.schema, param.name
    kind = schema["type"]
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    if kind == "string":
        if not isinstance(value, str):
            raise UsageError(f"must be a string; got {shown}", option=name)
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise UsageError(f"is {len(value):,} characters long; keep it under {schema['maxLength']:,}",
                             option=name)
        if "enum" in schema and value not in schema["enum"]:
            raise UsageError(f"must be one of {', '.join(schema['enum'])}; got {shown}", option=name)
        return value
    if kind in ("integer", "number"):
        if kind == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON has one number type: 3.0 is the integer 3, as JSON Schema says
        wanted = int if kind == "integer" else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise UsageError(f"must be {'an integer' if kind == 'integer' else 'a number'}; got {shown}",
                             option=name)
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise UsageError(f"must be {bounds}; got {value}", option=name)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise UsageError(f"must be true or false; got {shown}", option=name)
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"must be a list of strings; got {shown}", option=name)
    return value


def redact_data(data: Any) -> Any:
    """Every string of a JSON value with secret-looking values masked."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {key: redact_data(value) for key, value in data.items()}
    if isinstance(data, list):
        return [redact_data(value) for value in data]
    return data
