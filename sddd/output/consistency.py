"""`sddd drift` and `sddd audit`: their findings as rows, their summary lines and tables; every other
format comes from ``sddd.output.formats``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sddd.output.findings import Row, table
from sddd.output.formats import Results, Shape

if TYPE_CHECKING:  # the shapes are read by --help, which imports neither rich nor the reports
    from rich.console import Console

    from sddd.consistency.audit import AuditReport
    from sddd.consistency.drift import DriftReport

DRIFT = Shape("sddd drift", located=True)
AUDIT = Shape("sddd audit", located=True)


def drift_rows(report: DriftReport) -> list[Row]:
    rows = []
    for f in report.findings:
        prof = f"{f.profile_path}:{f.profile_line}" if f.profile_path and f.profile_line else f.profile_path
        path, line = (f.doc_path, f.doc_line) if f.doc_path else (f.profile_path, f.profile_line)
        note = f"profile by {f.rule}" if f.rule and f.doc_path and f.profile else ""
        rows.append(Row(f.severity, f.type, path, line, f.message, prof if f.doc_path else None, note))
    return rows


def audit_rows(report: AuditReport) -> list[Row]:
    return [Row(f.severity, f.rule, f.path, f.line, f.message) for f in report.findings]


def drift_summary(report: DriftReport) -> str:
    c = report.counts()
    verdict = "passed" if report.passed else "FAILED"
    return (f"sddd drift {verdict}: {report.documents} documents, {report.claims} claims, profiles "
            f"{', '.join(report.profiles) or 'none'}: {c['error']} error(s), {c['warning']} warning(s), "
            f"{c['info']} info (fails on {report.fail_on} and above)"
            + (f"; {report.skipped_reports} report(s) skipped (--all checks them)" if report.skipped_reports
               else ""))


def audit_summary(report: AuditReport) -> str:
    c = report.counts()
    over = sum(b.over for b in report.budgets)
    verdict = "passed" if report.passed else "FAILED"
    return (f"sddd audit {verdict}: {over} budget(s) over, {c['error']} error(s), {c['warning']} warning(s), "
            f"{c['info']} info (fails on {report.fail_on} and above)")


def render_drift(report: DriftReport, console: Console) -> None:
    if report.findings:
        console.print(table(drift_rows(report), kind="type", where="document", other="profile",
                            width=console.width))
    console.print(drift_summary(report), markup=False, highlight=False)


def render_audit(report: AuditReport, console: Console) -> None:
    from rich import box  # a table for people: JSON and plain lines never import rich
    from rich.table import Table

    budgets = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="Entropy budget", title_justify="left")
    budgets.add_column("what")
    budgets.add_column("count", justify="right")
    budgets.add_column("budget", justify="right")
    budgets.add_column("")
    for b in report.budgets:
        mark = "[bold red]over[/]" if b.over else \
            ("[green]ok[/]" if b.limit is not None else "[dim]no budget[/]")
        budgets.add_row(b.name, str(b.count), "-" if b.limit is None else str(b.limit), mark)
    console.print(budgets)
    if report.findings:
        console.print(table(audit_rows(report), kind="rule", where="where", width=console.width))
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(audit_summary(report), markup=False, highlight=False)


def drift_results(report: DriftReport, home: str | None = None) -> Results:
    """A drift report as every format sees it; ``home``: the sddd.yaml, relative."""
    return Results(DRIFT, drift_summary(report), report.to_json,
                   lambda console: render_drift(report, console), lambda: drift_rows(report), home=home)


def audit_results(report: AuditReport, home: str | None = None) -> Results:
    """An audit report as every format sees it; ``home``: the sddd.yaml, relative."""
    return Results(AUDIT, audit_summary(report), report.to_json,
                   lambda console: render_audit(report, console), lambda: audit_rows(report), home=home)
