"""`sddd serve`: the models and the index kept warm for this repository's `sddd search` and `check`."""

from __future__ import annotations

import typer

from sddd.commands.common import JSON_HELP, SdddCommand, get_config
from sddd.core.config import Config
from sddd.core.errors import EXIT_OK


def serve(config: Config, *, as_json: bool = False) -> int:
    """Serve until a stop signal (SIGTERM, SIGINT, SIGHUP); then remove the socket."""
    from sddd.output import serve as show
    from sddd.resident.server import serve as run

    served = run(config, log=show.log,
                 ready=lambda state: show.ready(state, config.relpath(config.index_dir) + "/serve.sock",
                                                as_json))
    show.stopped(served)
    return EXIT_OK


def register(app: typer.Typer) -> None:
    @app.command("serve", cls=SdddCommand)
    def serve_command(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help=f"{JSON_HELP} Once, when it listens: the "
                                     "socket, the pid, the start-up time, the models."),
    ) -> None:
        """Keep the models and the index warm, and answer this repository's searches and checks.

        It listens on a Unix socket in the index folder (.sddd/serve.sock, only its owner can
        connect). While it runs, `sddd search` and `sddd check` in this repository send it their
        question and show its answer, the same as they would have computed, without loading a
        model or opening the index; when it does not run, they work on their own as before.
        Files changed since the last answer are indexed first, with the loaded models.

        Run it in a terminal of its own, or in the background (`sddd serve &`). Ctrl-C, SIGTERM
        or SIGHUP stop it after the request in progress and remove the socket; a server that was
        killed leaves a socket the next one replaces. SDDD_SERVE=0 makes a command ignore it.
        A command that hears nothing from it for 2 s (a suspended server), or finds the socket or
        its folder owned or writable by another user, says so in one line and works alone.
        """
        raise typer.Exit(serve(get_config(ctx), as_json=as_json))
