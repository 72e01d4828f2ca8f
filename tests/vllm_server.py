"""Real vLLM OpenAI servers on the CPU for the validate and bench tests.

The tiny scripted Qwen3 (tests/tiny_qwen3.py) is built once into a cache folder keyed by the
builder's source, then each server configuration is started at most once per test session
(whichever test module asks first) and stopped by its process-group id when the session ends.
The vLLM environment is its own virtual environment (.ci/steps/40-vllm.sh); without it the
tests skip with the reason, except under CI=true where they fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sddd.core.atomic import file_lock

from .helpers import require

HERE = Path(__file__).resolve().parent
VLLM_PYTHON = Path(os.environ.get("SDDD_VLLM_PYTHON", "/opt/sddd-vllm/bin/python"))
CACHE = Path(os.environ.get("SDDD_TEST_CACHE", Path.home() / ".cache" / "sddd-tests"))
SERVED_NAME = "tiny-qwen3"
API_KEY = "sddd-test-key-7f3a9c"  # the "bare" server's key (a test value, not a secret)
START_TIMEOUT = 420  # seconds: about 30 s alone, several times that on 2 busy cores

# name -> extra vLLM flags. "full" is configured like the team's profiles; "bare" lacks the
# parsers, has prefix caching off and wants a key: one server for every failure the tests need.
CONFIGS: dict[str, list[str]] = {
    "full": ["--reasoning-parser", "qwen3", "--enable-auto-tool-choice", "--tool-call-parser", "hermes"],
    "bare": ["--no-enable-prefix-caching"],
}
ENV: dict[str, dict[str, str]] = {"bare": {"VLLM_API_KEY": API_KEY}}


def vllm_missing() -> str | None:
    """Why the vLLM environment cannot be used, or None."""
    if not VLLM_PYTHON.is_file():
        return f"no vLLM environment ({VLLM_PYTHON} is missing; build it: bash .ci/steps/40-vllm.sh)"
    probe = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('vllm') else 1)"
    if subprocess.run([str(VLLM_PYTHON), "-c", probe], capture_output=True).returncode != 0:
        return f"{VLLM_PYTHON} cannot import vllm (rebuild: bash .ci/steps/40-vllm.sh)"
    return None


def tiny_model() -> Path:
    """The scripted tiny Qwen3, built once per version of its builder."""
    source = (HERE / "tiny_qwen3.py").read_bytes()
    target = CACHE / f"tiny-qwen3-{hashlib.sha256(source).hexdigest()[:12]}"
    with file_lock(CACHE / "build.lock"):
        if (target / "config.json").is_file():
            return target
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=CACHE))
        proc = subprocess.run([str(VLLM_PYTHON), str(HERE / "tiny_qwen3.py"), str(work)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            raise RuntimeError(f"building the tiny model failed:\n{proc.stderr[-3000:]}")
        work.rename(target)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class VllmServer:
    name: str
    model_dir: Path
    flags: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server",
                "--model", str(self.model_dir), "--served-model-name", SERVED_NAME,
                "--host", "127.0.0.1", "--port", str(self.port), "--dtype", "float32",
                "--enforce-eager", "--max-model-len", "4096", *self.flags]

    def start(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log = log_dir / f"vllm-{self.name}.log"
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1",
               "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1", **self.env}
        with open(self.log, "wb") as log:
            # Its own session: the API server and its engine workers form one process group.
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         env=env, start_new_session=True, cwd=log_dir)

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"vLLM server {self.name} exited during start-up:\n{self.tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                if r.status == 200:
                    return
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"vLLM server {self.name} not healthy after {START_TIMEOUT} s:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log and self.log.exists() else ""

    def stop(self) -> None:
        """SIGTERM to the server's process group (its PID), SIGKILL after 30 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)  # workers left behind by the server, if any


_SERVERS: dict[str, VllmServer] = {}


def _stop_all() -> None:
    for server in _SERVERS.values():
        server.stop()
    _SERVERS.clear()


def servers(request: pytest.FixtureRequest, *names: str) -> list[VllmServer]:
    """The named servers, started together (their start-ups overlap) once per session."""
    missing = vllm_missing()
    require(missing is None, missing or "")
    wanted = [n for n in names if n not in _SERVERS]
    if wanted:
        if not _SERVERS:
            request.session.config.add_cleanup(_stop_all)
        model = tiny_model()
        log_dir = Path(tempfile.mkdtemp(prefix="sddd-vllm-"))
        started = []
        for name in wanted:
            server = VllmServer(name, model, CONFIGS[name], ENV.get(name, {}))
            server.start(log_dir)
            _SERVERS[name] = server
            started.append(server)
        for server in started:
            try:
                server.wait_healthy()
            except RuntimeError:
                _SERVERS.pop(server.name, None)
                server.stop()
                raise
        sys.stderr.write(f"\nvLLM servers up: {', '.join(f'{s.name} {s.url}' for s in started)}\n")
    return [_SERVERS[n] for n in names]


KEY_VAR = "SDDD_TEST_BARE_KEY"  # the variable the "bare" profile reads its key from


def make_kb_repo(root: Path, full: VllmServer, bare: VllmServer) -> Path:
    """A repository with the real guides (indexed, for hints) and one profile per test server."""
    from sddd.core.config import load_config
    from sddd.index.indexer import build_index

    repo = HERE.parent
    shutil.copytree(repo / "docs" / "guides", root / "docs" / "guides")
    (root / "sddd.yaml").write_text(
        "docs: ['docs/**/*.md']\nprofiles: ['profiles/*.yml']\nbase_profile: profiles/base.yml\n"
        "canonical_profile: tiny\n", encoding="utf-8")
    profiles = root / "profiles"
    profiles.mkdir()
    (profiles / "base.yml").write_text("networks:\n  vllm-network: {}\n", encoding="utf-8")
    common = f"--model=/models/tiny-qwen3\n      - --served-model-name={SERVED_NAME}\n      - --port=8000"
    (profiles / "tiny.yml").write_text(
        "name: tiny\nservices:\n  tiny:\n    image: vllm/vllm-openai:v0.32.0\n    command:\n"
        f"      - {common}\n" + "".join(f"      - {f}\n" for f in _joined(CONFIGS["full"]))
        + f"    ports:\n      - \"{full.port}:8000\"\n", encoding="utf-8")
    (profiles / "bare.yml").write_text(
        "name: bare\nservices:\n  bare:\n    image: vllm/vllm-openai:v0.32.0\n    command:\n"
        f"      - {common}\n" + "".join(f"      - {f}\n" for f in _joined(CONFIGS["bare"]))
        + f"    environment:\n      VLLM_API_KEY: ${{{KEY_VAR}}}\n"
        + f"    ports:\n      - \"{bare.port}:8000\"\n", encoding="utf-8")
    build_index(load_config(root / "sddd.yaml"))
    return root


def _joined(flags: list[str]) -> list[str]:
    """["--a", "x", "--b"] -> ["--a=x", "--b"] (one list item per flag in the compose file)."""
    out: list[str] = []
    for flag in flags:
        if flag.startswith("--") or not out:
            out.append(flag)
        else:
            out[-1] += f"={flag}"
    return out
