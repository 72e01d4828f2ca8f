"""How files are ranked and scored: reciprocal rank fusion per file, with no fitted weight.

Every list ranks files, each at its best passage (``file_order``): the lexical list over whole
files (the documents table: title, headings, path, body, field weights set a priori), the
passage BM25 list, and one list per embedding model (a file at its best passage's cosine). Every
model ranks every question, French ones included (leaving MiniLM out of French questions lost on
the kuberay corpus, so that rule was dropped; ``is_french`` serves bench/retrieval.py's peers). A
file's fused value is
``sum(weight / (60 + rank))`` over the lists it is in, plus a bonus for its best rank in any
list: +0.05 for a first place, +0.02 for a second or third (qmd's fusion, without its models).
Only the query's own lists weigh 2 when sub-queries (``--also``) add theirs at 1.

The score shown is that value divided by the most a file can get (first in every list): 1.0
means every list put the file first, and the order of the scores is the order of the ranking.
Nothing here was chosen by looking at evaluation results: k = 60 and the bonuses are qmd's, the
field weights are a title word 4, a heading 2, a path word 1.5, a body word 1 (bench/README.md,
"Ranking", measures the design against the fitted one it replaced).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

MODES = ("hybrid", "dense", "lexical")
RRF_K = 60
FIRST_BONUS = 0.05  # a file ranked first by some list
PODIUM_BONUS = 0.02  # ranked second or third by some list
ORIGINAL_WEIGHT = 2.0  # the query's own lists, against 1 for each sub-query's
SUBQUERY_WEIGHT = 1.0


@dataclass
class FileList:
    """One ranked list of files, best first, and its weight in the fusion."""

    name: str  # "files", "passages" or a model's name (with a sub-query's prefix)
    files: list[str]
    weight: float = 1.0


@dataclass
class Fused:
    """A file's place in the fusion: its value, score and the rank each list gave it."""

    path: str
    value: float
    score: float
    ranks: dict[str, int] = field(default_factory=dict)


def file_order(files: Sequence[str], scores: np.ndarray, keep: np.ndarray | None = None) -> list[str]:
    """Files ranked at their best passage (``scores`` row per passage); passages where ``keep``
    is False are no evidence (a passage without the query's words in a BM25 list)."""
    out: dict[str, None] = {}
    for i in np.argsort(-scores, kind="stable"):
        if keep is None or keep[i]:
            out.setdefault(files[i], None)
    return list(out)


def ceiling(lists: Iterable[FileList]) -> float:
    """The most a file can get: first in every list, with the first-place bonus."""
    weights = [x.weight for x in lists if x.files]
    return sum(w / (RRF_K + 1) for w in weights) + FIRST_BONUS if weights else 0.0


def fuse(lists: Sequence[FileList]) -> list[Fused]:
    """Files by fused value, best first (ties: the better best rank, then the first list's order)."""
    value: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for x in lists:
        for position, path in enumerate(x.files, 1):
            value[path] = value.get(path, 0.0) + x.weight / (RRF_K + position)
            ranks.setdefault(path, {}).setdefault(x.name, position)
    top = ceiling(lists)
    out = []
    for path, v in value.items():
        best = min(ranks[path].values())
        v += FIRST_BONUS if best == 1 else PODIUM_BONUS if best <= 3 else 0.0
        out.append(Fused(path, v, min(v / top, 1.0) if top else 0.0, ranks[path]))
    out.sort(key=lambda f: (-f.value, min(f.ranks.values())))
    return out


def is_french(text: str) -> bool:
    """A question in French: enough French function words (accents alone are not enough)."""
    words = re.findall(r"[a-zàâçéèêëîïôûùüÿœ']+", text.lower())
    if not words:
        return False
    share = sum(w in FRENCH_WORDS for w in words) / len(words)
    accented = re.search(r"[àâçéèêëîïôûùüÿœ]", text.lower()) is not None
    return share >= 0.2 or (accented and share >= 0.1)


FRENCH_WORDS = frozenset(
    "le la les des du de un une et est pour pourquoi comment quel quelle quels quelles qui que "
    "dans sur avec sans mon ma mes ce cette ces il elle on nous vous ils ne pas plus faut quand "
    "où ou au aux se sa son ses leur leurs être avoir peut veux dois".split())
