"""Fit a passage into the model's input window.

all-MiniLM-L6-v2 reads 256 word pieces and silently drops the rest, so a long section
is split at paragraph boundaries (never inside a fenced code block unless the block
alone is too long) and each piece starts with a little of the previous one.

Every unit (paragraph, line, word) is counted once, in batches, and pieces are packed by
adding the counts: the word pieces of texts joined by whitespace are the sum of theirs (the
tokenizer splits on whitespace first), so packing needs no recount of the growing piece and a
20 MB section costs a few passes of the tokenizer, not one per word.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

CountTokens = Callable[[str], int]
CountMany = Callable[[list[str]], list[int]]

FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Window:
    """How much text the embedder reads, and how to count it."""

    count: CountTokens
    max_tokens: int  # word pieces, special tokens excluded
    overlap_tokens: int = 32
    count_many: CountMany | None = None  # the same counts for many texts in one call

    def counts(self, texts: list[str]) -> list[int]:
        if self.count_many is not None:
            return self.count_many(texts)
        return [self.count(text) for text in texts]


def blocks(text: str) -> list[str]:
    """Paragraphs separated by blank lines; a fenced code block is one block."""
    out: list[str] = []
    current: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        if FENCE.match(line):
            in_fence = not in_fence
            current.append(line)
            continue
        if not in_fence and not line.strip():
            if current:
                out.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        out.append("\n".join(current))
    return out


def _greedy(units: list[str], sizes: list[int], joiner: str, budget: int) -> tuple[list[str], list[int]]:
    """``units`` packed in order into as few pieces as fit ``budget`` (a unit alone may not),
    with each piece's size."""
    pieces: list[str] = []
    piece_sizes: list[int] = []
    current: list[str] = []
    total = 0
    for unit, size in zip(units, sizes, strict=True):
        if current and total + size > budget:
            pieces.append(joiner.join(current))
            piece_sizes.append(total)
            current, total = [], 0
        current.append(unit)
        total += size
    if current:
        pieces.append(joiner.join(current))
        piece_sizes.append(total)
    return pieces, piece_sizes


def _split_oversized(block: str, window: Window, budget: int) -> tuple[list[str], list[int]]:
    """A block longer than the window: by lines, then by words."""
    lines = block.split("\n")
    units: list[str] = []
    sizes: list[int] = []
    for line, size in zip(lines, window.counts(lines), strict=True):
        if size <= budget:
            units.append(line)
            sizes.append(size)
        else:
            words = line.split(" ")
            parts, part_sizes = _greedy(words, window.counts(words), " ", budget)
            units += parts
            sizes += part_sizes
    return _greedy(units, sizes, "\n", budget)


def _tail(text: str, window: Window, tokens: int) -> tuple[str, int]:
    """The end of ``text``, at most ``tokens`` word pieces, cut at a word boundary; and its size."""
    words = text.split()[-max(tokens, 1):]  # a word is at least one piece
    kept, total = 0, 0
    for size in reversed(window.counts(words)):
        if total + size > tokens:
            break
        kept += 1
        total += size
    return " ".join(words[len(words) - kept:]), total


def fit(header: str, body: str, window: Window) -> list[str]:
    """``body`` as one or more pieces, each of which fits the window after ``header``."""
    budget = window.max_tokens - window.count(header) - 2
    parts = blocks(body)
    part_sizes = window.counts(parts)
    if sum(part_sizes) <= budget:
        return [body]
    budget = max(budget, 32)
    room = budget - window.overlap_tokens
    units: list[str] = []
    sizes: list[int] = []
    for block, size in zip(parts, part_sizes, strict=True):
        if size <= room:
            units.append(block)
            sizes.append(size)
        else:
            split, split_sizes = _split_oversized(block, window, room)
            units += split
            sizes += split_sizes
    pieces: list[str] = []
    current: list[str] = []
    total = 0
    for unit, size in zip(units, sizes, strict=True):
        if current and total + size > budget:
            pieces.append("\n\n".join(current))
            overlap, overlap_size = _tail(current[-1], window, window.overlap_tokens)
            current, total = ([overlap], overlap_size) if overlap else ([], 0)
        current.append(unit)
        total += size
    if current:
        pieces.append("\n\n".join(current))
    return pieces
