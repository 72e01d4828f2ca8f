"""`sddd --help` and a cached search must start fast: the CLI imports no heavy library up front.

Each command imports what it needs (torch, onnxruntime, the Docker SDK, mkdocs...) inside
its function, so one command's dependencies never slow down another.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["torch", "sentence_transformers", "transformers", "onnxruntime", "docker", "mkdocs",
         "selenium", "playwright", "requests", "httpx"]


def test_importing_the_cli_loads_no_heavy_module():
    code = (
        "import sys, sddd.cli\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "", f"imported at CLI start-up: {proc.stdout.strip()}"
