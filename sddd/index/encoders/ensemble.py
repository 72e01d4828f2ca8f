"""Several encoders as one: every passage and query is embedded by each, and the ranking fuses
their cosines (sddd.index.scoring).

The first member is the primary one: its tokenizer counts tokens and its window (the smallest
of the members') sizes the chunks, so every member reads the same passages whole. The index
stores one vector set per member, in member order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from sddd.index.encoders.base import Encoder, Progress
from sddd.index.encoders.models import load_encoder, model_info


class Ensemble:
    def __init__(self, members: Sequence[Encoder]):
        if not members:
            raise ValueError("an ensemble needs at least one encoder")
        self.members = list(members)
        self.names = [m.name for m in self.members]
        self.max_tokens = min(m.max_tokens for m in self.members)
        self.fingerprint = " + ".join(m.fingerprint for m in self.members)

    def count_tokens(self, text: str) -> int:
        return self.members[0].count_tokens(text)

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        many = getattr(self.members[0], "count_tokens_many", None)
        return list(many(texts)) if many else [self.members[0].count_tokens(t) for t in texts]

    def encode_all(self, texts: Sequence[str], progress: Progress | None = None) -> list[np.ndarray]:
        """One array per member; ``progress`` counts each text once, when its last vector is done."""
        out = []
        for position, member in enumerate(self.members):
            last = position == len(self.members) - 1
            out.append(member.encode(texts, progress=progress if last else None))
        return out


def fingerprint_of(names: Sequence[str], root: Path | None = None) -> str:
    """What ``Ensemble(...).fingerprint`` will be, known without loading any model."""
    return " + ".join(model_info(name, root).fingerprint for name in names)


def load_ensemble(names: Sequence[str], root: Path | None = None,
                  loader: Callable[[str, Path | None], Encoder] = load_encoder) -> Ensemble:
    return Ensemble([loader(name, root) for name in names])
