"""What every encoder shares: the interface, what is known of a model before loading it, the
cache folder, file fingerprints, and the batch loop.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

Progress = Callable[[int], None]
SAMPLE_BYTES = 1 << 20  # weights files are fingerprinted by their first MiB and their size


class Encoder(Protocol):
    name: str
    dim: int
    max_tokens: int  # word pieces the model reads, special tokens excluded
    fingerprint: str

    def count_tokens(self, text: str) -> int: ...

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelInfo:
    """What can be known about a model without loading it."""

    name: str
    path: Path | None  # a local folder, or None for a hub name
    lean: bool  # BERT + mean pooling + tokenizer.json: the ONNX path applies
    dim: int | None
    max_seq_length: int
    signature: str  # changes when the weights or the tokenizer change

    @property
    def fingerprint(self) -> str:
        return f"{self.name}|dim={self.dim}|max={self.max_seq_length}|{self.signature}"


def offline() -> None:
    """Switch the model hub off unless the user explicitly allowed it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", os.environ["HF_HUB_OFFLINE"])
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def cache_dir() -> Path:
    """Where prepared models live: $SDDD_CACHE_DIR, else $XDG_CACHE_HOME/sddd."""
    explicit = os.environ.get("SDDD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sddd"


def files_signature(whole: Sequence[Path], sampled: Sequence[Path]) -> str:
    """A short hash of a model's files: ``whole`` read entirely (configs, tokenizers), ``sampled``
    by their first MiB and their size (weights: hashing 90 MB at every start would cost more
    than loading them). Missing files are skipped."""
    digest = hashlib.sha256()
    for path in whole:
        if path.is_file():
            digest.update(path.read_bytes())
    for path in sampled:
        if path.is_file():
            with open(path, "rb") as handle:
                digest.update(handle.read(SAMPLE_BYTES))
            digest.update(str(path.stat().st_size).encode())
    return digest.hexdigest()[:16]


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: np.ndarray = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return out


def length_batches(texts: Sequence[str], size: int) -> list[list[int]]:
    """Indexes grouped by similar length so padding stays small."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[i : i + size] for i in range(0, len(order), size)]


def encode_in_batches(
    texts: Sequence[str], dim: int, size: int, embed: Callable[[list[str]], np.ndarray],
    progress: Progress | None = None, *, by_length: bool = True,
) -> np.ndarray:
    """Run ``embed`` over batches of ``size`` texts (grouped by length unless ``by_length`` is
    False) and return the normalised vectors in the order of ``texts``."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    batches = (length_batches(texts, size) if by_length
               else [list(range(i, min(i + size, len(texts)))) for i in range(0, len(texts), size)])
    for batch in batches:
        out[batch] = embed([texts[i] for i in batch])
        if progress:
            progress(len(batch))
    return normalise(out)
