"""How `sddd grid report` chooses (sddd.grid.report): the objective's goal, the caps, and whether a
lead is larger than the spread between repetitions. The figures are given to it here, as results
it reads from disk; tests/grid/test_runner.py checks the choice on figures measured on a real vLLM."""

from __future__ import annotations

from pathlib import Path

from sddd.core.config import load_config
from sddd.grid.plan import plan_grid
from sddd.grid.report import choose, rows_of
from sddd.grid.spec import load_grid
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
