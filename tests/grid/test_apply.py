"""`sddd grid apply` (sddd.grid.apply): the champion edited into the profile's own file in place
(comments, order and quoting kept), checked by resolving the result, written only with --yes.

The champion here is picked by hand: which variant wins is the runner's and the report's business
(tests/grid/test_runner.py measures a real one); this module tests the edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from sddd.compose.profiles import load_profile
from sddd.core.config import load_config
from sddd.core.errors import ConflictError
from sddd.grid.apply import apply_profile, plan_apply
from sddd.grid.plan import plan_grid
from sddd.grid.report import GridReport, Row
from sddd.grid.spec import load_grid
from tests.helpers import write

PROFILE = """\
name: small
services:
  small:
    image: vllm/vllm-openai:v0.11.0
    command:
      - --model=Qwen/Qwen3-8B
      - --max-num-seqs   # how many sequences at once
      - "16"
      - "--no-enable-prefix-caching"
      - --port=8000      # the container port
    environment:
      KEEP_ME: "1"
      DROP_ME: "2"
    mem_limit: 8g        # measured: 6.1 GiB in use
    ports: ["5011:8000"]
    deploy:
      resources:
        reservations:
          devices: [{driver: nvidia, device_ids: ['0'], capabilities: [gpu]}]
    healthcheck:
      test: [CMD, curl, -fsS, http://localhost:8000/health]
"""

GRID = """\
profile: small
axes:
  caching: {flag: --enable-prefix-caching, values: [true, false]}
  seqs: {flag: --max-num-seqs, values: [8]}
  chunked: {flag: --enable-chunked-prefill, values: [true]}
  drop: {env: DROP_ME, values: [absent]}
  added: {env: ADDED, values: ["yes"]}
  memory: {key: mem_limit, values: [12g]}
  start: {key: healthcheck.start_period, values: [300s]}
"""


def report_with(tmp_path: Path, profile: str = PROFILE, grid: str = GRID, pick: int = 0) -> GridReport:
    write(tmp_path, "sddd.yaml", "profiles: ['profiles/*.yml']\nbase_profile: profiles/base.yml\n")
    write(tmp_path, "profiles/base.yml", "networks: {}\n")
    write(tmp_path, "profiles/small.yml", profile)
    write(tmp_path, "grids/small.yml", grid)
    config = load_config(tmp_path / "sddd.yaml")
    plan = plan_grid(config, load_grid(config, tmp_path / "grids/small.yml"), tmp_path / "overrides")
    rows = [Row(vp, {"status": "measured"}, "measured", 1.0) for vp in plan.variants]
    return GridReport(plan, rows, rows[pick], ["picked by the test"], 0)


def test_the_champion_is_edited_in_place_and_resolves_to_the_champion(tmp_path: Path) -> None:
    report = report_with(tmp_path)
    config = load_config(tmp_path / "sddd.yaml")
    plan = plan_apply(config, report)
    assert plan.rel == "profiles/small.yml" and not plan.unchanged
    assert (tmp_path / "profiles/small.yml").read_text() == PROFILE  # nothing written yet
    diff = "\n".join(plan.diff)
    assert "-      - --max-num-seqs   # how many sequences at once" in diff
    assert "+      - --max-num-seqs=8   # how many sequences at once" in diff
    assert '-      - "16"' in diff
    assert '+      - "--enable-prefix-caching"' in diff  # quoted as the line it replaces
    assert "+      - --enable-chunked-prefill" in diff
    assert '-      DROP_ME: "2"' in diff and "+      ADDED: 'yes'" in diff
    assert "+    mem_limit: 12g        # measured: 6.1 GiB in use" in diff
    assert "+      start_period: 300s" in diff
    apply_profile(plan)
    text = (tmp_path / "profiles/small.yml").read_text()
    assert "      - --port=8000      # the container port" in text
    svc = load_profile(config, "small").service
    assert svc.vllm["--max-num-seqs"] == "8" and "--enable-prefix-caching" in svc.vllm
    assert "--no-enable-prefix-caching" not in svc.vllm and svc.vllm["--port"] == "8000"
    assert svc.environment == {"KEEP_ME": "1", "ADDED": "yes"} and svc.spec["mem_limit"] == "12g"
    assert svc.healthcheck is not None and svc.healthcheck.start_period == "300s"


def test_a_champion_that_is_the_profile_changes_nothing(tmp_path: Path) -> None:
    grid = "profile: small\naxes:\n  seqs: {flag: --max-num-seqs, values: [16, 8]}\n"
    report = report_with(tmp_path, grid=grid)
    assert report.champion is not None and report.champion.label == "seqs=16"
    plan = plan_apply(load_config(tmp_path / "sddd.yaml"), report)
    # `--max-num-seqs 16` (two items) is the same setting as the variant's `--max-num-seqs=16`
    assert plan.unchanged and plan.diff == []


def test_what_cannot_be_edited_in_place_is_refused_with_nothing_written(tmp_path: Path) -> None:
    flow = PROFILE.replace(
        '    command:\n      - --model=Qwen/Qwen3-8B\n      - --max-num-seqs   # how many sequences at once\n'
        '      - "16"\n      - "--no-enable-prefix-caching"\n      - --port=8000      # the container port\n',
        "    command: [--model=Qwen/Qwen3-8B, --max-num-seqs=16, --port=8000]\n")
    report = report_with(tmp_path, profile=flow)
    with pytest.raises(ConflictError) as caught:
        plan_apply(load_config(tmp_path / "sddd.yaml"), report)
    assert caught.value.exit_code == 6 and caught.value.path == "profiles/small.yml"
    assert "not a block list" in caught.value.message
    assert (tmp_path / "profiles/small.yml").read_text() == flow


def test_a_profile_changed_after_the_diff_is_not_overwritten(tmp_path: Path) -> None:
    report = report_with(tmp_path)
    plan = plan_apply(load_config(tmp_path / "sddd.yaml"), report)
    (tmp_path / "profiles/small.yml").write_text(PROFILE + "# edited meanwhile\n")
    with pytest.raises(ConflictError):
        apply_profile(plan)
    assert (tmp_path / "profiles/small.yml").read_text().endswith("# edited meanwhile\n")
