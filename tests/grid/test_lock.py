"""One grid per Compose project at a time, and `--retry-rejected`, through the real CLI on the real
Docker engine. The variants here all fail lint (the profile has no healthcheck), so nothing is
started: what is tested is who may touch the project and which variants run again.
tests/grid/test_runner.py starts two runs over one profile together on the real vLLM image."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sddd.cli import app
from tests.fixtures.engine import docker_client_fixture  # noqa: F401 (fixture)
from tests.helpers import REPO, run_sddd, write

PROFILE = """\
services:
  small:
    image: vllm/vllm-openai:v0.11.0
    command: [--model=Qwen/Qwen3-8B]
"""  # no healthcheck: every variant fails lint, nothing starts
GRID = """\
profile: small
axes:
  seqs: {flag: --max-num-seqs, values: [4, 8, 16, 32]}
"""

# Another process holding the project, as a running `grid run` of another grid file would.
HOLDER = """\
import sys, time
from pathlib import Path
from sddd.grid.store import project_lock
with project_lock(sys.argv[1], "grids/other.yml", Path(sys.argv[2])):
    print("holding", flush=True)
    time.sleep(600)
"""


def grid(root: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(root / "sddd.yaml"), "grid", *args],
                              env={"COLUMNS": "200"})


def test_a_second_run_over_the_project_is_refused_and_rejected_variants_rerun_on_request(
        tmp_path: Path, docker_client: Any) -> None:
    write(tmp_path, "sddd.yaml", "profiles: ['profiles/*.yml']\nbase_profile: profiles/base.yml\n")
    write(tmp_path, "profiles/base.yml", "networks: {}\n")
    write(tmp_path, "profiles/small.yml", PROFILE)
    grid_file = write(tmp_path, "grids/g.yml", GRID.replace("profile: small",
                                                             f"profile: small\nproject: g{os.getpid()}-grid"))
    project = json.loads(grid(tmp_path, "run", str(grid_file), "--dry-run", "--json").stdout)["project"]
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, project, str(tmp_path)], stdout=subprocess.PIPE,
                              text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        refused = run_sddd("grid", "run", str(grid_file), cwd=tmp_path)
        assert refused.returncode == 6, refused.stdout + refused.stderr
        line = (refused.stdout + refused.stderr).strip()
        assert "\n" not in line and "Traceback" not in line
        assert f"Compose project {project} is in use by another `sddd grid run` (pid {holder.pid} " \
               "grids/other.yml" in line
        assert not (tmp_path / ".sddd" / "grid" / "g" / "results").exists()  # nothing run, nothing recorded
    finally:
        holder.kill()
        holder.wait(timeout=30)
    first = json.loads(grid(tmp_path, "run", str(grid_file), "--json").stdout)["run"]
    assert (first["variants"], first["rejected"], first["skipped"]) == (4, 4, 0)
    again = json.loads(grid(tmp_path, "run", str(grid_file), "--json").stdout)["run"]
    assert (again["rejected"], again["skipped"]) == (0, 4)  # a rejection is a result: not run again
    retried = json.loads(grid(tmp_path, "run", str(grid_file), "--retry-rejected", "--json").stdout)["run"]
    assert (retried["rejected"], retried["skipped"]) == (4, 0)
