"""The choices a search takes, importable without numpy (the CLI shows them in --help)."""

from __future__ import annotations

KINDS = ("guide", "report", "profile", "archive")
ALL_KINDS = "all"  # --kind all: live documents and archived ones
MODES = ("hybrid", "dense", "lexical")
