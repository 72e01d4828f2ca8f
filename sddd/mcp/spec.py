"""How a tool is declared: its parameters (which become its JSON schema), the function that
answers, and the checks every call's arguments go through before that function runs.

Arguments are checked here rather than left to the client: an agent sends what its model wrote,
and a wrong name or type deserves one line that says which argument, what it must be and what
was sent, not a validation dump. Unknown arguments are refused (``additionalProperties: false``),
so a misspelt ``path_glob`` is not silently ignored. The checks are those of every operation
(``sddd.core.operations``): a tool declared with its command checks what the command checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sddd.core.operations import MCP, Operation, Param
from sddd.core.secrets import redact


@dataclass(frozen=True)
class Answer:
    """A tool's result: the same JSON as the CLI's ``--json``, and a short text form."""

    data: dict[str, Any]
    text: str


MCP_ONLY = frozenset((MCP,))


def string(name: str, description: str, *, required: bool = False, max_length: int | None = None,
           enum: tuple[str, ...] | None = None, default: str | None = None) -> Param:
    return Param(name, str, description, default=default, required=required, max_length=max_length,
                 choices=enum or (), on=MCP_ONLY)


def integer(name: str, description: str, *, minimum: int, maximum: int, default: int) -> Param:
    return Param(name, int, description, default=default, minimum=minimum, maximum=maximum, on=MCP_ONLY)


def number(name: str, description: str, *, minimum: float, default: float) -> Param:
    return Param(name, float, description, default=default, minimum=minimum, on=MCP_ONLY)


def boolean(name: str, description: str, *, default: bool = False) -> Param:
    return Param(name, bool, description, default=default, on=MCP_ONLY)


def strings(name: str, description: str) -> Param:
    return Param(name, list, description, on=MCP_ONLY)


Run = Callable[[Any, dict[str, Any]], Answer]  # (the server's state, checked arguments)


@dataclass(frozen=True)
class ToolSpec:
    """A tool: an operation (declared with the command line's, ``sddd.core.operations``, or here
    for a tool the command line has not), the function that answers it, and whether it writes."""

    operation: Operation
    run: Run
    writes: bool = False  # changes files or the engine: only with --allow-writes

    @property
    def name(self) -> str:
        return self.operation.name

    @property
    def title(self) -> str:
        return self.operation.title

    @property
    def description(self) -> str:
        return self.operation.agent_help

    @property
    def params(self) -> tuple[Param, ...]:
        return self.operation.on(MCP)

    @property
    def output(self) -> dict[str, Any]:
        return self.operation.result

    def input_schema(self) -> dict[str, Any]:
        return self.operation.input_schema()

    def check(self, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """The arguments with defaults filled in, or a UsageError naming the wrong one."""
        return self.operation.validate(arguments, MCP)


def tool(name: str, title: str, description: str, params: tuple[Param, ...], run: Run,
         output: dict[str, Any] | None = None, *, writes: bool = False) -> ToolSpec:
    """A tool only agents have (its parameters made with the helpers above)."""
    return ToolSpec(Operation(name, description, params, output or {"type": "object"}, title, description),
                    run, writes)


def redact_data(data: Any) -> Any:
    """Every string of a JSON value with secret-looking values masked."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {key: redact_data(value) for key, value in data.items()}
    if isinstance(data, list):
        return [redact_data(value) for value in data]
    return data
