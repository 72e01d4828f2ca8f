"""Renderers for `sddd check`: a rich table, JSON, JUnit XML and GitHub workflow annotations.

The JSON schema (``SCHEMA``) is stable and documented in the README; a field is added, never
renamed or removed, without changing the schema name.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from rich import box
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:  # the renderers only read results: importing them stays light for the CLI
    from sddd.check.evaluate import CheckReport, SuggestReport, TargetResult

SCHEMA = "sddd.check/1"
SUGGEST_SCHEMA = "sddd.check.suggest/1"
FORMATS = ("table", "json", "junit", "github")


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def summary_line(report: CheckReport) -> str:
    s = report.summary
    mean = _score(s.mean_expected_score)
    return (f"{s.passed}/{s.targets} targets pass · hit@1 {s.hit_at_1:.2f} · hit@k {s.hit_at_k:.2f}"
            f" · MRR@k {s.mrr_at_k:.3f} · mean expected score {mean}")


def explain(result: TargetResult) -> str:
    """One sentence on a failed target: what was expected, what happened, who won."""
    t = result.target
    wanted = " or ".join(str(e) for e in t.expect)
    text = (f"{t.query!r} should find {wanted} in the top {t.top_k} with score >= {t.min_score:g}, "
            f"but {result.reason}")
    winner = result.best_wrong
    if winner is not None:
        text += f"; ranked first: {winner.where} ({winner.score:.3f})"
    return text


# --- table -----------------------------------------------------------------------------


def table(report: CheckReport) -> Table:
    """Failed targets first (with the document that won), then the ones that pass."""
    grid = Table(title="sddd check", title_justify="left", expand=True, box=box.SIMPLE_HEAD, show_lines=True,
                 pad_edge=False)
    grid.add_column("", width=1)
    grid.add_column("target", overflow="fold", ratio=2)
    grid.add_column("rank", justify="right", width=5)
    grid.add_column("score", justify="right", width=11)
    grid.add_column("margin", justify="right", width=6)
    grid.add_column("found / ranked above it", overflow="fold", ratio=3)
    for r in sorted(report.results, key=lambda r: r.passed):
        t = r.target
        mark = "[green]✓[/green]" if r.passed else "[bold red]✗[/bold red]"
        rank = "-" if r.rank is None else f"{r.rank}/{t.top_k}"
        if r.rank is None or r.rank > t.top_k:
            rank = f"[red]{rank}[/red]"
        score = f"{_score(r.score)} ≥{t.min_score:g}"
        if r.score is None or r.score < t.min_score:
            score = f"[red]{score}[/red]"
        margin = "-" if r.margin is None else f"{r.margin:+.3f}"
        if r.matched is not None:
            where = f"[cyan]{escape(r.matched.where)}[/cyan]"
        else:
            where = "\n".join(f"[cyan]{escape(str(e))}[/cyan]" for e in t.expect)
        if r.best_wrong:
            where += f"\n[red]above:[/red] {escape(r.best_wrong.where)} ({r.best_wrong.score:.3f})"
        label = f"[bold]{escape(t.id)}[/bold]\n[dim]{escape(t.query)}[/dim]"
        if not r.passed:
            label += f"\n[red]{escape(r.reason)}[/red]"
        grid.add_row(mark, label, rank, score, margin, where)
    return grid


# --- JSON ------------------------------------------------------------------------------


def to_json(report: CheckReport) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "passed": report.passed,
        "summary": report.summary.to_json(),
        "gates": [g.to_json() for g in report.gates],
        "targets": [r.to_json() for r in report.results],
        "model_loaded": report.model_loaded,
        "seconds": round(report.seconds, 3),
    }


def suggest_json(report: SuggestReport) -> dict[str, Any]:
    return {
        "schema": SUGGEST_SCHEMA, "path": report.path, "targets": report.targets,
        "suggestions": [
            {"query": s.query, "source": s.source,
             "expect": f"{report.path}#{s.anchor}" if s.anchor else report.path,
             "rank": s.result.rank, "score": None if s.result.score is None else round(s.result.score, 4),
             "passes": s.result.passed,
             "best_wrong": s.result.best_wrong.to_json() if s.result.best_wrong else None}
            for s in report.suggestions
        ],
    }


# --- JUnit -----------------------------------------------------------------------------


def to_junit(report: CheckReport) -> str:
    """One testsuite; one testcase per target, and one per gate; failures carry the reason."""
    gate_failures = sum(1 for g in report.gates if not g.passed)
    failures = report.summary.failed + gate_failures
    tests = len(report.results) + len(report.gates)
    seconds = f"{report.seconds:.3f}"
    root = ET.Element("testsuites", name="sddd check", tests=str(tests), failures=str(failures),
                      errors="0", time=seconds)
    suite = ET.SubElement(root, "testsuite", name="sddd check", tests=str(tests),
                          failures=str(failures), errors="0", skipped="0", time=seconds)
    props = ET.SubElement(suite, "properties")
    for key, value in report.summary.to_json().items():
        ET.SubElement(props, "property", name=key, value="" if value is None else str(value))
    for r in report.results:
        t = r.target
        case = ET.SubElement(suite, "testcase", classname=f"sddd.check.{t.source or 'targets'}",
                             name=t.id, file=t.expect[0].path, line=str(t.expect[0].line), time="0")
        detail = (f"query: {t.query}\nexpect: {', '.join(str(e) for e in t.expect)}\n"
                  f"rank: {r.rank} (top_k {t.top_k})\nscore: {_score(r.score)} "
                  f"(min_score {t.min_score:g})\nmargin: {_score(r.margin)}\n")
        if r.best_wrong:
            detail += f"ranked above it: {r.best_wrong.where} ({r.best_wrong.score:.3f})\n"
        if not r.passed:
            failure = ET.SubElement(case, "failure", message=explain(r), type="discoverability")
            failure.text = detail
        ET.SubElement(case, "system-out").text = detail
    for g in report.gates:
        case = ET.SubElement(suite, "testcase", classname="sddd.check.gates",
                             name=f"{g.name} >= {g.threshold:g}", time="0")
        if not g.passed:
            ET.SubElement(case, "failure", message=str(g), type="gate").text = str(g)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- GitHub workflow annotations -------------------------------------------------------


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(report: CheckReport) -> str:
    """``::error`` at the expected file (and heading line) for each failure; a summary notice."""
    lines = []
    for r in report.results:
        if r.passed:
            continue
        first = r.target.expect[0]
        title = _gh_prop(f"sddd check: {r.target.id}")
        lines.append(f"::error file={_gh_prop(first.path)},line={first.line},title={title}::"
                     f"{_gh_data(explain(r))}")
    for g in report.gates:
        if not g.passed:
            lines.append(f"::error title={_gh_prop('sddd check gate')}::{_gh_data(str(g))}")
    lines.append(f"::notice title={_gh_prop('sddd check')}::{_gh_data(summary_line(report))}")
    return "\n".join(lines) + "\n"
