"""Fit a passage into the model's input window.

all-MiniLM-L6-v2 reads 256 word pieces and silently drops the rest, so a long section
is split at paragraph boundaries (never inside a fenced code block unless the block
alone is too long) and each piece starts with a little of the previous one.

A section is tokenised once: ``Window.token_starts`` gives where each of its word pieces starts,
and the size of any span of it (a paragraph, a line, a run of words) is the number of starts in
the span, found by bisection. The tokenizer splits on whitespace first, so a span cut at whitespace
holds exactly the pieces it would have alone: packing needs no recount, and a 50 MB file costs one
pass of the tokenizer (in bounded slices), not one call per paragraph or word.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where sizes are counted: `sddd drift` reads FENCE only
    import numpy as np

CountTokens = Callable[[str], int]
CountMany = Callable[[list[str]], list[int]]
TokenStarts = Callable[[list[str]], "list[np.ndarray]"]

FENCE = re.compile(r"^\s*(```|~~~)")
WORD_RUN = re.compile(r"\S+")
SLICE_CHARS = 65_536  # a text is tokenised in slices of about this many characters (cut at whitespace)


@dataclass(frozen=True)
class Window:
    """How much text the embedder reads, and how to count it."""

    count: CountTokens
    max_tokens: int  # word pieces, special tokens excluded
    overlap_tokens: int = 32
    count_many: CountMany | None = None  # the same counts for many texts in one call
    starts: TokenStarts | None = None  # where each word piece of each text starts (offsets)
    max_word: int = 0  # longest run without whitespace the chunker passes on (0: no limit)

    def counts(self, texts: list[str]) -> list[int]:
        if self.count_many is not None:
            return self.count_many(texts)
        return [self.count(text) for text in texts]

    def token_starts(self, texts: list[str]) -> list[np.ndarray]:
        """Start offset of every word piece of each text, ascending. Without a tokenizer that gives
        offsets, each word's count is put at the word's start: the same sizes for any span cut at
        whitespace, since counts add up over whitespace."""
        if self.starts is not None:
            return self.starts(texts)
        import numpy as np

        words = [[m for m in WORD_RUN.finditer(text)] for text in texts]
        flat = [m.group() for found in words for m in found]
        sizes = iter(self.counts(flat)) if flat else iter(())
        out = []
        for found in words:
            positions = [m.start() for m in found]
            out.append(np.repeat(np.array(positions, dtype=np.int64),
                                 [next(sizes) for _ in found]).astype(np.int64))
        return out


def slices(text: str, size: int = SLICE_CHARS) -> list[tuple[int, int]]:
    """``text`` cut into spans of about ``size`` characters, each cut at whitespace (a span may be
    longer when a run without whitespace is), so their word pieces are the text's."""
    spans = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            space = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
            if space <= start:
                found = WORD_RUN.match(text, end)
                space = found.end() if found else end
            end = space
        spans.append((start, end))
        start = end
    return spans


def offsets_starts(encode_batch: Callable[[list[str]], list[list[tuple[int, int]]]]) -> TokenStarts:
    """A ``TokenStarts`` from a tokenizer's batched offsets (``tokenizers``' fast tokenizers): texts
    are tokenised in bounded slices, many at a time, so memory stays that of one batch."""

    def starts(texts: list[str]) -> list[np.ndarray]:
        import numpy as np

        jobs = [(t, a, b) for t, text in enumerate(texts) for a, b in slices(text)]
        found: list[list[np.ndarray]] = [[] for _ in texts]
        batch: list[tuple[int, int, int]] = []
        chars = 0
        for job in [*jobs, None]:
            if job is not None:
                batch.append(job)
                chars += job[2] - job[1]
            if batch and (job is None or chars >= 16 * SLICE_CHARS):
                offsets = encode_batch([texts[t][a:b] for t, a, b in batch])
                for (t, a, _b), pairs in zip(batch, offsets, strict=True):
                    found[t].append(np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs)) + a)
                batch, chars = [], 0
        return [np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64) for parts in found]

    return starts


class Sized:
    """A text and where its word pieces start: the size of a span by bisection."""

    def __init__(self, text: str, starts: np.ndarray):
        self.text, self.starts = text, starts

    def size(self, start: int, end: int) -> int:
        return int(self.starts.searchsorted(end) - self.starts.searchsorted(start))

    def cut(self, start: int, end: int, budget: int, sep: str) -> list[tuple[int, int]]:
        """[start, end) cut at ``sep`` into as few spans of at most ``budget`` pieces as can be
        (a span between two separators may hold more): the greedy packing of the words one by one,
        found by bisection over the pieces before each separator."""
        import numpy as np

        at = np.array(_positions(self.text, sep, start, end), dtype=np.int64)
        before = self.starts.searchsorted(at)  # pieces before each separator
        spans = []
        first, k = start, 0  # k: the first separator after ``first``
        while k < len(at) and self.size(first, end) > budget:
            base = int(self.starts.searchsorted(first))
            j = max(int(before.searchsorted(base + budget, side="right")) - 1, k)
            spans.append((first, int(at[j])))
            first, k = int(at[j]) + 1, j + 1
        spans.append((first, end))
        return spans


def _positions(text: str, sep: str, start: int, end: int) -> list[int]:
    out = []
    i = text.find(sep, start, end)
    while i != -1:
        out.append(i)
        i = text.find(sep, i + 1, end)
    return out


def block_spans(text: str) -> list[tuple[int, int]]:
    """Paragraphs separated by blank lines, as spans of ``text``; a fenced code block is one."""
    out: list[tuple[int, int]] = []
    start = end = -1
    in_fence = False
    position = 0
    for line in text.split("\n"):
        line_start, position = position, position + len(line) + 1
        fence = bool(FENCE.match(line))
        if fence:
            in_fence = not in_fence
        elif not in_fence and not line.strip():
            if start >= 0:
                out.append((start, end))
                start = -1
            continue
        if start < 0:
            start = line_start
        end = line_start + len(line)
    if start >= 0:
        out.append((start, end))
    return out


def blocks(text: str) -> list[str]:
    """Paragraphs separated by blank lines; a fenced code block is one block."""
    return [text[a:b] for a, b in block_spans(text)]


Unit = tuple[int, str, int]  # (start in the body, text of the same length, word pieces)


def _split_oversized(sized: Sized, start: int, end: int, budget: int) -> list[Unit]:
    """A block longer than the window: by lines, then a line by words; packed again by lines."""
    units: list[Unit] = []
    cuts = [start - 1, *_positions(sized.text, "\n", start, end), end]
    for a, b in ((cuts[i] + 1, cuts[i + 1]) for i in range(len(cuts) - 1)):
        size = sized.size(a, b)
        if size <= budget:
            units.append((a, sized.text[a:b], size))
        else:
            units += [(x, sized.text[x:y], sized.size(x, y)) for x, y in sized.cut(a, b, budget, " ")]
    return _greedy(units, "\n", budget)


def _greedy(units: list[Unit], joiner: str, budget: int) -> list[Unit]:
    """``units`` packed in order into as few as fit ``budget`` (a unit alone may not)."""
    out: list[Unit] = []
    current: list[Unit] = []
    total = 0
    for unit in units:
        if current and total + unit[2] > budget:
            out.append((current[0][0], joiner.join(u[1] for u in current), total))
            current, total = [], 0
        current.append(unit)
        total += unit[2]
    if current:
        out.append((current[0][0], joiner.join(u[1] for u in current), total))
    return out


def _tail(sized: Sized, unit: Unit, tokens: int) -> tuple[str, int]:
    """The end of ``unit``, at most ``tokens`` word pieces, cut at a word boundary; and its size."""
    start, text, _size = unit
    words = list(WORD_RUN.finditer(text))[-max(tokens, 1):]  # a word is at least one piece
    kept, total = 0, 0
    for word in reversed(words):
        size = sized.size(start + word.start(), start + word.end())
        if total + size > tokens:
            break
        kept += 1
        total += size
    return " ".join(w.group() for w in words[len(words) - kept:]), total


def fit(header: str, body: str, window: Window, *, header_size: int | None = None,
        starts: np.ndarray | None = None) -> list[str]:
    """``body`` as one or more pieces, each of which fits the window after ``header``.

    ``header_size`` and ``starts`` (``window.token_starts([body])[0]``) may be given when the
    caller counted many sections in one call."""
    if header_size is None:
        header_size = window.count(header)
    sized = Sized(body, starts if starts is not None else window.token_starts([body])[0])
    budget = window.max_tokens - header_size - 2
    if len(sized.starts) <= budget:
        return [body]
    budget = max(budget, 32)
    room = budget - window.overlap_tokens
    units: list[Unit] = []
    for a, b in block_spans(body):
        size = sized.size(a, b)
        units += [(a, body[a:b], size)] if size <= room else _split_oversized(sized, a, b, room)
    pieces: list[str] = []
    current: list[str] = []
    total = 0
    last: Unit | None = None
    for unit in units:
        if current and last is not None and total + unit[2] > budget:
            pieces.append("\n\n".join(current))
            overlap, overlap_size = _tail(sized, last, window.overlap_tokens)
            current, total = ([overlap], overlap_size) if overlap else ([], 0)
        current.append(unit[1])
        total += unit[2]
        last = unit
    if current:
        pieces.append("\n\n".join(current))
    return pieces
