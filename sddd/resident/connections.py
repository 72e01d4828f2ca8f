"""The connections of `sddd serve`: every socket read and written without blocking on one thread,
the requests answered in order on another, so that no client can hold up the others.

A connection goes through three stages, each with a deadline:

1. reading: the whole request (one JSON line, at most ``messages.max_kb``) within
   ``READ_DEADLINE`` seconds of connecting; a client that trickles bytes or says nothing gets an
   error reply when the time is up, and the others are read meanwhile;
2. waiting: once the request is read, one newline goes back at once, then one every
   ``HEARTBEAT`` seconds while the request waits for or runs on the worker, so the client can
   tell a busy server from a suspended one (the client gives up after a short silence and works
   in its own process); a request that runs past ``REQUEST_DEADLINE`` gets a TimeoutExpired reply;
3. writing: the reply (one JSON line) must be taken within ``WRITE_DEADLINE`` seconds, or the
   connection is dropped.

A request that is no JSON, too large, too deep or of the wrong shape gets an error reply
from this thread, without reaching the worker.
"""

from __future__ import annotations

import contextlib
import json
import queue
import selectors
import socket
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from sddd.core.errors import EXIT_INTERNAL, EXIT_TIMEOUT, EXIT_USAGE
from sddd.core.messages import BadMessage, Limits, decode
from sddd.resident.client import HEARTBEAT, PROTOCOL, REQUEST_DEADLINE

READ_DEADLINE = 5.0
WRITE_DEADLINE = 10.0
Answer = Callable[[dict[str, Any]], dict[str, Any]]


def error_reply(message: str, exit_code: int = EXIT_USAGE, kind: str = "UsageError") -> dict[str, Any]:
    return {"protocol": PROTOCOL, "notices": [], "error": {
        "type": kind, "message": message, "path": None, "line": None, "option": None, "exit_code": exit_code}}


@dataclass(eq=False)
class Connection:
    sock: socket.socket
    deadline: float
    inbox: bytearray = field(default_factory=bytearray)
    outbox: bytearray = field(default_factory=bytearray)
    waiting: bool = False  # the request is with the worker
    watched: int = selectors.EVENT_READ  # the events the selector watches (0: unregistered)
    closing: bool = False  # close once the outbox is sent
    beat: float = 0.0

    def reply(self, data: dict[str, Any]) -> None:
        self.outbox += json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n"
        self.waiting, self.closing, self.deadline = False, True, time.monotonic() + WRITE_DEADLINE


class Hub:
    """The selector loop: accept, read, hand over, beat, write; until the stop socket wakes it."""

    def __init__(self, listener: socket.socket, stop: socket.socket, limits: Limits, answer: Answer,
                 admit: Callable[[socket.socket], bool], worker: Executor):
        self.listener, self.stop, self.limits, self.answer, self.admit = listener, stop, limits, answer, admit
        self.worker = worker  # one thread: requests are answered in order
        self.selector = selectors.DefaultSelector()
        self.conns: dict[socket.socket, Connection] = {}
        self.done: queue.Queue[tuple[Connection, dict[str, Any]]] = queue.Queue()
        self.wake_read, self.wake_write = socket.socketpair()
        self.wake_write.setblocking(False)

    def run(self) -> None:
        """Serve until the stop socket is readable; then let the request in progress finish."""
        self.selector.register(self.listener, selectors.EVENT_READ, "listen")
        self.selector.register(self.stop, selectors.EVENT_READ, "stop")
        self.selector.register(self.wake_read, selectors.EVENT_READ, "done")
        try:
            while self._turn():
                pass
        finally:
            for conn in self.conns.values():
                conn.waiting = False  # queued requests are dropped: their clients work alone
            self.worker.submit(lambda: None).result()  # an index update is never cut in half
            for conn in list(self.conns.values()):
                self._close(conn)
            self.selector.close()
            self.wake_read.close()
            self.wake_write.close()

    def _turn(self) -> bool:
        for key, events in self.selector.select(timeout=HEARTBEAT / 2):
            if key.data == "stop":
                return False
            if key.data == "listen":
                self._accept()
            elif key.data == "done":
                self._finish()
            elif isinstance(key.data, Connection):
                self._io(key.data, events)
        self._tick(time.monotonic())
        return True

    def _accept(self) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            sock, _addr = self.listener.accept()
            if not self.admit(sock):
                sock.close()
                return
            sock.setblocking(False)
            conn = Connection(sock, time.monotonic() + READ_DEADLINE)
            self.conns[sock] = conn
            self.selector.register(sock, selectors.EVENT_READ, conn)

    def _io(self, conn: Connection, events: int) -> None:
        try:
            if events & selectors.EVENT_READ and not conn.waiting and not conn.closing:
                chunk = conn.sock.recv(1 << 16)
                conn.inbox += chunk
                if not chunk or b"\n" in conn.inbox or len(conn.inbox) > self.limits.max_bytes:
                    self._request(conn, eof=not chunk)
            if events & selectors.EVENT_WRITE and conn.outbox:
                sent = conn.sock.send(conn.outbox)
                del conn.outbox[:sent]
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)  # the client went away
            return
        self._watch(conn)

    def _request(self, conn: Connection, eof: bool) -> None:
        end = conn.inbox.find(b"\n")
        data = bytes(conn.inbox if end < 0 else conn.inbox[:end])
        if not data.strip() and eof:
            self._close(conn)  # connected and went away without a word
            return
        if len(data) > self.limits.max_bytes:
            conn.reply(error_reply(self.limits.too_large(len(data)).message))
            return
        try:
            request = decode(data, self.limits)
        except BadMessage as exc:
            conn.reply(error_reply(f"bad request: {exc.message}"))
            return
        if not isinstance(request, dict):
            conn.reply(error_reply("bad request: a request is a JSON object"))
            return
        conn.waiting, conn.deadline, conn.beat = True, time.monotonic() + REQUEST_DEADLINE, 0.0
        self.worker.submit(self._work, conn, request)

    def _work(self, conn: Connection, request: dict[str, Any]) -> None:
        """On the worker thread: answer, unless the client timed out or went away meanwhile."""
        if not conn.waiting:
            return
        try:
            reply = self.answer(request)
        except Exception as exc:  # answer() turns every error into a reply; this is a bug
            reply = error_reply(f"internal error in sddd serve: {type(exc).__name__}", EXIT_INTERNAL,
                                "SdddError")
        self.done.put((conn, reply))
        with contextlib.suppress(OSError):
            self.wake_write.send(b"\0")

    def _finish(self) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            self.wake_read.recv(4096)
        while not self.done.empty():
            conn, reply = self.done.get()
            if conn.waiting and conn.sock in self.conns:
                conn.reply(reply)
                self._watch(conn)

    def _tick(self, now: float) -> None:
        for conn in list(self.conns.values()):
            if now > conn.deadline:
                if conn.closing:
                    self._close(conn)  # the client does not take its reply
                    continue
                conn.reply(error_reply(
                    f"sddd serve gave up on this request after {REQUEST_DEADLINE:.0f} s" if conn.waiting else
                    f"no complete request within {READ_DEADLINE:.0f} s; send one JSON line",
                    EXIT_TIMEOUT if conn.waiting else EXIT_USAGE,
                    "TimeoutExpired" if conn.waiting else "UsageError"))
            elif conn.waiting and now - conn.beat >= HEARTBEAT:
                conn.outbox += b"\n"  # alive and working on it
                conn.beat = now
            self._watch(conn)

    def _watch(self, conn: Connection) -> None:
        if conn.sock not in self.conns:
            return
        if conn.closing and not conn.outbox:
            self._close(conn)
            return
        events = selectors.EVENT_WRITE if conn.outbox else 0
        if not conn.closing and not conn.waiting:
            events |= selectors.EVENT_READ
        if events == conn.watched:
            return
        if not events:  # nothing to do until the worker answers or a beat is due: not watched,
            self.selector.unregister(conn.sock)  # or a half-closed socket would wake us forever
        elif conn.watched:
            self.selector.modify(conn.sock, events, conn)
        else:
            self.selector.register(conn.sock, events, conn)
        conn.watched = events

    def _close(self, conn: Connection) -> None:
        conn.waiting = False
        if self.conns.pop(conn.sock, None) is not None and conn.watched:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(conn.sock)
        conn.watched = 0
        conn.sock.close()
