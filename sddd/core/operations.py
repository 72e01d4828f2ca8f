"""Operations declared once: a name, typed parameters with their help and bounds, the result's
shape; every surface is made from that one declaration.

- the command line: ``sddd.commands.operation.cli_command`` builds the typer command's options
  from the parameters on ``CLI`` (flags, help, metavar, default);
- the MCP tool: ``Operation.input_schema()`` is its JSON input schema, ``Operation.result`` its
  output schema, ``title`` and ``agent_help`` its title and description;
- the `sddd serve` request: ``Operation.request(values)`` is what the client sends,
  ``validate(args, SOCKET, complete=True)`` what the server accepts.

Each edge calls ``validate(args, surface)`` once: the arguments with their defaults filled in,
or one ``UsageError`` naming the argument (``option=``), which each surface words its own way
(``--kind must be one of ...`` on the command line, ``kind must be one of ...`` for an agent).
A surface may show a parameter differently (``View``): an agent is given a tighter bound (its
context is small) and a description written for a model; the server names it as the wire
protocol always has. The plain function behind the operation stays the one place that works,
with its own checks of what only the domain knows (the query's words, limits of sddd.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sddd.core.errors import UsageError

CLI, MCP, SOCKET = "cli", "mcp", "socket"
EVERYWHERE = frozenset((CLI, MCP, SOCKET))
JSON_TYPES: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean",
                               list: "array", dict: "object", Path: "string"}


@dataclass(frozen=True)
class View:
    """How one surface shows a parameter where it differs from the declaration."""

    help: str | None = None
    maximum: float | None = None
    max_length: int | None = None
    name: str | None = None  # its key in this surface's arguments


@dataclass(frozen=True)
class Param:
    """One typed parameter. ``type`` is str, int, float, bool, Path (a string off the command
    line), list (of strings, a repeatable option on the command line) or dict (names to numbers,
    off the command line)."""

    name: str  # the plain function's keyword
    type: type
    help: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    blank: str | None = None  # a string of whitespace only is refused: "is empty; <blank>"
    flags: tuple[str, ...] = ()  # on the command line; none: a positional argument
    metavar: str | None = None
    # the command line checks the bounds while parsing, and its help shows them (`x>=1`), as
    # options such as deploy's --timeout always have
    cli_range: bool = False
    on: frozenset[str] = EVERYWHERE
    views: Mapping[str, View] = field(default_factory=dict)

    def view(self, surface: str) -> Param:
        """The parameter as ``surface`` shows it."""
        seen = self.views.get(surface)
        if seen is None:
            return self
        return replace(self, help=seen.help or self.help,
                       maximum=seen.maximum if seen.maximum is not None else self.maximum,
                       max_length=seen.max_length if seen.max_length is not None else self.max_length,
                       name=seen.name or self.name, views={})

    @property
    def schema(self) -> dict[str, Any]:
        """Its JSON schema (the MCP tool's input schema holds one per parameter)."""
        kind = JSON_TYPES[self.type]
        out: dict[str, Any] = {"type": kind}
        if kind == "array":
            out["items"] = {"type": "string"}
        if kind == "object":
            out["additionalProperties"] = {"type": "number"}
        out["description"] = self.help
        if kind in ("integer", "number"):
            out.update({k: v for k, v in (("minimum", self.minimum), ("maximum", self.maximum))
                        if v is not None})
        if self.default is not None and kind not in ("array", "object"):
            out["default"] = self.default
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        if self.choices:
            out["enum"] = list(self.choices)
        return out

    def check(self, value: Any) -> Any:
        """``value`` as this parameter takes it, or a UsageError naming the parameter."""
        kind = JSON_TYPES[self.type]
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        if kind == "string":
            return self._string(str(value) if isinstance(value, Path) else value, shown)
        if kind in ("integer", "number"):
            return self._number(value, kind, shown)
        if kind == "boolean":
            if not isinstance(value, bool):
                raise UsageError(f"must be true or false; got {shown}", option=self.name)
            return value
        if kind == "object":
            if not isinstance(value, dict) or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()):
                raise UsageError(f"must be a mapping of names to numbers; got {shown}", option=self.name)
            return dict(value)
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"must be a list of strings; got {shown}", option=self.name)
        return list(value)

    def _string(self, value: Any, shown: str) -> Any:
        if not isinstance(value, str):
            raise UsageError(f"must be a string; got {shown}", option=self.name)
        if self.max_length is not None and len(value) > self.max_length:
            raise UsageError(f"is {len(value):,} characters long; keep it under {self.max_length:,}",
                             option=self.name)
        if self.blank is not None and not value.strip():
            raise UsageError(f"is empty; {self.blank}", option=self.name)
        if self.choices and value not in self.choices:
            raise UsageError(f"must be one of {', '.join(self.choices)}; got {shown}", option=self.name)
        return Path(value) if self.type is Path else value

    def _number(self, value: Any, kind: str, shown: str) -> int | float:
        if kind == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON has one number type: 3.0 is the integer 3, as JSON Schema says
        wanted = int if kind == "integer" else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise UsageError(f"must be {'an integer' if kind == 'integer' else 'a number'}; got {shown}",
                             option=self.name)
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (f"from {low} to {high}" if low is not None and high is not None
                      else f"at least {low}" if low is not None else f"at most {high}")
            raise UsageError(f"must be {bounds}; got {value}", option=self.name)
        return value


@dataclass(frozen=True)
class Operation:
    """One operation: its parameters, its help on the command line, its result's JSON schema
    (``required`` keys name what every answer holds), and how an agent sees it."""

    name: str
    help: str  # the command's help (its first line is the summary)
    params: tuple[Param, ...]
    result: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    title: str = ""  # the MCP tool's
    agent_help: str = ""  # the MCP tool's description

    def on(self, surface: str) -> tuple[Param, ...]:
        """The parameters ``surface`` takes, as it shows them."""
        return tuple(p.view(surface) for p in self.params if surface in p.on)

    def input_schema(self) -> dict[str, Any]:
        params = self.on(MCP)
        return {"type": "object", "properties": {p.name: p.schema for p in params},
                "required": [p.name for p in params if p.required], "additionalProperties": False}

    def validate(self, arguments: Mapping[str, Any] | None, surface: str, *,
                 complete: bool = False) -> dict[str, Any]:
        """The arguments (keyed as ``surface`` names them) checked and typed, keyed by the plain
        function's keywords, with defaults filled in; ``complete``: every one must be given (a
        request of the socket, which the client always sends whole)."""
        arguments = arguments or {}
        shown = {p.name: p for p in self.on(surface)}
        for name in arguments:
            if name not in shown:
                takes = ", ".join(shown) or "no arguments"
                raise UsageError(f"unknown argument {name!r} for {self.name}; it takes {takes}")
        checked: dict[str, Any] = {}
        for declared in (p for p in self.params if surface in p.on):
            param = declared.view(surface)
            checker = replace(param, name=declared.name)  # errors name the plain function's keyword
            if arguments.get(param.name) is not None:
                checked[declared.name] = checker.check(arguments[param.name])
            elif param.required or (complete and param.name not in arguments):
                raise UsageError(f"{self.name} needs {param.name!r} ({param.help})")
            else:
                checked[declared.name] = param.default
        return checked

    def request(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The socket request's arguments for ``values`` (the plain function's keywords)."""
        return {param.view(SOCKET).name: values.get(param.name, param.default)
                for param in self.params if SOCKET in param.on}
