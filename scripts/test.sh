#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: lint (ruff), types (mypy), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
ruff check sddd tests bench
mypy
python -m pytest -q -ra "$@"
