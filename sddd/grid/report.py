"""``grid report``: each variant's figures and status, the champion and why it won.

Only results of the grid as it is now count: a variant's result is found by its config hash
(profile + override) and the scenario sizes it was measured with, so a result measured before
the profile or the grid changed is left out (``stale``) rather than compared with new ones.

The champion is the measured variant with the best objective (``objective.metric``, lowest or
highest as ``goal`` says) among those within every cap. "Why" says by how much it leads the
runner-up and whether that lead is larger than the spread between repetitions.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sddd.core.config import Config
from sddd.grid.plan import GridPlan, VariantPlan, plan_grid
from sddd.grid.runner import finished
from sddd.grid.spec import GridSpec, Objective
from sddd.grid.store import GridStore

# The figures every table shows: (column, "scenario.metric").
FIGURES = [("cold TTFT p50 ms", "prefix.p50_cold_ttft_ms"), ("cold TTFT p95 ms", "prefix.p95_cold_ttft_ms"),
           ("warm TTFT p50 ms", "prefix.p50_warm_ttft_ms"), ("warm TTFT p95 ms", "prefix.p95_warm_ttft_ms"),
           ("speed-up", "prefix.speedup_p50"), ("output tok/s", "load.output_throughput")]


def figure(record: dict[str, Any] | None, metric: str) -> float | None:
    scenario, _, name = metric.partition(".")
    value = (((record or {}).get("metrics") or {}).get(scenario) or {}).get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class Row:
    plan: VariantPlan
    record: dict[str, Any] | None  # None: not run yet
    status: str  # measured, rejected, pending, over cap
    value: float | None = None  # the objective's figure
    over: list[str] = field(default_factory=list)  # caps it does not meet

    @property
    def label(self) -> str:
        return self.plan.variant.label

    def to_json(self) -> dict[str, Any]:
        rec = self.record or {}
        return {**self.plan.variant.to_json(), "config_hash": self.plan.config_hash, "status": self.status,
                "objective": self.value, "over_caps": self.over,
                "figures": {metric: figure(rec, metric) for _, metric in FIGURES},
                "stage": rec.get("stage"), "reason": rec.get("reason"), "excerpt": rec.get("excerpt"),
                "hint": rec.get("hint"), "seconds": rec.get("seconds"),
                "seconds_to_healthy": rec.get("seconds_to_healthy"), "finished": rec.get("finished"),
                "vllm_args": self.plan.flags(), "bench_runs": [r["id"] for r in rec.get("runs") or []]}


@dataclass
class GridReport:
    plan: GridPlan
    rows: list[Row]
    champion: Row | None
    why: list[str]
    stale: int  # results of an earlier profile or grid, left out

    @property
    def spec(self) -> GridSpec:
        return self.plan.spec

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r.record for r in self.rows if r.record]

    def facts(self) -> dict[str, Any]:
        """Versions, host and dates, from the results themselves."""
        records = self.records
        vllm = sorted({str(v) for r in records if (v := (r.get("versions") or {}).get("vllm"))})
        sddd = sorted({str((r.get("versions") or {}).get("sddd")) for r in records})
        return {"vllm": vllm, "sddd": sddd, "host": records[-1].get("host") if records else None,
                "first": min((r["started"] for r in records), default=None),
                "last": max((r["finished"] for r in records), default=None)}

    def to_json(self) -> dict[str, Any]:
        obj = self.spec.objective
        return {"grid": self.spec.name, "grid_file": self.spec.rel, "profile": self.spec.profile,
                "project": self.plan.project,
                "objective": {"metric": obj.metric, "goal": obj.goal,
                              "caps": [c.__dict__ for c in obj.caps]},
                "bench": self.spec.bench_json(), "axes": [a.name for a in self.spec.axes],
                "counts": self.counts(), "stale_results": self.stale, **self.facts(),
                "champion": self.champion.to_json() if self.champion else None, "why": self.why,
                "variants": [r.to_json() for r in self.rows]}

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.status] = out.get(row.status, 0) + 1
        return out


def _meets(objective: Objective, record: dict[str, Any]) -> list[str]:
    over = []
    for cap in objective.caps:
        value = figure(record, cap.metric)
        if value is None or (value > cap.limit if cap.bound == "max" else value < cap.limit):
            shown = "no figure" if value is None else f"{value:g}"
            over.append(f"{cap.metric} {shown} ({cap.bound} {cap.limit:g})")
    return over


def rows_of(plan: GridPlan, results: dict[str, dict[str, Any]]) -> list[Row]:
    rows = []
    objective = plan.spec.objective
    for vp in plan.variants:
        record = results.get(vp.config_hash)
        if not finished(record, plan.bench_key):
            rows.append(Row(vp, None, "pending"))
            continue
        assert record is not None
        if record["status"] != "measured":
            rows.append(Row(vp, record, "rejected"))
            continue
        over = _meets(objective, record)
        value = figure(record, objective.metric)
        rows.append(Row(vp, record, "over cap" if over or value is None else "measured", value, over))
    return rows


def _lead(champion: Row, second: Row, objective: Objective) -> str:
    a, b = champion.value or 0.0, second.value or 0.0
    better = "lower" if objective.goal == "min" else "higher"
    gap = abs(b - a) / abs(b) * 100 if b else 0.0
    spread = ((champion.record or {}).get("spread") or {})
    ours = spread.get(objective.metric) or [a]
    theirs = ((second.record or {}).get("spread") or {}).get(objective.metric) or [b]
    text = f"{a:.4g} against {b:.4g} for the runner-up ({second.label}): {gap:.1f} % {better}"
    if len(ours) < 2 or len(theirs) < 2:
        return text + "; one repetition each, so the spread is unknown (repetitions: 3 shows it)"
    overlap = min(ours) <= max(theirs) and min(theirs) <= max(ours)
    ranges = f"{min(ours):g}-{max(ours):g} vs {min(theirs):g}-{max(theirs):g} over {len(ours)} runs"
    return text + (f"; the ranges overlap ({ranges}): within run-to-run noise" if overlap
                   else f"; the ranges do not overlap ({ranges})")


def choose(rows: list[Row], objective: Objective) -> tuple[Row | None, list[str]]:
    eligible = [r for r in rows if r.status == "measured"]
    ranked = sorted(eligible, key=lambda r: (r.value or 0.0) * (1 if objective.goal == "min" else -1))
    why: list[str] = []
    over = [r for r in rows if r.status == "over cap"]
    rejected = [r for r in rows if r.status == "rejected"]
    pending = [r for r in rows if r.status == "pending"]
    if not ranked:
        why.append("no variant was measured within the caps" if rows else "the grid has no variant")
    elif len(ranked) == 1:
        why.append(f"the only variant measured within the caps ({objective.metric} {ranked[0].value:g})")
    else:
        why.append(f"best {objective.metric} ({objective.goal}) of {len(ranked)} measured variants: "
                   + _lead(ranked[0], ranked[1], objective))
    for row in over:
        why.append(f"left out, over a cap: {row.label}: {'; '.join(row.over) or 'no figure'}")
    for row in rejected:
        why.append(f"rejected: {row.label}: {(row.record or {}).get('reason', '')}")
    if pending:
        why.append(f"{len(pending)} variant(s) not run yet: `sddd grid run` measures them")
    return (ranked[0] if ranked else None), why


def build_report(config: Config, spec: GridSpec, env_file: Path | None = None) -> GridReport:
    store = GridStore(config, spec.name)
    with tempfile.TemporaryDirectory(prefix="sddd-grid-") as folder:  # a report writes nothing
        plan = plan_grid(config, spec, Path(folder), env_file, placeholders=True)  # starts nothing
        results = store.results()
        rows = rows_of(plan, results)
        champion, why = choose(rows, spec.objective)
    current = {r.plan.config_hash for r in rows}
    return GridReport(plan, rows, champion, why, stale=len(set(results) - current))
