"""``grid report --write-report``: the report as a dated page of the knowledge base.

``docs/reports/<date>-grid-<name>.md`` (the date of the last result), with front matter
(``kind: report``, ``profiles:``, tags), so it is indexed, listed on the site and read by
``sddd drift --all`` like any report. Written atomically; a page of that name that sddd did not
write is never overwritten (ConflictError, exit 6). The page names files only in inline code
(drift checks that they exist) and never links outside ``docs/``, so ``site build --strict``
passes; variant settings sit in table cells, not in ``--flag=value`` form, because they are
measurements of variants, not claims about what the profile runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sddd.core.atomic import atomic_write_text
from sddd.core.config import Config
from sddd.core.errors import ConflictError
from sddd.grid.report import FIGURES, GridReport, Row, figure
from sddd.grid.variants import show

GENERATOR = "sddd grid report --write-report"
REPORTS = "docs/reports"


def page_path(config: Config, report: GridReport) -> Path:
    last = report.facts()["last"] or ""
    return config.resolve(REPORTS) / f"{last[:10] or 'undated'}-grid-{report.spec.name}.md"


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(report: GridReport) -> list[str]:
    axes = [a.name for a in report.spec.axes]
    head = ["#", *axes, *(name for name, _ in FIGURES), "status"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in report.rows:
        settings = row.plan.variant.settings
        status = row.status + (" (champion)" if row is report.champion else "")
        cells = [str(row.plan.variant.index), *(show(settings[a]) if a in settings else "(profile)"
                                                for a in axes),
                 *(_num(figure(row.record, metric)) for _, metric in FIGURES), status]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _front(report: GridReport, date: str) -> list[str]:
    spec, champion = report.spec, report.champion
    title = f"Grid search {spec.name} over profile {spec.profile}: " + (
        f"champion {champion.label}" if champion else "no champion")
    return ["---", f"title: {_quoted(title)}", "kind: report", f"date: {date or 'undated'}",
            "tags: [grid-search, benchmark, ttft, throughput]", f"profiles: [{spec.profile}]",
            f"generator: {GENERATOR}", f"grid: {spec.rel}", "---", ""]


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _measured_how(report: GridReport) -> list[str]:
    spec, facts = report.spec, report.facts()
    host: dict[str, Any] = facts["host"] or {}
    sizes = "; ".join(f"{name}: " + ", ".join(f"{k} {v}" for k, v in vars(p).items())
                      for name, p in spec.bench.items())
    gpus = ", ".join(host.get("gpus") or []) or "no GPU"
    return ["## How it was measured", "",
            f"- Each variant was deployed with Docker Compose in project {report.plan.project} "
            f"(the profile files untouched), waited for until healthy (at most {spec.timeout:g} s), "
            "measured, then taken down.",
            f"- Scenarios of `sddd bench`, {spec.repetitions} repetition(s), medians shown: {sizes}.",
            f"- Objective: {spec.objective.goal} {spec.objective.metric}"
            + "".join(f"; cap {c.metric} {c.bound} {c.limit:g}" for c in spec.objective.caps) + ".",
            f"- Host: {host.get('cpu_model') or '?'}, {host.get('cpus') or '?'} CPUs, "
            f"{host.get('memory_gib') or '?'} GiB, {gpus}; {host.get('os') or '?'}; Docker "
            f"{host.get('docker') or '?'}, Compose {host.get('compose') or '?'}.",
            f"- vLLM {', '.join(facts['vllm']) or '?'}, sddd {', '.join(facts['sddd']) or '?'}; "
            f"results from {facts['first'] or '?'} to {facts['last'] or '?'}.", ""]


def _rejected(rows: list[Row]) -> list[str]:
    out = ["## Rejected variants", ""]
    for row in rows:
        rec = row.record or {}
        out += [f"### {row.plan.variant.index}. {row.label}", "",
                f"Rejected at the {rec.get('stage')} stage: {rec.get('reason')}", ""]
        if rec.get("excerpt"):
            out += ["```text", *rec["excerpt"], "```", ""]
    return out


def render_page(report: GridReport, diff: list[str], date: str) -> str:
    spec, champion, counts = report.spec, report.champion, report.counts()
    lines = _front(report, date)
    lines += [f"# Grid search {spec.name} over profile {spec.profile} ({date or 'undated'})", "",
              f"Written by `{GENERATOR}` from the results of `sddd grid run {spec.rel}`: "
              f"{len(report.rows)} variants of profile {spec.profile}, "
              + ", ".join(f"{n} {status}" for status, n in counts.items()) + ".", ""]
    if champion:
        lines += [f"**Champion: {champion.label}** ({spec.objective.metric} {_num(champion.value)}).", ""]
    lines += ["## Results", "", *_table(report), "", "## Why this champion", ""]
    lines += [f"- {_cell(w)}" for w in report.why] + [""]
    if diff:
        lines += ["## The champion against the profile", "",
                  f"`sddd grid apply {spec.rel}` shows this change, and applies it with `--yes`:", "",
                  "```diff", *diff, "```", ""]
    rejected = [r for r in report.rows if r.status == "rejected"]
    if rejected:
        lines += _rejected(rejected)
    return "\n".join(lines + _measured_how(report)).rstrip() + "\n"


def write_page(config: Config, report: GridReport, diff: list[str]) -> Path:
    path = page_path(config, report)
    if path.is_file() and f"generator: {GENERATOR}" not in path.read_text(encoding="utf-8")[:2000]:
        raise ConflictError("a report page of that name exists and sddd did not write it; move it or "
                            "rename this grid file", path=config.relpath(path))
    date = (report.facts()["last"] or "")[:10]
    atomic_write_text(path, render_page(report, diff, date))
    return path
