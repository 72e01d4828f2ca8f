"""How `sddd grid report` chooses (sddd.grid.report): the objective's goal, the caps, and whether a
lead is larger than the spread between repetitions. The figures are given to it here, as results
it reads from disk; tests/grid/test_runner.py checks the choice on figures measured on a real vLLM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sddd.cli import app
from sddd.core.config import load_config
from sddd.grid.plan import plan_grid
from sddd.grid.report import choose, rows_of
from sddd.grid.spec import load_grid
from sddd.grid.store import GridStore
from tests.helpers import write

PROFILE = """\
services:
  small:
    image: vllm/vllm-openai:v0.11.0
    command: [--model=Qwen/Qwen3-8B]
"""
GRID = """\
profile: small
axes:
  seqs: {flag: --max-num-seqs, values: [4, 8, 16, 32]}
bench:
  prefix: {rounds: 2}
  load: {requests: 4}
objective:
  metric: load.output_throughput
  caps: {prefix.p50_cold_ttft_ms: {max: 500}}
repetitions: 3
"""


def results(plan, figures: dict[str, tuple[list[float], float] | str]) -> dict:
    """Results as `grid run` saves them: per variant label, (throughput per repetition, cold p50)
    or a rejection reason."""
    out = {}
    for vp in plan.variants:
        given = figures[vp.variant.label]
        record = {"config_hash": vp.config_hash, "bench_key": plan.bench_key}
        if isinstance(given, str):
            record.update(status="rejected", reason=given)
        else:
            runs, cold = given
            record.update(status="measured", spread={"load.output_throughput": runs},
                          metrics={"load": {"output_throughput": sorted(runs)[1]},
                                   "prefix": {"p50_cold_ttft_ms": cold}})
        out[vp.config_hash] = record
    return out


def test_best_within_the_caps_and_how_far_ahead(tmp_path: Path) -> None:
    write(tmp_path, "sddd.yaml", "profiles: ['profiles/*.yml']\nbase_profile: profiles/base.yml\n")
    write(tmp_path, "profiles/base.yml", "networks: {}\n")
    write(tmp_path, "profiles/small.yml", PROFILE)
    write(tmp_path, "grids/g.yml", GRID)
    config = load_config(tmp_path / "sddd.yaml")
    spec = load_grid(config, tmp_path / "grids/g.yml")
    assert spec.objective.goal == "max"  # a throughput: higher is better
    plan = plan_grid(config, spec, tmp_path / "overrides")
    given = {"seqs=4": ([90.0, 100.0, 110.0], 300.0), "seqs=8": ([150.0, 160.0, 170.0], 320.0),
             "seqs=16": ([400.0, 410.0, 420.0], 900.0), "seqs=32": "the container exited with code 137"}
    rows = rows_of(plan, results(plan, given))
    assert [r.status for r in rows] == ["measured", "measured", "over cap", "rejected"]
    champion, why = choose(rows, spec.objective)
    assert champion is not None and champion.label == "seqs=8"  # seqs=16 is faster but over the cap
    assert "160 against 100 for the runner-up (seqs=4): 60.0 % higher" in why[0]
    assert "do not overlap (150-170 vs 90-110 over 3 runs)" in why[0]
    assert "seqs=16: prefix.p50_cold_ttft_ms 900 (max 500)" in why[1]
    assert why[2] == "rejected: seqs=32: the container exited with code 137"
    given["seqs=4"] = ([140.0, 158.0, 175.0], 300.0)
    champion, why = choose(rows_of(plan, results(plan, given)), spec.objective)
    assert champion is not None and champion.label == "seqs=8" and "within run-to-run noise" in why[0]
    other = results(plan, given)
    for record in other.values():
        record["bench_key"] = "measured-with-other-sizes"
    assert {r.status for r in rows_of(plan, other)} == {"pending"}


def saved(tmp_path: Path, given: dict[str, tuple[list[float], float] | str]) -> tuple[Path, GridStore]:
    """The grid of these tests with ``given`` saved as `grid run` saves its results."""
    write(tmp_path, "sddd.yaml", "profiles: ['profiles/*.yml']\nbase_profile: profiles/base.yml\n")
    write(tmp_path, "profiles/base.yml", "networks: {}\n")
    write(tmp_path, "profiles/small.yml", PROFILE.replace("command: [--model=Qwen/Qwen3-8B]",
                                                          "command:\n      - --model=Qwen/Qwen3-8B"))
    write(tmp_path, "grids/g.yml", GRID)
    config = load_config(tmp_path / "sddd.yaml")
    plan = plan_grid(config, load_grid(config, tmp_path / "grids/g.yml"), tmp_path / "overrides")
    store = GridStore(config, "g")
    for record in results(plan, given).values():
        store.save({**record, "started": "2026-12-06T10:00:00+00:00",
                    "finished": "2026-12-06T10:05:00+00:00"})
    return tmp_path, store


def grid(root: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(root / "sddd.yaml"), "grid", *args,
                                    str(root / "grids/g.yml")], env={"COLUMNS": "220"})


def test_a_lead_within_the_noise_is_a_tie_that_apply_refuses_without_force(tmp_path: Path) -> None:
    root, _store = saved(tmp_path, {"seqs=4": ([140.0, 158.0, 175.0], 300.0),
                                    "seqs=8": ([150.0, 160.0, 170.0], 320.0),
                                    "seqs=16": ([100.0, 101.0, 102.0], 310.0), "seqs=32": "exited"})
    report = json.loads(grid(root, "report", "--json").stdout)
    assert report["verdict"] == "within noise" and report["crowned"] is False
    assert report["tied"] == ["seqs=8", "seqs=4"]  # seqs=16 is behind beyond the noise
    by_label = {v["label"]: v for v in report["variants"]}
    assert by_label["seqs=4"]["vs_leader"] == {"gap_pct": 1.3, "verdict": "within noise"}
    assert by_label["seqs=16"]["vs_leader"]["verdict"] == "decisive"
    assert by_label["seqs=8"]["repetitions"] == 3
    assert by_label["seqs=8"]["objective_runs"] == [150.0, 160.0, 170.0]
    table = grid(root, "report").stdout
    assert "= tie (leader)" in table and "★" not in table and "no clear champion" in table
    refused = grid(root, "apply")
    assert refused.exit_code == 1 and "no clear champion" in refused.output and "--force" in refused.output
    forced = grid(root, "apply", "--force")
    assert forced.exit_code == 0 and "+      - --max-num-seqs=8" in forced.stdout


def test_one_repetition_is_no_verdict_and_a_failed_confirmation_uncrowns(tmp_path: Path) -> None:
    root, store = saved(tmp_path, {"seqs=4": ([100.0, 110.0, 120.0], 300.0),
                                   "seqs=8": ([150.0, 160.0, 170.0], 320.0),
                                   "seqs=16": ([10.0, 11.0, 12.0], 310.0), "seqs=32": "exited"})
    report = json.loads(grid(root, "report", "--json").stdout)
    assert (report["verdict"], report["crowned"], report["confirmation"]) == ("decisive", True, None)
    assert "★ champion" in grid(root, "report").stdout
    leader = next(v for v in report["variants"] if v["label"] == "seqs=8")
    again = json.loads((store.results_dir / f"{leader['config_hash']}.json").read_text())
    again["metrics"]["load"]["output_throughput"] = 95.0  # measured again: behind the runner-up's 110
    store.save_confirmation(again)
    report = json.loads(grid(root, "report", "--json").stdout)
    assert report["confirmation"]["confirmed"] is False and report["crowned"] is False
    assert report["why"][1].startswith("NOT confirmed: deployed and measured again, "
                                       "load.output_throughput 95 (first 160) against 110 for the runner-up")
    assert grid(root, "apply").exit_code == 1
    again["metrics"]["load"]["output_throughput"] = 158.0
    store.save_confirmation(again)
    report = json.loads(grid(root, "report", "--json").stdout)
    assert report["confirmation"]["confirmed"] is True and report["crowned"] is True
    assert "★ champion (confirmed)" in grid(root, "report").stdout
    for record in store.results().values():  # one repetition each: the lead is unproven
        if record.get("spread"):
            record["spread"] = {k: v[:1] for k, v in record["spread"].items()}
            store.save(record)
    report = json.loads(grid(root, "report", "--json").stdout)
    assert report["verdict"] == "one repetition" and report["crowned"] is False
    assert "one repetition each, so the spread is unknown: a tie" in report["why"][0]
