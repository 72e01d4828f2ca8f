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
    head = ["#", *axes, *(name for name, _ in FIGURES), "objective runs", "status"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    tied = {id(r) for r in report.tied}
    for row in report.rows:
        settings = row.plan.variant.settings
        runs = row.runs
        spread = "-" if not runs else ("1 run" if len(runs) == 1 else
                                       f"{len(runs)} runs, {_num(min(runs))}-{_num(max(runs))}")
        cells = [str(row.plan.variant.index), *(show(settings[a]) if a in settings else "(profile)"
                                                for a in axes),
                 *(_num(figure(row.record, metric)) for _, metric in FIGURES), spread,
                 row.status + _standing(report, row, tied)]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _standing(report: GridReport, row: Row, tied: set[int]) -> str:
    if row is report.champion and report.crowned:
        return " (champion)"
    if row is report.champion and report.confirmed is False:
        return " (leader, not confirmed)"
    if id(row) in tied:
        return " (tie, leader)" if row is report.champion else " (tie)"
    return ""


def _front(report: GridReport, date: str) -> list[str]:
    spec, champion = report.spec, report.champion
    title = f"Grid search {spec.name} over profile {spec.profile}: " + (
        (f"champion {champion.label}" if report.crowned else f"no clear champion ({champion.label} leads)")
        if champion else "no champion")
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
    """Each rejection by its cause (the first decisive error of vLLM's log), the lines around it
    and the troubleshooting section found with that line."""
    out = ["## Rejected variants", ""]
    for row in rows:
        rec = row.record or {}
        out += [f"### {row.plan.variant.index}. {row.label}", "",
                f"Rejected at the {rec.get('stage')} stage: {rec.get('reason')}", ""]
        if rec.get("excerpt"):
            out += ["```text", *rec["excerpt"], "```", ""]
        hint = rec.get("hint")
        if isinstance(hint, dict) and hint.get("ref"):
            path, _, _anchor = str(hint["ref"]).partition("#")
            out += [f"Troubleshooting: `{path}`, section {hint.get('heading')} (found by searching the "
                    f"line above; score {hint.get('score')}).", ""]
    return out


def _confirmation(report: GridReport) -> list[str]:
    conf = report.confirmation
    if conf is None:
        return ["## Confirmation", "", "The leader was not deployed and measured again: `sddd grid run "
                f"{report.spec.rel} --confirm` does it before it is crowned.", ""]
    again = "no figure" if conf["value"] is None else _num(conf["value"])
    return ["## Confirmation", "",
            f"The leader was deployed again and measured: {report.spec.objective.metric} {again} "
            f"(first {_num(conf['first'])}; runner-up {_num(conf['runner_up'])}): "
            + ("**confirmed**." if conf["confirmed"] else "**not confirmed**: it is not crowned."), ""]


def render_page(report: GridReport, diff: list[str], date: str) -> str:
    spec, champion, counts = report.spec, report.champion, report.counts()
    lines = _front(report, date)
    lines += [f"# Grid search {spec.name} over profile {spec.profile} ({date or 'undated'})", "",
              f"Written by `{GENERATOR}` from the results of `sddd grid run {spec.rel}`: "
              f"{len(report.rows)} variants of profile {spec.profile}, "
              + ", ".join(f"{n} {status}" for status, n in counts.items()) + ".", ""]
    if champion and report.crowned:
        lines += [f"**Champion: {champion.label}** ({spec.objective.metric} {_num(champion.value)}; "
                  f"{report.verdict}).", ""]
    elif champion:
        lines += [f"**No clear champion**: {champion.label} leads ({spec.objective.metric} "
                  f"{_num(champion.value)}), but " + ("its second measurement did not hold." if
                                                      report.confirmed is False else
                                                      f"{report.verdict}: a tie with "
                                                      + ", ".join(r.label for r in report.tied[1:]) + "."),
                  ""]
    lines += ["## Results", "", *_table(report), "", "## Why this leader", ""]
    lines += [f"- {_cell(w)}" for w in report.why] + [""] + _confirmation(report)
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
