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
    plan_metric: str = ""  # the objective's "scenario.metric"
    vs_leader: dict[str, Any] | None = None  # {"gap_pct", "verdict"} against the leading variant

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
                "vllm_args": self.plan.flags(), "bench_runs": [r["id"] for r in rec.get("runs") or []],
                "cause": rec.get("cause"), "repetitions": len(self.runs) or None, "objective_runs": self.runs,
                "vs_leader": self.vs_leader}

    @property
    def runs(self) -> list[float]:
        """The objective's figure of each repetition (the median is ``value``)."""
        metric = self.plan_metric
        spread = ((self.record or {}).get("spread") or {}).get(metric) if metric else None
        return [float(v) for v in spread] if spread else ([self.value] if self.value is not None else [])


@dataclass
class GridReport:
    plan: GridPlan
    rows: list[Row]
    champion: Row | None  # the leading variant; crowned only when ``crowned`` says so
    why: list[str]
    stale: int  # results of an earlier profile or grid, left out
    verdict: str = "none"  # decisive, within noise, one repetition, uncontested, none
    confirmation: dict[str, Any] | None = None  # the leader measured again (`grid run --confirm`)

    @property
    def confirmed(self) -> bool | None:
        """True/False once the leader was deployed and measured again; None before."""
        return None if self.confirmation is None else bool(self.confirmation["confirmed"])

    @property
    def crowned(self) -> bool:
        """A lead larger than the noise (or no rival), not contradicted by a confirmation."""
        return self.champion is not None and self.verdict in ("decisive", "uncontested") and \
            self.confirmed is not False

    @property
    def tied(self) -> list[Row]:
        """The leader and every variant it does not lead beyond the noise (none when it does)."""
        if self.champion is None or self.verdict in ("decisive", "uncontested"):
            return []
        return [self.champion, *(r for r in self.rows
                                 if r.vs_leader and r.vs_leader["verdict"] != "decisive")]

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
                "verdict": self.verdict, "crowned": self.crowned, "tied": [r.label for r in self.tied],
                "confirmation": self.confirmation,
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
        rows.append(Row(vp, record, "over cap" if over or value is None else "measured", value, over,
                        objective.metric))
    return rows


def separation(leader: Row, other: Row) -> str:
    """decisive (the repetitions' ranges do not overlap), within noise (they do) or one
    repetition (a range of one run says nothing about the noise)."""
    ours, theirs = leader.runs, other.runs
    if len(ours) < 2 or len(theirs) < 2:
        return "one repetition"
    overlap = min(ours) <= max(theirs) and min(theirs) <= max(ours)
    return "within noise" if overlap else "decisive"


ABSOLUTE = [("cold p50", "prefix.p50_cold_ttft_ms", " ms"), ("warm p50", "prefix.p50_warm_ttft_ms", " ms"),
            ("", "load.output_throughput", " tok/s")]


def absolute(row: Row) -> str:
    """The absolute figures a ratio hides (a speed-up won by a slow cold path)."""
    parts = [f"{name + ' ' if name else ''}{value:.4g}{unit}" for name, metric, unit in ABSOLUTE
             if (value := figure(row.record, metric)) is not None]
    return ", ".join(parts)


def _lead(champion: Row, second: Row, objective: Objective) -> str:
    a, b = champion.value or 0.0, second.value or 0.0
    better = "lower" if objective.goal == "min" else "higher"
    gap = abs(b - a) / abs(b) * 100 if b else 0.0
    ours, theirs = champion.runs, second.runs
    text = f"{a:.4g} against {b:.4g} for the runner-up ({second.label}): {gap:.1f} % {better}"
    if absolute(champion) or absolute(second):
        text += f" ({absolute(champion) or '-'} against {absolute(second) or '-'})"
    verdict = separation(champion, second)
    if verdict == "one repetition":
        return text + "; one repetition each, so the spread is unknown: a tie until repetitions: 3 " \
            "shows the lead is larger than the noise"
    ranges = f"{min(ours):g}-{max(ours):g} vs {min(theirs):g}-{max(theirs):g} over {len(ours)} runs"
    if verdict == "within noise":
        return text + f"; the ranges overlap ({ranges}): within run-to-run noise, a tie"
    return text + f"; the ranges do not overlap ({ranges}): decisive"


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


def judge(rows: list[Row], champion: Row | None, objective: Objective) -> str:
    """Each measured row's standing against the leader; the verdict on the leader's lead."""
    if champion is None:
        return "none"
    others = [r for r in rows if r.status == "measured" and r is not champion]
    for row in others:
        gap = abs((row.value or 0.0) - (champion.value or 0.0)) / abs(row.value) * 100 if row.value else None
        row.vs_leader = {"gap_pct": round(gap, 1) if gap is not None else None,
                         "verdict": separation(champion, row)}
    if not others:
        return "uncontested"
    ranked = sorted(others, key=lambda r: (r.value or 0.0) * (1 if objective.goal == "min" else -1))
    return separation(champion, ranked[0])


def confirmation_of(store: GridStore, plan: GridPlan, rows: list[Row],
                    champion: Row | None) -> dict[str, Any] | None:
    """The leader's second measurement, if it was measured again for the grid as it is now:
    confirmed when it still beats the runner-up's median (and meets the caps)."""
    if champion is None:
        return None
    record = store.confirmation(champion.plan.config_hash)
    if not finished(record, plan.bench_key):
        return None
    assert record is not None
    objective = plan.spec.objective
    value = figure(record, objective.metric) if record.get("status") == "measured" else None
    rivals = sorted((r for r in rows if r.status == "measured" and r is not champion and r.value is not None),
                    key=lambda r: (r.value or 0.0) * (1 if objective.goal == "min" else -1))
    target = rivals[0].value if rivals else None
    beats = value is not None and (target is None or
                                   (value < target if objective.goal == "min" else value > target))
    over = _meets(objective, record) if value is not None else []
    return {"confirmed": bool(beats and not over), "value": value, "first": champion.value,
            "runner_up": target, "runner_up_label": rivals[0].label if rivals else None,
            "over_caps": over, "reason": record.get("reason"), "finished": record.get("finished"),
            "figures": {metric: figure(record, metric) for _, metric in FIGURES}}


def build_report(config: Config, spec: GridSpec, env_file: Path | None = None) -> GridReport:
    store = GridStore(config, spec.name)
    with tempfile.TemporaryDirectory(prefix="sddd-grid-") as folder:  # a report writes nothing
        plan = plan_grid(config, spec, Path(folder), env_file, placeholders=True)  # starts nothing
        results = store.results()
        rows = rows_of(plan, results)
        champion, why = choose(rows, spec.objective)
    verdict = judge(rows, champion, spec.objective)
    confirmation = confirmation_of(store, plan, rows, champion)
    if confirmation is not None:
        why.insert(1, confirmed_text(confirmation, spec.objective.metric))
    current = {r.plan.config_hash for r in rows}
    return GridReport(plan, rows, champion, why, stale=len(set(results) - current), verdict=verdict,
                      confirmation=confirmation)


def confirmed_text(conf: dict[str, Any], metric: str) -> str:
    again = "no figure" if conf["value"] is None else f"{conf['value']:.4g}"
    rival = "" if conf["runner_up"] is None else f" against {conf['runner_up']:.4g} for the runner-up"
    head = "confirmed" if conf["confirmed"] else "NOT confirmed"
    tail = f" ({conf['reason']})" if conf.get("reason") else ""
    return f"{head}: deployed and measured again, {metric} {again} (first {conf['first']:.4g}){rival}{tail}"
