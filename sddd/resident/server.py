"""`sddd serve`: the models and the index kept warm, answering the CLI on a local socket.

One process per index folder: it holds an exclusive lock on that folder (``flock`` on its
descriptor; the kernel drops it when the process dies, even by SIGKILL), binds ``serve.sock``
there (mode 0600: only its owner can connect), and answers one request per connection, in
order, on one worker thread (the library is not built for concurrent calls), while the main
thread reads and writes every connection without blocking, each with a deadline
(``connections.py``): a slow or silent client holds up no other, and a malformed request gets
an error reply. Before each answer
the warm workspace (``warm.py``) checks whether a file changed, and re-indexes with the loaded
models when one did, as `sddd search` does in-process.

A socket left behind by a killed server is stale: the next server, holding the lock, knows no
other owns it, and replaces it. SIGTERM, SIGINT and SIGHUP stop the server once the request in
progress is answered: the socket is removed, the lock released, nothing is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sddd.check.operation import CHECK
from sddd.core.atomic import LOCK_HINT, not_writable, writing
from sddd.core.config import Config
from sddd.core.errors import EXIT_INTERNAL, ConflictError, SdddError, UsageError
from sddd.core.messages import Limits
from sddd.core.operations import SOCKET
from sddd.core.wire import dump
from sddd.index.operation import SEARCH
from sddd.resident.client import PROTOCOL, address, identity, socket_path, untrusted
from sddd.resident.connections import Hub
from sddd.resident.warm import Workspace

Log = Callable[[str], None]
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


@dataclass
class Ready:
    """What the server says once it listens."""

    socket: str
    pid: int
    seconds: float
    models: list[str]
    chunks: int | None  # None: no index yet (requests say how to build one)
    warning: str | None = None


@contextlib.contextmanager
def _claim(folder: Path) -> Iterator[None]:
    """Hold the index folder for this server, or say which process does."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConflictError(f"a sddd server already serves this index ({folder}); stop it first "
                                "(Ctrl-C or SIGTERM where it runs)") from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _listen(path: Path) -> socket.socket:
    if os.path.lexists(path):
        os.unlink(path)  # stale: the lock says no live server owns it
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # the socket is created 0600
    try:
        with address(path) as name:
            sock.bind(name)
    except OSError as exc:
        sock.close()
        unwritable = not_writable(path.parent, exc, "sddd serve puts its socket in the index folder: "
                                  "make it writable, or run the searches without a server")
        raise unwritable or UsageError(f"cannot listen on {path} ({exc.strerror or exc})") from None
    finally:
        os.umask(old)
    sock.listen(64)
    sock.setblocking(False)
    return sock


def _same_user(conn: socket.socket) -> bool:
    """Linux says who is on the other end: only this server's own user is answered."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return True  # elsewhere the socket's mode 0600 is the guard
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, option, 12))
    return bool(uid == os.getuid())


class Resident:
    """The requests `sddd serve` answers, over one warm workspace."""

    def __init__(self, config: Config, log: Log):
        self.log = log
        self.workspace = Workspace(config, log)
        self.served = 0

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        if request.get("protocol") != PROTOCOL:
            return {"protocol": PROTOCOL, "elsewhere": "another version of sddd"}
        notices: list[str] = []
        started = time.perf_counter()
        op = str(request.get("op"))
        try:
            config = self.workspace.refresh_config()
            if {k: request.get(k) for k in ("config", "root")} != identity(config):
                return {"protocol": PROTOCOL, "elsewhere": "another configuration"}
            args = request.get("args")
            if not isinstance(args, dict):
                raise UsageError("bad request: 'args' must be an object")
            result = self._run(op, args, notices)
        except SdddError as exc:
            return {"protocol": PROTOCOL, "notices": notices, "error": {
                "type": type(exc).__name__, "message": exc.message, "path": exc.path, "line": exc.line,
                "option": exc.option, "exit_code": exc.exit_code}}
        except Exception as exc:  # a bug: one line to the client, the traceback here
            import traceback

            self.log(traceback.format_exc().rstrip())
            message = (f"internal error in sddd serve: {type(exc).__name__}: {exc} (a bug in sddd; "
                       "the traceback is on the server's stderr)")
            return {"protocol": PROTOCOL, "notices": notices,
                    "error": {"type": "SdddError", "message": message, "exit_code": EXIT_INTERNAL}}
        finally:
            self.workspace.log = self.log
        self.served += 1
        self.log(f"{op} answered in {(time.perf_counter() - started) * 1000:.1f} ms")
        return {"protocol": PROTOCOL, "notices": notices, "result": result}

    def _run(self, op: str, args: dict[str, Any], notices: list[str]) -> Any:
        def notice(message: str) -> None:
            notices.append(message)
            self.log(message)

        self.workspace.log = notice  # what an in-process run would have said, the client says
        ws = self.workspace
        if op == "ping":
            return {"pid": os.getpid()}
        if op == SEARCH.name:
            checked = SEARCH.validate(args, SOCKET, complete=True)
            return dump(ws.search(checked["query"], checked["k"], kind=checked["kind"],
                                  path_glob=checked["path"], mode=checked["mode"]))
        if op == CHECK.name:
            from sddd.check.evaluate import run_checks
            from sddd.check.targets import load_targets, select

            checked = CHECK.validate(args, SOCKET, complete=True)
            targets = load_targets(ws.config, checked["targets_file"])
            if not targets:
                return None
            ws.store(build_missing=True)  # as `sddd check` on a fresh clone; fresh, with the warm models
            return dump(run_checks(ws.config, select(targets, checked["tags"] or []),
                                   gates=checked["gates"] or {}, encoder=ws.encoder(), notice=notice))
        raise UsageError(f"sddd serve does not know the request {op!r}")

    def warm_up(self) -> tuple[int | None, str | None]:
        """Load the models and open the index now: (its chunks, or None; why it is not ready)."""
        try:
            self.workspace.warm_up()
            return self.workspace.store().count, None
        except SdddError as exc:  # said again, with its fix, by the first request that needs it
            return None, str(exc)


def serve(config: Config, *, log: Log, ready: Callable[[Ready], None]) -> int:
    """Serve until a stop signal; the number of requests answered."""
    if not hasattr(socket, "AF_UNIX"):
        raise UsageError("sddd serve needs Unix domain sockets, which this system lacks")
    started = time.perf_counter()
    folder = config.index_dir
    with writing(folder.parent, LOCK_HINT):
        folder.mkdir(parents=True, exist_ok=True)
    path = socket_path(config)
    with _claim(folder):
        resident = Resident(config, log)
        # One worker thread does all the library work, warm-up and close included: the index's
        # SQLite connections belong to the thread that opened them.
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sddd-serve")
        chunks, warning = worker.submit(resident.warm_up).result()
        wake_read, wake_write = socket.socketpair()
        wake_write.setblocking(False)
        # The handlers do nothing: the signal's byte on the wake-up socket ends the loop, after
        # the request in progress (a KeyboardInterrupt could cut an index update in half).
        previous = {s: signal.signal(s, lambda *_: None) for s in STOP_SIGNALS}
        old_wakeup = signal.set_wakeup_fd(wake_write.fileno(), warn_on_full_buffer=False)
        listener = _listen(path)
        try:
            distrust = untrusted(path)  # what every client would refuse it for: said once, here
            if distrust is not None:
                log(f"clients will not use this server: {distrust}; remove that permission")
            ready(Ready(str(path), os.getpid(), time.perf_counter() - started, list(config.model),
                        chunks, warning))
            Hub(listener, wake_read, Limits.of(config), resident.answer, _same_user, worker).run()
        finally:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            signal.set_wakeup_fd(old_wakeup)
            for number, handler in previous.items():
                signal.signal(number, handler)
            wake_read.close()
            wake_write.close()
            worker.submit(resident.workspace.close).result()
            worker.shutdown()
    return resident.served
