"""Shared fixtures: small repositories made on the spot, and the real encoder loaded once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from sddd.core.config import Config, load_config
from sddd.index.encoders.base import Encoder
from sddd.index.encoders.models import load_encoder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
# Test modules import shared helpers either as `tests.helpers` or as plain `helpers`.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The real bundled model (lean ONNX path), loaded once for the whole session."""
    return load_encoder("all-MiniLM-L6-v2")


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Config]:
    """Write ``files`` (rel path -> text) and an sddd.yaml under tmp_path; return its Config."""

    def make(files: dict[str, str], config_text: str = "") -> Config:
        write(tmp_path, "sddd.yaml", config_text or "docs: ['docs/**/*.md']\n")
        for rel, text in files.items():
            write(tmp_path, rel, text)
        return load_config(tmp_path / "sddd.yaml")

    return make


def run_sddd(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a fresh process, as a user runs it."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "sddd.cli", *args], cwd=cwd, env=full_env,
        capture_output=True, text=True, timeout=600,
    )
