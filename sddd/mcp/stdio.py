"""The stdio transport of `sddd mcp`: the SDK's ``stdio_server``, with every line checked first.

The SDK reads a line, validates it as a JSON-RPC message, and hands what fails to the session as
an exception, which nothing answers: `{not json`, an empty line, `[]`, `null`, `42`, a message
with no method, JSON-RPC 1.0, bytes that are not UTF-8, a batch, a 10 KB ``[[[[…`` all left the
client waiting forever. Here each line is read with a size bound, decoded with a depth bound
(``core.messages``), and checked against JSON-RPC 2.0 and the SDK's own message models; only a
line that passes reaches the SDK, and every other one is answered as JSON-RPC 2.0 prescribes:
-32700 (with ``id: null``) for what is no JSON, -32600 for what is no valid request (batches
included: MCP removed them), with the request's id where it has a usable one. The SDK answers
-32601 and -32602 itself. A notification (no id) that is valid gets no answer, as the
specification says; one that is not valid is answered with ``id: null``.

The SDK points file descriptors 0 and 1 elsewhere while serving (so a library's stray print
cannot corrupt the stream) only when it opens them itself; given our streams, it skips that, so
``_claimed`` does the same here.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.to_thread

from sddd.core.messages import INVALID_PARAMS, INVALID_REQUEST, BadMessage, Limits, decode

CHUNK = 1 << 16


def _request_id(message: dict[str, Any]) -> int | str | None:
    """The id to answer with: the message's own when JSON-RPC allows it, else None (null)."""
    value = message.get("id")
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


def check_envelope(value: Any) -> None:
    """A BadMessage unless ``value`` is one JSON-RPC 2.0 request, notification or response."""
    if isinstance(value, list):
        raise BadMessage(INVALID_REQUEST, "invalid request: batches are not supported (MCP removed "
                         "them); send one JSON-RPC message per line")
    if not isinstance(value, dict):
        raise BadMessage(INVALID_REQUEST, f"invalid request: a message is a JSON object, not "
                         f"{type(value).__name__ if value is not None else 'null'}")
    if value.get("jsonrpc") != "2.0":
        raise BadMessage(INVALID_REQUEST, 'invalid request: "jsonrpc" must be "2.0" (JSON-RPC 2.0)')
    if "id" in value and _request_id(value) is None:
        raise BadMessage(INVALID_REQUEST, 'invalid request: "id" must be a string or an integer')
    if "method" not in value:
        if "id" in value and (("result" in value) != ("error" in value)):
            return  # a response to a request of ours
        raise BadMessage(INVALID_REQUEST, 'invalid request: no "method"')
    if not isinstance(value["method"], str):
        raise BadMessage(INVALID_REQUEST, 'invalid request: "method" must be a string')
    if "params" in value and not isinstance(value["params"], dict | None):
        code = INVALID_PARAMS if isinstance(value["params"], list) else INVALID_REQUEST
        raise BadMessage(code, 'invalid params: "params" must be an object (MCP names its parameters)')


def admit(line: bytes, limits: Limits) -> tuple[str | None, dict[str, Any] | None]:
    """(the line for the SDK, None), or (None, the error reply it gets instead)."""
    import mcp_types as types
    from pydantic import ValidationError

    value: Any = None
    try:
        value = decode(line, limits)
        check_envelope(value)
        types.jsonrpc_message_adapter.validate_python(value, by_name=False)
    except BadMessage as exc:
        return None, error_reply(value, exc.code, exc.message)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"msg": str(exc), "loc": ()}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return None, error_reply(value, INVALID_REQUEST, f"invalid request: {where}: {first['msg']}")
    return line.decode("utf-8"), None


def error_reply(value: Any, code: int, message: str) -> dict[str, Any]:
    rid = _request_id(value) if isinstance(value, dict) else None
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}


class _Lines:
    """Lines of a file descriptor, each at most ``limits.max_bytes``; a longer one is dropped and
    answered with an error, its rest skipped up to the next newline."""

    def __init__(self, fd: int, limits: Limits, out: _Writer):
        self.fd, self.limits, self.out = fd, limits, out

    async def __aiter__(self) -> AsyncIterator[str]:
        buffer, dropping = bytearray(), False
        while True:
            chunk = await anyio.to_thread.run_sync(os.read, self.fd, CHUNK, abandon_on_cancel=True)
            buffer += chunk
            while (end := buffer.find(b"\n")) >= 0 or (not chunk and buffer):
                end = end if end >= 0 else len(buffer)
                line = bytes(buffer[:end])
                del buffer[:end + 1]
                if dropping:
                    dropping = False
                    continue
                text, reply = admit(line, self.limits)
                if text is not None:
                    yield text
                elif reply is not None:
                    await self.out.send(reply)
            if not chunk:
                return
            if len(buffer) > self.limits.max_bytes:
                if not dropping:
                    await self.out.send(error_reply(None, INVALID_REQUEST,
                                                    self.limits.too_large(len(buffer)).message))
                buffer.clear()
                dropping = True


class _Writer:
    """stdout for the SDK's writer and for our error replies: whole lines, one at a time."""

    def __init__(self, fd: int):
        self.fd = fd
        self.lock = anyio.Lock()
        self.pending = ""

    async def write(self, text: str) -> None:
        self.pending += text

    async def flush(self) -> None:
        data, self.pending = self.pending.encode("utf-8"), ""
        async with self.lock:
            await anyio.to_thread.run_sync(_write_all, self.fd, data)

    async def send(self, reply: dict[str, Any]) -> None:
        data = (json.dumps(reply, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        async with self.lock:
            await anyio.to_thread.run_sync(_write_all, self.fd, data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


@contextlib.contextmanager
def _claimed() -> Iterator[tuple[int, int]]:
    """Private copies of fds 0 and 1 for the protocol; 0 then reads /dev/null, 1 writes to stderr."""
    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    saved_in, saved_out = os.dup(0), os.dup(1)
    try:
        os.dup2(null, 0)
        os.dup2(2, 1)
        yield wire_in, wire_out
    finally:
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        # wire_in stays open: a reader thread may still block on it, and a closed descriptor's
        # number could be reused under it (the SDK keeps its own copy open for the same reason).
        for fd in (null, saved_in, saved_out, wire_out):
            os.close(fd)


@contextlib.asynccontextmanager
async def guarded_stdio(limits: Limits) -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's (read stream, write stream) over stdin/stdout, every line checked first."""
    from mcp.server.stdio import stdio_server

    with _claimed() as (wire_in, wire_out):
        out = _Writer(wire_out)
        lines: Any = _Lines(wire_in, limits, out)
        async with stdio_server(stdin=lines, stdout=out) as streams:  # type: ignore[arg-type]
            yield streams
