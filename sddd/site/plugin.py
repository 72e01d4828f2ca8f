"""The MkDocs plugin ``sddd`` (entry point ``mkdocs.plugins``): the generated pages of the site.

Enabled in mkdocs.yml::

    plugins:
      - search
      - sddd:
          related: 3                 # "Related pages" per guide/report; 0 turns them off
          reference: reference       # folder of the generated pages inside the site
          check_report: .sddd/reports/check.json   # default: <index>/reports/check.json

It reads sddd.yaml (``SDDD_CONFIG``, else the nearest one above mkdocs.yml; `sddd site` passes
its own) and adds, in memory only, ``reference/profiles/<name>.md`` per compose profile,
``reference/archives.md`` and ``reference/discoverability.md`` (see ``sddd.site_pages``), and a
"Related pages" section to every guide and report. Plain ``mkdocs build`` works the same.

Related pages come from the search index: it is brought up to date first (``build_index`` is
incremental and loads the model only when a file changed; a fresh clone builds it), so the
links always match the documents being built. ``related: 0`` skips the index entirely.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import File, Files

from sddd.core.config import Config, load_config
from sddd.core.errors import SdddError
from sddd.core.secrets import find_secrets, redact
from sddd.index.markdown_chunks import parse_markdown
from sddd.site.links import FlagLink, Section, document_vectors, flag_links, nearest, sections_of
from sddd.site.pages import archive_page, discoverability_page, profile_page, related_section
from sddd.site.targets import renderings

log = get_plugin_logger("sddd")
EXTERNAL = re.compile(
    r"<(?:script|img|iframe|source|video|audio|embed)\b[^>]*?\bsrc=[\"']((?:https?:)?//[^\"']+)"
    r"|<link\b(?![^>]*\brel=[\"']?(?:canonical|alternate)\b)[^>]*?\bhref=[\"']((?:https?:)?//[^\"']+)"
    r"|url\(\s*[\"']?((?:https?:)?//[^)\"']+)", re.IGNORECASE)


class SdddPluginConfig(base.Config):  # type: ignore[no-untyped-call]
    related = c.Type(int, default=3)
    reference = c.Type(str, default="reference")
    check_report = c.Optional(c.Type(str))


class SdddPlugin(BasePlugin[SdddPluginConfig]):  # type: ignore[no-untyped-call]
    def __init__(self) -> None:
        self.sddd_config: Config | None = None  # set by sddd.site before a build
        self.error: SdddError | None = None  # the error behind a PluginError, for sddd.site
        self.generated: list[str] = []
        self.related: dict[str, list[tuple[str, str]]] = {}

    # --- configuration --------------------------------------------------------------------------

    def on_config(self, config: Any) -> Any:
        override = os.environ.get("SDDD_SITE_RELATED", "")  # `sddd site serve --no-related`
        if override.isdigit():
            self.config.related = int(override)
        if not 0 <= self.config.related <= 20:
            raise PluginError(f"plugins.sddd.related must be between 0 and 20; got {self.config.related}")
        if not re.fullmatch(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*", self.config.reference):
            raise PluginError(f"plugins.sddd.reference must be a folder name like 'reference'; "
                              f"got {self.config.reference!r}")
        if self.sddd_config is None:
            self.sddd_config = self._guard(lambda: load_config(
                os.environ.get("SDDD_CONFIG") or None, start=Path(config.config_file_path).parent))
        return config

    def _guard(self, work: Any) -> Any:
        """Run ``work``; an SdddError becomes a PluginError (one line from mkdocs too)."""
        try:
            return work()
        except SdddError as exc:
            self.error = exc
            raise PluginError(str(exc)) from None

    @property
    def cfg(self) -> Config:
        assert self.sddd_config is not None
        return self.sddd_config

    def report_path(self) -> Path:
        chosen = self.config.check_report
        return self.cfg.resolve(chosen) if chosen else self.cfg.index_dir / "reports" / "check.json"

    # --- generated pages ------------------------------------------------------------------------

    def on_files(self, files: Files, config: Any) -> Files:
        for file in [f for f in files if find_secrets(f.src_uri)]:
            # Its name would be a URL, a nav entry and a search-index location of the site.
            log.warning(f"{redact(file.src_uri)}: the file's name holds a secret; it is left out of "
                        "the site (rename the file)")
            files.remove(file)
        added: Files = self._guard(lambda: self._add_pages(files, config))
        return added

    def _add_pages(self, files: Files, config: Any) -> Files:
        from sddd.compose.profiles import profile_files

        self.generated, self.related = [], {}
        docs_dir = Path(config.docs_dir).resolve()
        pages: dict[str, tuple[str, Any]] = {}  # src_uri -> (repo-relative path, MarkdownDoc)
        sections: list[Section] = []
        for file in files.documentation_pages():
            rel = self.cfg.relpath(Path(file.abs_src_path)) if file.abs_src_path else file.src_uri
            doc = parse_markdown(file.content_string, rel)
            pages[file.src_uri] = (rel, doc)
            sections += sections_of(file.src_uri, doc)
        ref = self.config.reference.strip("/")
        profile_pages = {self.cfg.relpath(path): f"{ref}/profiles/{name}.md"
                         for name, path in profile_files(self.cfg).items()}
        site_path = {rel: uri for uri, (rel, _) in pages.items()} | profile_pages
        titles = {uri: doc.title for uri, (_, doc) in pages.items()}
        titles |= {uri: f"{Path(uri).stem} profile" for uri in profile_pages.values()}
        if self.config.related:
            self._related(pages, site_path, titles)
        self._add_profiles(files, config, ref, sections, site_path)
        self._add(files, config, f"{ref}/archives.md", self._archive_text())
        self._add(files, config, f"{ref}/discoverability.md",
                  self._discoverability_text(f"{ref}/discoverability.md", site_path, docs_dir))
        return files

    def _add(self, files: Files, config: Any, src_uri: str, text: str) -> None:
        if files.get_file_from_path(src_uri) is not None:
            raise PluginError(f"{config.docs_dir}/{src_uri}: this page is generated by sddd; remove the "
                              f"file or set plugins.sddd.reference to another folder")
        files.append(File.generated(config, src_uri, content=text))
        self.generated.append(src_uri)

    def _add_profiles(self, files: Files, config: Any, ref: str, sections: list[Section],
                      site_path: dict[str, str]) -> None:
        from sddd.compose.profiles import load_all_profiles

        profiles = load_all_profiles(self.cfg)
        names = [p.name for p in profiles]
        for profile in profiles:
            uri = f"{ref}/profiles/{profile.name}.md"
            links: dict[str, list[FlagLink]] = {}
            for arg in profile.service.args:
                links[arg.flag] = flag_links(arg.flag, arg.value, profile.name, names, sections,
                                             lambda flag: self._search(flag, sections, site_path))
                if not links[arg.flag]:
                    log.info(f"{uri}: no guide explains {arg.flag}")
            self._add(files, config, uri, profile_page(profile, links, functools.partial(relative, uri),
                                                       renderings(self.cfg, profile)))

    def _search(self, flag: str, sections: list[Section], site_path: dict[str, str]) -> Section | None:
        """Fallback for a flag no guide names: the best guide passage, when an index exists."""
        from sddd.core.errors import IndexCorrupt, IndexMissing
        from sddd.index.search import search

        try:  # one open of the index per flag: a missing or damaged one means no fallback
            hits = search(self.cfg, flag, k=1, kind="guide", refresh=False).results
        except (IndexMissing, IndexCorrupt):
            return None
        if not hits or hits[0].path not in site_path:
            return None
        uri = site_path[hits[0].path]
        return next((s for s in sections if s.src_uri == uri and s.anchor == hits[0].anchor), None)

    def _archive_text(self) -> str:
        from sddd.archive.archiving import manifests

        found = [manifest for _, manifest in manifests(self.cfg)]
        return archive_page(found, self.cfg.relpath(self.cfg.archives_dir))

    def _discoverability_text(self, uri: str, site_path: dict[str, str], docs_dir: Path) -> str:
        path = self.report_path()
        shown = self.cfg.relpath(path)
        report, written = None, None
        if path.is_file():
            try:
                report = json.loads(path.read_text(encoding="utf-8"))
                schema = str(report.get("schema", "")) if isinstance(report, dict) else ""
                if not schema.startswith("sddd.check/"):
                    raise ValueError("not an `sddd check --format json` report (no sddd.check schema)")
                written = dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
            except (ValueError, UnicodeDecodeError) as exc:
                log.warning(f"{shown}: unreadable check report ({exc}); run `sddd check --format json "
                            f"--output {shown}` again")
                report = None

        def href(expected: str) -> str | None:
            path_part, _, anchor = expected.partition("#")
            target = site_path.get(path_part)
            return relative(uri, target, anchor or None) if target else None

        return discoverability_page(report, shown, written, href)

    # --- related pages --------------------------------------------------------------------------

    def _related(self, pages: dict[str, tuple[str, Any]], site_path: dict[str, str],
                 titles: dict[str, str]) -> None:
        from sddd.index.indexer import build_index
        from sddd.index.store import open_store

        report = build_index(self.cfg, notice=log.info)
        if report.written:
            log.info(f"index updated for related pages: {report.embedded} chunk(s) embedded")
        store = open_store(self.cfg.index_dir)
        try:
            chunks = store.chunks()
            docs = document_vectors([ch.path for ch in chunks], store.all_vectors())
            kinds = {rel: record.kind for rel, record in store.files.items()}
        finally:
            store.close()
        candidates = [p for p, uri in site_path.items() if p in docs and uri != "index.md"]
        for uri, (rel, _) in pages.items():
            if uri == "index.md" or kinds.get(rel) not in ("guide", "report"):
                continue
            self.related[uri] = [(titles.get(site_path[other], other), site_path[other])
                                 for other, _ in nearest(docs, rel, candidates, self.config.related)]

    def on_page_markdown(self, markdown: str, page: Any, config: Any, files: Files) -> str:
        # Redacted before MkDocs renders it, as the index redacts what it stores: the headings,
        # and so the anchors MkDocs slugs from them, the table of contents, the search index and
        # the title (front matter's, read before this hook) hold no token, and every anchor is
        # the one `sddd search` links to (both slug the redacted heading). Pages sddd generates
        # are masked value by value as they are made (a `key: VLLM_API_KEY` there names a secret).
        if not page.file.generated_by:
            markdown = redact(markdown)
            if isinstance(page.meta.get("title"), str):
                page.meta["title"] = redact(page.meta["title"])
        items = self.related.get(page.file.src_uri)
        if not items or page.file.generated_by:
            return markdown
        return markdown.rstrip() + "\n" + related_section(
            [(title, relative(page.file.src_uri, target, None)) for title, target in items])

    # --- serving and checking -------------------------------------------------------------------

    def on_serve(self, server: Any, config: Any, builder: Any) -> Any:
        """Rebuild when a profile, a manifest, the check report or sddd.yaml changes."""
        from sddd.compose.profiles import profile_files

        watched = {path.parent for path in profile_files(self.cfg).values()}
        watched |= {self.cfg.archives_dir, self.report_path().parent}
        if self.cfg.path:
            watched.add(self.cfg.path)
        for path in sorted(watched):
            if path.exists():
                server.watch(str(path))
        return server

    def on_post_build(self, config: Any) -> None:
        """Warn (a failure under --strict) about any page or stylesheet that loads from the network."""
        site = Path(config.site_dir)
        for path in sorted([*site.rglob("*.html"), *site.rglob("*.css")]):
            text = path.read_text(encoding="utf-8", errors="replace")
            for match in EXTERNAL.finditer(text):
                url = next(g for g in match.groups() if g)
                log.warning(f"{path.relative_to(site)} loads {url} from the network; the site must work "
                            "offline (bundle the file under docs/ instead)")


def relative(from_uri: str, target_uri: str, anchor: str | None) -> str:
    """A link from page ``from_uri`` to ``target_uri`` (both docs_dir-relative .md paths)."""
    rel = posixpath.relpath(target_uri, posixpath.dirname(from_uri) or ".")
    return f"{rel}#{anchor}" if anchor else rel
