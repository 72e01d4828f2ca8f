"""The short text form of each `sddd mcp` tool result, beside its JSON (structuredContent).

Clients that show a model only the text content get these lines: what a person would read at a
terminal, without colour or tables, each passage or finding with its ``path#anchor`` or
``file:line`` so the agent can open it. Long lists stop after ``MAX_LINES`` and say how many
more the JSON holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sddd.output.check import explain, summary_line
from sddd.output.consistency import audit_rows, audit_summary, drift_rows, drift_summary
from sddd.output.findings import Row, plain_line

if TYPE_CHECKING:
    from sddd.check.report import CheckReport
    from sddd.consistency.audit import AuditReport
    from sddd.consistency.drift import DriftReport
    from sddd.index.results import SearchResult

MAX_LINES = 40


def _capped(lines: list[str], what: str) -> list[str]:
    if len(lines) <= MAX_LINES:
        return lines
    return [*lines[:MAX_LINES], f"... and {len(lines) - MAX_LINES} more {what} (in the structured result)"]


def _where(path: str, anchor: str | None) -> str:
    return f"{path}#{anchor}" if anchor else path


def search_text(result: SearchResult) -> str:
    if not result.results:
        return f"No passage matches {result.query!r}."
    scale = ("score 0-1: the retrieval rank blended with the reranker's relevance" if result.reranked
             else "score 0-1: 1 = first in every ranking")
    lines = [f"{len(result.results)} passage(s) for {result.query!r}, best first ({scale}):"]
    if result.notice:
        lines.append(f"note: {result.notice}")
    for hit in result.results:
        lines.append(f"{hit.rank}. {hit.score:.3f}  {_where(hit.path, hit.anchor)}  "
                     f"({hit.kind}, line {hit.line})  {hit.heading}")
        lines.append(f"   {hit.snippet}")
    return "\n".join(lines)


def check_text(report: CheckReport) -> str:
    lines = [summary_line(report)]
    for result in report.results:
        t = result.target
        if result.passed:
            margin = "" if result.margin is None else f", margin {result.margin:+.3f}"
            lines.append(f"pass  {t.id}: rank {result.rank}, score {result.score:.3f}{margin}")
        else:
            lines.append(f"FAIL  {t.id}: {explain(result)}")
    lines += [f"gate {'pass' if g.passed else 'FAIL'}: {g}" for g in report.gates]
    return "\n".join(_capped(lines, "targets"))


def _findings(summary: str, rows: list[Row]) -> str:
    return "\n".join([summary, *_capped([plain_line(r) for r in rows], "findings")])


def drift_text(report: DriftReport) -> str:
    problems = [f"skipped: {p}" for p in report.problems]
    return _findings(drift_summary(report), drift_rows(report)) + "".join(f"\n{p}" for p in problems)


def audit_text(report: AuditReport) -> str:
    return _findings(audit_summary(report), audit_rows(report))


def _links(links: list[dict[str, Any]]) -> str:
    return "; ".join(f"{_where(link['path'], link['anchor'])} ({link['how']})" for link in links)


def profile_text(data: dict[str, Any]) -> str:
    gpu = data.get("gpu") or {}
    ports = ", ".join(f"{p['host']}->{p['container']}" for p in data.get("ports") or []) or "none"
    gpus = ", ".join(gpu.get("device_ids") or []) or (str(gpu.get("gpus")) if gpu else "none")
    lines = [f"{data['profile']} ({' + '.join(data['files'])}): service {data['service']}, "
             f"image {data['image']}, model {data['model']}",
             f"ports {ports}; GPUs {gpus}; tensor parallel {data['tensor_parallel']}; "
             f"config hash {data['config_hash']}"]
    if data.get("missing_variables"):
        lines.append(f"unset variables (shown blank): {', '.join(data['missing_variables'])}")
    for flag, value in data["vllm_args"].items():
        links = data["explained_in"].get(flag) or []
        shown = flag if value is None else f"{flag} {value}"
        lines.append(f"{shown}  (source {data['flag_sources'].get(flag, '?')})"
                     + (f"  explained in {_links(links)}" if links else "  explained in no guide"))
    return "\n".join(lines)


def candidates_text(candidates: list[dict[str, Any]]) -> str:
    if not candidates:
        return "No superseded-looking config found: nothing to archive."
    lines = [f"{len(candidates)} candidate(s) to archive (nothing moved):"]
    for c in candidates:
        lines.append(f"{c['path']}: {'; '.join(c['reasons'])} (reason: {c['reason']})")
    return "\n".join(_capped(lines, "candidates"))


def flag_text(data: dict[str, Any]) -> str:
    lines = [f"{data['flag']}" + ("" if data["known"] else " (not in sddd's list of vLLM flags)")]
    for p in data["profiles"]:
        if not p["set"]:
            lines.append(f"{p['profile']}: not set")
            continue
        value = "(a switch)" if p["value"] is None else p["value"]
        links = _links(p["explained_in"]) if p["explained_in"] else "no guide"
        lines.append(f"{p['profile']}: {value} at {p['source']}; explained in {links}")
    for hit in data["passages"]:
        lines.append(f"passage {hit['rank']}. {hit['score']:.3f}  {_where(hit['path'], hit['anchor'])}  "
                     f"{hit['heading']}")
    return "\n".join(lines)


def plan_text(title: str, files: list[dict[str, Any]]) -> str:
    lines = [title, *(f"{f['original']} -> {f['archived']}" for f in files)]
    return "\n".join(_capped(lines, "files"))
