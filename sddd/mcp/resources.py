"""Resources: every indexed document as ``sddd://docs/<path>``, each section of a guide or report
as ``sddd://docs/<path>#<anchor>``, and every profile, resolved, as ``sddd://profiles/<name>``.
sddd's own manual is served too, as ``sddd://docs/manual/<page>.md``, so an agent can read how
to use sddd (``search`` with ``kind: manual`` finds its passages).

Documents are read from disk as they are now, with secrets redacted; only files the index
covers are served, so a path outside the repository (or a ``.env``) is refused by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from sddd.compose.profiles import profile_names
from sddd.core.errors import InputError, UsageError
from sddd.core.secrets import redact
from sddd.core.yamlio import read_text
from sddd.index.corpus import MANUAL_KIND, MANUAL_ROOT
from sddd.index.markdown_chunks import parse_markdown
from sddd.mcp import policy
from sddd.mcp.profiles import profile_data
from sddd.mcp.spec import redact_data
from sddd.resident.warm import Workspace

SCHEME = "sddd"
DOC_TEMPLATE = "sddd://docs/{+path}"
PROFILE_TEMPLATE = "sddd://profiles/{name}"
MAX_ANCHORS_SHOWN = 12


@dataclass(frozen=True)
class Listing:
    uri: str
    name: str
    title: str
    description: str
    mime_type: str


def _mime(rel: str) -> str:
    return "text/markdown" if rel.endswith(".md") else "application/yaml"


def doc_uri(rel: str) -> str:
    return f"{SCHEME}://docs/{quote(rel, safe='/')}"


def listings(ws: Workspace) -> list[Listing]:
    """Each indexed document, followed by its sections (``#anchor``), then the profiles."""
    store = ws.store()
    sections: dict[str, list[Listing]] = {}
    for s in ws.sections():
        if s.anchor:
            sections.setdefault(s.src_uri, []).append(Listing(
                f"{doc_uri(s.src_uri)}#{quote(s.anchor)}", f"{s.src_uri}#{s.anchor}", s.title,
                f"section of {s.src_uri} ({s.page_title or s.src_uri})", "text/markdown"))
    found = []
    for rel, record in sorted(store.files.items()):
        if not record.skipped:
            title = record.title or rel
            found.append(Listing(doc_uri(rel), rel, title, f"{record.kind}: {title}", _mime(rel)))
            found += sections.get(rel, [])
    found += [Listing(doc_uri(rel), rel, title, f"{MANUAL_KIND}: {title} (sddd's manual)", "text/markdown")
              for rel, title in manual_pages() if rel not in store.files]
    found += [Listing(f"{SCHEME}://profiles/{quote(name)}", f"profile {name}",
                      f"The {name} profile, resolved",
                      f"profile {name}: base + size file resolved as Docker Compose does, with where "
                      "each flag is explained", "application/json")
              for name in profile_names(ws.config)]
    return found


def read(ws: Workspace, uri: str) -> tuple[str, str]:
    """(text, MIME type) of ``uri``; a UsageError naming what is wrong otherwise."""
    parts = urlsplit(uri)
    if parts.scheme != SCHEME or parts.netloc not in ("docs", "profiles"):
        raise UsageError(f"unknown resource {uri!r}: sddd serves {DOC_TEMPLATE} and {PROFILE_TEMPLATE}")
    name = unquote(parts.path.lstrip("/"))
    if parts.netloc == "profiles":
        data = redact_data(profile_data(ws, name))
        return json.dumps(data, indent=2, ensure_ascii=False), "application/json"
    return _document(ws, name, unquote(parts.fragment) or None), "text/markdown"


def _document(ws: Workspace, rel: str, anchor: str | None) -> str:
    record = ws.store().files.get(rel) if rel else None
    if record is None and rel in dict(manual_pages()):  # sddd's own manual, shipped in the package
        return _section(read_text(MANUAL_ROOT / rel, rel), rel, anchor)
    path = policy.document(ws.config, rel, record is not None and not record.skipped)
    return _section(redact(read_text(path, rel)), rel, anchor)


def _section(text: str, rel: str, anchor: str | None) -> str:
    """The whole document, or its section ``#anchor``."""
    if anchor is None:
        return text
    if not rel.endswith(".md"):
        raise UsageError(f"{rel} has no sections; #anchor reads a section of a Markdown document")
    sections = [s for s in parse_markdown(text, rel).sections if s.anchor]
    for section in sections:
        if section.anchor == anchor:
            return "\n".join([f"{'#' * section.level} {section.title}", *section.body]).strip() + "\n"
    shown = ", ".join(s.anchor or "" for s in sections[:MAX_ANCHORS_SHOWN])
    more = f" and {len(sections) - MAX_ANCHORS_SHOWN} more" if len(sections) > MAX_ANCHORS_SHOWN else ""
    raise InputError(f"no section #{anchor} in {rel}; its sections: {shown or 'none'}{more}")


def manual_pages() -> list[tuple[str, str]]:
    """(path, title) of each page of sddd's manual, as the site and ``--kind manual`` name them."""
    pages = []
    for path in sorted((MANUAL_ROOT / MANUAL_KIND).rglob("*.md")):
        rel = path.relative_to(MANUAL_ROOT).as_posix()
        first = next((line for line in path.read_text(encoding="utf-8").splitlines()
                      if line.startswith("# ")), "")
        pages.append((rel, first[2:].strip() or rel))
    return pages
