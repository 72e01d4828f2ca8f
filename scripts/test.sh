#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: lint (ruff), types (mypy), then pytest.
#
# The tests need more than sddd's own environment: the torch extra (sentence-transformers,
# the reference the ONNX graph is checked against, and the engine of non-bundled models) and the
# test extra. torch is pinned to 2.13.0 first: that is the CPU build on this project's machines;
# an unpinned torch pulls a CUDA build of several GB.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
if ! python -c "import sentence_transformers, pytest, hypothesis, mypy, ir_measures, pre_commit, selenium" 2>/dev/null; then
    python -m pip install --quiet "torch==2.13.0"
    python -m pip install --quiet -e ".[torch,test]"
fi
ruff check sddd tests bench
mypy
python -m pytest -q -ra "$@"
