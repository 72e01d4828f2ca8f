"""Links the generated pages need: each vLLM flag to the guide section that explains it, and each
guide or report to its nearest other documents in the index.

Flags are matched by text first, because the guides name them literally and the result must be
the same on every build; semantic search is only the fallback for a flag no guide names:

1. **table**: the section holding a table row whose first cell is the flag (`` | `--flag` | ``),
   preferring the section whose heading names the profile ("The medium profile: every flag and
   why" for medium). This is where the master configuration guide gives each value and its reason.
2. **heading**: a section whose heading names the flag ("Why gpu-memory-utilization is 0.85",
   "Why chunked prefill is on" for ``--enable-chunked-prefill``), skipped when the heading names
   another profile or quotes another value ("... is 0.85" is not linked from a 0.30). Only flags
   of two words or more, so ``--model`` never matches "the model".
3. **mention**: when neither exists, the first section whose text contains ``--flag``.
4. **search**: when no guide names the flag at all, the best guide passage from
   ``sddd.search.search(config, flag, kind="guide", k=1)``, shown as such on the page.

Related pages: a document's vector is the mean of its chunk vectors, normalised; its related
pages are the documents with the highest cosine to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from sddd.index.markdown_chunks import MarkdownDoc

SWITCH_PREFIXES = ("enable-", "disable-", "no-")


@dataclass(frozen=True)
class Section:
    """A heading of a site page: ``src_uri`` is the page's path inside docs_dir."""

    src_uri: str
    anchor: str | None
    title: str
    text: str
    level: int
    page_title: str


@dataclass(frozen=True)
class FlagLink:
    section: Section
    how: str  # "table", "heading", "mention" or "search"


def sections_of(src_uri: str, doc: MarkdownDoc) -> list[Section]:
    return [Section(src_uri, s.anchor, s.title, "\n".join(s.body), s.level, doc.title)
            for s in doc.sections]


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9.]+", text.lower().replace("_", " ")))


def _flag_words(flag: str) -> str:
    name = flag.lstrip("-").lower()
    for prefix in SWITCH_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return _words(name)


def _contains(haystack: str, needle: str) -> bool:
    return bool(needle) and re.search(rf"(?<![\w.-]){re.escape(needle)}(?![\w-])", haystack) is not None


def _names_other_profile(title: str, profile: str, profiles: Iterable[str]) -> bool:
    words = set(_words(title).split())
    return profile not in words and any(p in words for p in profiles if p != profile)


def _states_other_value(title: str, value: str | None) -> bool:
    """True when the heading quotes a number that is not this profile's value ("... is 0.85")."""
    numbers = re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", title)
    try:
        mine = float(value) if value is not None else None
    except ValueError:
        mine = None
    return any(mine is None or float(n) != mine for n in numbers)


def flag_links(flag: str, value: str | None, profile: str, profiles: Iterable[str],
               sections: list[Section], search: Callable[[str], Section | None] | None = None
               ) -> list[FlagLink]:
    """Where ``flag`` of ``profile`` is explained: the table row first, then a dedicated heading."""
    profiles = list(profiles)
    row = re.compile(rf"^\s*\|\s*`{re.escape(flag)}`\s*\|", re.MULTILINE)
    in_table = [s for s in sections if s.anchor and row.search(s.text)]
    in_table.sort(key=lambda s: (profile not in _words(s.title).split(),
                                 _names_other_profile(s.title, profile, profiles)))
    links = [FlagLink(in_table[0], "table")] if in_table else []
    words = _flag_words(flag)
    if " " in words:
        for s in sections:
            if (s.anchor and s.level > 1 and _contains(_words(s.title), words)
                    and not _names_other_profile(s.title, profile, profiles)
                    and not _states_other_value(s.title, value)):
                links.append(FlagLink(s, "heading"))
                break
    if links:
        return links
    mention = next((s for s in sections if s.anchor and _contains(s.text, flag)), None)
    if mention:
        return [FlagLink(mention, "mention")]
    found = search(flag) if search else None
    return [FlagLink(found, "search")] if found else []


# --- related pages ------------------------------------------------------------------------------

def document_vectors(paths: list[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
    """Mean of each document's chunk vectors (``paths[i]`` owns row i), normalised."""
    rows: dict[str, list[int]] = {}
    for i, path in enumerate(paths):
        rows.setdefault(path, []).append(i)
    out = {}
    for path, ids in rows.items():
        mean = vectors[ids].mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm > 0:
            out[path] = (mean / norm).astype(np.float32)
    return out


def nearest(docs: dict[str, np.ndarray], path: str, candidates: Iterable[str], k: int
            ) -> list[tuple[str, float]]:
    """The ``k`` candidates most similar to ``path`` (itself excluded), best first."""
    if path not in docs or k <= 0:
        return []
    me = docs[path]
    scored = [(other, float(docs[other] @ me)) for other in candidates
              if other != path and other in docs]
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored[:k]
