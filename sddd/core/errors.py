"""Errors meant for people, each with a distinct exit code: the one exit-code table.

Core code raises these; the CLI prints ``str(error)`` on one line and exits with
``error.exit_code``. Nothing else should reach the user as a traceback. Every exit code sddd
returns is one of the ``EXIT_*`` constants below (the manual's exit-code page is generated from them).
"""

from __future__ import annotations

EXIT_OK = 0  # success
EXIT_FAILED = 1  # the command ran and found a failure (a target missed, a finding)
EXIT_USAGE = 2  # bad arguments or configuration
EXIT_INDEX = 3  # the index is missing, corrupt or built for another model
EXIT_INPUT = 4  # the input data cannot be used (empty corpus, unreadable file)
EXIT_ENGINE = 5  # an engine or endpoint cannot be reached (Docker, HTTP)
EXIT_CONFLICT = 6  # refusing to overwrite or lose something
EXIT_TIMEOUT = 7  # waited and gave up
EXIT_INTERNAL = 70  # a bug in sddd (EX_SOFTWARE of sysexits.h)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class SdddError(Exception):
    """Base class: a message for a person and an exit code.

    ``option`` names the argument of the library call the message is about (``kind``,
    ``date``, ``url``...), in domain terms; the message then reads after it ("must be one of
    ..."). ``str()`` says ``kind: must be one of ...``; the CLI, which knows the flag behind
    the argument, says ``--kind must be one of ...`` (``with_flag``).
    """

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 option: str | None = None):
        self.message = message
        self.path = path
        self.line = line
        self.option = option
        super().__init__(self.__str__())

    def _where(self) -> str:
        if self.path:
            return f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return ""

    def __str__(self) -> str:
        subject = f"{self.option}: " if self.option else ""
        return f"{self._where()}{subject}{self.message}"

    def with_flag(self, flag: str) -> str:
        """The message as the command line says it, naming ``flag`` for the option."""
        return f"{self._where()}{flag} {self.message}"


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


class NotWritable(SdddError):
    """A folder sddd must write to (the index, the archive root) is read-only or not ours."""

    exit_code = EXIT_INPUT


class EndpointUnreachable(EngineError):
    """Nothing answers at the URL (refused, unknown host, connection dropped)."""


class EndpointTimeout(EndpointUnreachable):
    """The server took the connection but did not answer within the timeout."""

    exit_code = EXIT_TIMEOUT
