"""A typer command made from an operation's declaration (``sddd.core.operations``): its options
are the operation's parameters on the command line, plus the command's own (output format,
``--json``), and its arguments are checked by the operation's one ``validate`` before the body
runs. Only typer's public API: the command is a function whose signature is generated
(``__signature__`` and ``__annotations__``, which typer reads as it reads any function's)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import typer

from sddd.core.errors import UsageError
from sddd.core.operations import CLI, Operation, Param

Body = Callable[[typer.Context, dict[str, Any]], None]


def _annotation(param: Param) -> Any:
    kind: Any = list[str] if param.type is list else param.type
    if param.default is None and not param.required and param.type is not bool:
        return kind | None
    return kind


def _info(param: Param) -> Any:
    if not param.flags:  # a positional argument
        return typer.Argument(... if param.required else param.default, help=param.help,
                              metavar=param.metavar, show_default=param.default is not None)
    ranged = param.cli_range  # None, typer's default, where the operation's validate checks bounds
    return typer.Option(... if param.required else param.default, *param.flags, help=param.help,
                        metavar=param.metavar, min=param.minimum if ranged else None,
                        max=param.maximum if ranged else None)


def signature(params: tuple[Param, ...]) -> inspect.Signature:
    """The signature typer reads: the context, then one parameter per option or argument."""
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([
        inspect.Parameter("ctx", keyword, annotation=typer.Context),
        *(inspect.Parameter(p.name, keyword, default=_info(p), annotation=_annotation(p)) for p in params)])


def cli_command(operation: Operation, *own: Param,
                order: tuple[str, ...] = ()) -> Callable[[Body], Callable[..., None]]:
    """Decorate ``body(ctx, args)``: ``args`` holds the operation's arguments, validated, and the
    command's ``own`` options as typer parsed them. ``order``: the names in the order --help
    lists them, where the command's own options sit among the operation's."""
    params = (*operation.on(CLI), *own)
    if order:
        params = tuple(sorted(params, key=lambda p: order.index(p.name)))
    declared = {p.name for p in operation.on(CLI)}

    def decorate(body: Body) -> Callable[..., None]:
        def command(ctx: typer.Context, **values: Any) -> None:
            try:
                args = operation.validate({k: v for k, v in values.items() if k in declared}, CLI)
            except UsageError as exc:
                positional = {p.name for p in params if not p.flags}
                if exc.option in positional:  # an argument has no flag: "the query is empty; ..."
                    raise UsageError(f"the {exc.option} {exc.message}") from None
                raise
            body(ctx, {**values, **args})

        sig = signature(params)
        command.__signature__ = sig  # type: ignore[attr-defined]
        command.__annotations__ = {name: p.annotation for name, p in sig.parameters.items()}
        command.__doc__ = operation.help
        command.__name__ = command.__qualname__ = f"{operation.name}_command"
        return command

    return decorate

