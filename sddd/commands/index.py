"""`sddd index`: chunk, embed and store the corpus, incrementally."""

from __future__ import annotations

from dataclasses import asdict

import typer

from sddd.commands.common import JSON_HELP, QUIET_HELP, SdddCommand, get_config
from sddd.core.config import Config
from sddd.core.errors import EXIT_OK
from sddd.output.console import notice, print_json


def index(config: Config, *, rebuild: bool = False, as_json: bool = False, device: str | None = None,
          quiet: bool = False) -> int:
    """Bring the index up to date (or rebuild it) and say what was done."""
    from sddd.index.encoders.device import probe
    from sddd.index.indexer import build_index

    if device is not None:
        probe(device)  # no GPU here is said at once, not after chunking; torch waits for a need
    if as_json:
        print_json(asdict(build_index(config, rebuild=rebuild, device=device)))
        return EXIT_OK
    from sddd.output.index import LineSink, index_sink, progress_bar, render  # rich: for people only

    with progress_bar(quiet) as progress:
        sink = index_sink(progress, quiet, reading=f"sddd index: reading the files under {config.root} "
                          f"(index {config.relpath(config.index_dir)})")
        try:
            report = build_index(config, rebuild=rebuild, progress=sink, notice=None if quiet else notice,
                                 device=device)
        finally:
            if isinstance(sink, LineSink):
                sink.stop()
    render(report)
    return EXIT_OK


def register(app: typer.Typer) -> None:
    @app.command("index", cls=SdddCommand)
    def index_command(
        ctx: typer.Context,
        rebuild: bool = typer.Option(False, "--rebuild", help="Drop the index and embed everything again."),
        device: str | None = typer.Option(
            None, "--device", metavar="cpu|cuda|auto",
            help="Where passages are embedded: cpu, cuda (a GPU, through torch) or auto (a GPU when "
                 "there is one). Default: sddd.yaml's device:, else cpu."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
        quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    ) -> None:
        """Chunk guides, reports and compose profiles, embed them and store them.

        Only what changed since the last run is embedded again; chunks of deleted files
        are pruned. Files that cannot be read (not UTF-8, binary, malformed YAML) are
        reported with their path and skipped; the rest still indexes.

        Progress goes to stderr: a live line on a terminal (passages done of total, rate, time
        left), a plain line at most every 10 s in a pipe or a CI log; --quiet silences it.
        """
        raise typer.Exit(index(get_config(ctx), rebuild=rebuild, as_json=as_json, device=device,
                               quiet=quiet))
