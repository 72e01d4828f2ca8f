"""Wait for a started container to be healthy, watching its logs for fatal errors.

Healthy means: the container runs, Docker reports it healthy (when it has a healthcheck), and
``/health`` and ``/v1/models`` answer 200 on the published port (with the container's own API
key, read from the engine and never kept). A fatal log line (CUDA out of memory, no GPU
platform, ...) or the container exiting or restarting ends the wait at once, with the
offending lines. Every half second ``on_state`` gets the state for the live status line.
"""

from __future__ import annotations

import queue
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sddd.core.secrets import redact
from sddd.deploy.docker import published_port

POLL_S = 0.5
PROBE_TIMEOUT_S = 2.0
KEEP_LINES = 200

FATAL_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("CUDA out of memory", re.compile(r"CUDA out of memory|torch\.OutOfMemoryError", re.IGNORECASE)),
    ("no GPU device", re.compile(r"Failed to infer device type")),
    ("no CUDA driver library", re.compile(r"libcuda\.so\.1: cannot open shared object file")),
    ("no platform", re.compile(r"No platform detected")),
    ("no CUDA GPU", re.compile(r"No CUDA GPUs are available|Found no NVIDIA driver")),
    ("engine failed", re.compile(r"Engine core initialization failed")),
    # argparse's last line (after the whole usage text): a flag vLLM does not have, a bad value
    ("bad argument", re.compile(r"^\S+\.py: error: (?:argument |unrecognized arguments)")),
]
NOISE = re.compile(r'"GET /(health|v1/models)[ ?]|^\s*$|^[\s\W]+$')


@dataclass
class WaitState:
    state: str  # created, running, restarting, exited
    health: str  # starting, healthy, unhealthy, none
    elapsed: float
    last_line: str
    phase: str  # "starting", "waiting for /health", "healthy", ...


@dataclass
class WaitResult:
    outcome: str  # healthy, failed, timeout
    seconds: float
    message: str = ""
    lines: list[str] = field(default_factory=list)
    host_port: int | None = None


def fatal_kind(line: str) -> str | None:
    for kind, pattern in FATAL_PATTERNS:
        if pattern.search(line):
            return kind
    return None


class LogWatcher:
    """Follows a container's logs in a thread; lines come out redacted, in order."""

    def __init__(self, container: Any):
        self.lines: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._follow, args=(container,), daemon=True)
        self.thread.start()

    def _follow(self, container: Any) -> None:
        buffer = b""
        try:
            for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=True):
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                for raw in complete:
                    self.lines.put(redact(raw.decode("utf-8", "replace").rstrip("\r")))
        except Exception:  # the container went away: the poll loop sees that
            pass
        if buffer:
            self.lines.put(redact(buffer.decode("utf-8", "replace")))

    def drain(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.lines.get_nowait())
            except queue.Empty:
                return out


def container_api_key(container: Any) -> str | None:
    """The ``VLLM_API_KEY`` the container runs with, read from the engine (never stored)."""
    for item in (container.attrs.get("Config") or {}).get("Env") or []:
        name, _, value = item.partition("=")
        if name == "VLLM_API_KEY" and value:
            return str(value)
    return None


def probe(port: int, key: str | None) -> str | None:
    """None when /health and /v1/models answer 200; else what failed."""
    for path in ("/health", "/v1/models"):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
        if key and path.startswith("/v1"):
            request.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as response:
                if response.status != 200:
                    return f"{path} answered {response.status}"
        except urllib.error.HTTPError as exc:
            return f"{path} answered {exc.code}"
        except (OSError, urllib.error.URLError):
            return f"waiting for {path}"
    return None


def wait_healthy(client: Any, container: Any, container_port: int, *, timeout: float,
                 has_healthcheck: bool, on_state: Callable[[WaitState], None] | None = None) -> WaitResult:
    start = time.monotonic()
    watcher = LogWatcher(container)
    recent: list[str] = []
    last_line = ""
    host_port: int | None = None
    restarts: int | None = None
    while True:
        elapsed = time.monotonic() - start
        for line in watcher.drain():
            recent = [*recent[-KEEP_LINES:], line]
            if not NOISE.search(line):
                last_line = line.strip()[:160]
            if fatal_kind(line):
                time.sleep(POLL_S)  # the traceback's last lines are usually a moment behind
                recent += watcher.drain()
                return WaitResult("failed", elapsed, f"{fatal_kind(line)}: {line.strip()[:200]}",
                                  _offending(recent), host_port)
        container.reload()
        state = container.attrs.get("State") or {}
        status = str(state.get("Status", "?"))
        health = str((state.get("Health") or {}).get("Status", "none"))
        count = int(container.attrs.get("RestartCount") or 0)
        restarts = count if restarts is None else restarts
        if status in ("exited", "dead") or count > restarts or status == "restarting":
            time.sleep(POLL_S)
            recent += watcher.drain()
            code = state.get("ExitCode")
            what = "restarted" if status != "exited" and status != "dead" else f"exited with code {code}"
            if state.get("OOMKilled"):
                what += " (killed for running out of memory: OOMKilled, raise mem_limit)"
            return WaitResult("failed", elapsed, f"the container {what}", _offending(recent), host_port)
        host_port = host_port or published_port(container, container_port)
        phase = "starting"
        if status == "running":
            if host_port is None:
                phase = f"no host port for container port {container_port}"
            else:
                problem = probe(host_port, container_api_key(container))
                ready = problem is None and (not has_healthcheck or health == "healthy")
                if ready:
                    _emit(on_state, WaitState(status, health, elapsed, last_line, "healthy"))
                    return WaitResult("healthy", elapsed, "", [], host_port)
                phase = problem or f"Docker health: {health}"
        _emit(on_state, WaitState(status, health, elapsed, last_line, phase))
        if elapsed >= timeout:
            return WaitResult("timeout", elapsed, f"not healthy after {timeout:.0f} s ({phase}); "
                              f"last log line: {last_line or '(none)'}", recent[-5:], host_port)
        time.sleep(POLL_S)


def _emit(on_state: Callable[[WaitState], None] | None, state: WaitState) -> None:
    if on_state is not None:
        on_state(state)


def _offending(lines: list[str]) -> list[str]:
    """The fatal lines with two lines of context before each, else the last lines."""
    marks = [i for i, line in enumerate(lines) if fatal_kind(line)]
    if not marks:
        return [line for line in lines if line.strip()][-8:]
    keep: list[int] = []
    for i in marks:
        keep += [j for j in range(max(0, i - 2), i + 1) if j not in keep]
    return [lines[j] for j in keep][-12:]
