"""`sddd deploy` / `status` / `down` for people: the plan, the live status line, the outcome,
the status and history tables."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.spinner import Spinner
from rich.table import Table

from sddd.deploy.history import Entry
from sddd.deploy.report import DeployPlan, DeployResult, ServiceStatus
from sddd.deploy.target import Target, flag
from sddd.deploy.wait import WaitState
from sddd.output.console import err, error_line, live_console, out

PLAIN_EVERY_S = 10.0  # a CI log gets a wait line at most this often


def render_plan(deploy_plan: DeployPlan, target: Target) -> None:
    """The resolved plan, what the target adds to it (a swarm's stack file), the equivalent command."""
    plan, svc = deploy_plan.plan, deploy_plan.plan.service
    table = Table(title=f"sddd deploy {plan.profile.name}{flag(target.name)} --dry-run",
                  title_justify="left", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    gpu = "none"
    if svc.gpu:
        gpu = f"{svc.gpu.gpus or svc.gpu.count} ({svc.gpu.via}: ids {', '.join(svc.gpu.device_ids) or '-'})"
    rows = [
        ("files", " + ".join(plan.profile.files)), ("env file", plan.profile.env_file or "(none)"),
        ("project", plan.profile.project), ("service", svc.name), ("image", svc.image or ""),
        ("model", svc.model or ""), ("tensor parallel", str(svc.tensor_parallel)), ("GPUs", gpu),
        ("ports", ", ".join(f"{p.host or '?'}->{p.container}/{p.protocol}" for p in svc.ports)),
        ("environment", ", ".join(f"{k}={v}" if v is not None else k
                                  for k, v in svc.environment.items())),
        ("healthcheck", " ".join(svc.healthcheck.test) if svc.healthcheck else "none"),
        ("vLLM args", " ".join(f"{a.flag}={a.value}" if a.value is not None else a.flag
                               for a in svc.args)),
        ("config hash", svc.config_hash),
    ]
    for key, value in rows:
        table.add_row(key, escape(value))
    out.print(table)
    _findings(plan.findings)
    for part in deploy_plan.parts:
        facts = "".join(f" · {label} {escape(value)}" for label, value in part.facts)
        out.print(f"\n[bold]{escape(part.kind)}[/bold] {escape(part.name)}{facts}")
        out.print(escape(part.text), highlight=False, soft_wrap=True)
        _findings(part.findings)
    out.print(f"\n[bold]equivalent:[/bold] {escape(' '.join(deploy_plan.command))}")


def _findings(findings: list[Any]) -> None:
    for finding in findings:
        out.print(f"[red]{escape(str(finding))}[/red]" if finding.severity == "error"
                  else f"[yellow]{escape(str(finding))}[/yellow]")


class StatusLine:
    """The live status line on a terminal; in a pipe or a CI log, a plain line at once and then at
    most one every ``every`` seconds, when something changed (never a carriage return)."""

    def __init__(self, every: float = PLAIN_EVERY_S) -> None:
        self.live: Live | None = None
        self.every = every
        self.last_key: tuple[str, str, str, str] | None = None
        self.last_at: float | None = None

    def __call__(self, state: WaitState) -> None:
        head = (f"[bold]{state.state}[/bold] · health [bold]{state.health}[/bold] · "
                f"{escape(state.phase)}")
        text = f"{state.elapsed:5.1f}s · {head}"
        if state.last_line:
            text += f"\n  [dim]{escape(state.last_line[:110])}[/dim]"
        if err.is_terminal:
            if self.live is None:
                self.live = Live(Spinner("dots", text), console=live_console(), refresh_per_second=8,
                                 transient=True)
                self.live.start()
            self.live.update(Spinner("dots", text))
            return
        key = (state.state, state.health, state.phase, state.last_line)
        now = time.monotonic()
        if key == self.last_key or (self.last_at is not None and now - self.last_at < self.every):
            return
        self.last_key, self.last_at = key, now
        last = f"  [dim]| {escape(state.last_line[:100])}[/dim]" if state.last_line else ""
        err.print(f"  {state.elapsed:6.1f}s  {head}{last}", soft_wrap=True)

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


def render_result(result: DeployResult, target: Target) -> None:
    plan = result.plan
    name = plan.profile.name + flag(target.name)
    kept = f"the {target.unit} is left running"
    for note in result.notes:
        err.print(f"[dim]{escape(note)}[/dim]")
    if result.outcome == "healthy":
        out.print(f"[green]✔[/green] {plan.profile.name} healthy in [bold]{result.seconds:.1f} s[/bold]: "
                  f"{result.container} ({plan.service.image}) at {plan.url}  "
                  f"[dim]config {plan.service.config_hash}[/dim]")
    elif result.outcome == "started":
        out.print(f"{plan.profile.name} started: {result.container} at {plan.url} "
                  f"(not waiting; `sddd status{flag(target.name)}` "
                  "shows its health)")
    else:
        if result.lines:
            body = "\n".join(escape(line) for line in result.lines)
            what = ("the first error in its log" if result.cause else
                    "its last log lines" if result.outcome == "timeout" else "its log lines")
            err.print(Panel(body, title=f"{result.container}: {what}", title_align="left",
                            border_style="red" if result.cause or result.outcome == "failed" else "yellow"))
        if result.hint:
            hint = result.hint
            err.print(f"[bold]troubleshooting:[/bold] {escape(hint['ref'])}: {escape(hint['heading'])} "
                      f"[dim](score {hint['score']})[/dim]\n  {escape(hint['snippet'])}")
        elif result.hint_note:
            err.print(f"[dim]{escape(result.hint_note)}[/dim]")
        error_line(f"{plan.profile.name}: {result.message}" + (
            f" (after {result.seconds:.0f} s; {kept}: `sddd logs {name}`, `sddd down {name}`)"
            if result.outcome == "timeout"
            else f"; `sddd logs {name}` for more, `sddd down {name}` to remove"))


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else (f"{minutes}m{sec:02d}s" if minutes else f"{sec}s")


def render_history(entries: list[Entry], hidden: int = 0) -> None:
    """The last 30 entries; ``hidden``: grid-variant entries left out (``--grids`` shows them)."""
    note = f"{hidden} deploy(s) of grid variants hidden; --grids shows them" if hidden else ""
    if not entries:
        out.print("No deployment recorded yet." + (f" ({note})" if note else ""))
        return
    table = Table(title="sddd deployment history", title_justify="left", caption=note or None,
                  caption_justify="left")
    for col in ("when", "action", "target", "profile", "project", "outcome", "healthy in", "config",
                "before"):
        table.add_column(col)
    for e in entries[-30:]:
        before = e.previous or {}
        table.add_row(datetime.fromtimestamp(e.at).strftime("%Y-%m-%d %H:%M:%S"), e.action, e.target,
                      escape(e.profile), escape(e.project + (f" (grid {e.grid})" if e.grid else "")),
                      e.outcome, f"{e.seconds:.1f} s" if e.seconds else "",
                      e.config_hash, escape(f"{before.get('profile', '')} "
                                            f"{before.get('config_hash', '')}".strip()))
    out.print(table)


def render_status(services: list[ServiceStatus], target: Target) -> None:
    if not services:
        out.print(f"No sddd-managed service {target.place}. Start one with "
                  f"`sddd deploy{flag(target.name)}`.")
        return
    title = "sddd status" + flag(target.name)
    columns = ("profile", target.unit, *target.columns, "state", "health", "uptime", "port", "image",
               "model")
    rows = [(s.profile, s.container, *(str(getattr(s, c)) for c in target.columns), s.state, s.health,
             _ago(s.uptime_s), str(s.port or "-"), s.image, s.model) for s in services]
    colors = {"healthy": "green", "unhealthy": "red", "starting": "yellow"}
    # Every cell whole, plus 3 characters of border each: when that does not fit, one block per
    # service rather than a table that cuts names, images and model paths with "…".
    widths = [max(len(str(v)) for v in [name, *(row[i] for row in rows)]) for i, name in enumerate(columns)]
    if sum(widths) + 3 * len(widths) + 1 > out.width:
        out.print(f"[bold]{title}[/bold]")
        for row in rows:
            facts = dict(zip(columns, row, strict=True))
            health = f"[{colors.get(facts['health'], 'white')}]{escape(facts['health'])}[/]"
            out.print(f"[bold]{escape(facts['profile'])}[/bold] {escape(row[1])}: {escape(facts['state'])}, "
                      f"{health}, up {facts['uptime']}, port {facts['port']}")
            out.print(f"  image {escape(facts['image'])}\n  model {escape(facts['model'])}")
        return
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, no_wrap=True)
    for row in rows:
        cells = [escape(str(v)) for v in row]
        health_at = columns.index("health")
        cells[health_at] = f"[{colors.get(row[health_at], 'white')}]{cells[health_at]}[/]"
        table.add_row(*cells)
    out.print(table)
