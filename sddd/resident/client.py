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
import stat
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sddd.core import errors
from sddd.core.config import Config
from sddd.core.errors import SdddError, TimeoutExpired
from sddd.core.wire import load

SOCKET_NAME = "serve.sock"
PROTOCOL = 2  # bumped when a request or an answer changes shape; a mismatch is "no server"
# A live server sends a newline as soon as it has read the request, then one every HEARTBEAT
# seconds while it works: a silence of ANSWER_BUDGET seconds (connecting included) means a
# suspended or wedged server, and the command works in its own process instead.
HEARTBEAT = 0.5
ANSWER_BUDGET = 2.0
# A request can re-index changed files first (as `sddd search` would in-process): the server
# gives one this long before it answers with a timeout; the client waits a little longer.
REQUEST_DEADLINE = 600.0
MAX_PATH = 100  # AF_UNIX paths are 108 bytes on Linux, 104 on macOS, NUL included
Notice = Callable[[str], None]


class Silent(Exception):
    """The server did not answer within the budget, or is not to be trusted: why, in a line."""


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


def untrusted(path: Path) -> str | None:
    """Why the socket at ``path`` is not to be asked, or None: it and its folder must belong to
    this user (or root) and be writable by no one else, or another user's fake server could
    answer (and read) this user's questions."""
    me = os.getuid()
    for what, where in (("its folder", path.parent), ("the socket", path)):
        info = os.lstat(where)
        if info.st_uid not in (me, 0):
            return f"{what} {where} belongs to another user (uid {info.st_uid})"
        if info.st_mode & 0o022 and not (stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX):
            return f"{what} {where} is writable by other users (mode {stat.S_IMODE(info.st_mode):o})"
    if not stat.S_ISSOCK(os.lstat(path).st_mode):
        return f"{path} is not a socket"
    return None


def _server_user(sock: socket.socket) -> int | None:
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None  # elsewhere the checks of the socket file are the guard
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, 12))
    return int(uid)


def _receive(sock: socket.socket, path: Path) -> bytes:
    """The server's reply: beats (newlines) until the JSON line; Silent on a silence."""
    chunks: list[bytes] = []
    give_up = time.monotonic() + REQUEST_DEADLINE + 30
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            raise Silent(f"the sddd server on {path} did not answer in {ANSWER_BUDGET:.0f} s "
                         "(suspended or stuck?)") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        if time.monotonic() > give_up:
            raise TimeoutExpired(f"the sddd server on {path} kept working for {REQUEST_DEADLINE:.0f} s "
                                 "without an answer; stop it (Ctrl-C where it runs) or set SDDD_SERVE=0")


def _exchange(path: Path, request: dict[str, Any]) -> dict[str, Any] | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(ANSWER_BUDGET)
        with address(path) as name:
            sock.connect(name)
        uid = _server_user(sock)
        if uid is not None and uid not in (os.getuid(), 0):
            raise Silent(f"the server on {path} runs as another user (uid {uid})")
        sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
        sock.shutdown(socket.SHUT_WR)
        data = _receive(sock, path)
    except TimeoutError:
        raise Silent(f"the sddd server on {path} did not take the request in {ANSWER_BUDGET:.0f} s "
                     "(suspended or stuck?)") from None
    except OSError:  # no server there (a stale socket), or it went away mid-answer
        return None
    finally:
        sock.close()
    try:
        answer = json.loads(data)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def ask(config: Config, op: str, args: dict[str, Any], notice: Notice | None = None) -> dict[str, Any] | None:
    """The server's answer to ``op``, or None when no server answers for this configuration (no
    socket, another version or configuration, silent past the budget, not to be trusted; the last
    two say so through ``notice``, once).

    An answer that is an error is raised here as the SdddError it was, with its exit code.
    """
    path = socket_path(config)
    if disabled() or not hasattr(socket, "AF_UNIX") or not os.path.lexists(path):
        return None
    try:
        why = untrusted(path)
        if why is not None:
            raise Silent(f"not asking the sddd server: {why}")
        answer = _exchange(path, {"protocol": PROTOCOL, "op": op, "args": args, **identity(config)})
    except (Silent, FileNotFoundError) as exc:
        if notice is not None and isinstance(exc, Silent):
            notice(f"{exc}; working in this process (SDDD_SERVE=0 skips the server)")
        return None
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


def remote_search(config: Config, args: dict[str, Any],
                  notice: Notice | None = None) -> tuple[Any, list[str]] | None:
    """(SearchResult, the notices the server gave), or None: search in-process. ``args`` are the
    search's arguments (``sddd.index.operation.SEARCH``), already validated."""
    from sddd.index.operation import SEARCH

    answer = ask(config, SEARCH.name, SEARCH.request(args), notice)
    if answer is None:
        return None
    from sddd.index.results import SearchResult

    return load(SearchResult, answer["result"]), list(answer.get("notices", []))


def remote_check(config: Config, *, targets_file: Path | None, tags: list[str],
                 gates: dict[str, float] | None,
                 notice: Notice | None = None) -> tuple[Any, list[str]] | None:
    """(CheckReport, or None when there is no target; notices), or None: check in-process."""
    from sddd.check.operation import CHECK

    targets = str(targets_file.resolve()) if targets_file is not None else None
    answer = ask(config, CHECK.name, CHECK.request({"targets_file": targets, "tags": tags,
                                                    "gates": gates or {}}), notice)
    if answer is None:
        return None
    from sddd.check.report import CheckReport

    report = answer["result"]
    return (None if report is None else load(CheckReport, report)), list(answer.get("notices", []))
