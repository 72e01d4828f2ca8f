"""How a passage is scored: its features, their weights, and the 0-1 scale every ranking reports.

Features of a passage for a query, each on a fixed 0-1 scale (``Features``):

* ``dense``: the cosine of each model (clipped at 0), e.g. MiniLM's and the multilingual USE's;
* ``passage``: BM25 over the passages table (title, heading path, file path, body) / ideal BM25;
* ``document``: BM25 of the passage's whole file (documents table) / ideal BM25: the files whose
  sections together hold the query's words;

The linear score ``w · features`` ranks passages; a document's score is its best passage's, which
is what `sddd check` and the site count. The score shown is a calibrated probability that the
passage's document answers the query: ``sigmoid(slope * linear + bias)``, fitted on evaluation
sets. It keeps its meaning (0.5 = even odds) when models or weights change, so a threshold does.

The weights depend on the models the index holds and on the query's language: a French question
leans on the multilingual model, which reads it, and away from MiniLM, which does not. They were
chosen on public documentation corpora with each corpus left out in turn (bench/README.md,
"Ranking"); the table is data, read by ``weights_for``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from sddd.core.models import DEFAULT_MODEL, MULTILINGUAL_NAME

MODES = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class Weights:
    dense: tuple[float, ...]  # one per model, in index order
    passage: float
    document: float
    slope: float  # calibration: probability = sigmoid(slope * linear + bias)
    bias: float


@dataclass
class Features:
    dense: list[float]
    passage: float = 0.0
    document: float = 0.0


# Used for models the table does not know (a model named in sddd.yaml): MiniLM's rows.
GENERIC = (DEFAULT_MODEL,)


@cache
def table() -> dict[tuple[tuple[str, ...], str], dict[str, Weights]]:
    """(models, language) -> weights per mode, from sddd/data/ranking.json (written by
    bench/retrieval.py --fit; see bench/README.md)."""
    data = json.loads(resources.files("sddd").joinpath("data", "ranking.json").read_text(encoding="utf-8"))
    out: dict[tuple[tuple[str, ...], str], dict[str, Weights]] = {}
    for row in data["rows"]:
        key = (tuple(row["models"]), str(row["language"]))
        out.setdefault(key, {})[str(row["mode"])] = Weights(
            tuple(float(w) for w in row["dense"]), float(row["passage"]), float(row["document"]),
            float(row["slope"]), float(row["bias"]))
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


def weights_for(models: Sequence[str], query: str, mode: str = "hybrid") -> Weights:
    """The weights of ``mode`` for an index of ``models`` and this query's language."""
    language = "fr" if is_french(query) else "en"
    rows = table()
    key = tuple(models)
    if (key, language) not in rows:
        known = tuple(m if m in (DEFAULT_MODEL, MULTILINGUAL_NAME) else DEFAULT_MODEL for m in models)
        key = known if (known, language) in rows else GENERIC
    row = rows[(key, language)][mode]
    if len(row.dense) != len(models):  # an unknown combination: spread the dense weight evenly
        share = sum(row.dense) / len(models)
        row = Weights(tuple(share for _ in models), row.passage, row.document, row.slope, row.bias)
    return row


def linear(features: Features, weights: Weights) -> float:
    dense = sum(w * max(c, 0.0) for w, c in zip(weights.dense, features.dense, strict=True))
    return dense + weights.passage * features.passage + weights.document * features.document


def probability(value: float, weights: Weights) -> float:
    """The calibrated 0-1 score of a linear score."""
    z = weights.slope * value + weights.bias
    return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0
