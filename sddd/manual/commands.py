"""The command reference, walked from the typer app at build time: every command, subcommand,
argument and option, with its help, default and accepted values.

Nothing here is written by hand: an option added to a command appears on the next
`sddd site build` (``tests/manual/test_reference.py`` adds one in a copy of the package).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from sddd.cli import COMMANDS, app, module_commands

HIDDEN_DEFAULTS: tuple[Any, ...] = (None, False, (), [])


def prose(text: str, in_table: bool = False) -> str:
    """Help text as Markdown: ``<name>`` outside code spans is text, not an HTML tag; in a table
    cell a pipe outside code spans is escaped (Python-Markdown never splits on one inside)."""
    def plain(part: str) -> str:
        part = part.replace("<", "&lt;")
        return part.replace("|", "\\|") if in_table else part

    parts = re.split(r"(`[^`]*`)", text)
    return "".join(part if part.startswith("`") else plain(part) for part in parts)


def cell(text: str) -> str:
    """Text safe in one Markdown table cell."""
    return prose(" ".join(str(text).split()), in_table=True)


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _choices(param: Any) -> list[str]:
    metavar = param.metavar or ""
    if re.fullmatch(r"[a-z0-9-]+(\|[a-z0-9-]+)+", metavar):
        return metavar.split("|")
    return list(getattr(param.type, "choices", None) or [])


def _default(param: Any) -> str:
    default = param.default
    if callable(default) or default in HIDDEN_DEFAULTS or getattr(param, "is_flag", False):
        return ""
    if isinstance(default, list | tuple):
        return ", ".join(_code(str(item)) for item in default)
    return _code(str(default))


def _option_row(param: Any) -> str:
    value = "" if getattr(param, "is_flag", False) else f" {param.metavar or param.type.name.upper()}"
    names = ", ".join(_code(name + value) for name in [*param.opts, *param.secondary_opts])
    choices = _choices(param)
    extra = f" One of: {', '.join(_code(c) for c in choices)}." if choices else ""
    envvar = f" Environment: {_code(param.envvar)}." if getattr(param, "envvar", None) else ""
    help_text = cell(getattr(param, "help", "") or "")
    return f"| {names} | {_default(param)} | {help_text}{extra}{envvar} |"


def _usage(path: str, command: Any) -> str:
    pieces = [path, "[OPTIONS]"]
    for param in command.params:
        if type(param).__name__.endswith("Argument"):
            name = (param.metavar or param.name).upper()
            name += "..." if param.nargs == -1 else ""
            pieces.append(name if param.required else f"[{name}]")
    if hasattr(command, "commands"):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _anchor(path: str) -> str:
    return path.replace(" ", "-")


def command_section(path: str, command: Any, level: int) -> list[str]:
    """One command (and, for a group, its subcommands) as Markdown."""
    lines = [f"{'#' * level} `{path}` {{#{_anchor(path)}}}", ""]
    lines += [prose(inspect.cleandoc(command.help or "").replace("\b\n", "")), ""]
    lines += ["```text", _usage(path, command), "```", ""]
    arguments = [p for p in command.params if type(p).__name__.endswith("Argument")]
    options = [p for p in command.params if not type(p).__name__.endswith("Argument")
               and not getattr(p, "hidden", False)]
    if arguments:
        lines += ["| argument | help |", "| --- | --- |"]
        lines += [f"| `{(p.metavar or p.name).upper()}` | {cell(getattr(p, 'help', '') or '')} |"
                  for p in arguments]
        lines.append("")
    if options:
        lines += ["| option | default | help |", "| --- | --- | --- |"]
        lines += [_option_row(p) for p in options]
        lines += ["| `-h`, `--help` |  | Show the help and exit. |", ""]
    for name, sub in getattr(command, "commands", {}).items():
        lines += command_section(f"{path} {name}", sub, level + 1)
    return lines


def root_command() -> Any:
    import typer

    return typer.main.get_command(app)


def commands_page() -> str:
    """The whole command reference, one section per command, in the order of `sddd --help`."""
    root = root_command()
    lines = ["# Commands", "",
             "!!! info \"Generated page\"",
             "    Walked from sddd's command line (`sddd.cli`) on every `sddd site build`: every "
             "command, argument and option, with its help and default. `sddd COMMAND --help` prints "
             "the same.", "",
             "## `sddd` {#sddd}", "", inspect.cleandoc(root.help or ""), "",
             "```text", "sddd [--config PATH] [--version] COMMAND [ARGS]...", "```", "",
             "| option | default | help |", "| --- | --- | --- |"]
    lines += [_option_row(p) for p in root.params if not getattr(p, "hidden", False)]
    lines += ["", "| command | what it does |", "| --- | --- |"]
    lines += [f"| [`sddd {name}`](#sddd-{name}) | {cell(text)} |" for name, (_m, text) in COMMANDS.items()]
    lines.append("")
    for name, (module, _text) in COMMANDS.items():
        lines += command_section(f"sddd {name}", module_commands(module)[name], 2)
    return "\n".join(lines).rstrip() + "\n"
