"""Fit a passage into the model's input window.

all-MiniLM-L6-v2 reads 256 word pieces and silently drops the rest, so a long section
is split at paragraph boundaries (never inside a fenced code block unless the block
alone is too long) and each piece starts with a little of the previous one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

CountTokens = Callable[[str], int]

FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Window:
    """How much text the embedder reads, and how to count it."""

    count: CountTokens
    max_tokens: int  # word pieces, special tokens excluded
    overlap_tokens: int = 32


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


def _greedy(units: list[str], joiner: str, count: CountTokens, budget: int) -> list[str]:
    """``units`` packed in order into as few pieces as fit ``budget`` (a unit alone may not)."""
    pieces: list[str] = []
    current: list[str] = []
    for unit in units:
        if current and count(joiner.join([*current, unit])) > budget:
            pieces.append(joiner.join(current))
            current = []
        current.append(unit)
    if current:
        pieces.append(joiner.join(current))
    return pieces


def _split_oversized(block: str, count: CountTokens, budget: int) -> list[str]:
    """A block longer than the window: by lines, then by words."""
    units: list[str] = []
    for line in block.split("\n"):
        units.extend([line] if count(line) <= budget else _greedy(line.split(" "), " ", count, budget))
    return _greedy(units, "\n", count, budget)


def _tail(text: str, count: CountTokens, tokens: int) -> str:
    """The end of ``text``, at most ``tokens`` word pieces, cut at a word boundary."""
    words = text.split()
    tail: list[str] = []
    for word in reversed(words):
        if count(" ".join([word, *tail])) > tokens:
            break
        tail.insert(0, word)
    return " ".join(tail)


def fit(header: str, body: str, window: Window) -> list[str]:
    """``body`` as one or more pieces, each of which fits the window after ``header``."""
    count = window.count
    budget = window.max_tokens - count(header) - 2
    if count(body) <= budget:
        return [body]
    budget = max(budget, 32)
    units: list[str] = []
    for block in blocks(body):
        if count(block) <= budget - window.overlap_tokens:
            units.append(block)
        else:
            units.extend(_split_oversized(block, count, budget - window.overlap_tokens))
    pieces: list[str] = []
    current: list[str] = []
    for unit in units:
        candidate = "\n\n".join([*current, unit])
        if current and count(candidate) > budget:
            pieces.append("\n\n".join(current))
            overlap = _tail(current[-1], count, window.overlap_tokens)
            current = [overlap] if overlap else []
        current.append(unit)
    if current:
        pieces.append("\n\n".join(current))
    return pieces
