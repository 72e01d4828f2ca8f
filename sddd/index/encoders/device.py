"""Where bulk embedding runs: the CPU, or a CUDA GPU (``sddd index --device``, ``device:``).

``cpu`` is the default and what CI runs. ``cuda`` puts every lean BERT model (the bundled
all-MiniLM-L6-v2) on the GPU as ``CudaEncoder``; ``auto`` does so when torch sees a GPU and
stays on the CPU otherwise. The multilingual USE runs in numpy and has no GPU path: it stays on
the CPU, embedding at the same time as the GPU does (``Overlapped``). Searches always embed
their one query on the CPU: loading torch and CUDA would cost seconds, the query milliseconds.

A small update (fewer than ``GPU_MIN_TEXTS`` passages to embed) stays on the CPU whatever the
device: starting torch and CUDA costs more than embedding them there, and the vectors are the
same either way (cosine >= 0.999).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from sddd.core.errors import ConfigError
from sddd.index.encoders.base import Encoder, Progress
from sddd.index.encoders.ensemble import Ensemble
from sddd.index.encoders.models import model_info

DEVICES = ("cpu", "cuda", "auto")
GPU_MIN_TEXTS = 512


def cuda_available() -> bool:
    """True when torch is installed and sees a CUDA device (imports torch only if installed)."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve(device: str) -> str:
    """``cpu`` or ``cuda`` for a device setting; ``cuda`` asked for where none is is an error."""
    if device not in DEVICES:
        raise ConfigError(f"must be one of {', '.join(DEVICES)}; got {device!r}", option="device")
    if device == "cpu":
        return "cpu"
    if cuda_available():
        return "cuda"
    if device == "cuda":
        raise ConfigError("is cuda, but torch sees no CUDA GPU here (is torch installed "
                          "with CUDA, is a driver loaded?); use --device cpu or auto", option="device")
    return "cpu"


def probe(device: str) -> None:
    """What can be said of ``device`` without importing torch or starting CUDA (seconds either):
    an unknown value, or ``cuda`` where torch is not installed or no NVIDIA driver is loaded, is an
    error now; the full check (``resolve``) waits until something must be embedded, so an index
    with nothing to embed never imports torch."""
    if device not in DEVICES:
        raise ConfigError(f"must be one of {', '.join(DEVICES)}; got {device!r}", option="device")
    if device == "cuda" and (importlib.util.find_spec("torch") is None or not _driver_loaded()):
        raise ConfigError("is cuda, but torch sees no CUDA GPU here (is torch installed "
                          "with CUDA, is a driver loaded?); use --device cpu or auto", option="device")


def _driver_loaded() -> bool:
    import ctypes
    import os

    if os.path.exists("/proc/driver/nvidia/version"):
        return True
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


class Overlapped(Ensemble):
    """An ensemble whose GPU members embed on a thread while the CPU members embed on this one."""

    def __init__(self, members: Sequence[Encoder], on_gpu: Sequence[bool]):
        super().__init__(members)
        self.on_gpu = list(on_gpu)

    def encode_all(self, texts: Sequence[str], progress: Progress | None = None) -> list[np.ndarray]:
        out: list[np.ndarray | None] = [None] * len(self.members)
        errors: list[BaseException] = []
        # Progress follows the last CPU member when there is one (the slower side), else the last.
        counted = max((i for i, g in enumerate(self.on_gpu) if not g), default=len(self.members) - 1)

        def run(position: int) -> None:
            try:
                out[position] = self.members[position].encode(
                    texts, progress=progress if position == counted else None)
            except BaseException as exc:  # re-raised on the calling thread
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i,)) for i, g in enumerate(self.on_gpu) if g]
        for thread in threads:
            thread.start()
        for position, gpu in enumerate(self.on_gpu):
            if not gpu:
                run(position)
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return [vectors for vectors in out if vectors is not None]


def bulk_ensemble(names: Sequence[str], root: Path | None, device: str, count: int,
                  cpu: Callable[[], Ensemble]) -> Ensemble:
    """The encoders to embed ``count`` texts with on ``device``; ``cpu()`` gives the CPU ones.

    On the GPU only the models that stay on the CPU are loaded there (MiniLM's ONNX session is
    not built to be thrown away)."""
    if device == "cpu" or count < GPU_MIN_TEXTS or resolve(device) == "cpu":
        return cpu()
    infos = [model_info(name, root) for name in names]
    on_gpu = [info.lean and info.path is not None for info in infos]
    if not any(on_gpu):
        return cpu()
    from sddd.index.encoders.cuda_encoder import CudaEncoder
    from sddd.index.encoders.models import load_encoder

    members: list[Encoder] = [CudaEncoder(info) if gpu else load_encoder(name, root)
                              for name, info, gpu in zip(names, infos, on_gpu, strict=True)]
    return Overlapped(members, on_gpu)
