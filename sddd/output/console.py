"""Shared output helpers for the commands: one console for results, one for notices.

The rich consoles are made on first use: importing rich.console costs more than a command
that prints JSON or plain lines does in all, so those never import it.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, cast

from sddd.core.secrets import redact

if TYPE_CHECKING:
    from rich.console import Console


# Through a pipe nothing is wrapped nor squeezed: a table gets this width (its columns stay as wide
# as their content) and a line is never cut, so grep and CI logs see whole lines.
PIPE_WIDTH = 4000


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _LazyConsole:
    """Stands for a rich ``Console`` and makes it at the first attribute asked for."""

    def __init__(self, **options: Any):
        self._options = options
        self._console: Console | None = None

    def real(self) -> Console:
        """The rich ``Console`` itself, for what needs the object and not a stand-in: rich's live
        displays (``Live``, ``Progress``) enter it as a context manager, which an attribute proxy
        cannot be (special methods are looked up on the type, never through ``__getattr__``)."""
        console = self.__dict__.get("_console")
        if console is None:
            from rich.console import Console

            options = dict(self._options)
            stream = sys.stderr if options.get("stderr") else sys.stdout
            if not _is_terminal(stream):  # a pipe, a file, a CI log: whole lines, whatever COLUMNS says
                options.update(width=PIPE_WIDTH, soft_wrap=True)
            console = self._console = Console(**options)
        return console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)

    def __enter__(self) -> Console:
        return self.real().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.real().__exit__(*exc)


_out = _LazyConsole(highlight=False, soft_wrap=False)
_err = _LazyConsole(stderr=True, highlight=False, soft_wrap=True)  # an error stays one line
out = cast("Console", _out)
err = cast("Console", _err)


def live_console() -> Console:
    """The stderr console as the real object, for rich's live displays (progress bars, spinners)."""
    return _err.real()


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else: safe to pipe into jq."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def notice(message: str) -> None:
    err.print(f"[dim]{redact(message)}[/dim]")


def unset_notice(names: list[str], needed_by: str | None = None) -> None:
    """One line for the variables a dry run or a report shows as ``${NAME}`` (no .env needed)."""
    if names:
        then = f"; `{needed_by}` without --dry-run needs them" if needed_by else ""
        notice(f"{len(names)} variable(s) not set, shown as ${{NAME}}: {', '.join(names)}{then}")


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {redact(message)}", markup=True)


def error_line(message: str) -> None:
    """One error line, through the same redaction as MCP answers: a message may echo an argument
    (`--url http://u:TOKEN@host`, `--kind`, a profile name, a `--config` path) that holds one."""
    err.print(f"[bold red]error:[/bold red] {_escape(redact(message))}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def write_lines(lines: list[str]) -> None:
    """Plain lines on stdout, as they are (annotations, plain findings)."""
    sys.stdout.write("".join(line + "\n" for line in lines))
    sys.stdout.flush()


def write_text(text: str) -> None:
    """A whole document on stdout (JUnit XML, a report), as it is."""
    sys.stdout.write(text)
    sys.stdout.flush()
