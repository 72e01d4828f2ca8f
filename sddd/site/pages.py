"""The pages `sddd site` generates at build time, as Markdown text (they are never committed).

- ``profile_page``: one per compose profile, from the resolver (``sddd.profiles``): model, image,
  GPUs, ports, every vLLM flag with its value and the guide sections that explain it, the
  resolved YAML (secrets masked by the resolver).
- ``archive_page``: every ``MANIFEST.yaml`` under the archives root.
- ``discoverability_page``: the latest ``sddd check --format json`` report: a chart (inline SVG,
  no script) and a table of each target's score against its threshold.
- ``related_section``: the "Related pages" list appended to guides and reports.

Each function takes plain values and returns Markdown; links are relative ``.md`` paths, so
MkDocs rewrites and checks them like any hand-written link (``--strict`` fails on a broken one).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from sddd.archive.manifest import Manifest
from sddd.compose.profiles import ResolvedProfile
from sddd.compose.service import ResolvedService
from sddd.site.links import FlagLink

GENERATED_NOTE = ("!!! info \"Generated page\"\n    {what} It is rebuilt on every `sddd site build`; "
                  "do not edit it here: {fix}\n")


def code(text: str) -> str:
    """An inline code span that survives a Markdown table cell: Python-Markdown's tables never
    split a row on a pipe inside a code span, so only backticks need a longer fence."""
    text = text.replace("\n", " ")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def fenced(text: str, lang: str) -> str:
    longest = max((len(m) for m in re.findall(r"^`{3,}", text, re.MULTILINE)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}\n"


def link(title: str, href: str) -> str:
    return f"[{cell(title).replace('[', '(').replace(']', ')')}]({href})"


# --- profiles -----------------------------------------------------------------------------------

def _gpus(svc: ResolvedService) -> str:
    gpu = svc.gpu
    if gpu is None:
        return "none reserved"
    count = "all" if gpu.gpus is None else str(gpu.gpus)
    ids = f", device ids {', '.join(code(i) for i in gpu.device_ids)}" if gpu.device_ids else ""
    return f"{count}{ids} (via {code(gpu.via)})"


def _ports(svc: ResolvedService) -> str:
    if not svc.ports:
        return "none published"
    shown = []
    for p in svc.ports:
        host = f"{p.host_ip}:" if p.host_ip else ""
        shown.append(f"host {host}{p.host if p.host is not None else '(any)'} → container "
                     f"{p.container}/{p.protocol}")
    return "; ".join(shown)


@dataclass
class Rendering:
    """The profile as another target reads it (a Swarm stack, Kubernetes manifests, ...)."""

    title: str
    intro: str  # Markdown
    text: str  # the file, or why there is none
    lang: str = "yaml"
    notes: list[str] = field(default_factory=list)  # findings: what has no meaning there


def profile_page(profile: ResolvedProfile, links: dict[str, list[FlagLink]],
                 href: Callable[[str, str | None], str], renderings: list[Rendering] | None = None) -> str:
    """Markdown for one profile; ``href(src_uri, anchor)`` makes a link relative to this page."""
    svc = profile.service
    files = " + ".join(code(f) for f in profile.files)
    lines = [
        "---", f"title: {profile.name} profile", "---", "",
        f"# Profile {profile.name}", "",
        GENERATED_NOTE.format(what=f"Resolved from {files} exactly as Docker Compose v2 merges them.",
                              fix=f"change `{profile.files[-1]}`."),
        "| Setting | Value |", "| --- | --- |",
        f"| Service | {code(svc.name)} |",
        f"| Model | {code(svc.model or '(none)')} |",
        f"| Image | {code(svc.image or '(none)')} |",
        f"| GPUs | {_gpus(svc)} |",
        f"| Tensor parallel | {svc.tensor_parallel} |",
        f"| Ports | {_ports(svc)} |",
        f"| Compose project | {code(profile.project)} |",
        f"| Config hash | {code(svc.config_hash)} |",
    ]
    if svc.healthcheck and not svc.healthcheck.disabled:
        test = " ".join(svc.healthcheck.test)
        lines.append(f"| Health check | {code(test)} (start period {svc.healthcheck.start_period or '-'}) |")
    if profile.missing:
        unset = ", ".join(code(m) for m in profile.missing)
        lines += ["", f"Variables unset when the site was built (shown empty): {unset}. "
                      "Set them in `.env` to deploy."]
    lines += ["", "## vLLM flags", "",
              f"Every argument of the {code(svc.name)} command, in order. Switches without a value "
              "show `on`.", "",
              "| Flag | Value | Explained in | Written at |", "| --- | --- | --- | --- |"]
    for arg in svc.args:
        value = code(arg.value) if arg.value is not None else "`on`"
        explained = " · ".join(_flag_link(f, href) for f in links.get(arg.flag, [])) or "not in any guide"
        where = svc.source_of("command", arg.index)
        lines.append(f"| {code(arg.flag)} | {value} | {explained} | {code(str(where)) if where else '-'} |")
    if not svc.args:
        lines.append("| (none) | | | |")
    data = {"name": profile.project, "services": {s.name: s.spec for s in profile.services}}
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    lines += ["", "## Resolved YAML", "",
              "The merged configuration, variables interpolated, secrets masked:", "",
              fenced(text, "yaml")]
    for rendering in renderings or []:
        lines += ["", f"## {rendering.title}", "", rendering.intro, ""]
        lines += [f"- {code(note)}" for note in rendering.notes] + ([""] if rendering.notes else [])
        lines.append(fenced(rendering.text, rendering.lang))
    return "\n".join(lines)


def _flag_link(found: FlagLink, href: Callable[[str, str | None], str]) -> str:
    s = found.section
    title = s.title if s.level > 1 else s.page_title
    text = link(title, href(s.src_uri, s.anchor))
    return f"{text} (nearest by search)" if found.how == "search" else text


# --- archives -----------------------------------------------------------------------------------

def archive_page(manifests: list[Manifest], root: str) -> str:
    lines = ["---", "title: Archive index", "---", "", "# Archive index", "",
             GENERATED_NOTE.format(what=f"Read from every `MANIFEST.yaml` under `{root}/`.",
                                   fix="use `sddd archive` and `sddd restore`."), ""]
    if not manifests:
        lines += ["No archive yet: nothing has been retired with `sddd archive`.", ""]
        return "\n".join(lines)
    live = sum(1 for m in manifests for e in m.entries if not e.restored)
    lines += [f"{live} archived file(s) in {len(manifests)} folder(s). Nothing here is live "
              "configuration; `sddd archive --list --due` shows archives past their review date.", ""]
    for m in manifests:
        lines += [f"## {m.folder}", "",
                  f"Category {code(m.category)} · archived on {m.date} · retention "
                  f"{m.retention_months} months · **review on {m.review_date}**", "",
                  f"| File in `{m.folder}/` | Original path | Reason | Archived on | Review date "
                  "| sha256 |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for e in sorted(m.entries, key=lambda e: e.archived):
            shown = e.archived.removeprefix(m.folder.rstrip("/") + "/")
            state = (f"restored to {code(e.restored_to or e.original)} at {cell(e.restored_at or '')}"
                     if e.restored else code(shown))
            lines.append(f"| {state} | {code(e.original)} | {cell(e.reason) or '-'} | "
                         f"{cell(e.archived_on)} | {cell(e.review_date)} | {code(e.sha256)} |")
        lines.append("")
    return "\n".join(lines)


# --- discoverability ----------------------------------------------------------------------------

def score_chart(targets: list[dict[str, Any]]) -> str:
    """A horizontal bar per target: its score, with a tick at its min_score. Plain SVG, no script."""
    row, label_w, bar_w, top = 18, 240, 420, 24
    height = top + row * len(targets) + 8
    width = label_w + bar_w + 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="sddd-chart" role="img" '
             f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" '
             'font-family="sans-serif" font-size="11">',
             "<title>Score of each target against its threshold</title>"]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + tick * bar_w
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 8}" '
                     'stroke="currentColor" stroke-opacity="0.15"/>')
        parts.append(f'<text x="{x:.1f}" y="{top - 10}" text-anchor="middle" fill="currentColor">'
                     f'{tick:g}</text>')
    for i, t in enumerate(targets):
        y = top + i * row
        score = max(0.0, min(1.0, float(t.get("score") or 0.0)))
        threshold = max(0.0, min(1.0, float(t.get("min_score") or 0.0)))
        color = "#2e7d32" if t.get("passed") else "#c62828"
        name = html.escape(str(t.get("id", "")))
        shown = "-" if t.get("score") is None else f"{float(t['score']):.3f}"
        parts += [
            f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" fill="currentColor">{name}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{score * bar_w:.1f}" height="{row - 6}" '
            f'fill="{color}"><title>{name}: score {shown}, min_score {threshold:g}</title></rect>',
            f'<line x1="{label_w + threshold * bar_w:.1f}" y1="{y + 1}" '
            f'x2="{label_w + threshold * bar_w:.1f}" y2="{y + row - 1}" stroke="currentColor" '
            'stroke-width="2"/>',
            f'<text x="{label_w + bar_w + 8}" y="{y + 12}" fill="currentColor">{shown}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def discoverability_page(report: dict[str, Any] | None, source: str, built_at: str | None,
                         href: Callable[[str], str | None]) -> str:
    """``href(expected)`` turns an expected path (``docs/x.md#a``) into a site link, or None."""
    lines = ["---", "title: Discoverability", "---", "", "# Discoverability", ""]
    how = (f"`sddd check --format json --output {source}`")
    if report is None:
        lines += [GENERATED_NOTE.format(what="Read from the latest `sddd check` JSON report.",
                                        fix=f"run {how}, then build the site again."),
                  "", f"No report yet: `{source}` does not exist. Run {how}, then rebuild.", ""]
        return "\n".join(lines)
    targets = list(report.get("targets") or [])
    summary = report.get("summary") or {}
    when = built_at or "at an unknown time"
    lines += [GENERATED_NOTE.format(what=f"Read from `{source}` (written {when}).", fix=f"run {how} again."),
              ""]
    lines += [f"**{summary.get('passed', 0)}/{summary.get('targets', len(targets))} targets pass** · "
              f"hit@1 {_num(summary.get('hit_at_1'))} · hit@k {_num(summary.get('hit_at_k'))} · "
              f"MRR@k {_num(summary.get('mrr_at_k'))} · mean expected score "
              f"{_num(summary.get('mean_expected_score'))}", ""]
    for gate in report.get("gates") or []:
        mark = "passed" if gate.get("passed") else "**failed**"
        lines.append(f"- Gate {code(str(gate.get('name')))}: {_num(gate.get('value'))} against "
                     f"{gate.get('threshold')}, {mark}")
    lines += ["", "## Score against threshold", "",
              "Each bar is the best score of a target's expected document; the black tick is its "
              "`min_score`. Green: the target passes (score and rank); red: it fails.", "",
              '<div class="sddd-chart-box" markdown="0">', score_chart(targets), "</div>", "",
              "## Targets", "",
              "| Pass | Target | Query | Expected | Rank | Score | min_score | Why |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for t in targets:
        mark = "✓" if t.get("passed") else "✗"
        expected = ", ".join(_expected(e, href) for e in t.get("expect") or [])
        rank = "-" if t.get("rank") is None else f"{t['rank']}/{t.get('top_k')}"
        lines.append(f"| {mark} | {code(str(t.get('id')))} | {cell(str(t.get('query', '')))} | {expected} "
                     f"| {rank} | {_num(t.get('score'))} | {t.get('min_score')} | "
                     f"{cell(str(t.get('reason', '')))} |")
    return "\n".join(lines) + "\n"


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"


def _expected(expected: str, href: Callable[[str], str | None]) -> str:
    target = href(expected)
    return link(expected, target) if target else code(expected)


# --- related pages ------------------------------------------------------------------------------

def related_section(items: list[tuple[str, str]]) -> str:
    """``items``: (title, relative href). Appended to the end of a guide or report."""
    if not items:
        return ""
    lines = ["", "", "## Related pages", "",
             "<small>The nearest other documents by meaning, from the search index "
             "(`sddd site build`).</small>", ""]
    lines += [f"- {link(title, target)}" for title, target in items]
    return "\n".join(lines) + "\n"
