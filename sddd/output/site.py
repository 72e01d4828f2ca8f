"""`sddd site build` for people: warnings, then what was built or why nothing was."""

from __future__ import annotations

from rich.markup import escape

from sddd.output.console import err, out, warn
from sddd.site.build import SiteReport


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
