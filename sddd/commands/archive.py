"""`sddd archive` and `sddd restore`: retire superseded configs into dated folders, losing nothing."""

from __future__ import annotations

import sys
from dataclasses import asdict

import typer
from rich.markup import escape
from rich.table import Table

from sddd.archive.archiving import (
    ArchivePlan,
    ArchiveResult,
    ArchiveSummary,
    apply_archive,
    apply_restore,
    list_archives,
    plan_archive,
    plan_restore,
)
from sddd.commands.common import JSON_HELP, get_config
from sddd.compose.variants import Candidate, detect_variants
from sddd.core.errors import EXIT_FAILED, EXIT_OK, UsageError
from sddd.output.console import out, print_json, warn

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


def _confirm(plan: ArchivePlan, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("not asking without a terminal: pass --yes to archive, or --dry-run to look")
    if not typer.confirm(f"Archive these {len(plan.files)} file(s)?", default=False):
        out.print("Nothing archived.")
        raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    @app.command("archive")
    def archive_command(
        ctx: typer.Context,
        paths: list[str] = typer.Argument(None, help="Files (or folders) to archive.", show_default=False),
        reason: str | None = typer.Option(None, "--reason", "-r",
                                          help="Why they are archived (stored per file in the manifest)."),
        category: str | None = typer.Option(None, "--category",
                                            help="Folder prefix (default: archive.category in sddd.yaml)."),
        date: str | None = typer.Option(None, "--date", help="Archive date YYYY-MM-DD (default: today)."),
        detect: bool = typer.Option(False, "--detect", help="Propose candidates; moves nothing."),
        apply: bool = typer.Option(False, "--apply", help="With --detect: archive the candidates."),
        yes: bool = typer.Option(False, "--yes", "-y", help="With --apply: do not ask."),
        list_: bool = typer.Option(False, "--list", help="List archives and their review dates."),
        due: bool = typer.Option(False, "--due", help="With --list: only archives past review."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan; move nothing."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Move superseded configs into archives/<category>_<YYYYMMDD>/, losing nothing.

        Files keep their path below the repository root; MANIFEST.yaml records each one's
        original path, sha256, reason and review date, and README.md indexes them. Nothing
        is ever overwritten (a clash stops everything before a file moves), paths outside
        the repository are refused, and a crash at any instant is finished by the next
        sddd command. In git, files move with `git mv`; nothing is committed.

        \b
        sddd archive --detect                       what looks superseded, and why
        sddd archive --detect --apply               archive those (asks first; --yes)
        sddd archive old.yml --reason "replaced by profiles/medium.yml"
        sddd archive --list [--due]                 archives and their review dates
        """
        paths = paths or []
        if due and not list_:
            raise UsageError("--due goes with --list: sddd archive --list --due")
        if apply and not detect:
            raise UsageError("--apply goes with --detect; to archive named files, just name them")
        if (detect or list_) and paths:
            raise UsageError("name files or use --detect / --list, not both")
        if detect and list_:
            raise UsageError("use --detect or --list, not both")
        config = get_config(ctx)
        if list_:
            summaries = list_archives(config, due_only=due)
            if as_json:
                print_json({"archives": [asdict(s) for s in summaries]})
            else:
                render_list(summaries, due)
            raise typer.Exit(EXIT_FAILED if any(s.problems for s in summaries) else EXIT_OK)
        if detect:
            candidates = detect_variants(config)
            if not apply or not candidates:
                if as_json:
                    print_json({"candidates": [asdict(c) for c in candidates]})
                else:
                    render_candidates(candidates)
                raise typer.Exit(EXIT_OK)
            reasons: str | dict[str, str] = reason or {c.path: c.reason for c in candidates}
            plan = plan_archive(config, [c.path for c in candidates], reasons, category=category,
                                date=date, cwd=config.root)
        elif not paths:
            raise UsageError("name the files to archive (with --reason), or use --detect or --list; "
                             "see sddd archive --help")
        else:
            if not reason:
                raise UsageError("say why with --reason TEXT; it is stored in the manifest")
            plan = plan_archive(config, paths, reason, category=category, date=date)
        if dry_run:
            if as_json:
                print_json(ArchiveResult(plan, False).to_json())
            else:
                render_plan(plan, f"Dry run: would archive {len(plan.files)} file(s); nothing moved")
            raise typer.Exit(EXIT_OK)
        if detect:
            if as_json and not yes:
                raise UsageError("--json with --apply needs --yes (no question can be asked)")
            if not as_json:
                render_plan(plan, f"Archive plan: {len(plan.files)} file(s)")
            _confirm(plan, yes)
        result = apply_archive(config, plan)
        if as_json:
            print_json(result.to_json())
        else:
            render_result(result)
        raise typer.Exit(EXIT_OK)

    @app.command("restore")
    def restore_command(
        ctx: typer.Context,
        path: str = typer.Argument(..., help="The archived path, or the file's original path."),
        to: str | None = typer.Option(None, "--to", help="Restore here instead of the original path."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Check and show; move nothing."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Put an archived file back, byte for byte, and record it in the manifest.

        The file's sha256 is checked against the manifest before and after the move. An
        existing file at the destination is never overwritten: use --to for another place.
        """
        config = get_config(ctx)
        plan = plan_restore(config, path, to)
        if dry_run:
            data = {"archived": plan.entry.archived, "restored_to": plan.target,
                    "sha256": plan.entry.sha256, "applied": False}
            if as_json:
                print_json(data)
            else:
                out.print(f"Dry run: would restore {plan.entry.archived} to {plan.target}; nothing moved.")
            raise typer.Exit(EXIT_OK)
        result = apply_restore(config, plan)
        if as_json:
            print_json(result.to_json())
        else:
            out.print(f"[green]Restored[/green] {result.archived} to {result.restored_to} "
                      f"(sha256 {result.sha256[:12]} verified; manifest updated).")
            for warning in result.warnings:
                warn(warning)
        raise typer.Exit(EXIT_OK)
