"""`sddd validate` for people (a table, each failure with its guide), for pipes (one
``severity: check: what was seen`` line each, then the summary) and for CI (JUnit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sddd.endpoint.target import ProfileRef
from sddd.endpoint.validate import FAIL, PASS, SKIP, ValidateReport
from sddd.output.findings import Row
from sddd.output.formats import Results, Shape
from sddd.output.junit import Case, suite_xml

if TYPE_CHECKING:  # --help reads the shape: rich only for the table
    from rich.console import Console

VALIDATE = Shape("sddd validate", own=("junit",))  # checks of a server: no file, no line
STYLE = {PASS: "[green]pass[/green]", FAIL: "[bold red]FAIL[/bold red]", SKIP: "[dim]skip[/dim]"}


def render(report: ValidateReport, ref: ProfileRef | None, console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    where = f"profile {ref.name} ({ref.config_hash})" if ref else "no profile"
    if ref and ref.inferred:
        where += ", matched by the model it serves"
    title = (f"sddd validate {escape(report.endpoint)}: {escape(where)}; model "
             f"{escape(report.model or '?')}; vLLM {escape(report.version or '?')}")
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    table.add_column("check")
    table.add_column("result")
    table.add_column("ms", justify="right")
    table.add_column("what was seen", overflow="fold", max_width=90)
    for check in report.checks:
        reason = escape(check.reason)
        if check.hint:
            hint = check.hint
            reason += f"\n[cyan]see {escape(hint.where)}[/cyan] [dim]({escape(hint.heading)})[/dim]"
        elif check.note and check.status == FAIL:
            reason += f"\n[dim]{escape(check.note)}[/dim]"
        ms = f"{check.seconds * 1000:.0f}" if check.status != "skip" else ""
        table.add_row(check.name, STYLE[check.status], ms, reason)
    console.print(table)
    failed = sum(c.status == FAIL for c in report.checks)
    console.print(f"[bold red]{failed} check(s) failed[/bold red]" if failed
              else "[green]all checks passed[/green]")


def _summary(report: ValidateReport, ref: ProfileRef | None) -> str:
    failed = sum(c.status == FAIL for c in report.checks)
    verdict = f"{failed} check(s) failed" if failed else "all checks passed"
    profile = f"profile {ref.name}" if ref else "no profile"
    return (f"sddd validate {report.endpoint} ({profile}; model {report.model or '?'}; vLLM "
            f"{report.version or '?'}): {verdict}")


def _rows(report: ValidateReport) -> list[Row]:
    """One row per check (a failure names the guide section that explains it)."""
    rows = []
    for check in report.checks:
        severity = {PASS: "pass", FAIL: "error", SKIP: "skip"}[check.status]
        note = ""
        if check.hint and check.status == FAIL:
            note = f"see {check.hint.where}: {check.hint.heading}"
        elif check.note and check.status == FAIL:
            note = check.note
        rows.append(Row(severity, check.name, None, None, check.reason, note=note))
    return rows



def to_junit(report: ValidateReport) -> str:
    """One JUnit test suite: a test case per check, skips and failures as JUnit has them."""
    cases = []
    for check in report.checks:
        failed = check.status == FAIL
        cases.append(Case(
            check.name, "sddd.validate", seconds=check.seconds,
            failure=check.reason if failed else None,
            failure_text=(f"see {check.hint.where}" if check.hint else (check.note or "")) if failed else "",
            skipped=check.reason if check.status == SKIP else None,
            output=check.reason if check.status == PASS else None))
    return suite_xml("sddd validate", cases, {"endpoint": report.endpoint},
                     seconds=sum(c.seconds for c in report.checks), wrap=False)


def results(report: ValidateReport, ref: ProfileRef | None) -> Results:
    """The report as every format sees it (its JSON names the profile checked)."""
    return Results(VALIDATE, _summary(report, ref),
                   lambda: {**report.to_json(), "profile": ref.to_json() if ref else None},
                   lambda console: render(report, ref, console), lambda: _rows(report),
                   own={"junit": lambda: to_junit(report)})
