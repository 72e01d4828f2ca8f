"""`sddd site build` / `sddd site serve`: the MkDocs Material site, with generated pages."""

from __future__ import annotations

from pathlib import Path

import typer

from sddd.commands.common import JSON_HELP, QUIET_HELP, SdddCommand, get_config, output_path
from sddd.core.config import Config
from sddd.core.errors import EXIT_FAILED, EXIT_OK, UsageError
from sddd.output.console import err, notice, print_json

site_app = typer.Typer(
    name="site", no_args_is_help=True,
    help="The documentation site (MkDocs Material): build it or serve it with live reload.\n\n"
         "Pages generated from the configuration (one per compose profile, the archive index, "
         "discoverability, related pages) exist only in the build, so they cannot drift.",
)

RELATED_HELP = "Leave out the \"Related pages\" sections (no index update; faster)."


def build(config: Config, *, strict: bool = False, output: Path | None = None, related: bool = True,
          as_json: bool = False, quiet: bool = False) -> int:
    """Build the site; 1 when --strict found a warning (and nothing was written)."""
    output = output_path(output, config.root)
    from sddd.output.site import render
    from sddd.site.build import build_site  # mkdocs: only when building

    # On a terminal, MkDocs' own steps (the index brought up to date, the pages built) as progress;
    # a pipe or a CI log keeps to the result (and an error to its one line).
    shown = not (as_json or quiet) and err.is_terminal
    report = build_site(config, strict=strict, output=output, related=None if related else 0,
                        notice=notice if shown else None)
    if as_json:
        print_json(report.to_json())
    else:
        render(report)
    return EXIT_OK if report.passed else EXIT_FAILED


def serve(config: Config, *, addr: str = "127.0.0.1:8000", related: bool = True,
          open_browser: bool = False) -> int:
    """Serve the site with live reload until interrupted."""
    from sddd.site.build import serve_site

    if addr.count(":") < 1:
        raise UsageError(f"--addr must be HOST:PORT, e.g. 127.0.0.1:8000; got {addr!r}")
    notice(f"Serving on http://{addr}/ (Ctrl-C to stop)")
    serve_site(config, dev_addr=addr, related=None if related else 0, open_browser=open_browser)
    return EXIT_OK


@site_app.command("build", cls=SdddCommand)
def build_command(
    ctx: typer.Context,
    strict: bool = typer.Option(False, "--strict", help="Fail on any warning (broken link, missing "
                                "anchor, external resource); the output is then left unchanged."),
    output: Path | None = typer.Option(None, "--output", "-o", metavar="DIR",
                                       help="Write the site here (default: site_dir of mkdocs.yml, site/)."),
    no_related: bool = typer.Option(False, "--no-related", help=RELATED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Build the site from mkdocs.yml, docs/ and the generated pages.

    The new site replaces the output only when the build succeeded, so a failed build never
    leaves a half-written site. Related pages bring the search index up to date first.

    Exit 0: built. 1: warnings under --strict. 2: bad mkdocs.yml or sddd.yaml.
    3: the index is corrupt (related pages). 4: a profile or manifest cannot be read.
    6: --output is not a site folder.
    """
    raise typer.Exit(build(get_config(ctx), strict=strict, output=output, related=not no_related,
                           as_json=as_json, quiet=quiet))


@site_app.command("serve", cls=SdddCommand)
def serve_command(
    ctx: typer.Context,
    addr: str = typer.Option("127.0.0.1:8000", "--addr", "-a", metavar="HOST:PORT",
                             help="Address to serve on (localhost only by default)."),
    no_related: bool = typer.Option(False, "--no-related", help=RELATED_HELP),
    open_browser: bool = typer.Option(False, "--open", help="Open the site in the default browser."),
) -> None:
    """Serve the site with live reload until Ctrl-C.

    Rebuilds when a document, a compose profile, an archive manifest, the check report or
    sddd.yaml changes.
    """
    if addr.count(":") < 1:
        raise UsageError(f"--addr must be HOST:PORT, e.g. 127.0.0.1:8000; got {addr!r}")
    raise typer.Exit(serve(get_config(ctx), addr=addr, related=not no_related, open_browser=open_browser))


def register(app: typer.Typer) -> None:
    app.add_typer(site_app)
