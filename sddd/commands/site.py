"""`sddd site build` / `sddd site serve`: the MkDocs Material site, with generated pages."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from sddd.commands.common import JSON_HELP, get_config
from sddd.core.errors import EXIT_FAILED, EXIT_OK, UsageError
from sddd.output.console import err, notice, out, print_json, warn

if TYPE_CHECKING:
    from sddd.site.build import SiteReport

site_app = typer.Typer(
    name="site", no_args_is_help=True,
    help="The documentation site (MkDocs Material): build it or serve it with live reload.\n\n"
         "Pages generated from the configuration (one per compose profile, the archive index, "
         "discoverability, related pages) exist only in the build, so they cannot drift.",
)

RELATED_HELP = "Leave out the \"Related pages\" sections (no index update; faster)."


def render(report: SiteReport) -> None:
    for message in report.warnings:
        warn(escape(message))
    if report.passed:
        out.print(f"Site built in {report.output} ({report.pages} pages, {len(report.generated)} "
                  f"generated, {len(report.warnings)} warning(s)) in {report.seconds:.1f} s",
                  highlight=False)
        out.print(f"Browse it: sddd site serve (live reload), or python -m http.server -d {report.output}",
                  markup=False, highlight=False)
    else:
        err.print(f"[bold red]error:[/bold red] {len(report.warnings)} warning(s) in strict mode; nothing "
                  f"was written ({escape(report.output)}/ is as it was). Fix them, or build without "
                  "--strict to see the site anyway.")


@site_app.command("build")
def build_command(
    ctx: typer.Context,
    strict: bool = typer.Option(False, "--strict", help="Fail on any warning (broken link, missing "
                                "anchor, external resource); the output is then left unchanged."),
    output: Path | None = typer.Option(None, "--output", "-o", metavar="DIR",
                                       help="Write the site here (default: site_dir of mkdocs.yml, site/)."),
    no_related: bool = typer.Option(False, "--no-related", help=RELATED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Build the site from mkdocs.yml, docs/ and the generated pages.

    The new site replaces the output only when the build succeeded, so a failed build never
    leaves a half-written site. Related pages bring the search index up to date first.

    Exit 0: built. 1: warnings under --strict. 2: bad mkdocs.yml or sddd.yaml.
    3: the index is corrupt (related pages). 4: a profile or manifest cannot be read.
    6: --output is not a site folder.
    """
    from sddd.site.build import build_site  # mkdocs: only when building

    config = get_config(ctx)
    report = build_site(config, strict=strict, output=output, related=0 if no_related else None)
    if as_json:
        print_json(report.to_json())
    else:
        render(report)
    raise typer.Exit(EXIT_OK if report.passed else EXIT_FAILED)


@site_app.command("serve")
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
    from sddd.site.build import serve_site

    if addr.count(":") < 1:
        raise UsageError(f"--addr must be HOST:PORT, e.g. 127.0.0.1:8000; got {addr!r}")
    config = get_config(ctx)
    notice(f"Serving on http://{addr}/ (Ctrl-C to stop)")
    serve_site(config, dev_addr=addr, related=0 if no_related else None, open_browser=open_browser)
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    app.add_typer(site_app)
