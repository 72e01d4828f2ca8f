"""Errors meant for people, each with a distinct exit code.

Core code raises these; the CLI prints ``str(error)`` on one line and exits with
``error.exit_code``. Nothing else should reach the user as a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and found a failure (a target missed, a finding)
EXIT_USAGE = 2  # bad arguments or configuration
EXIT_INDEX = 3  # the index is missing, corrupt or built for another model
EXIT_INPUT = 4  # the input data cannot be used (empty corpus, unreadable file)
EXIT_ENGINE = 5  # an engine or endpoint cannot be reached (Docker, HTTP)
EXIT_CONFLICT = 6  # refusing to overwrite or lose something
EXIT_TIMEOUT = 7  # waited and gave up
EXIT_INTERRUPTED = 130


class SdddError(Exception):
    """Base class: a message for a person and an exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class UsageError(SdddError):
    exit_code = EXIT_USAGE


class ConfigError(SdddError):
    exit_code = EXIT_USAGE


class IndexMissing(SdddError):
    exit_code = EXIT_INDEX


class IndexCorrupt(SdddError):
    exit_code = EXIT_INDEX


class InputError(SdddError):
    exit_code = EXIT_INPUT


class EngineError(SdddError):
    exit_code = EXIT_ENGINE


class ConflictError(SdddError):
    exit_code = EXIT_CONFLICT


class TimeoutExpired(SdddError):
    exit_code = EXIT_TIMEOUT
