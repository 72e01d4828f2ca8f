"""The grid's dry run says which Compose keys the axes set beyond command and environment, and
flags those that reach the host (privileged, cap_add, volumes, network_mode: host, pid: host):
a grid file is the user's own, but one from a colleague or an agent deserves a look."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sddd.core.config import load_config
from sddd.grid.spec import compose_keys, load_grid
from tests.helpers import run_sddd, write

PROFILE = """\
services:
  tiny:
    image: vllm/vllm-openai:v0.11.0
    command: [--model=Qwen/Qwen3-0.6B]
    ports: ["5012:8000"]
"""
GRID = """\
profile: tiny
axes:
  seqs: {flag: --max-num-seqs, values: [8, 32]}
  memory: {key: mem_limit, values: [2g, absent]}
  priv: {key: privileged, values: [true, absent]}
  caps: {key: cap_add, values: [[SYS_ADMIN]]}
  mounts: {key: volumes, values: [["/:/host"]]}
  net: {key: network_mode, values: [bridge, host]}
  pid: {key: pid, values: [host]}
  quiet-net: {key: network_mode, values: [bridge]}
bench:
  prefix: {rounds: 2, prefix_tokens: 64}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write(tmp_path, "sddd.yaml", "profiles: ['profiles/*.yml']\nbase_profile: profiles/base.yml\n"
          "canonical_profile: tiny\n")
    write(tmp_path, "profiles/base.yml", "networks: {}\n")
    write(tmp_path, "profiles/tiny.yml", PROFILE)
    write(tmp_path, "grids/g.yml", GRID)
    return tmp_path


def test_compose_keys_are_listed_and_host_reaching_ones_flagged(repo):
    keys = {k.axis: k for k in compose_keys(load_grid(load_config(repo / "sddd.yaml"), repo / "grids/g.yml"))}
    assert set(keys) == {"memory", "priv", "caps", "mounts", "net", "pid", "quiet-net"}  # no flag axis
    flagged = {name for name, k in keys.items() if k.risk is not None}
    assert flagged == {"priv", "caps", "mounts", "net", "pid"}
    assert keys["net"].risk == "network_mode: the host's network" and keys["priv"].line == 5


def test_the_dry_run_shows_them(repo):
    done = run_sddd("grid", "run", "grids/g.yml", "--dry-run", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "Compose keys the axes set beyond command and environment:" in done.stdout
    assert "! priv: privileged = true, absent (line 5): reaches the host (privileged: the host's devices" \
           in done.stdout
    assert "   memory: mem_limit = 2g, absent (line 4)\n" in done.stdout
    data = json.loads(run_sddd("grid", "run", "grids/g.yml", "--dry-run", "--json", cwd=repo).stdout)
    assert {k["axis"]: k["flagged"] for k in data["compose_keys"]}["quiet-net"] is False
