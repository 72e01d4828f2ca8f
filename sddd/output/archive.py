"""`sddd archive` / `restore` for people: candidates, plans, results and the archive list, as
tables on a terminal (file names never broken: a narrow terminal gets one block per file) and as
``path: severity: type: message`` lines for pipes (``plain_candidates``, ``plain_list``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sddd.archive.archiving import ArchivePlan, ArchiveResult, ArchiveSummary, RestoreResult
from sddd.compose.variants import Candidate
from sddd.output.console import out, warn, write_lines
from sddd.output.findings import Row, plain_lines

if TYPE_CHECKING:  # rich is imported where a table is drawn: JSON and plain lines never need it
    from rich.console import RenderableType

MAX_DIFFS = 8
APPLY_HINT = ("Archive them: sddd archive --detect --apply (shows the plan and asks), or name files: "
              "sddd archive FILE... --reason TEXT")


def _value(value: str | None) -> str:
    from rich.markup import escape

    return "[dim](unset)[/dim]" if value is None else escape(value) if value else '""'


def _diffs(c: Candidate) -> list[str]:
    from rich.markup import escape

    if c.closest is None:
        return []
    shown = [f"{escape(d.key)}: {_value(d.candidate)} vs {_value(d.profile)}"
             for d in c.closest.differences[:MAX_DIFFS]]
    more = len(c.closest.differences) - MAX_DIFFS
    return shown + ([f"[dim]... {more} more (--json)[/dim]"] if more > 0 else [])


def _candidate_table(candidates: list[Candidate], width: int) -> RenderableType:
    from rich.console import Group
    from rich.markup import escape
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    longest = max(len(c.path) for c in candidates)
    title = f"sddd archive --detect: {len(candidates)} candidate(s)"
    if width - longest - 6 < 2 * 30:  # no room for two readable columns beside the names: blocks
        parts: list[RenderableType] = [Text(title, style="italic")]
        for c in candidates:
            lines = [f"- {escape(r)}" for r in c.reasons] + [f"[dim]reason: {escape(c.reason)}[/dim]"]
            if c.closest is not None:
                lines += [f"differs from {escape(c.closest.profile)}: {d}" for d in _diffs(c)]
            parts += [Text(c.path, style="bold cyan"), Padding("\n".join(lines), (0, 0, 0, 4))]
        return Group(*parts)
    table = Table(title=title, title_justify="left", show_lines=True, expand=True)
    table.add_column("file", style="cyan", no_wrap=True, min_width=longest)
    table.add_column("why", ratio=1, overflow="fold")
    table.add_column("what differs from the closest profile", ratio=1, overflow="fold")
    for c in candidates:
        why = "\n".join(f"- {escape(r)}" for r in c.reasons)
        table.add_row(escape(c.path), why + f"\n[dim]reason: {escape(c.reason)}[/dim]", "\n".join(_diffs(c)))
    return table


def candidate_rows(candidates: list[Candidate]) -> list[Row]:
    rows = []
    for c in candidates:
        message = f"{c.reason}: {'; '.join(c.reasons)}"
        if c.closest is not None and c.closest.differences:
            diffs = "; ".join(f"{d.key}: {d.candidate if d.candidate is not None else '(unset)'} vs "
                              f"{d.profile if d.profile is not None else '(unset)'}"
                              for d in c.closest.differences)
            message += f"; differs from {c.closest.profile} ({c.closest.score:.0%} identical): {diffs}"
        rows.append(Row("info", ",".join(c.causes), c.path, None, message))
    return rows


def plain_candidates(candidates: list[Candidate]) -> list[str]:
    summary = (f"sddd archive --detect: {len(candidates)} candidate(s); {APPLY_HINT}" if candidates
               else "sddd archive --detect: no superseded-looking config found, nothing to archive")
    return plain_lines(candidate_rows(candidates), summary)


def render_candidates(candidates: list[Candidate], fmt: str = "table") -> None:
    if fmt == "plain":
        write_lines(plain_candidates(candidates))
        return
    if not candidates:
        out.print("No superseded-looking config found: nothing to archive.")
        return
    out.print(_candidate_table(candidates, out.width))
    out.print("Archive them: [bold]sddd archive --detect --apply[/bold] (shows the plan and asks), "
              "or name files: sddd archive FILE... --reason TEXT")


def render_plan(plan: ArchivePlan, title: str) -> None:
    from rich.markup import escape
    from rich.table import Table

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


def plain_list(summaries: list[ArchiveSummary], due_only: bool) -> list[str]:
    rows = []
    for s in summaries:
        files = f"{s.archived} file(s)" + (f" ({s.restored} restored)" if s.restored else "")
        status = "due for review" if s.due else "kept"
        rows.append(Row("warning" if s.due else "info", "archive", f"{s.folder}/", None,
                        f"{files}, review {s.review_date}: {status}"))
        rows += [Row("error", "manifest", f"{s.folder}/", None, p) for p in s.problems]
    due = sum(s.due for s in summaries)
    problems = sum(len(s.problems) for s in summaries)
    what = "past review" if due_only else "in all"
    return plain_lines(rows, f"sddd archive --list: {len(summaries)} archive(s) {what}, {due} due for "
                             f"review, {problems} problem(s)")


def render_list(summaries: list[ArchiveSummary], due_only: bool, fmt: str = "table") -> None:
    from rich.markup import escape
    from rich.table import Table

    if fmt == "plain":
        write_lines(plain_list(summaries, due_only))
        return
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
