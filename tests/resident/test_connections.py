"""`sddd serve` facing clients that misbehave, on its real socket: malformed requests get an error
reply and the server goes on; a trickling client holds up no other; a suspended server costs a
search a few seconds, not ten minutes; a socket others could have replaced is not asked; a
read-only index folder is exit 4. Ends with a Hypothesis fuzz over bytes and JSON shapes."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.readonly import sddd_read_only
from tests.fixtures.serve_repo import Server, build_serve_repo
from tests.helpers import require, run_sddd

PROTOCOL = 2  # the wire protocol's version, as the client sends it


@pytest.fixture(scope="module")
def repo(tmp_path_factory, encoder) -> Path:
    return build_serve_repo(tmp_path_factory.mktemp("serve-conn") / "repo", encoder)


@pytest.fixture(scope="module")
def server(repo) -> Iterator[Server]:
    running = Server(repo)
    yield running
    running.stop()


def exchange(path: Path, data: bytes, timeout: float = 30.0) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
    return b"".join(chunks)


def request(repo: Path, op: str, args: Any) -> bytes:
    """A request as the client writes it, for this repository's configuration."""
    body = {"protocol": PROTOCOL, "op": op, "args": args, "config": str(repo / "sddd.yaml"),
            "root": str(repo)}
    return json.dumps(body).encode() + b"\n"


def reply_of(raw: bytes) -> dict[str, Any]:
    lines = raw.strip().splitlines()  # beats (empty lines) first, then the reply
    assert len(lines) == 1, raw[:300]
    reply: dict[str, Any] = json.loads(lines[0])
    return reply


def alive(server: Server, repo: Path) -> None:
    reply = reply_of(exchange(server.socket, request(repo, "ping", {})))
    assert reply["result"]["pid"] == server.proc.pid and server.proc.poll() is None


MALFORMED = {
    "not json": b"{not json\n", "empty line": b"\n", "batch": b"[]\n", "null": b"null\n", "number": b"42\n",
    "not utf-8": b"\xff\xfe{\n", "deep array": b"[" * 5000 + b"]" * 5000 + b"\n",
    "deep object": b'{"a":' * 3000 + b"1" + b"}" * 3000 + b"\n", "NaN": b'{"k": NaN}\n',
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_request_gets_an_error_reply_and_the_server_goes_on(server, repo, name):
    reply = reply_of(exchange(server.socket, MALFORMED[name]))
    assert reply["error"]["exit_code"] == 2 and reply["error"]["message"].startswith("bad request: ")
    alive(server, repo)


BAD_ARGS = [("search", [1]), ("search", {"query": 5, "k": 1}), ("search", {"query": "x", "k": True}),
            ("search", {"query": "x", "k": 10**12}), ("search", {"query": "x"}),
            ("check", {"tags": [{"a": 1}]}), ("check", {"gates": {"hit@1": "high"}}), ("reboot", {})]


@pytest.mark.parametrize("op,args", BAD_ARGS, ids=[json.dumps(a)[:30] for a in BAD_ARGS])
def test_arguments_of_the_wrong_shape_are_a_usage_error_not_an_internal_one(server, repo, op, args):
    error = reply_of(exchange(server.socket, request(repo, op, args)))["error"]
    assert error["type"] == "UsageError" and "internal error" not in error["message"], error
    alive(server, repo)


def test_a_trickling_client_holds_up_no_other(server, repo):
    seen: dict[str, Any] = {}

    def trickle() -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(server.socket))
            seen["connected"] = time.monotonic()
            try:
                for byte in b'{"protocol": 2, "op": "ping"':
                    sock.send(bytes([byte]))
                    time.sleep(0.25)
            except OSError:
                pass  # cut off by the server's read deadline
            sock.settimeout(30)
            seen["reply"], seen["cut"] = sock.recv(4096), time.monotonic()

    thread = threading.Thread(target=trickle)
    thread.start()
    while "connected" not in seen:
        time.sleep(0.01)
    answered = reply_of(exchange(server.socket, request(repo, "ping", {})))
    seen["other"] = time.monotonic()
    thread.join(60)
    assert answered["result"]["pid"] == server.proc.pid
    assert seen["other"] < seen["cut"], "the other client waited for the trickling one"
    assert b"no complete request within 5 s" in seen["reply"]


def test_a_suspended_server_costs_a_search_a_few_seconds(server, repo):
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        proc = run_sddd("search", "which port does medium listen on", "--json", cwd=repo)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["path"] == "docs/guides/ports.md"
    notices = [line for line in proc.stderr.splitlines() if "did not answer in 2 s" in line]
    assert len(notices) == 1 and "working in this process" in notices[0]
    alive(server, repo)


def test_a_socket_folder_others_can_write_is_not_trusted(server, repo):
    folder = server.socket.parent
    mode = folder.stat().st_mode
    folder.chmod(mode | 0o002)
    try:
        proc = run_sddd("search", "chunked prefill budget", "--json", cwd=repo)
    finally:
        folder.chmod(mode)
    assert proc.returncode == 0 and json.loads(proc.stdout)["results"][0]["path"] == "docs/guides/setup.md"
    assert f"not asking the sddd server: its folder {folder} is writable by other users" in proc.stderr


def test_a_socket_of_another_user_is_not_asked(server, repo):
    """Where another user could put a socket in the index folder, their server must not answer."""
    require(os.geteuid() == 0, "giving the socket to another user needs root")
    owner = os.lstat(server.socket).st_uid
    os.chown(server.socket, 65534, -1, follow_symlinks=False)
    try:
        proc = run_sddd("search", "chunked prefill budget", "--json", cwd=repo)
    finally:
        os.chown(server.socket, owner, -1, follow_symlinks=False)
    assert proc.returncode == 0 and json.loads(proc.stdout)["results"][0]["path"] == "docs/guides/setup.md"
    assert f"not asking the sddd server: the socket {server.socket} belongs to another user (uid 65534)" \
        in proc.stderr
    alive(server, repo)


def test_serve_on_a_read_only_index_is_exit_4(tmp_path, encoder):
    root = build_serve_repo(tmp_path / "repo", encoder)
    proc = sddd_read_only(root / ".sddd", "serve", cwd=root)
    assert proc.returncode == 4, proc.stderr
    assert "cannot write here" in proc.stderr and "Traceback" not in proc.stderr


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
SHAPES = st.fixed_dictionaries({}, optional={"protocol": st.sampled_from([PROTOCOL, 1, "2", None]),
                                             "op": st.sampled_from(["ping", "search", "check", "x"]) | JSON,
                                             "args": JSON, "config": JSON, "root": JSON})


REQUESTS = st.tuples(st.sampled_from(["ping", "search", "check", "x"]), JSON)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.binary(max_size=200), JSON.map(lambda v: json.dumps(v).encode()),
                 SHAPES.map(lambda v: json.dumps(v).encode()), REQUESTS))
def test_fuzz_every_request_is_answered_and_the_server_goes_on(server, repo, payload):
    data = request(repo, *payload) if isinstance(payload, tuple) else payload.replace(b"\n", b" ") + b"\n"
    reply = reply_of(exchange(server.socket, data, timeout=20))
    assert reply["protocol"] == PROTOCOL
    assert "internal error" not in json.dumps(reply.get("error", {})), reply
    assert server.proc.poll() is None
