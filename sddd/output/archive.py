"""`sddd archive` / `restore` for people: candidates, plans, results and the archive list."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from sddd.archive.archiving import ArchivePlan, ArchiveResult, ArchiveSummary, RestoreResult
from sddd.compose.variants import Candidate
from sddd.output.console import out, warn

MAX_DIFFS = 8


def _value(value: str | None) -> str:
    return "[dim](unset)[/dim]" if value is None else escape(value) if value else '""'


def render_candidates(candidates: list[Candidate]) -> None:
    if not candidates:
        out.print("No superseded-looking config found: nothing to archive.")
        return
    table = Table(title=f"sddd archive --detect: {len(candidates)} candidate(s)", title_justify="left",
                  show_lines=True, expand=True)
    table.add_column("file", style="cyan", overflow="fold", ratio=2)
    table.add_column("why", ratio=4, overflow="fold")
    table.add_column("what differs from the closest profile", ratio=4, overflow="fold")
    for c in candidates:
        diffs = ""
        if c.closest is not None:
            shown = [f"{escape(d.key)}: {_value(d.candidate)} vs {_value(d.profile)}"
                     for d in c.closest.differences[:MAX_DIFFS]]
            more = len(c.closest.differences) - MAX_DIFFS
            diffs = "\n".join(shown + ([f"[dim]... {more} more (--json)[/dim]"] if more > 0 else []))
        why = "\n".join(f"- {escape(r)}" for r in c.reasons)
        table.add_row(escape(c.path), why + f"\n[dim]reason: {escape(c.reason)}[/dim]", diffs)
    out.print(table)
    out.print("Archive them: [bold]sddd archive --detect --apply[/bold] (shows the plan and asks), "
              "or name files: sddd archive FILE... --reason TEXT")


def render_plan(plan: ArchivePlan, title: str) -> None:
    table = Table(title=title, title_justify="left", expand=True)
    table.add_column("file", style="cyan", overflow="fold")
    table.add_column("archived as", overflow="fold")
    table.add_column("bytes", justify="right")
    table.add_column("reason", overflow="fold")
    prefix = plan.folder + "/"
    for f in plan.files:
        table.add_row(escape(f.original), escape(f.archived.removeprefix(prefix)), str(f.size),
                      escape(f.reason))
    out.print(table)
    git = "in git: moved with `git mv`, staged, never committed" if plan.git else "not a git work tree"
    out.print(f"Into [bold]{plan.folder}/[/bold] (review on {plan.review_date}; {git}).")


def render_result(result: ArchiveResult) -> None:
    out.print(f"[green]Archived {len(result.plan.files)} file(s)[/green] into {result.plan.folder}/; "
              f"index in {result.readme}, manifest {result.manifest}.")
    if result.plan.git:
        out.print("Review with `git status` and commit when ready; undo one with `sddd restore PATH`.")
    for warning in result.warnings:
        warn(warning)


def render_list(summaries: list[ArchiveSummary], due_only: bool) -> None:
    if not summaries:
        out.print("No archive is past its review date." if due_only else "No archive yet.")
        return
    table = Table(title="sddd archive --list" + (" --due" if due_only else ""), title_justify="left")
    # The folder names the archive date (<category>_<YYYYMMDD>) and is what people type next
    # (restore, ls): it gets its full width; bytes and dates stay in --json.
    table.add_column("folder", no_wrap=True)
    table.add_column("files", justify="right")
    table.add_column("review", no_wrap=True)
    table.add_column("status", overflow="fold")
    for s in summaries:
        status = "[yellow]due for review[/yellow]" if s.due else "[green]kept[/green]"
        if s.problems:
            status += "\n" + "\n".join(f"[red]{escape(p)}[/red]" for p in s.problems)
        files = str(s.archived) + (f" ({s.restored} restored)" if s.restored else "")
        table.add_row(escape(s.folder), files, s.review_date, status)
    out.print(table)


def render_restored(result: RestoreResult) -> None:
    out.print(f"[green]Restored[/green] {result.archived} to {result.restored_to} "
              f"(sha256 {result.sha256[:12]} verified; manifest updated).")
    for warning in result.warnings:
        warn(warning)
