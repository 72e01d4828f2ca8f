"""sentence-transformers: the general engine for any model a user names in ``model:``.

It needs the ``torch`` extra (torch and sentence-transformers); the two bundled models never
come here, so a default install has neither.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from sddd.core.errors import ConfigError
from sddd.core.models import TORCH_EXTRA_INSTALL
from sddd.index.encoders.base import ModelInfo, Progress, encode_in_batches, offline


class TorchEncoder:
    """sentence-transformers on the CPU."""

    batch_size = 32

    def __init__(self, info: ModelInfo):
        offline()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ConfigError(
                f"model {info.name!r} runs on sentence-transformers and torch, which are not "
                f"installed (the bundled models need neither); install the torch extra: {TORCH_EXTRA_INSTALL}"
            ) from None
        source = str(info.path) if info.path else info.name
        quiet_transformers()
        try:
            self._model = SentenceTransformer(source, device="cpu")
        except Exception as exc:  # the library raises many kinds; the user needs one line
            hint = "" if info.path else " (hub names need the network: set HF_HUB_OFFLINE=0)"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot load model {info.name!r}{hint}: {first}") from None
        self.name = info.name
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 0)
        max_len = int(self._model.max_seq_length or info.max_seq_length)
        self.max_tokens = max_len - 2
        self.fingerprint = ModelInfo(
            info.name, info.path, False, self.dim, max_len, info.signature
        ).fingerprint

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return encode_in_batches(texts, self.dim, self.batch_size, self._embed, progress)

    def _embed(self, batch: list[str]) -> np.ndarray:
        vectors: np.ndarray = self._model.encode(
            batch, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True,
            show_progress_bar=False,
        )
        return vectors


def quiet_transformers() -> None:
    """Progress bars and notices of the model loaders would drown sddd's own output."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    except ImportError:
        pass
