"""Clients that misbehave or servers that stop: what each costs the others.

- `sddd search` (a fresh process) with no server, with a live `sddd serve`, and with that server
  suspended (SIGSTOP): wall time, median over --runs. Before the deadline and heartbeat, the
  suspended case hung for 600 s and exited 7.
- A ping on the `sddd serve` socket, alone and while another client trickles one byte every
  0.25 s: median round trip (before, the trickler held every other client up).
- `sddd mcp` on stdio: each malformed probe of the untrusted-callers issue, time until its
  error reply (before: no reply at all).

Prints a table and writes bench/results/untrusted.json. Run from the repository root:

    .venv/bin/python bench/untrusted_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _meta import REPO, run_facts

GUIDE = "# Ports\n\n## Medium\n\nThe medium service listens on port 5002, mini on 5001.\n"
PROBES = {"not json": b"{not json", "empty line": b"", "[]": b"[]", "null": b"null", "42": b"42",
          "no method": b'{"jsonrpc": "2.0", "id": 7}',
          "numeric method": b'{"jsonrpc": "2.0", "id": 8, "method": 1}',
          "JSON-RPC 1.0": b'{"id": 9, "method": "ping", "params": []}', "not UTF-8": b"\xff\xfe{",
          "batch": b'[{"jsonrpc": "2.0", "id": 10, "method": "ping"}]',
          "deep array": b"[" * 10_000 + b"]" * 10_000}
INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}


def sddd(*args: str) -> list[str]:
    return [sys.executable, "-m", "sddd.cli", *args]


def timed_search(root: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(sddd("search", "which port does medium use", "--json"), cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return time.perf_counter() - started


def ping(path: Path) -> float:
    started = time.perf_counter()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(path))
        sock.sendall(b'{"protocol": 2, "op": "ping"}\n')
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass
    return time.perf_counter() - started


def trickle(path: Path, stop: threading.Event) -> None:
    while not stop.is_set():
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(path))
            try:
                while not stop.is_set():
                    sock.send(b" ")
                    time.sleep(0.25)
            except OSError:
                pass  # cut off at the server's read deadline: connect again


def serve_figures(root: Path, runs: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    alone = [timed_search(root, {**env, "SDDD_SERVE": "0"}) for _ in range(runs)]
    server = subprocess.Popen(sddd("serve", "--json"), cwd=root, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        path = Path(json.loads(server.stdout.readline())["socket"])
        live = [timed_search(root, env) for _ in range(runs)]
        pings = [ping(path) for _ in range(50)]
        stop = threading.Event()
        thread = threading.Thread(target=trickle, args=(path, stop))
        thread.start()
        time.sleep(0.5)
        trickled = [ping(path) for _ in range(50)]
        stop.set()
        thread.join()
        os.kill(server.pid, signal.SIGSTOP)
        try:
            suspended = [timed_search(root, env) for _ in range(runs)]
        finally:
            os.kill(server.pid, signal.SIGCONT)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"search_no_server_s": statistics.median(alone), "search_live_server_s": statistics.median(live),
            "search_suspended_server_s": statistics.median(suspended),
            "ping_ms": statistics.median(pings) * 1000,
            "ping_while_trickling_ms": statistics.median(trickled) * 1000}


def mcp_figures(root: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(sddd("--config", str(root / "sddd.yaml"), "mcp"), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    figures = {}
    try:
        proc.stdin.write(json.dumps(INIT).encode() + b"\n")  # started and initialized first
        proc.stdin.flush()
        assert "result" in json.loads(proc.stdout.readline())
        for name, line in PROBES.items():
            started = time.perf_counter()
            proc.stdin.write(line + b"\n")
            proc.stdin.flush()
            reply = json.loads(proc.stdout.readline())
            assert "error" in reply, reply
            figures[name] = (time.perf_counter() - started) * 1000
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "docs").mkdir()
        (root / "docs/ports.md").write_text(GUIDE, encoding="utf-8")
        (root / "sddd.yaml").write_text("docs: ['docs/**/*.md']\n", encoding="utf-8")
        subprocess.run(sddd("index"), cwd=root, check=True, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
        serve, mcp = serve_figures(root, runs), mcp_figures(root)
    print(f"{'sddd serve':<44} figure")
    for key, value in serve.items():
        print(f"{key:<44} {value:9.2f}")
    print(f"\n{'sddd mcp probe':<44} ms to its error reply")
    for key, value in mcp.items():
        print(f"{key:<44} {value:9.2f}")
    out = REPO / "bench" / "results" / "untrusted.json"
    out.write_text(json.dumps({"facts": run_facts(), "runs": runs, "serve": serve, "mcp_probe_ms": mcp},
                              indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
