"""Shared output helpers for the commands: one console for results, one for notices."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # an error stays one line


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else: safe to pipe into jq."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def notice(message: str) -> None:
    err.print(f"[dim]{message}[/dim]")


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {message}", markup=True)


def error_line(message: str) -> None:
    err.print(f"[bold red]error:[/bold red] {_escape(message)}")


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
