"""`sddd mcp` on stdio facing a client that writes garbage: the real process, raw lines on its
stdin. Each probe of the untrusted-callers issue gets the JSON-RPC 2.0 error it deserves, the
server answers the next request as if nothing happened, and a Hypothesis fuzz over bytes and
JSON shapes finds no message that goes unanswered or takes the server down."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.mcp_repo import server_env
from tests.helpers import write

INIT = {"jsonrpc": "2.0", "id": "init", "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}}
PARSE, INVALID_REQUEST, NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602


class Stdio:
    """One `sddd mcp` process, initialized, spoken to line by line."""

    def __init__(self, root: Path):
        env = {"PATH": "/usr/bin:/bin", **server_env()}
        self.proc = subprocess.Popen([sys.executable, "-m", "sddd.cli", "--config", str(root / "sddd.yaml"),
                                      "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env)
        self.ids = count()
        self.buffer = b""
        assert self.call(INIT)["result"]["serverInfo"]["name"] == "sddd"
        self.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}')

    def send(self, line: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()

    def replies_until(self, rid: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Every message the server wrote, up to and including the reply to ``rid``."""
        assert self.proc.stdout is not None
        seen: list[dict[str, Any]] = []
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                seen.append(json.loads(line))
                if seen[-1].get("id") == rid and rid is not None:
                    return seen
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, end - time.monotonic()))
            if ready:
                chunk = self.proc.stdout.read1(1 << 16)  # type: ignore[union-attr]
                assert chunk, f"the server closed its stdout (exit {self.proc.poll()})"
                self.buffer += chunk
        raise AssertionError(f"no reply to {rid!r} within {timeout} s; got {seen}")

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(json.dumps(message).encode())
        return self.replies_until(message["id"])[-1]

    def ping(self) -> list[dict[str, Any]]:
        """What came before the answer to a ping, which must come."""
        rid = f"ping-{next(self.ids)}"
        self.send(json.dumps({"jsonrpc": "2.0", "id": rid, "method": "ping"}).encode())
        seen = self.replies_until(rid)
        assert seen[-1]["result"] == {}
        return seen[:-1]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def mcp(tmp_path_factory) -> Iterator[Stdio]:
    root = tmp_path_factory.mktemp("mcp-stdio")
    write(root, "docs/guide.md", "# Guide\n\nThe medium service listens on port 5002.\n")
    write(root, "sddd.yaml", "docs: ['docs/**/*.md']\nmessages: {max_kb: 64}\n")
    server = Stdio(root)
    yield server
    server.close()
    assert server.proc.returncode == 0


# (line, the error code, the id of the reply) for the probes, in its order.
PROBES = {
    "not json": (b"{not json", PARSE, None),
    "empty line": (b"", PARSE, None),
    "empty batch": (b"[]", INVALID_REQUEST, None),
    "null": (b"null", INVALID_REQUEST, None),
    "number": (b"42", INVALID_REQUEST, None),
    "no method": (b'{"jsonrpc": "2.0", "id": 7}', INVALID_REQUEST, 7),
    "numeric method": (b'{"jsonrpc": "2.0", "id": 8, "method": 42}', INVALID_REQUEST, 8),
    "JSON-RPC 1.0": (b'{"id": 9, "method": "tools/list", "params": []}', INVALID_REQUEST, 9),
    "not UTF-8": (b'\xff\xfe{"jsonrpc": "2.0"}', PARSE, None),
    "batch": (b'[{"jsonrpc": "2.0", "id": 10, "method": "ping"}]', INVALID_REQUEST, None),
    "deep array": (b"[" * 10_000 + b"]" * 10_000, INVALID_REQUEST, None),
    "too large": (b'{"jsonrpc": "2.0", "id": 11, "method": "ping", "params": {"x": "'
                  + b"a" * 100_000 + b'"}}', INVALID_REQUEST, None),
    "params a string": (b'{"jsonrpc": "2.0", "id": 12, "method": "tools/list", "params": "x"}',
                        INVALID_REQUEST, 12),
    "params an array": (b'{"jsonrpc": "2.0", "id": 13, "method": "tools/list", "params": [1]}',
                        INVALID_PARAMS, 13),
    "id a float": (b'{"jsonrpc": "2.0", "id": 1.5, "method": "ping"}', INVALID_REQUEST, None),
    "unknown method": (b'{"jsonrpc": "2.0", "id": 14, "method": "reboot"}', NOT_FOUND, 14),
    "bad tool params": (b'{"jsonrpc": "2.0", "id": 15, "method": "tools/call", "params": {"name": 5}}',
                        INVALID_PARAMS, 15),
}


@pytest.mark.parametrize("name", list(PROBES))
def test_a_malformed_message_gets_its_json_rpc_error_and_the_server_goes_on(mcp, name):
    line, code, rid = PROBES[name]
    replies = mcp.ping()  # nothing pending before
    assert replies == []
    mcp.send(line)
    before_ping = mcp.ping()
    assert len(before_ping) == 1, before_ping
    reply = before_ping[0]
    assert reply["jsonrpc"] == "2.0" and reply["id"] == rid and reply["error"]["code"] == code, reply
    assert "\n" not in reply["error"]["message"]


def test_a_valid_notification_gets_no_answer(mcp):
    mcp.send(b'{"jsonrpc": "2.0", "method": "notifications/whatever"}')
    assert mcp.ping() == []


IDS = st.one_of(st.integers(), st.text(max_size=8), st.none(), st.booleans(), st.floats(allow_nan=False))
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
ENVELOPES = st.fixed_dictionaries({}, optional={
    "jsonrpc": st.sampled_from(["2.0", "1.0", 2.0, None]), "id": IDS,
    "method": st.sampled_from(["ping", "tools/list", "resources/templates/list", "reboot", "initialize",
                               "notifications/cancelled", "tools/call"]) | JSON,
    "params": JSON, "result": JSON, "error": JSON})


def _is_request(value: Any) -> bool:
    rid = value.get("id") if isinstance(value, dict) else None
    return (isinstance(value, dict) and value.get("jsonrpc") == "2.0" and isinstance(value.get("method"), str)
            and (isinstance(rid, str) or (isinstance(rid, int) and not isinstance(rid, bool))))


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.binary(max_size=200), JSON, ENVELOPES))
def test_fuzz_no_message_goes_unanswered_or_takes_the_server_down(mcp, payload):
    if isinstance(payload, bytes):
        mcp.send(payload.replace(b"\n", b" "))
    else:
        if isinstance(payload, dict) and _is_request(payload):
            payload["id"] = f"fuzz-{next(mcp.ids)}-{payload['id']}"  # never one of the pings' ids
        mcp.send(json.dumps(payload).encode())
    replies = mcp.ping()
    for reply in replies:
        assert reply["jsonrpc"] == "2.0" and "id" in reply, reply
        assert ("result" in reply) != ("error" in reply), reply
    if _is_request(payload):
        assert [r["id"] for r in replies] == [payload["id"]]  # type: ignore[index]
    elif not isinstance(payload, dict) or not isinstance(payload.get("method"), str):
        answered = any(r.get("error") for r in replies)
        is_response = isinstance(payload, dict) and payload.get("jsonrpc") == "2.0" and "id" in payload
        assert answered or is_response, f"no answer to {payload!r}"
    assert mcp.proc.poll() is None
