"""The MkDocs plugin ``sddd-manual``: sddd's own manual as a section of the site.

Enabled in mkdocs.yml after the ``sddd`` plugin::

    plugins:
      - search
      - sddd
      - sddd-manual:
          folder: manual              # where the manual lives in the site
          bench: bench/results        # benchmark results quoted by the pages

It adds the pages of ``sddd/manual/`` (its Markdown files) under ``manual/`` (MkDocs lists them
as their own navigation section), and generates at build time, never committed, ``manual/reference/``: the
commands and options, the sddd.yaml keys, the rules, the exit codes and the MCP tools, each read
from the code. A figure a page quotes from a benchmark is written ``{{bench:FILE:KEY/KEY}}`` and
read from ``bench/results/FILE`` at build time; a missing file or key is a warning, so
``--strict`` fails rather than print a number nobody measured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import File, Files

PAGES = Path(__file__).resolve().parent  # the pages sit beside this module: sddd/manual/**/*.md
STYLESHEET = "assets/sddd-manual.css"
# Material lets inline code break anywhere (overflow-wrap: break-word), which cuts an option
# such as --fail-under-hit-at-k in a narrow table cell in the middle of a word. In tables, code
# breaks only where it has a space (the table scrolls sideways instead), and the first column,
# which holds the option or key a reader looks for, never wraps.
CSS = """.md-typeset table:not([class]) code { overflow-wrap: normal; word-break: normal; }
.md-typeset table:not([class]) td:first-child code { white-space: nowrap; }
.md-typeset code .sddd-token { white-space: nowrap; }
"""
# Inline code of the manual's pages (plain text, no markup: highlighted blocks carry spans), each
# token wrapped so that a line breaks at a space and never inside --an-option-name.
INLINE_CODE = re.compile(r"(?<!</span>)<code>([^<]+)</code>")
TOKEN = re.compile(r"[^\s]+")
FIGURE = re.compile(r"\{\{bench:([\w.-]+\.json):([^:}]+)(?::([^}]*))?\}\}")
log = get_plugin_logger("sddd-manual")


def reference_pages() -> dict[str, Callable[[], str]]:
    """The generated pages, by path under the manual's folder (imported only when building)."""
    from sddd.manual.commands import commands_page
    from sddd.manual.tables import configuration_page, exit_codes_page, mcp_page, rules_page

    return {"reference/commands.md": commands_page, "reference/configuration.md": configuration_page,
            "reference/rules.md": rules_page, "reference/exit-codes.md": exit_codes_page,
            "reference/mcp.md": mcp_page}


def manual_pages() -> list[Path]:
    return sorted(PAGES.rglob("*.md"))


def figure(results: Path, name: str, key: str, spec: str | None) -> str:
    """One benchmark figure, formatted; a ValueError says what is missing."""
    path = results / name
    if not path.is_file():
        raise ValueError(f"{path} does not exist")
    value: Any = json.loads(path.read_text(encoding="utf-8"))
    for part in key.split("/"):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise ValueError(f"{path} has no {key!r} (no {part!r})")
    if isinstance(value, dict | list):
        raise ValueError(f"{path}: {key!r} is not a single figure")
    return format(value, spec) if spec and isinstance(value, int | float) else str(value)


def fill_figures(markdown: str, results: Path, where: str) -> str:
    """Every ``{{bench:FILE:KEY}}`` of a page replaced by the figure ``bench/results`` holds."""
    def replace(match: re.Match[str]) -> str:
        name, key, spec = match.groups()
        if not results.is_dir():  # a repository that is not sddd's own: nothing measured here
            return f"(see sddd's bench/results/{name})"
        try:
            return figure(results, name, key.strip(), spec)
        except ValueError as exc:
            log.warning(f"{where}: {{{{bench:{name}:{key}}}}}: {exc}; run the benchmark or fix the key")
            return "(not measured)"

    return FIGURE.sub(replace, markdown)


class ManualConfig(base.Config):  # type: ignore[no-untyped-call]
    folder = c.Type(str, default="manual")
    bench = c.Type(str, default="bench/results")


class ManualPlugin(BasePlugin[ManualConfig]):  # type: ignore[no-untyped-call]
    def __init__(self) -> None:
        self.generated: list[str] = []
        self.root = Path.cwd()

    def on_config(self, config: Any) -> Any:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", self.config.folder):
            raise PluginError(f"plugins.sddd-manual.folder must be a folder name like 'manual'; "
                              f"got {self.config.folder!r}")
        self.root = Path(config.config_file_path).resolve().parent
        if STYLESHEET not in config.extra_css:
            config.extra_css.append(STYLESHEET)
        return config

    def on_files(self, files: Files, config: Any) -> Files:
        folder = self.config.folder
        self.generated = []
        for path in manual_pages():
            uri = f"{folder}/{path.relative_to(PAGES).as_posix()}"
            self._refuse_clash(files, config, uri)
            files.append(File.generated(config, uri, abs_src_path=str(path)))
        if files.get_file_from_path(STYLESHEET) is None:
            files.append(File.generated(config, STYLESHEET, content=CSS))
        for rel, make in reference_pages().items():
            uri = f"{folder}/{rel}"
            self._refuse_clash(files, config, uri)
            try:
                text = make()
            except Exception as exc:  # a reference that cannot be read from the code: one line
                raise PluginError(f"{uri}: cannot generate it: {type(exc).__name__}: {exc}") from None
            files.append(File.generated(config, uri, content=text))
            self.generated.append(uri)
        return files

    @staticmethod
    def _refuse_clash(files: Files, config: Any, uri: str) -> None:
        if files.get_file_from_path(uri) is not None:
            raise PluginError(f"{config.docs_dir}/{uri}: sddd's manual puts a page there; move the file "
                              "or set plugins.sddd-manual.folder to another folder")

    def on_page_markdown(self, markdown: str, page: Any, config: Any, files: Files) -> str:
        if not page.file.src_uri.startswith(f"{self.config.folder}/"):
            return markdown
        return fill_figures(markdown, self.root / self.config.bench, page.file.src_uri)

    def on_page_content(self, html: str, page: Any, config: Any, files: Files) -> str:
        if not page.file.src_uri.startswith(f"{self.config.folder}/"):
            return html
        return INLINE_CODE.sub(lambda m: "<code>" + TOKEN.sub(
            lambda t: f'<span class="sddd-token">{t.group(0)}</span>', m.group(1)) + "</code>", html)

    def on_serve(self, server: Any, config: Any, builder: Any) -> Any:
        server.watch(str(PAGES))
        return server
