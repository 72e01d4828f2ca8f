"""GitHub Actions workflow commands: ``::error file=F,line=L,title=T::message``.

The one place that escapes them (``%``, CR and LF in the message; also ``:`` and ``,`` in
properties), as the runner's toolkit does.
"""

from __future__ import annotations

LEVELS = {"error": "error", "warning": "warning"}  # anything else is a notice


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(severity: str, path: str | None, line: int | None, title: str, message: str) -> str:
    """One workflow command; ``path`` and ``line`` are left out when unknown."""
    level = LEVELS.get(severity, "notice")
    props = [f"file={escape_property(path)}"] if path else []
    props += [f"line={line}"] if path and line else []
    props.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(props)}::{escape_data(message)}"
