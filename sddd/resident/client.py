"""Asking `sddd serve` from a command: one JSON request and one JSON answer per connection, on the
Unix socket ``serve.sock`` in the index folder.

It imports nothing heavy (no numpy, FAISS or model runtime): a `sddd search` answered by the
server costs the start of Python and the CLI, the config, and a round trip. Where no server runs
for this index (no socket, a stale one, a server of another sddd.yaml, ``SDDD_SERVE=0``) every
function here returns None and the command does the work itself, as it always did.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sddd.core import errors
from sddd.core.config import Config
from sddd.core.errors import SdddError, TimeoutExpired
from sddd.core.wire import load

SOCKET_NAME = "serve.sock"
PROTOCOL = 1  # bumped when a request or an answer changes shape; a mismatch is "no server"
CONNECT_TIMEOUT = 2.0
# A request can re-index changed files first (as `sddd search` would in-process): give it time.
REPLY_TIMEOUT = 600.0
MAX_PATH = 100  # AF_UNIX paths are 108 bytes on Linux, 104 on macOS, NUL included


def socket_path(config: Config) -> Path:
    return config.index_dir / SOCKET_NAME


def disabled() -> bool:
    return os.environ.get("SDDD_SERVE", "").strip().lower() in ("0", "no", "false", "off")


@contextlib.contextmanager
def address(path: Path) -> Iterator[str]:
    """A name ``bind`` and ``connect`` accept for ``path``: itself, or, when it is too long for
    AF_UNIX, the same file reached through an open descriptor of its folder (Linux's /proc)."""
    if len(os.fsencode(path)) <= MAX_PATH or not os.path.isdir("/proc/self/fd"):
        yield str(path)
        return
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)


def identity(config: Config) -> dict[str, str | None]:
    """What names a repository's configuration: a server answers only requests of its own."""
    return {"config": str(config.path) if config.path else None, "root": str(config.root)}


def _exchange(path: Path, request: dict[str, Any]) -> dict[str, Any] | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        with address(path) as name:
            sock.connect(name)
        sock.settimeout(REPLY_TIMEOUT)
        sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
    except TimeoutError:
        raise TimeoutExpired(f"the sddd server on {path} did not answer in {REPLY_TIMEOUT:.0f} s; "
                             "stop it (Ctrl-C where it runs) or set SDDD_SERVE=0") from None
    except OSError:  # no server there (a stale socket), or it went away mid-answer
        return None
    finally:
        sock.close()
    try:
        answer = json.loads(b"".join(chunks))
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def ask(config: Config, op: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """The server's answer to ``op``, or None when no server answers for this configuration.

    An answer that is an error is raised here as the SdddError it was, with its exit code.
    """
    path = socket_path(config)
    if disabled() or not hasattr(socket, "AF_UNIX") or not os.path.exists(path):
        return None
    answer = _exchange(path, {"protocol": PROTOCOL, "op": op, "args": args, **identity(config)})
    if answer is None or answer.get("protocol") != PROTOCOL or answer.get("elsewhere"):
        return None
    if "error" in answer:
        raise remote_error(answer["error"])
    return answer


def remote_error(data: dict[str, Any]) -> SdddError:
    """The server's SdddError as this process raises it: same class, message, place and code."""
    kind = getattr(errors, str(data.get("type")), None)
    cls = kind if isinstance(kind, type) and issubclass(kind, SdddError) else SdddError
    error = cls(str(data.get("message", "")), path=data.get("path"), line=data.get("line"),
                option=data.get("option"))
    error.exit_code = int(data.get("exit_code", error.exit_code))
    return error


def remote_search(config: Config, query: str, k: int, *, kind: str | None, path_glob: str | None,
                  mode: str) -> tuple[Any, list[str]] | None:
    """(SearchResult, the notices the server gave), or None: search in-process."""
    answer = ask(config, "search", {"query": query, "k": k, "kind": kind, "path_glob": path_glob,
                                    "mode": mode})
    if answer is None:
        return None
    from sddd.index.results import SearchResult

    return load(SearchResult, answer["result"]), list(answer.get("notices", []))


def remote_check(config: Config, *, targets_file: Path | None, tags: list[str],
                 gates: dict[str, float] | None) -> tuple[Any, list[str]] | None:
    """(CheckReport, or None when there is no target; notices), or None: check in-process."""
    targets = str(targets_file.resolve()) if targets_file is not None else None
    answer = ask(config, "check", {"targets_file": targets, "tags": tags, "gates": gates or {}})
    if answer is None:
        return None
    from sddd.check.report import CheckReport

    report = answer["result"]
    return (None if report is None else load(CheckReport, report)), list(answer.get("notices", []))
