"""What every command needs: the config from the global ``--config``, JSON switch help."""

from __future__ import annotations

from pathlib import Path

import typer

from sddd.archive.journal import recover_pending
from sddd.core.config import Config, load_config
from sddd.output.console import notice

JSON_HELP = "Print the result as JSON on stdout."


def get_config(ctx: typer.Context) -> Config:
    path: Path | None = (ctx.obj or {}).get("config") if ctx is not None else None
    root = ctx.find_root() if ctx is not None else None
    if root is not None and root.obj and root.obj.get("config"):
        path = root.obj["config"]
    config = load_config(path)
    # Finish an archive/restore that a crash interrupted (one stat when there is none).
    recover_pending(config, notice=notice)
    return config
