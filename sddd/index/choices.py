"""The choices a search takes, importable without numpy (the CLI shows them in --help)."""

from __future__ import annotations

KINDS = ("guide", "report", "profile", "archive", "manual")
ALL_KINDS = "all"  # --kind all: live documents, archived ones and sddd's manual
# Searched only when asked for by kind (or "all"): history, and sddd's own manual.
HIDDEN_KINDS = ("archive", "manual")
MODES = ("hybrid", "dense", "lexical")
