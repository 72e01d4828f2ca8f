"""Wait for a started container (or a Swarm task) to be healthy, watching its logs for fatal errors.

Healthy means: it runs, Docker reports it healthy (when it has a healthcheck), and ``/health``
and ``/v1/models`` answer 200 on the published port (with its own API key, read from the
engine and never kept). A fatal log line (CUDA out of memory, no GPU platform, ...) or the
container exiting or restarting ends the wait at once, with the log's first decisive error
(sddd.deploy.rootcause: what vLLM's "See root cause above" points to) and the lines around it.
Every half second ``on_state`` gets the state for the live status line.

``watch(target, ...)`` is the one loop; ``target`` says how to follow the logs and what the
engine reports: ``ContainerWatch`` for `sddd deploy`, ``sddd.deploy.swarm_tasks.TaskWatch`` for a
stack's new task.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sddd.core.secrets import redact
from sddd.deploy.docker import published_port
from sddd.deploy.rootcause import exit_meaning, root_cause
from sddd.endpoint.client import Endpoint

POLL_S = 0.5
PROBE_TIMEOUT_S = 2.0
KEEP_LINES = 1000  # enough to hold the engine core's traceback above the API server's

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
    cause: str = ""  # the decisive log line (what a troubleshooting search should use), if any


def fatal_kind(line: str) -> str | None:
    for kind, pattern in FATAL_PATTERNS:
        if pattern.search(line):
            return kind
    return None


class LogWatcher:
    """Follows a log stream (an iterable of byte chunks) in a thread; lines come out redacted,
    in order."""

    def __init__(self, follow: Callable[[], Iterable[bytes]]):
        self.lines: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._follow, args=(follow,), daemon=True)
        self.thread.start()

    def _follow(self, follow: Callable[[], Iterable[bytes]]) -> None:
        buffer = b""
        try:
            for chunk in follow():
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


def api_key(env: list[str] | None) -> str | None:
    """VLLM_API_KEY of a container's (or a task's) environment, read from the engine, never kept."""
    for item in env or []:
        name, _, value = item.partition("=")
        if name == "VLLM_API_KEY" and value:
            return str(value)
    return None


def container_api_key(container: Any) -> str | None:
    """The ``VLLM_API_KEY`` the container runs with, read from the engine (never stored)."""
    return api_key((container.attrs.get("Config") or {}).get("Env"))


def probe(port: int, key: str | None, host: str = "127.0.0.1") -> str | None:
    """None when /health and /v1/models answer 200; else what failed (``Endpoint.ready``)."""
    address = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL
    return Endpoint(f"http://{address}:{port}", api_key=key, timeout=PROBE_TIMEOUT_S).ready()


@dataclass
class Poll:
    """What one look at the engine says about the thing being waited for."""

    state: str  # a container's (running, exited, ...) or a Swarm task's (pending, starting, running)
    health: str  # starting, healthy, unhealthy, none
    running: bool  # its process runs: time to probe the port
    failed: str = ""  # why the wait must stop now ("exited with code 3", "the task was rejected: ...")
    phase: str = ""  # what it waits for, when the engine says more than the state
    host: str = "127.0.0.1"  # where its published port listens
    host_port: int | None = None
    key: str | None = None  # the API key /v1/models wants


class Watched(Protocol):
    """A container, or a Swarm service's new task: its logs and its state."""

    def follow_logs(self) -> Iterable[bytes]: ...

    def poll(self) -> Poll: ...


class ContainerWatch:
    """A container of the local engine: exits and restarts end the wait."""

    def __init__(self, container: Any, container_port: int):
        self.container, self.container_port = container, container_port
        self.restarts: int | None = None

    def follow_logs(self) -> Iterable[bytes]:
        return self.container.logs(stream=True, follow=True, stdout=True, stderr=True)  # type: ignore[no-any-return]

    def poll(self) -> Poll:
        container = self.container
        container.reload()
        state = container.attrs.get("State") or {}
        status = str(state.get("Status", "?"))
        health = str((state.get("Health") or {}).get("Status", "none"))
        count = int(container.attrs.get("RestartCount") or 0)
        self.restarts = count if self.restarts is None else self.restarts
        failed = ""
        if status in ("exited", "dead"):
            meaning = exit_meaning(state.get("ExitCode"))
            failed = f"the container exited with code {state.get('ExitCode')}" + (
                f" ({meaning})" if meaning and not state.get("OOMKilled") else "")
        elif count > self.restarts or status == "restarting":
            failed = "the container restarted"
        if failed and state.get("OOMKilled"):
            failed += " (killed for running out of memory: OOMKilled, raise mem_limit)"
        return Poll(status, health, running=status == "running", failed=failed,
                    host_port=published_port(container, self.container_port),
                    key=container_api_key(container))


def wait_healthy(client: Any, container: Any, container_port: int, *, timeout: float,
                 has_healthcheck: bool, on_state: Callable[[WaitState], None] | None = None) -> WaitResult:
    """Wait for a container of the local engine (`sddd deploy`)."""
    return watch(ContainerWatch(container, container_port), container_port, timeout=timeout,
                 has_healthcheck=has_healthcheck, on_state=on_state)


def watch(target: Watched, container_port: int, *, timeout: float, has_healthcheck: bool,
          on_state: Callable[[WaitState], None] | None = None) -> WaitResult:
    """Poll ``target`` until healthy, failed or ``timeout``; a fatal log line ends it at once."""
    start = time.monotonic()
    watcher = LogWatcher(target.follow_logs)
    recent: list[str] = []
    last_line = ""
    host_port: int | None = None
    while True:
        elapsed = time.monotonic() - start
        for line in watcher.drain():
            recent = [*recent[-KEEP_LINES:], line]
            if not NOISE.search(line):
                last_line = line.strip()[:160]
            if fatal_kind(line):
                time.sleep(POLL_S)  # the traceback's last lines are usually a moment behind
                recent += watcher.drain()
                return failure(recent, elapsed, f"{fatal_kind(line)}: {line.strip()[:200]}", host_port)
        seen = target.poll()
        if seen.failed:
            time.sleep(POLL_S)
            recent += watcher.drain()
            return failure(recent, elapsed, seen.failed, host_port, state=seen.failed)
        host_port = host_port or seen.host_port
        phase = seen.phase or "starting"
        if seen.running:
            if host_port is None:
                phase = f"no host port for container port {container_port}"
            else:
                problem = probe(host_port, seen.key, seen.host)
                if problem is None and (not has_healthcheck or seen.health == "healthy"):
                    _emit(on_state, WaitState(seen.state, seen.health, elapsed, last_line, "healthy"))
                    return WaitResult("healthy", elapsed, "", [], host_port)
                phase = problem or f"Docker health: {seen.health}"
        _emit(on_state, WaitState(seen.state, seen.health, elapsed, last_line, phase))
        if elapsed >= timeout:
            return WaitResult("timeout", elapsed, f"not healthy after {timeout:.0f} s ({phase}); "
                              f"last log line: {last_line or '(none)'}", recent[-5:], host_port)
        time.sleep(POLL_S)


def failure(lines: list[str], elapsed: float, fallback: str, host_port: int | None,
            state: str = "") -> WaitResult:
    """A failed wait, told by the log's first decisive error when it has one (``fallback``, the
    fatal line or the container's state, otherwise); ``state`` is added after the cause."""
    cause = root_cause(lines)
    if cause is None:
        return WaitResult("failed", elapsed, fallback, _offending(lines), host_port)
    message = cause.message[:300] + (f" ({state})" if state else "")
    return WaitResult("failed", elapsed, message, cause.excerpt, host_port, cause=cause.line)


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
