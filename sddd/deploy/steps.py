"""The steps of a deploy every target shares: the image check of the pre-flight, the history
record around a start, the wait's outcome into the result (with the troubleshooting guide of a
failure), and a log stream cut into redacted lines."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sddd.compose.service import ResolvedService
from sddd.core.config import Config
from sddd.core.errors import EngineError, SdddError
from sddd.core.secrets import redact
from sddd.deploy.history import Entry, append, update_last
from sddd.deploy.report import DeployResult
from sddd.deploy.wait import WaitResult


def check_image(svc: ResolvedService, client: Any) -> list[str]:
    """The image is present on the engine, or a registry has it; EngineError otherwise."""
    notes: list[str] = []
    image = svc.image or ""
    if not _image_local(client, image):
        try:
            client.images.get_registry_data(image)
            notes.append(f"image {image} is not present locally; the engine will pull it")
        except Exception as exc:
            reason = redact(str(exc).splitlines()[0])[:160] if str(exc) else type(exc).__name__
            where = svc.source_of("image")
            raise EngineError(f"image {image} is not present locally and cannot be pulled ({reason}); "
                              "`docker load` it or check the registry", path=where.path if where else
                              None, line=where.line if where else None) from None
    return notes


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _image_local(client: Any, image: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(image)
        return True
    except ImageNotFound:
        return False


def recorded(config: Config, entry: Entry, work: Callable[[], DeployResult]) -> DeployResult:
    """Record ``entry`` as starting, then run ``work``: however it ends, the history says how."""
    append(config, entry)
    try:
        return work()
    except KeyboardInterrupt:
        update_last(config, entry.project, outcome="interrupted",
                    message="interrupted (Ctrl-C) before the service was known to be healthy")
        raise
    except SdddError as exc:
        update_last(config, entry.project, outcome="failed", message=str(exc))
        raise
    except Exception as exc:
        update_last(config, entry.project, outcome="failed", message=f"{type(exc).__name__}: {exc}")
        raise


def has_healthcheck(svc: ResolvedService) -> bool:
    return bool(svc.healthcheck and not svc.healthcheck.disabled)


def finish(config: Config, result: DeployResult, waited: WaitResult) -> DeployResult:
    """The wait's outcome into the result and the history, with a guide when it failed."""
    plan = result.plan
    result.outcome, result.seconds = waited.outcome, waited.seconds
    result.message, result.lines, result.cause = waited.message, waited.lines, waited.cause
    if waited.host_port and not plan.host_port:
        plan.host_port = waited.host_port
    if waited.outcome == "failed":
        result.hint, result.hint_note = troubleshooting_hint(config, waited.lines, waited.cause)
    update_last(config, plan.profile.project, outcome=waited.outcome,
                seconds=round(waited.seconds, 2) if waited.outcome == "healthy" else None,
                message=waited.message)
    return result


def troubleshooting_hint(config: Config, lines: list[str],
                         cause: str = "") -> tuple[dict[str, Any] | None, str]:
    """The knowledge base's guide section closest to the decisive error line (``cause``; else the
    last line), or why there is none."""
    from sddd.index.search import search

    query = cause or (lines[-1] if lines else "")
    if not query.strip():
        return None, ""
    try:
        result = search(config, query[:300], k=1, kind="guide", refresh=False)
    except SdddError as exc:
        return None, f"no troubleshooting hint: {exc.message}"
    if not result.results:
        return None, "no troubleshooting hint: no guide in the index"
    hit = result.results[0]
    ref = f"{hit.path}#{hit.anchor}" if hit.anchor else hit.path
    return {"path": hit.path, "anchor": hit.anchor, "ref": ref, "heading": hit.heading,
            "line": hit.line, "score": round(hit.score, 3), "snippet": hit.snippet}, ""


def lines_of(chunks: Iterable[bytes]) -> Iterator[str]:
    """A stream of log chunks as whole lines, secrets redacted."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            yield redact(raw.decode("utf-8", "replace").rstrip("\r"))
    if buffer:
        yield redact(buffer.decode("utf-8", "replace"))


def run_docker(argv: list[str], cwd: Path, timeout_s: float, command: str,
               env: dict[str, str] | None = None) -> str:
    """A docker CLI call (``command``: "docker compose up", "docker stack rm"...), its output
    redacted; a failure is one EngineError line, the last line docker printed."""
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout_s,
                              check=False, env=env)
    except subprocess.TimeoutExpired:
        raise EngineError(f"`{command}` did not finish in {timeout_s} s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = redact(lines[-1] if lines else f"exit {done.returncode}")[:300]
        raise EngineError(f"{command} failed: {reason}")
    return redact(done.stdout + done.stderr)
