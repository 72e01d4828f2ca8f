"""The MCP server: the tools and resources of this package behind the official SDK's low-level
``Server``, over stdio (the default) or streamable HTTP on 127.0.0.1.

Every call runs on one worker thread, in order: the library is not built for concurrent calls,
its SQLite connections belong to the thread that opened them, and the event loop stays free
to answer pings and read the next request meanwhile. The model is loaded and the index opened
on that thread as soon as the server starts, while the SDK is still being imported, so the
first question rarely waits for either.

A call never takes the server down: bad arguments, an unknown profile, a corrupt index answer
with one line (``isError``), an unexpected exception with one line naming it (its traceback goes
to stderr), and the next call is served. Secrets are redacted from every result. Nothing but
protocol messages goes to stdout: logs go to stderr, and while serving over stdio the SDK points
file descriptor 1 at stderr, so even a library's stray print cannot corrupt the stream.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sddd import __version__
from sddd.archive.journal import recover_pending
from sddd.core.config import Config
from sddd.core.errors import SdddError, UsageError
from sddd.core.secrets import redact
from sddd.mcp import record
from sddd.mcp.spec import Answer, ToolSpec, redact_data
from sddd.mcp.tools import READ_TOOLS
from sddd.mcp.writes import WRITE_TOOLS
from sddd.resident.warm import Workspace

log = logging.getLogger("sddd.mcp")
T = TypeVar("T")
# Library arguments whose tool parameter has another name.
PARAMETER_OF = {"path_glob": "path"}
INSTRUCTIONS = (
    "The team's documentation and compose profiles. Before changing a configuration or a guide, "
    "`search` for what the docs say and `profile` for what is deployed; afterwards run `drift` "
    "(guides that contradict the profiles) and `check` (questions that must still find their "
    "page). Documents are resources sddd://docs/<path>, profiles sddd://profiles/<name>."
)


def error_text(exc: SdddError) -> str:
    if exc.option:
        return exc.with_flag(PARAMETER_OF.get(exc.option, exc.option))
    return str(exc)


class Service:
    """The tools, the resources and the one worker thread they run on."""

    def __init__(self, config: Config, *, allow_writes: bool = False):
        self.workspace = Workspace(config, log.info)
        chosen = READ_TOOLS + (WRITE_TOOLS if allow_writes else ())
        self.tools: dict[str, ToolSpec] = {t.name: t for t in chosen}
        self.withheld = {t.name for t in WRITE_TOOLS} - set(self.tools)  # named in their refusal
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sddd-mcp")
        self.worker.submit(self._warm_up)  # the first call queues behind it on the one worker
        if allow_writes:
            log.warning(f"writes allowed (archive, restore, deploy, down); each call is recorded in "
                        f"{config.relpath(record.record_path(config))}")

    def _warm_up(self) -> None:
        started = time.perf_counter()
        try:
            self.workspace.warm_up()
            log.info(f"model loaded and index open in {time.perf_counter() - started:.2f} s")
        except SdddError as exc:  # said again, with its fix, by the first call that needs the index
            log.warning(f"not ready yet: {error_text(exc)}")

    async def on_worker(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self.worker.submit(work, *args))

    def call(self, name: str, arguments: dict[str, Any] | None) -> tuple[Answer | None, str | None]:
        """(answer, None), or (None, the one line that says what went wrong)."""
        tool = self.tools[name]
        started = time.perf_counter()
        dry_run = bool((arguments or {}).get("dry_run"))
        try:
            self.workspace.refresh_config()
            recover_pending(self.workspace.config, notice=log.info)  # as every CLI command does
            checked = tool.check(arguments)
            if tool.writes and not dry_run:  # before anything moves: no write goes unrecorded
                record.append(self.workspace.config, {"tool": name, "arguments": arguments or {},
                                                      "outcome": "started"})
            answer = tool.run(self.workspace, checked)
        except SdddError as exc:
            message = redact(error_text(exc))
            log.info(f"{name}: {message}")
            self.record(tool, arguments, "refused" if isinstance(exc, UsageError) else "failed", message)
            return None, message
        except Exception as exc:  # a bug: one line to the client, the traceback to stderr
            log.exception(f"{name} failed")
            message = (f"internal error in {name}: {type(exc).__name__}: {redact(str(exc))} (a bug in "
                       "sddd; the traceback is on the server's stderr; the server keeps serving)")
            self.record(tool, arguments, "failed", message)
            return None, message
        finally:
            if tool.writes:  # files moved, even half-way: look at the whole tree next time
                self.workspace.forget()
        applied = answer.data.get("applied", True) is not False
        self.record(tool, arguments, "dry run" if dry_run else "applied" if applied else "not applied",
                    answer.text)
        log.debug(f"{name} answered in {(time.perf_counter() - started) * 1000:.1f} ms")
        return Answer(redact_data(answer.data), redact(answer.text)), None

    def withhold(self, name: str, arguments: dict[str, Any] | None) -> str:
        """The refusal of a write tool the server was not started to offer (recorded as one)."""
        text = (f"{name} changes files or the engine: it is offered only when the server is started "
                "with `sddd mcp --allow-writes`")
        self.record(name, arguments, "refused", text)
        return text

    def record(self, tool: ToolSpec | str, arguments: dict[str, Any] | None, outcome: str,
               result: str) -> None:
        """The line of the write record for a call of a write tool (reads are not recorded)."""
        name = tool if isinstance(tool, str) else tool.name
        if isinstance(tool, ToolSpec) and not tool.writes:
            return
        try:
            record.append(self.workspace.config, {"tool": name, "arguments": arguments or {},
                                                  "outcome": outcome, "result": result})
        except SdddError as exc:  # the call is over: say so on stderr rather than hide its answer
            log.warning(f"{name}: not recorded: {exc}")

    def read(self, uri: str) -> tuple[str, str]:
        from sddd.mcp.resources import read

        self.workspace.refresh_config()
        return read(self.workspace, uri)  # redacted there: the JSON of a profile value by value

    def listings(self) -> list[Any]:
        from sddd.mcp.resources import listings

        self.workspace.refresh_config()
        return listings(self.workspace)


def build_server(service: Service) -> Any:
    """The SDK's low-level Server with sddd's handlers."""
    from mcp.server.lowlevel import Server

    from sddd.mcp.protocol import handlers

    return Server("sddd", version=__version__, title="sddd: the team's docs and profiles",
                  instructions=INSTRUCTIONS, **handlers(service))


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)  # stdout carries the protocol only
    handler.setFormatter(logging.Formatter("sddd mcp: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    log.setLevel(logging.INFO)


def serve_stdio(config: Config, *, allow_writes: bool = False) -> None:
    _configure_logging()
    service = Service(config, allow_writes=allow_writes)

    import anyio

    from sddd.core.messages import Limits
    from sddd.mcp.stdio import guarded_stdio

    server = build_server(service)
    limits = Limits.of(config)

    async def run() -> None:
        async with guarded_stdio(limits) as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    try:
        anyio.run(run)
    finally:
        service.worker.shutdown(wait=False, cancel_futures=True)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: any free port), or a UsageError saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another port",
                         option="port") from None
    sock.listen(64)
    return sock


def serve_http(config: Config, *, host: str, port: int, allow_writes: bool = False) -> None:
    _configure_logging()
    sock = bind(host, port)
    service = Service(config, allow_writes=allow_writes)

    import uvicorn

    app = build_server(service).streamable_http_app(host=host)
    shown = f"[{host}]" if ":" in host else host
    log.warning(f"serving streamable HTTP on http://{shown}:{sock.getsockname()[1]}/mcp "
                f"({len(service.tools)} tools{', writes allowed' if allow_writes else ', read-only'})")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        service.worker.shutdown(wait=False, cancel_futures=True)
        sock.close()
