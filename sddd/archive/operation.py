"""`restore`, declared once: the command line's arguments and the MCP tool's schema are made from
``RESTORE`` (``sddd.core.operations``)."""

from __future__ import annotations

from sddd.core.operations import CLI, MCP, Operation, Param

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
