"""Markdown -> chunks: one per heading section, with heading path, anchor and title.

Anchors are the ids MkDocs gives headings: Python-Markdown's toc ``slugify`` applied to
the heading's text, made unique within the page the same way (``_1``, ``_2`` suffixes).
Headings inside fenced code blocks are code, not headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from markdown.extensions.toc import slugify, unique

from sddd.core.errors import InputError
from sddd.core.secrets import redact
from sddd.core.yamlio import parse_yaml
from sddd.index.chunking import FENCE, Window, fit
from sddd.index.corpus import Chunk

SEP = " › "
ATX = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
SETEXT = re.compile(r"^(=+|-+)[ \t]*$")
ATTR_ID = re.compile(r"\s*\{[^}]*#([\w\-]+)[^}]*\}\s*$")
ATTR_LIST = re.compile(r"\s*\{:?[^}]*\}\s*$")


@dataclass
class Section:
    level: int
    title: str
    anchor: str | None
    line: int  # line of the heading (or 1 for the preamble)
    body: list[str]


@dataclass
class MarkdownDoc:
    meta: dict[str, Any]
    title: str
    sections: list[Section]
    body_start: int  # first line after the front matter


def heading_text(raw: str) -> str:
    """Heading source -> the plain text MkDocs renders (what the slug is made from)."""
    text = ATTR_LIST.sub("", raw)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", text)
    text = re.sub(r"`+([^`]*)`+", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])", r"\1", text)
    return text.replace("&amp;", "&").strip()


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any], int]:
    """(metadata, index of the first body line). Malformed YAML is an error with its line."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            doc = parse_yaml("\n".join(lines[1:end]), source, line_offset=1)
            if doc.data is None:
                return {}, end + 1
            if not isinstance(doc.data, dict):
                raise InputError("front matter must be a YAML mapping", path=source, line=2)
            return doc.data, end + 1
    raise InputError("front matter opened with '---' is never closed", path=source, line=1)


def parse_markdown(text: str, source: str) -> MarkdownDoc:
    text = text.removeprefix("\ufeff")  # a byte-order mark would hide the first heading
    meta, start = split_front_matter(text, source)
    lines = text.split("\n")
    sections = [Section(0, "", None, start + 1, [])]
    used_ids: set[str] = set()
    in_fence = False
    i = start
    while i < len(lines):
        line = lines[i]
        if FENCE.match(line):
            in_fence = not in_fence
            sections[-1].body.append(line)
            i += 1
            continue
        level, raw = 0, ""
        if not in_fence:
            match = ATX.match(line)
            if match:
                level, raw = len(match.group(1)), match.group(2)
            elif (
                i + 1 < len(lines)
                and line.strip()
                and SETEXT.match(lines[i + 1])
                and (not sections[-1].body or not sections[-1].body[-1].strip())
                and not line.lstrip().startswith(("-", "*", ">", "|", "<"))
            ):
                level = 1 if lines[i + 1].lstrip().startswith("=") else 2
                raw = line.strip()
        if level:
            custom = ATTR_ID.search(raw)
            # Redacted before the slug is made, so the anchor holds no secret either.
            plain = redact(heading_text(raw))
            anchor = custom.group(1) if custom else unique(slugify(plain, "-"), used_ids)
            used_ids.add(anchor)
            sections.append(Section(level, plain, anchor, i + 1, []))
            i += 2 if not ATX.match(line) else 1
            continue
        sections[-1].body.append(line)
        i += 1
    title = redact(str(meta.get("title") or "").strip())
    if not title:
        first_h1 = next((s for s in sections if s.level == 1), None)
        title = first_h1.title if first_h1 else ""
    return MarkdownDoc(meta=meta, title=title, sections=sections, body_start=start)


def doc_kind(meta: dict[str, Any], rel: str, hint: str) -> str:
    if hint in ("archive", "manual"):
        return hint
    kind = str(meta.get("kind", "")).strip().lower()
    if kind in ("guide", "report"):
        return kind
    return "report" if "/reports/" in f"/{rel}" else "guide"


def cut_long_words(text: str, limit: int, first_line: int = 0) -> tuple[str, list[str]]:
    """``text`` with every run of more than ``limit`` characters without whitespace cut to its first
    ``limit`` and an ellipsis (a base64 image, a data URI, a minified blob: not prose, and one
    such run would otherwise be one passage the tokenizers read whole), from line ``first_line``
    on (front matter is left to its parser); and a note of what was cut, when anything was."""
    if limit <= 0 or len(text) <= limit:
        return text, []
    start = 0 if first_line == 0 else _line_offset(text, first_line)
    runs: list[tuple[int, int]] = []

    def shorten(match: re.Match[str]) -> str:
        runs.append((match.start(), len(match.group())))
        return match.group()[:limit] + "…"

    body = re.sub(rf"\S{{{limit + 1},}}", shorten, text[start:])
    if not runs:
        return text, []
    line = first_line + text.count("\n", start, start + runs[0][0]) + 1
    longest = max(length for _, length in runs)
    return text[:start] + body, [f"line {line}: {len(runs)} run(s) of more than {limit:,} characters "
                                 f"without a space (longest {longest:,}) indexed as their first {limit:,}"]


def _line_offset(text: str, line: int) -> int:
    """Offset of the start of 0-based ``line``."""
    offset = 0
    for _ in range(line):
        found = text.find("\n", offset)
        if found < 0:
            return len(text)
        offset = found + 1
    return offset


def markdown_chunks(text: str, rel: str, kind_hint: str, window: Window,
                    notes: list[str] | None = None) -> list[Chunk]:
    """Chunks of one Markdown file (raises InputError on malformed front matter).

    Every section's heading and body are counted in one tokenizer call for the whole file. Runs
    longer than ``window.max_word`` are cut first (``cut_long_words``; its note into ``notes``)."""
    if window.max_word:
        _meta, start = split_front_matter(text.removeprefix("\ufeff"), rel)
        text, cut = cut_long_words(text, window.max_word, start)
        if notes is not None:
            notes += cut
    doc = parse_markdown(text, rel)
    title = doc.title or rel.rsplit("/", 1)[-1].removesuffix(".md")
    kind = doc_kind(doc.meta, rel, kind_hint)
    sections: list[tuple[Section, str, str]] = []
    stack: list[tuple[int, str]] = []
    for section in doc.sections:
        if section.level:
            while stack and stack[-1][0] >= section.level:
                stack.pop()
            stack.append((section.level, section.title))
        names = [name for _level, name in stack]
        if names and names[0] == title:
            names = names[1:]
        body = redact("\n".join(section.body).strip())
        if body:  # a heading with nothing under it: its subsections carry its name
            sections.append((section, SEP.join([title, *names]), body))
    headers = window.counts(list(dict.fromkeys(h for _s, h, _b in sections)))
    header_size = dict(zip(dict.fromkeys(h for _s, h, _b in sections), headers, strict=True))
    starts = window.token_starts([body for _s, _h, body in sections])
    chunks: list[Chunk] = []
    for (section, heading, body), body_starts in zip(sections, starts, strict=True):
        pieces = fit(heading, body, window, header_size=header_size[heading], starts=body_starts)
        for part, piece in enumerate(pieces):
            chunks.append(
                Chunk(
                    path=rel, kind=kind, heading=heading, anchor=section.anchor,
                    line=section.line, text=piece, title=title, part=part,
                )
            )
    return chunks
