"""A real Docker engine for the deploy tests, and a tiny image they build themselves.

Registries are unreachable, so the image is built ``FROM scratch`` with Debian's static
busybox (busybox-static): ``httpd`` serves ``/health`` and ``/v1/models`` as static files.
Each test project gets its own sddd.yaml, base file and profile in ``tmp_path``, with a free
host port, and is taken down afterwards.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import require

from sddd.deploy.docker import compose_command

BUSYBOX = Path("/bin/busybox")
IMAGE = "sddd-test/httpd:1"
DOCKERFILE = b"""FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY www /www
"""


def engine_client():
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
        return client
    except Exception:
        return None


def _context() -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        def add(name: str, payload: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(payload), mode
            tar.addfile(info, io.BytesIO(payload))

        add("Dockerfile", DOCKERFILE)
        add("busybox", BUSYBOX.read_bytes(), 0o755)
        add("www/health", b"ok\n")
        add("www/v1/models", b'{"object": "list", "data": [{"id": "test-model"}]}\n')
    return data.getvalue()


@pytest.fixture(scope="session", name="docker_client")
def docker_client_fixture():
    client = engine_client()
    require(client is not None, "no Docker engine reachable (DOCKER_HOST or /var/run/docker.sock)")
    require(compose_command() is not None, "Docker Compose v2 not installed")
    return client


@pytest.fixture(scope="session", name="test_image")
def test_image_fixture(docker_client) -> str:
    from docker.errors import ImageNotFound

    try:
        docker_client.images.get(IMAGE)
        return IMAGE
    except ImageNotFound:
        pass
    require(BUSYBOX.is_file(), "/bin/busybox missing (apt-get install busybox-static)")
    docker_client.images.build(fileobj=io.BytesIO(_context()), custom_context=True, tag=IMAGE,
                               rm=True, pull=False)
    return IMAGE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# $$ is Compose's literal $: the container prints its own API key, which sddd must redact.
SERVE = "echo 'INFO: starting test server'; echo VLLM_API_KEY=$$VLLM_API_KEY; sleep 1; " \
        "echo 'INFO: Application startup complete.'; exec httpd -f -v -p 8000 -h /www"


def service_yaml(name: str, command: str = SERVE, *, healthcheck: bool = True, extra: str = "") -> str:
    text = f"""\
name: {name}
services:
  {name}:
    image: {IMAGE}
    init: true
    restart: "no"
    command: ["sh", "-c", "{command}"]
    environment:
      VLLM_API_KEY: ${{TEST_API_KEY}}
      MODE: test
    ports:
      - "${{TEST_PORT}}:8000"
"""
    if healthcheck:
        text += """\
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/health"]
      interval: 1s
      timeout: 2s
      retries: 3
"""
    return text + extra


class Project:
    """A throwaway sddd project (sddd.yaml, base + one profile, .env) in a folder."""

    def __init__(self, root: Path, port: int, api_key: str):
        self.root, self.port, self.api_key = root, port, api_key
        self.name = f"sddd-t{uuid.uuid4().hex[:8]}"
        (root / "profiles").mkdir(parents=True, exist_ok=True)
        (root / "docs" / "guides").mkdir(parents=True, exist_ok=True)
        (root / "sddd.yaml").write_text(
            "docs: ['docs/**/*.md']\nprofiles: ['profiles/*.yml']\nbase_profile: profiles/base.yml\n"
            f"canonical_profile: {self.name}\n")
        (root / "profiles" / "base.yml").write_text("networks: {}\n")
        (root / ".env").write_text(f"TEST_PORT={port}\nTEST_API_KEY={api_key}\n")

    def write(self, text: str) -> Path:
        path = self.root / "profiles" / f"{self.name}.yml"
        path.write_text(text)
        return path

    def sddd(self, *args: str, timeout: int = 120, env: dict[str, str] | None = None) \
            -> subprocess.CompletedProcess[str]:
        exe = shutil.which("sddd") or "sddd"
        return subprocess.run([exe, *args], cwd=self.root, capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "COLUMNS": "160", **(env or {})},
                              check=False)

    def cleanup(self) -> None:
        argv = compose_command()
        if argv:
            subprocess.run([*argv, "-p", self.name, "down", "--remove-orphans", "-t", "1"],
                           capture_output=True, timeout=120, check=False)


@pytest.fixture(name="project")
def project_fixture(tmp_path: Path, docker_client, test_image) -> Iterator[Project]:
    proj = Project(tmp_path / "proj", free_port(), "sk-test-" + uuid.uuid4().hex)
    yield proj
    proj.cleanup()
