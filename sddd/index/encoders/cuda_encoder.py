"""A lean BERT model (BERT + mean pooling: the bundled all-MiniLM-L6-v2) on a CUDA GPU, for bulk
indexing (``sddd index --device cuda``).

On a GPU the transformer is not what limits the rate: MiniLM in fp16 runs about 13,000
passages of 150 words a second on an H200, while sentence-transformers' ``encode`` reaches
about 1,200, held back by tokenising and padding on one thread in between. So:

* the texts are sorted by length and cut into batches of at most ``BATCH_TOKENS`` padded
  tokens (and ``MAX_BATCH`` texts), so padding stays small and short texts go many at a time;
* the model's own Rust tokenizer runs on a pool of threads (it releases the GIL), several
  batches ahead of the GPU, and each batch's ids go to the GPU from pinned memory;
* the weights are fp16 and the pooling and normalisation fp32. The vectors are the CPU's to a
  cosine of at least 0.999 (tests/index/encoders/test_cuda_encoder.py, run on the GPU machine;
  bench/README.md gives the figures), so an index mixes them freely with the CPU encoder's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from sddd.index.encoders.base import ModelInfo, Progress, offline

BATCH_TOKENS = 65_536  # padded tokens per batch (256 tokens x 256 texts)
MAX_BATCH = 1024
TOKENIZER_THREADS = 8


class CudaEncoder:
    """fp16 BERT on a CUDA device through torch; the same interface as the CPU encoders."""

    def __init__(self, info: ModelInfo, device: str = "cuda", half: bool = True):
        import torch
        from transformers import AutoModel

        from sddd.index.encoders.torch_encoder import quiet_transformers

        assert info.path is not None
        offline()
        quiet_transformers()
        self.name = info.name
        self.dim = int(info.dim or 0)
        self.max_tokens = info.max_seq_length - 2
        self.fingerprint = info.fingerprint
        self.device = torch.device(device)
        self._torch = torch
        model = AutoModel.from_pretrained(str(info.path))
        self._model = model.to(device=self.device, dtype=torch.float16 if half else torch.float32).eval()
        self._tokenizer_file = str(info.path / "tokenizer.json")
        self._max_length = info.max_seq_length
        self._local = threading.local()
        self._counter = self._tokenizer(padding=False)

    def _tokenizer(self, padding: bool = True) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(self._tokenizer_file)
        if padding:
            tokenizer.enable_truncation(self._max_length)
            tokenizer.enable_padding(pad_id=0)
        else:
            tokenizer.no_truncation()
            tokenizer.no_padding()
        return tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._counter.encode_batch(texts, add_special_tokens=False)]

    def _tokenize(self, texts: list[str]) -> tuple[Any, Any]:
        """Ids and mask of one batch, padded to its longest text, in pinned host memory."""
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            tokenizer = self._local.tokenizer = self._tokenizer()
        encodings = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int32)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int32)
        return (self._torch.from_numpy(ids).pin_memory(), self._torch.from_numpy(mask).pin_memory())

    def _batches(self, texts: Sequence[str]) -> list[list[int]]:
        """Indexes of ``texts`` by length, cut so a batch's padded size stays under BATCH_TOKENS.

        Lengths are guessed from characters (about 4 a token, capped at the window): cheap, and
        wrong only in how full a batch is, never in its vectors.
        """
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches: list[list[int]] = []
        current: list[int] = []
        for i in order:
            longest = min(self._max_length, len(texts[i]) // 4 + 2)
            if current and ((len(current) + 1) * longest > BATCH_TOKENS or len(current) >= MAX_BATCH):
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
        return batches

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        batches = self._batches(texts)
        threads = max(1, min(TOKENIZER_THREADS, (os.cpu_count() or 2) - 1))
        results: list[tuple[list[int], Any]] = []
        with ThreadPoolExecutor(threads) as pool, torch.inference_mode():
            futures = [pool.submit(self._tokenize, [texts[i] for i in batch]) for batch in batches]
            for batch, future in zip(batches, futures, strict=True):
                ids, mask = future.result()
                ids = ids.to(self.device, non_blocking=True).long()
                mask = mask.to(self.device, non_blocking=True)
                hidden = self._model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
                weights = mask.unsqueeze(-1).float()
                pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=1)
                # Copied back without waiting: the GPU goes on with the next batch meanwhile.
                host = torch.empty(pooled.shape, dtype=torch.float32, pin_memory=True)
                host.copy_(pooled, non_blocking=True)
                results.append((batch, host))
                if progress:
                    progress(len(batch))
            torch.cuda.synchronize(self.device)
        for batch, host in results:
            out[batch] = host.numpy()
        return out
