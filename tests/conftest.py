"""Shared fixtures: small repositories made on the spot, and the real encoder loaded once."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from sddd.core.config import Config, load_config
from sddd.index.encoders.base import Encoder
from sddd.index.encoders.models import load_encoder
from tests.helpers import write

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The real bundled model (lean ONNX path), loaded once for the whole session."""
    return load_encoder("all-MiniLM-L6-v2")


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Config]:
    """Write ``files`` (rel path -> text) and an sddd.yaml under tmp_path; return its Config."""

    def make(files: dict[str, str], config_text: str = "") -> Config:
        write(tmp_path, "sddd.yaml", config_text or "docs: ['docs/**/*.md']\n")
        for rel, text in files.items():
            write(tmp_path, rel, text)
        return load_config(tmp_path / "sddd.yaml")

    return make
