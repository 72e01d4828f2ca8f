"""The deployment history stays readable: a record left "starting" by a killed sddd is closed by
the next command, grid variants are marked and hidden from `status --history` unless asked for,
and the table names the project. Real processes (one killed with SIGKILL), the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from sddd.cli import app
from sddd.core.config import load_config
from sddd.deploy.history import Entry, append, read_history
from tests.helpers import write

# A process that records a deploy as "starting", then is killed before it can say how it ended.
STARTS_THEN_HANGS = """\
import sys, time
from sddd.core.config import load_config
from sddd.deploy.history import Entry, append
append(load_config(sys.argv[1]), Entry(action="deploy", profile="tiny", project="vllm-tiny",
                                       service="tiny", outcome="starting"))
print("recorded", flush=True)
time.sleep(600)
"""


def repo(tmp_path: Path) -> Path:
    write(tmp_path, "sddd.yaml", "profiles: ['profiles/*.yml']\n")
    return tmp_path


def test_a_killed_deploys_starting_record_is_closed_by_the_next_command(tmp_path: Path) -> None:
    root = repo(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", STARTS_THEN_HANGS, str(root / "sddd.yaml")],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "recorded"
    config = load_config(root / "sddd.yaml")
    assert [e.outcome for e in read_history(config)] == ["starting"]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    done = CliRunner().invoke(app, ["--config", str(root / "sddd.yaml"), "status", "--history", "--json"])
    assert done.exit_code == 0, done.output
    (entry,) = json.loads(done.stdout)
    assert entry["outcome"] == "abandoned" and f"pid {proc.pid}" in entry["message"]
    assert read_history(config)[0].outcome == "abandoned"  # written back, not only shown


def test_grid_deploys_are_hidden_unless_asked_and_the_project_is_shown(tmp_path: Path) -> None:
    root = repo(tmp_path)
    config = load_config(root / "sddd.yaml")
    append(config, Entry(action="deploy", profile="tiny", project="vllm-tiny", service="tiny",
                         outcome="healthy"))
    for action in ("deploy", "down"):
        append(config, Entry(action=action, profile="tiny", project="tiny-grid", service="tiny",
                             outcome="removed" if action == "down" else "failed", grid="tiny"))
    runner = CliRunner()
    base = ["--config", str(root / "sddd.yaml"), "status", "--history"]
    shown = json.loads(runner.invoke(app, [*base, "--json"]).stdout)
    assert [e["project"] for e in shown] == ["vllm-tiny"]
    every = json.loads(runner.invoke(app, [*base, "--grids", "--json"]).stdout)
    assert [(e["project"], e["grid"]) for e in every] == [("vllm-tiny", ""), ("tiny-grid", "tiny"),
                                                         ("tiny-grid", "tiny")]
    table = runner.invoke(app, base, env={"COLUMNS": "200"}).stdout
    assert "vllm-tiny" in table and "tiny-grid" not in table
    assert "2 deploy(s) of grid variants hidden; --grids shows them" in table
    assert "tiny-grid (grid tiny)" in runner.invoke(app, [*base, "--grids"], env={"COLUMNS": "200"}).stdout
