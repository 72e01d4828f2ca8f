"""The lean encoder: the model's own tokenizer (``tokenizers``) and an ONNX export of its
transformer run by onnxruntime, then mean pooling and normalisation. It imports no torch, so
a search in a fresh process starts in well under a second.

A model qualifies when it is a BERT transformer with mean pooling, a ``tokenizer.json`` and
``model.safetensors`` (the bundled all-MiniLM-L6-v2 does). Its ONNX graph is built once, from
those weights, with onnx's own graph API (``bert_graph.py``: no torch), into the cache folder,
and reused from then on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sddd.core.atomic import atomic_folder
from sddd.index.encoders.base import ModelInfo, Progress, cache_dir, encode_in_batches

# 2: weights saved as external data beside the graph, which onnxruntime reads without a
# second in-memory copy (peak memory of a cold search: about 205 MB -> 120 MB for the session).
# 3: the graph is built from the safetensors by bert_graph.py instead of exported by torch.
EXPORT_VERSION = "3"


def onnx_path(info: ModelInfo) -> Path:
    return cache_dir() / "onnx" / f"{info.signature}-v{EXPORT_VERSION}" / "model.onnx"


COUNT_BATCH = 2048  # texts per tokenizer call when only counting


class OnnxEncoder:
    """tokenizers + onnxruntime, no torch."""

    # 8, not 32: onnxruntime holds a batch's activations at once (attention alone is batch x 12
    # heads x 256 x 256 floats), so 32 texts of 256 word pieces peaked at 640 MB and 8 at 257 MB,
    # at the same passages per CPU-second on this machine.
    batch_size = 8

    def __init__(self, info: ModelInfo, model_file: Path):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        assert info.path is not None
        self.name = info.name
        self.dim = int(info.dim or 0)
        self.max_tokens = info.max_seq_length - 2
        self.fingerprint = info.fingerprint
        self._tokenizer = Tokenizer.from_file(str(info.path / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(info.max_seq_length)
        self._tokenizer_file = info.path / "tokenizer.json"
        self._counter: Tokenizer | None = None  # loaded when chunking needs it
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, os.cpu_count() or 1)
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}

    def _count_with(self) -> Any:
        if self._counter is None:
            from tokenizers import Tokenizer

            self._counter = Tokenizer.from_file(str(self._tokenizer_file))
            self._counter.no_truncation()
            self._counter.no_padding()
        return self._counter

    def count_tokens(self, text: str) -> int:
        return len(self._count_with().encode(text, add_special_tokens=False).ids)

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        """Word pieces of each text, in batches (tokenizers runs each in Rust threads). A batch
        is bounded: each result holds its tokens, offsets and masks, and a section's 170,000
        words counted in one call held 400 MB of them at once."""
        tokenizer = self._count_with()
        out: list[int] = []
        for start in range(0, len(texts), COUNT_BATCH):
            batch = texts[start:start + COUNT_BATCH]
            out += [len(e.ids) for e in tokenizer.encode_batch(batch, add_special_tokens=False)]
        return out

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return encode_in_batches(texts, self.dim, self.batch_size, self._embed, progress)

    def _embed(self, batch: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(batch)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled: np.ndarray = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled


def export_onnx(info: ModelInfo, target: Path) -> None:
    """One-time build of the transformer's ONNX graph from the local safetensors, without torch.

    It is built in a temporary folder beside the target and renamed into place whole, so a
    crash never leaves a graph without its weights.
    """
    from sddd.index.encoders.bert_graph import build_bert_onnx

    assert info.path is not None
    with atomic_folder(target.parent, marker=target.name) as work:
        build_bert_onnx(info.path, work / target.name)
