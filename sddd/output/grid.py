"""`sddd grid` for people: the dry-run plan, the progress lines on stderr, the report table with
its champion, and the champion's diff against the profile."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from sddd.core.config import Config
from sddd.deploy.wait import WaitState
from sddd.grid.apply import ApplyPlan
from sddd.grid.plan import GridPlan
from sddd.grid.report import FIGURES, GridReport, Row, figure
from sddd.grid.runner import Event, RunSummary
from sddd.grid.spec import GridSpec, compose_keys
from sddd.output.console import err, out
from sddd.output.deploy import StatusLine

SHORT = {"cold TTFT p50 ms": "cold p50", "cold TTFT p95 ms": "cold p95", "warm TTFT p50 ms": "warm p50",
         "warm TTFT p95 ms": "warm p95", "output tok/s": "tok/s"}
STATUS_STYLE = {"measured": "green", "rejected": "red", "pending": "dim", "over cap": "yellow"}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else (f"{minutes}m{sec:02d}s" if minutes else f"{sec}s")


def render_plan(config: Config, plan: GridPlan, done: dict[str, str]) -> None:
    """``grid run --dry-run``: each variant, its status, lint findings and override file."""
    spec = plan.spec
    out.print(f"[bold]sddd grid run {escape(spec.rel)} --dry-run[/bold]: profile {escape(spec.profile)}, "
              f"project {escape(plan.project)}, {len(plan.variants)} variant(s); scenarios "
              f"{', '.join(spec.bench)} x {spec.repetitions}; objective {spec.objective.goal} "
              f"{escape(spec.objective.metric)}")
    _render_keys(spec)
    for vp in plan.variants:
        state = done.get(vp.config_hash, "to run")
        out.print(f"\n[bold]{vp.variant.index}. {escape(vp.variant.label)}[/bold]  "
                  f"[dim]config {vp.config_hash} · {vp.variant.origin} · {escape(state)}[/dim]")
        for finding in vp.deploy.findings:
            style = "red" if finding.severity == "error" else "yellow"
            out.print(f"   [{style}]{escape(str(finding))}[/{style}]")
        out.print("   [dim]" + escape(" ".join(vp.deploy.command)) + "[/dim]", soft_wrap=True)
        for line in vp.text.splitlines():
            if not line.startswith("#"):
                out.print("   " + escape(line), soft_wrap=True)
    for dropped, same in plan.duplicates:
        out.print(f"\n[dim]{escape(dropped.label)}: the same service as {escape(same.label)}; run once[/dim]")
    out.print("\nNothing was started. `sddd grid run " + escape(spec.rel) + "` runs the variants "
              "still to run.")


def _render_keys(spec: GridSpec) -> None:
    """The Compose keys the axes set beyond command and environment, host-reaching ones flagged."""
    keys = compose_keys(spec)
    if not keys:
        return
    out.print("\nCompose keys the axes set beyond command and environment:")
    for key in keys:
        where = f" (line {key.line})" if key.line else ""
        text = f"{key.axis}: {key.key} = {', '.join(key.values)}{where}"
        if key.risk is None:
            out.print(f"   {escape(text)}")
        else:
            out.print(f"   [bold red]! {escape(text)}[/bold red]: reaches the host ({escape(key.risk)})")


class Progress:
    """One line per step on stderr (which variant, elapsed, ETA), and during each health wait
    the live status line of ``sddd deploy``."""

    def __init__(self, quiet: bool = False) -> None:
        self.line: StatusLine | None = None
        self.quiet = quiet  # --quiet: no progress at all

    def wait(self, state: WaitState) -> None:
        if self.quiet:
            return
        if self.line is None:
            self.line = StatusLine()
        self.line(state)

    def _stop(self) -> None:
        if self.line is not None:
            self.line.stop()
            self.line = None

    def __call__(self, event: Event) -> None:
        self._stop()
        if self.quiet:
            return
        eta = f" · ETA {duration(event.eta)}" if event.eta is not None else ""
        clock = f"{duration(event.elapsed)}{eta}"
        where = f"[{event.index}/{event.total} · {clock}]" if event.index else f"[{clock}]"
        colors = {"measured": "green", "rejected": "red", "cleanup": "yellow", "skip": "dim"}
        text = self._text(event)
        color = colors.get(event.kind)
        err.print(f"{escape(where)} " + (f"[{color}]{text}[/{color}]" if color else text))

    @staticmethod
    def _text(event: Event) -> str:
        label = escape(event.label)
        record: dict[str, Any] = event.record or {}
        if event.kind == "measured":
            figures = ", ".join(f"{name} {figure(record, metric):.4g}" for name, metric in FIGURES
                                if figure(record, metric) is not None)
            return f"{label}: measured in {duration(record.get('seconds'))}: {escape(figures)}"
        if event.kind == "rejected":
            return f"{label}: rejected ({escape(str(record.get('stage')))}): {escape(event.message)}"
        if event.kind in ("cleanup", "done"):
            return escape(event.message)
        return f"{label}: {escape(event.message)}"

    def stop(self) -> None:
        self._stop()


def render_summary(summary: RunSummary) -> None:
    err.print(f"[bold]grid {escape(summary.grid)}[/bold]: {summary.measured} measured, {summary.rejected} "
              f"rejected, {summary.skipped} already done, in {duration(summary.seconds)}")


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def render_report(report: GridReport) -> None:
    spec = report.spec
    facts = report.facts()
    table = Table(title=f"sddd grid report {spec.rel}: profile {spec.profile}, objective "
                  f"{spec.objective.goal} {spec.objective.metric}", title_justify="left",
                  caption="TTFT in ms, cold: a prefix never seen, warm: the same prefix again; "
                  "tok/s: output throughput under load", caption_justify="left")
    table.add_column("#", justify="right")
    table.add_column("variant", overflow="fold")
    for name, _ in FIGURES:
        table.add_column(SHORT.get(name, name), justify="right")
    table.add_column("objective runs", justify="right")
    table.add_column("status")
    tied = {id(r) for r in report.tied}
    for row in report.rows:
        status, style = standing(report, row, tied)
        table.add_row(str(row.plan.variant.index), escape(row.label),
                      *(_num(figure(row.record, m)) for _, m in FIGURES), runs_cell(row.runs),
                      f"[{style}]{escape(status)}[/{style}]" if style else escape(status))
    natural = out.measure(table, options=out.options.update_width(10**5)).maximum  # unclamped
    if natural > out.width:  # too narrow: rich would cut figures and statuses
        _report_blocks(report, tied)
    else:
        out.print(table)
    if report.champion and report.crowned:
        out.print(f"[bold green]champion:[/bold green] [bold]{escape(report.champion.label)}[/bold] "
                  f"[dim](config {report.champion.plan.config_hash}; {escape(report.verdict)}"
                  f"{', confirmed' if report.confirmed else ''})[/dim]")
    elif report.champion:
        out.print(f"[bold yellow]no clear champion:[/bold yellow] {escape(report.champion.label)} leads, "
                  + ("but its second measurement did not hold" if report.confirmed is False else
                     f"{escape(report.verdict)}: a tie") + " (`sddd grid apply` refuses it without --force)")
    else:
        out.print("[bold yellow]no champion[/bold yellow]")
    for reason in report.why:
        out.print(f"  - {escape(reason)}", soft_wrap=True)
    for row in report.rows:
        if row.status == "rejected":
            render_rejection(row.plan.variant.index, row.label, row.record or {})
    if report.stale:
        out.print(f"[dim]{report.stale} result(s) of an earlier profile or grid left out[/dim]")
    host = facts["host"] or {}
    out.print(f"[dim]vLLM {', '.join(facts['vllm']) or '?'} · sddd {', '.join(facts['sddd']) or '?'} · "
              f"{escape(str(host.get('cpu_model') or '?'))}, {host.get('cpus') or '?'} CPUs · "
              f"{facts['first'] or '?'} to {facts['last'] or '?'}[/dim]")


def _report_blocks(report: GridReport, tied: set[int]) -> None:
    """The report table as one block per variant, for a terminal too narrow for it whole."""
    spec = report.spec
    out.print(f"[bold]sddd grid report {escape(spec.rel)}[/bold]: profile {escape(spec.profile)}, "
              f"objective {spec.objective.goal} {escape(spec.objective.metric)} (TTFT in ms)")
    for row in report.rows:
        status, style = standing(report, row, tied)
        style = style or "default"
        out.print(f"{row.plan.variant.index}. [bold]{escape(row.label)}[/bold]: "
                  f"[{style}]{escape(status)}[/{style}]")
        out.print("   " + " · ".join(f"{SHORT.get(name, name)} {_num(figure(row.record, metric))}"
                                     for name, metric in FIGURES)
                  + f" · objective runs {runs_cell(row.runs)}")


def standing(report: GridReport, row: Row, tied: set[int]) -> tuple[str, str]:
    """A row's status cell and its style: ★ only for a lead beyond the noise."""
    if row is report.champion and report.crowned:
        return "★ champion" + (" (confirmed)" if report.confirmed else ""), "bold green"
    if row is report.champion and report.confirmed is False:
        return "leader, not confirmed", "yellow"
    if id(row) in tied:
        return "= tie" + (" (leader)" if row is report.champion else ""), "yellow"
    return row.status, STATUS_STYLE.get(row.status, "")


def runs_cell(runs: list[float]) -> str:
    if len(runs) < 2:
        return f"{len(runs)} run" if runs else "-"
    return f"{len(runs)} runs, {_num(min(runs))}-{_num(max(runs))}"


def render_rejection(index: int, label: str, record: dict[str, Any]) -> None:
    """The cause (the first decisive error of its log), the lines around it and the hint."""
    out.print(f"[red]{index}. {escape(label)}[/red] rejected at {escape(str(record.get('stage')))}: "
              f"{escape(str(record.get('reason')))}", soft_wrap=True)
    for line in (record.get("excerpt") or [])[-7:]:
        out.print(f"    [dim]{escape(line)}[/dim]", soft_wrap=True)
    hint = record.get("hint")
    if isinstance(hint, dict) and hint.get("ref"):
        out.print(f"    [bold]troubleshooting:[/bold] {escape(hint['ref'])}: "
                  f"{escape(str(hint.get('heading')))} [dim](score {hint.get('score')})[/dim]",
                  soft_wrap=True)
    elif isinstance(hint, str):  # a result of an earlier sddd
        out.print(f"    [bold]troubleshooting:[/bold] {escape(hint)}", soft_wrap=True)


def render_diff(plan: ApplyPlan, applied: bool) -> None:
    if plan.unchanged:
        out.print(f"profile {escape(plan.profile)} already runs the champion "
                  f"({escape(plan.champion.label)}); nothing to change")
        return
    for line in plan.diff:
        style = "green" if line.startswith("+") else ("red" if line.startswith("-") else "dim" if
                                                      line.startswith("@@") else "")
        out.print(f"[{style}]{escape(line)}[/{style}]" if style else escape(line), soft_wrap=True)
    if applied:
        out.print(f"[green]✔[/green] {escape(plan.rel)} now runs the champion "
                  f"({escape(plan.champion.label)}); `sddd deploy {escape(plan.profile)}` brings it up")
    else:
        out.print(f"[dim]nothing written; add --yes to apply it to {escape(plan.rel)}[/dim]")
