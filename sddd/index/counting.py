"""The chunking window without the models: the primary model's own tokenizer, loaded alone.

Chunking needs only token counts, so it need not load ONNX sessions or USE's weights (an index
whose files changed but whose passages are already embedded loads no model at all), and a
worker process of the files phase builds its window from a small picklable ``WindowSpec``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sddd.core.config import Config
from sddd.core.models import own_engine
from sddd.index.chunking import Window, offsets_starts
from sddd.index.encoders.models import model_info

COUNT_BATCH = 2048  # texts per tokenizer call when counting


@dataclass(frozen=True)
class WindowSpec:
    """What a process needs to build the chunking window: picklable, no model loaded."""

    tokenizer_file: str
    max_tokens: int
    max_word: int = 0


def window_spec(config: Config, max_word: int = 0) -> WindowSpec | None:
    """The spec for ``config``'s models, or None when the primary model has no fast tokenizer of
    its own (then the window comes from the loaded encoders)."""
    infos = [model_info(name, config.root) for name in config.model]
    primary = infos[0]
    if not primary.lean or primary.path is None:
        return None
    if not all(info.lean or own_engine(info.name) for info in infos):
        return None  # a model loaded by sentence-transformers may read another window
    return WindowSpec(str(primary.path / "tokenizer.json"), min(i.max_seq_length for i in infos) - 2,
                      max_word)


def build_window(spec: WindowSpec) -> Window:
    from tokenizers import Tokenizer

    tokenizer: Any = Tokenizer.from_file(spec.tokenizer_file)
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    def count_many(texts: list[str]) -> list[int]:
        out: list[int] = []
        for start in range(0, len(texts), COUNT_BATCH):
            batch = tokenizer.encode_batch(texts[start:start + COUNT_BATCH], add_special_tokens=False)
            out += [len(e.ids) for e in batch]
        return out

    def offsets(texts: list[str]) -> list[list[tuple[int, int]]]:
        return [e.offsets for e in tokenizer.encode_batch(texts, add_special_tokens=False)]

    return Window(count, spec.max_tokens, count_many=count_many, starts=offsets_starts(offsets),
                  max_word=spec.max_word)
