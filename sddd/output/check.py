"""Renderers for `sddd check`: a rich table, JSON, JUnit XML and GitHub workflow annotations.

The JSON schema (``SCHEMA``) is stable and documented in the manual (manual/concepts/targets.md);
a field is added, never renamed or removed, without changing the schema name.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sddd.output import formats, github
from sddd.output.console import out
from sddd.output.findings import Row, plain_lines
from sddd.output.formats import TABLE_WIDTH, Results, Shape
from sddd.output.junit import Case, suite_xml

if TYPE_CHECKING:  # the renderers only read results: importing them stays light for the CLI
    from rich.console import Console, Group
    from rich.table import Table

    from sddd.check.report import CheckReport, SuggestReport, TargetResult

SCHEMA = "sddd.check/1"
SUGGEST_SCHEMA = "sddd.check.suggest/1"
CHECK = Shape("sddd check", located=True, own=("junit",))


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


def _locations(r: TargetResult) -> list[str]:
    found = [r.matched.where] if r.matched is not None else [str(e) for e in r.target.expect]
    return found + ([f"{r.best_wrong.where} ({r.best_wrong.score:.3f})"] if r.best_wrong else [])


def _longest(report: CheckReport) -> int:
    """The widest location cell line ("above: " included)."""
    return max((len(loc) + 7 for r in report.results for loc in _locations(r)), default=20)


def fits(report: CheckReport, width: int) -> bool:
    """Whether the table's location column can hold every location whole at ``width``."""
    return width - (1 + 5 + 11 + 6 + 5 * 3 + 20) >= _longest(report)  # fixed columns, gaps, targets


def blocks(report: CheckReport) -> Group:
    """One block per target for a narrow terminal: its verdict and figures, then its locations whole."""
    from rich.console import Group, RenderableType
    from rich.padding import Padding
    from rich.text import Text

    parts: list[RenderableType] = [Text("sddd check", style="italic")]
    for r in sorted(report.results, key=lambda r: r.passed):
        t = r.target
        head = Text()
        head.append("✓ " if r.passed else "✗ ", style="green" if r.passed else "bold red")
        head.append(t.id, style="bold")
        rank = "-" if r.rank is None else f"{r.rank}/{t.top_k}"
        margin = "" if r.margin is None else f"  margin {r.margin:+.3f}"
        head.append(f"  rank {rank}  score {_score(r.score)} ≥{t.min_score:g}{margin}")
        lines = [Text(t.query, style="dim")] + ([Text(r.reason, style="red")] if not r.passed else [])
        if r.matched is not None:
            lines.append(Text(f"found: {r.matched.where}", style="cyan"))
        else:
            lines += [Text(f"expected: {e}", style="cyan") for e in t.expect]
        if r.best_wrong:
            lines.append(Text(f"above: {r.best_wrong.where} ({r.best_wrong.score:.3f})", style="red"))
        parts += [head, Padding(Group(*lines), (0, 0, 0, 2))]  # room for a long path#anchor
    return Group(*parts)


def table(report: CheckReport) -> Table:
    """Failed targets first (with the document that won), then the ones that pass."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    grid = Table(title="sddd check", title_justify="left", expand=True, box=box.SIMPLE_HEAD, show_lines=True,
                 pad_edge=False)
    grid.add_column("", width=1)
    grid.add_column("target", overflow="fold", ratio=2)
    grid.add_column("rank", justify="right", width=5)
    grid.add_column("score", justify="right", width=11)
    grid.add_column("margin", justify="right", width=6)
    grid.add_column("found / ranked above it", overflow="fold", ratio=3, min_width=_longest(report))
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


# --- plain lines -------------------------------------------------------------------------


def rows(report: CheckReport) -> list[Row]:
    """One row per target: a pass at the passage found, a failure at the expected document (where
    it is fixed); then the failed gates."""
    out_rows = []
    for r in report.results:
        t = r.target
        first = t.expect[0]
        defined = f"target at {t.source}:{t.line}" if t.source and t.line else ""
        if r.passed and r.matched is not None:
            message = (f"{t.query!r} finds {r.matched.where} at rank {r.rank}/{t.top_k}, score "
                       f"{_score(r.score)} >= {t.min_score:g}")
            out_rows.append(Row("pass", t.id, r.matched.path, r.matched.line, message, note=defined))
        else:
            out_rows.append(Row("error", t.id, first.path, first.line, explain(r), note=defined))
    for g in report.gates:
        if not g.passed:
            out_rows.append(Row("error", "gate", None, None, str(g)))
    return out_rows


def to_plain(report: CheckReport) -> str:
    """``path:line: severity: target: message`` per target, then the summary line."""
    return "\n".join(plain_lines(rows(report), f"sddd check: {summary_line(report)}")) + "\n"


# --- JUnit -----------------------------------------------------------------------------


def to_junit(report: CheckReport) -> str:
    """One testsuite; one testcase per target, and one per gate; failures carry the reason."""
    cases = []
    for r in report.results:
        t = r.target
        detail = (f"query: {t.query}\nexpect: {', '.join(str(e) for e in t.expect)}\n"
                  f"rank: {r.rank} (top_k {t.top_k})\nscore: {_score(r.score)} "
                  f"(min_score {t.min_score:g})\nmargin: {_score(r.margin)}\n")
        if r.best_wrong:
            detail += f"ranked above it: {r.best_wrong.where} ({r.best_wrong.score:.3f})\n"
        cases.append(Case(t.id, f"sddd.check.{t.source or 'targets'}", file=t.expect[0].path,
                          line=t.expect[0].line, output=detail,
                          failure=None if r.passed else explain(r), failure_text=detail,
                          failure_type="discoverability"))
    for g in report.gates:
        cases.append(Case(f"{g.name} >= {g.threshold:g}", "sddd.check.gates",
                          failure=None if g.passed else str(g), failure_text=str(g), failure_type="gate"))
    return suite_xml("sddd check", cases, report.summary.to_json(), seconds=report.seconds)


# --- GitHub workflow annotations -------------------------------------------------------


def to_github(report: CheckReport) -> str:
    """``::error`` at the expected file (and heading line) for each failure; a summary notice."""
    lines = []
    for r in report.results:
        if r.passed:
            continue
        first = r.target.expect[0]
        lines.append(github.annotation("error", first.path, first.line, f"sddd check: {r.target.id}",
                                       explain(r)))
    for g in report.gates:
        if not g.passed:
            lines.append(github.annotation("error", None, None, "sddd check gate", str(g)))
    lines.append(github.annotation("notice", None, None, "sddd check", summary_line(report)))
    return "\n".join(lines) + "\n"


def render_gates(report: CheckReport, console: Console) -> None:
    for gate in report.gates:
        mark = "[green]✓[/green]" if gate.passed else "[bold red]✗[/bold red]"
        console.print(f"{mark} gate: {gate}")


def draw(report: CheckReport, console: Console) -> None:
    """The targets for people: a table, or blocks when the terminal is too narrow; the gates; the summary."""
    console.print(table(report) if fits(report, console.width) else blocks(report))
    render_gates(report, console)
    console.print(summary_line(report))


def table_text(report: CheckReport) -> str:
    """The table as a file holds it (``--output``): as wide as ``formats.TABLE_WIDTH``."""
    from rich.console import Console

    recorder = Console(record=True, width=TABLE_WIDTH, file=io.StringIO())
    recorder.print(table(report))
    recorder.print(summary_line(report))
    return recorder.export_text()


def results(report: CheckReport, home: str | None = None) -> Results:
    """The report as every format sees it; check renders its plain lines, JUnit, annotations and
    table file its own way, and leaves JSON and SARIF to ``sddd.output.formats``."""
    return Results(CHECK, summary_line(report), lambda: to_json(report),
                   lambda console: draw(report, console), lambda: rows(report), home=home,
                   own={"plain": lambda: to_plain(report), "junit": lambda: to_junit(report),
                        "github": lambda: to_github(report), "table": lambda: table_text(report)})


def emit(report: CheckReport, fmt: str, output: Path | None, home: str | None = None) -> None:
    """The report in ``fmt`` on stdout, or written to ``output`` (atomically) with a summary line."""
    formats.emit(results(report, home), fmt, output)


# --- suggestions ------------------------------------------------------------------------


def render_suggestions(report: SuggestReport) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    grid = Table(title=f"sddd check --suggest {escape(report.path)}", title_justify="left", expand=True,
                 box=box.SIMPLE_HEAD, pad_edge=False)
    grid.add_column("", width=1)
    grid.add_column("query", overflow="fold", ratio=3)
    grid.add_column("expect", overflow="fold", ratio=3)
    grid.add_column("rank", justify="right", width=5)
    grid.add_column("score", justify="right", width=6)
    grid.add_column("ranked first instead", overflow="fold", ratio=2)
    for s in report.suggestions:
        r = s.result
        mark = "[green]✓[/green]" if r.passed else "[red]✗[/red]"
        expect = f"{report.path}#{s.anchor}" if s.anchor else report.path
        wrong = f"{escape(r.best_wrong.where)} ({r.best_wrong.score:.3f})" if r.best_wrong else "-"
        grid.add_row(mark, escape(s.query), f"[cyan]{escape(expect)}[/cyan]",
                     "-" if r.rank is None else str(r.rank),
                     "-" if r.score is None else f"{r.score:.3f}", wrong)
    if report.suggestions:
        probe = report.suggestions[0].result.target
        grid.caption = f"✓: rank ≤ {probe.top_k} and score ≥ {probe.min_score:g} (the defaults of sddd.yaml)"
        grid.caption_justify = "left"
    out.print(grid)
    if report.targets:
        out.print(f"Targets already expecting it: {', '.join(report.targets)}")
    else:
        out.print("No target expects this document yet.")
    good = [s for s in report.suggestions if s.result.passed]
    if good:
        out.print("Queries that pass today (paste under `targets:` in sddd.yaml, then reword them "
                  "as a reader would ask):")
        for s in good:
            expect = f"{report.path}#{s.anchor}" if s.anchor else report.path
            out.print(f"  - query: {json.dumps(s.query, ensure_ascii=False)}\n    expect: {expect}",
                      markup=False, highlight=False)
