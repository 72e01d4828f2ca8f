"""`archive` and `restore`, declared once: the command line's arguments and the MCP tools' schemas
are made from ``ARCHIVE`` and ``RESTORE`` (``sddd.core.operations``)."""

from __future__ import annotations

from sddd.core.operations import CLI, MCP, Operation, Param, View

BOTH = frozenset((CLI, MCP))

RESTORE = Operation(
    "restore",
    """Put an archived file back, byte for byte, and record it in the manifest.

The file's sha256 is checked against the manifest before and after the move. An
existing file at the destination is never overwritten: use --to for another place.""",
    (
        Param("path", str, "The archived path, or the file's original path.", required=True, on=BOTH),
        Param("to", str, "Restore here instead of the original path.", flags=("--to",), on=BOTH),
        Param("dry_run", bool, "Check and show; move nothing.", default=False, flags=("--dry-run",), on=BOTH),
    ),
    title="Restore an archived file",
    agent_help="Put an archived file back byte for byte (sha256 checked) and record it in the manifest; "
    "an existing file is never overwritten.",
)

ARCHIVE = Operation(
    "archive",
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
sddd archive --list [--due]                 archives and their review dates""",
    (
        Param("paths", list, "Files (or folders) to archive.", on=BOTH,
              views={MCP: View("Files (or folders) to archive, relative to the repository root.")}),
        Param("reason", str, "Why they are archived (stored per file in the manifest).",
              flags=("--reason", "-r"), on=BOTH),
        Param("detect", bool, "Propose candidates; moves nothing.", default=False, flags=("--detect",),
              on=BOTH, views={MCP: View("Archive the candidates archive_detect lists.")}),
        Param("yes", bool, "With --apply: do not ask.", default=False, flags=("--yes", "-y"), on=BOTH,
              views={MCP: View("With detect: archive without showing the plan first.")}),
        Param("category", str, "Folder prefix (default: archive.category in sddd.yaml).",
              flags=("--category",), on=BOTH),
        Param("date", str, "Archive date YYYY-MM-DD (default: today).", flags=("--date",), on=BOTH),
        Param("dry_run", bool, "Show the plan; move nothing.", default=False, flags=("--dry-run",), on=BOTH),
    ),
    title="Archive superseded configs",
    agent_help="Move files into archives/<category>_<YYYYMMDD>/ with a manifest (original path, sha256, "
    "reason, review date), losing nothing; in git, with git mv. Name the files with a reason, "
    "or set detect to archive what archive_detect lists (then yes: true is needed, as the CLI "
    "asks). dry_run shows the plan.",
)
