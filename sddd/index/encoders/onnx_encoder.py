"""The lean encoder: the model's own tokenizer (``tokenizers``) and an ONNX export of its
transformer run by onnxruntime, then mean pooling and normalisation. It imports no torch, so
a search in a fresh process starts in well under a second.

A model qualifies when it is a BERT transformer with mean pooling and a ``tokenizer.json``
(the bundled all-MiniLM-L6-v2 does). Its ONNX file is exported once, with torch, from the
same local weights, into the cache folder, and reused from then on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sddd.core.atomic import atomic_folder
from sddd.index.encoders.base import ModelInfo, Progress, cache_dir, encode_in_batches, offline

# 2: weights saved as external data beside the graph, which onnxruntime reads without a
# second in-memory copy (peak memory of a cold search: about 205 MB -> 120 MB for the session).
EXPORT_VERSION = "2"
WEIGHTS_FILE = "model.weights"


def onnx_path(info: ModelInfo) -> Path:
    return cache_dir() / "onnx" / f"{info.signature}-v{EXPORT_VERSION}" / "model.onnx"


class OnnxEncoder:
    """tokenizers + onnxruntime, no torch."""

    batch_size = 32

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

    def count_tokens(self, text: str) -> int:
        if self._counter is None:
            from tokenizers import Tokenizer

            self._counter = Tokenizer.from_file(str(self._tokenizer_file))
            self._counter.no_truncation()
            self._counter.no_padding()
        return len(self._counter.encode(text, add_special_tokens=False).ids)

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
    """One-time export of the transformer to ONNX, from local weights, checked against torch."""
    offline()
    import contextlib
    import io
    import warnings

    import torch
    from transformers import AutoModel

    from sddd.index.encoders.torch_encoder import quiet_transformers

    assert info.path is not None
    quiet_transformers()
    model = AutoModel.from_pretrained(str(info.path), attn_implementation="eager")
    model.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tuple(torch.ones(2, 16, dtype=torch.long) if n != "token_type_ids"
                   else torch.zeros(2, 16, dtype=torch.long) for n in names)
    # The export is built in a temporary folder beside the target and renamed into place
    # whole, so a crash never leaves a graph without its weights.
    with atomic_folder(target.parent, marker=target.name) as work:
        single = work / "single.onnx"
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHidden(model), sample, str(single), input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]},
                opset_version=17, dynamo=False,
            )
        _split_weights(single, work / target.name)
        single.unlink()


def _split_weights(source: Path, target: Path) -> None:
    """Save the graph at ``target`` with its weights in one external file beside it."""
    import onnx

    model = onnx.load(str(source))
    onnx.save_model(model, str(target), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=WEIGHTS_FILE, size_threshold=1024)
