"""One JSON message from a peer sddd does not trust: a line an agent writes to `sddd mcp` on
stdio, a request on the `sddd serve` socket.

Both are bounded the same way, by the ``messages:`` section of sddd.yaml: the largest message
(``max_kb``) and the deepest nesting of arrays and objects (``max_depth``). The depth is measured
before the JSON is parsed, in one pass over the bytes outside strings, so a 10 KB ``[[[[…`` is
refused in microseconds instead of reaching the parser's recursion (a RecursionError took
`sddd serve` down). Any failure is a ``BadMessage`` carrying the JSON-RPC 2.0 code it deserves
(-32700 for bytes that are no JSON, -32600 for JSON that breaks a limit), for the server to
answer and go on; it is not an SdddError, because it never ends a command.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sddd.core.config import Config

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602

# A JSON string (escapes included), unrolled so the regex engine never backtracks.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


@dataclass(frozen=True)
class Limits:
    """The bounds of one message, from the ``messages:`` section of sddd.yaml."""

    max_bytes: int
    max_depth: int

    @classmethod
    def of(cls, config: Config) -> Limits:
        section = config.section("messages")
        return cls(int(section["max_kb"]) * 1024, int(section["max_depth"]))

    def too_large(self, size: int) -> BadMessage:
        return BadMessage(INVALID_REQUEST, f"the message is over {self.max_bytes:,} bytes "
                          f"(messages.max_kb: {self.max_bytes // 1024} in sddd.yaml); nothing was read")


class BadMessage(Exception):
    """A message that gets an error reply: its JSON-RPC code and one line saying why."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def nesting(data: bytes, stop_above: int) -> int:
    """How deep arrays and objects nest in ``data`` (strings skipped), counted up to
    ``stop_above + 1`` at most: the caller only needs to know it is too deep."""
    depth = deepest = 0
    for byte in _STRING.sub(b"", data).translate(None, _NOT_BRACKETS):
        if byte in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_above:
                    break
        else:
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's parser takes NaN and Infinity; JSON does not


def decode(data: bytes, limits: Limits) -> Any:
    """The JSON value ``data`` holds, or a BadMessage saying which rule it breaks."""
    if len(data) > limits.max_bytes:
        raise limits.too_large(len(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadMessage(PARSE_ERROR, f"parse error: the message is not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise BadMessage(PARSE_ERROR, "parse error: an empty message; send one JSON object per line")
    if nesting(data, limits.max_depth) > limits.max_depth:
        raise BadMessage(INVALID_REQUEST, f"the message nests arrays or objects deeper than "
                         f"{limits.max_depth} (messages.max_depth in sddd.yaml)")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise BadMessage(PARSE_ERROR, f"parse error: {exc}") from None
