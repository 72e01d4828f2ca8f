"""`sddd drift` and `sddd audit` for people: tables, plain lines, annotations, summary lines."""

from __future__ import annotations

from sddd.consistency.audit import AuditReport
from sddd.consistency.drift import DriftReport
from sddd.output.console import out, print_json, write_lines
from sddd.output.findings import Row, github_lines, plain_lines, table


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


def drift_plain(report: DriftReport) -> list[str]:
    return plain_lines(drift_rows(report), drift_summary(report))


def audit_plain(report: AuditReport) -> list[str]:
    return plain_lines(audit_rows(report), audit_summary(report))


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


def drift_github(report: DriftReport) -> list[str]:
    return github_lines(drift_rows(report), "sddd drift", drift_summary(report))


def audit_github(report: AuditReport) -> list[str]:
    return github_lines(audit_rows(report), "sddd audit", audit_summary(report))


def render_drift(report: DriftReport) -> None:
    if report.findings:
        out.print(table(drift_rows(report), kind="type", where="document", other="profile",
                        width=out.width))
    out.print(drift_summary(report), markup=False, highlight=False)


def render_audit(report: AuditReport) -> None:
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
    out.print(budgets)
    if report.findings:
        out.print(table(audit_rows(report), kind="rule", where="where", width=out.width))
    for note in report.notes:
        out.print(f"note: {note}", markup=False, highlight=False)
    out.print(audit_summary(report), markup=False, highlight=False)


def emit(report: DriftReport | AuditReport, fmt: str) -> None:
    """A drift or audit report in ``fmt``: json, github (annotations), plain (lines) or table."""
    if fmt == "json":
        print_json(report.to_json())
    elif fmt == "plain":
        write_lines(drift_plain(report) if isinstance(report, DriftReport) else audit_plain(report))
    elif fmt == "github":
        write_lines(drift_github(report) if isinstance(report, DriftReport) else audit_github(report))
    elif isinstance(report, DriftReport):
        render_drift(report)
    else:
        render_audit(report)
