"""Shared fixtures: small repositories made on the spot, and the real encoder loaded once."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from sddd.core.config import Config, load_config
from sddd.core.models import DEFAULT_MODELS
from sddd.index.encoders.ensemble import Ensemble, load_ensemble
from tests.helpers import write

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def encoder() -> Ensemble:
    """The real bundled models (MiniLM on the lean ONNX path, the multilingual USE), loaded once
    for the whole session: what an index of the default configuration embeds with."""
    return load_ensemble(list(DEFAULT_MODELS))


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Config]:
    """Write ``files`` (rel path -> text) and an sddd.yaml under tmp_path; return its Config."""

    def make(files: dict[str, str], config_text: str = "") -> Config:
        write(tmp_path, "sddd.yaml", config_text or "docs: ['docs/**/*.md']\n")
        for rel, text in files.items():
            write(tmp_path, rel, text)
        return load_config(tmp_path / "sddd.yaml")

    return make
