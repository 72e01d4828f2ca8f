"""`sddd deploy`, `status` and `down` of a real vLLM (the CPU image of .ci/steps/45-vllm-image.sh)
on a real pseudo-terminal, as a person runs them: Ctrl-C during the health wait at 80 columns,
then a whole deploy at 200 columns, its live line (elapsed, vLLM's own last log line) and its
final line whole; the status table keeps every name whole at 80 columns; `bench` against that
server, interrupted and whole.

(`sddd deploy tiny` on a terminal brought the container up healthy, then crashed with a
traceback and exit 1: rich's live status line could not enter the stand-in console.)
One vLLM start and a half: the interrupted one goes on starting and the second recreates it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sddd.deploy.docker import compose_command
from tests.fixtures.engine import docker_client_fixture  # noqa: F401 (fixture)
from tests.fixtures.terminal import assert_interrupted, assert_whole_lines, on_pty
from tests.fixtures.vllm_compose import image_mounts, make_grid_repo
from tests.helpers import run_sddd

PROJECT = "sddd-pty-tiny"  # its own Compose project: the other vLLM tests use "tiny"
GRID_PROJECT = "sddd-pty-grid"
GRID = f"""\
profile: tiny
project: {GRID_PROJECT}
axes:
  max-num-seqs: {{flag: --max-num-seqs, values: [4]}}
bench:
  prefix: {{rounds: 2, prefix_tokens: 256, max_tokens: 2}}
  load: {{requests: 4, concurrency: 2, input_tokens: 32, output_tokens: 8}}
objective:
  metric: prefix.p50_warm_ttft_ms
timeout: 600
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Any:
    root = make_grid_repo(tmp_path_factory.mktemp("pty-deploy"), image_mounts(docker_client))
    profile = root / "profiles" / "tiny.yml"
    profile.write_text(profile.read_text(encoding="utf-8").replace("name: tiny\n", f"name: {PROJECT}\n", 1),
                       encoding="utf-8")
    yield root
    argv = compose_command()
    for project in (PROJECT, GRID_PROJECT) if argv else ():
        subprocess.run([*(argv or ()), "-p", project, "down", "--remove-orphans", "-t", "5"],
                       capture_output=True, timeout=120, check=False)


def test_deploy_on_a_terminal(repo: Path) -> None:
    # Ctrl-C while vLLM loads: exit 130, one line that says what is left, recorded in the history.
    stopped = on_pty(["deploy", "tiny", "--timeout", "600"], repo, columns=80,
                     interrupt_on=r"health \w+", interrupt_delay=2.0, timeout=600)
    assert_interrupted(stopped)
    assert stopped.after_lines()[0].startswith("interrupted: sddd deploy tiny stopped waiting")
    history = json.loads(run_sddd("status", "--history", "--json", cwd=repo).stdout)
    assert history[-1]["outcome"] == "interrupted", history[-1]
    # The whole deploy at 200 columns: the live line, then the one result line, whole.
    screen = on_pty(["deploy", "tiny", "--timeout", "600"], repo, columns=200, timeout=700)
    assert screen.code == 0, screen.text[-3000:]
    assert_whole_lines(screen, 200)
    assert re.search(r"\d+\.\ds · running · health \w+", screen.frames), screen.frames[-2000:]
    assert re.search(r"\n  \S.*(INFO|WARNING|vLLM|Started|Uvicorn|model)", screen.frames), "no vLLM log line"
    port = (repo / ".env").read_text(encoding="utf-8").split("TINY_PORT=")[1].split()[0]
    healthy = [line for line in screen.lines() if " healthy in " in line]
    assert len(healthy) == 1 and healthy[0].startswith("✔ tiny healthy in "), screen.text
    assert f"http://127.0.0.1:{port}" in healthy[0]  # the URL whole, on the line
    assert "Traceback" not in screen.text
    # `status` at 80 columns: the names whole, wrapped rather than cut.
    status = on_pty(["status"], repo, columns=80)
    assert status.code == 0, status.text
    assert_whole_lines(status, 80)
    assert "…" not in status.text
    services = json.loads(run_sddd("status", "--json", cwd=repo).stdout)
    mine = [s for s in services if s["profile"] == "tiny" and PROJECT in s["container"]]
    assert mine and mine[0]["container"] in status.text.replace("\n", ""), status.text
    # `bench` against the server just deployed: Ctrl-C mid-way saves nothing; a whole run is a table.
    runs = len(json.loads(run_sddd("bench", "--history", "--json", cwd=repo).stdout or "[]"))
    load = ["bench", "tiny", "--scenario", "load", "--input-tokens", "32", "--output-tokens", "8",
            "--concurrency", "2"]
    stopped = on_pty([*load, "--rounds", "400"], repo, columns=80, interrupt_on=r"\S",
                     interrupt_delay=3.0, timeout=300)
    assert_interrupted(stopped)
    assert len(json.loads(run_sddd("bench", "--history", "--json", cwd=repo).stdout or "[]")) == runs
    bench = on_pty([*load, "--rounds", "4"], repo, columns=80, timeout=300)
    assert bench.code == 0, bench.text[-3000:]
    assert_whole_lines(bench, 80)
    assert "TTFT" in bench.text and "tok/s" in bench.text.replace("tokens/s", "tok/s"), bench.text
    down = on_pty(["down", "tiny"], repo, columns=80, timeout=180)
    assert down.code == 0, down.text
    assert_whole_lines(down, 80)


def test_grid_run_on_a_terminal(repo: Path) -> None:
    """The live wait line of each variant, then the report table whole at 80 columns (it crashed
    once the first variant was healthy; its header squeezed to "varian t" when narrow)."""
    (repo / "grids" / "pty.yml").write_text(GRID, encoding="utf-8")
    screen = on_pty(["grid", "run", "grids/pty.yml"], repo, columns=80, timeout=900)
    assert screen.code == 0, screen.text[-3000:]
    assert_whole_lines(screen, 80)
    assert re.search(r"\d+\.\ds · running · health \w+", screen.frames), screen.frames[-2000:]
    assert re.search(r"\[1/1 · [\dhms]+\] max-num-seqs=4: measured in", screen.text), screen.text[-3000:]
    # 80 columns are too few for the table whole: a block per variant, every figure and status whole.
    assert "varian t" not in screen.text and "1. max-num-seqs=4: ★ champion" in screen.text, \
        screen.text[-3000:]
    assert re.search(r"cold p50 [\d.,]+ · cold p95 [\d.,]+ · warm p50 [\d.,]+ .* · tok/s [\d.,]+",
                     " ".join(screen.lines()))  # wrapped at a word on an 80-column terminal
    assert "champion: max-num-seqs=4" in screen.text
    wide = on_pty(["grid", "report", "grids/pty.yml"], repo, columns=200)  # wide enough: the table
    assert wide.code == 0 and re.search(r"┃ # ┃ variant\s+┃ cold p50", wide.text), wide.text[-3000:]
    assert_whole_lines(wide, 200)
