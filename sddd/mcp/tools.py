"""The read-only tools: each calls the library function its CLI command calls and answers with the
JSON that command prints with ``--json`` (as structuredContent) and a short text form.

| tool | CLI | library |
| --- | --- | --- |
| search | ``sddd search --json`` | ``index.search.search`` (through the warm model) |
| check | ``sddd check --json`` | ``check.evaluate.run_checks`` + ``output.check.to_json`` |
| drift | ``sddd drift --json`` | ``consistency.drift.run_drift`` |
| audit | ``sddd audit --json`` | ``consistency.audit.run_audit`` |
| profile | (the site's profile page) | ``compose.profiles.load_profile`` + ``site.links.flag_links`` |
| archive_detect | ``sddd archive --detect --json`` | ``compose.variants.detect_variants`` |
| explain_flag | | profiles + flag links + search |
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sddd.core.errors import UsageError
from sddd.index.choices import ALL_KINDS, KINDS, MODES
from sddd.mcp import spec
from sddd.mcp.profiles import flag_data, profile_data
from sddd.mcp.spec import Answer, ToolSpec
from sddd.output import mcp as text
from sddd.resident.warm import Workspace

MAX_QUERY_CHARS = 2000  # the model reads ~256 tokens; a longer "query" is a pasted file
MAX_K = 50


def search(ws: Workspace, args: dict[str, Any]) -> Answer:
    query = args["query"]
    if not query.strip():
        raise UsageError("is empty; say what you are looking for", option="query")
    result = ws.search(query, args["k"], kind=args["kind"], path_glob=args["path"], mode=args["mode"],
                       also=args.get("also") or [])
    return Answer(result.to_json(args["explain"]), text.search_text(result))


def check(ws: Workspace, args: dict[str, Any]) -> Answer:
    from sddd.check.evaluate import run_checks
    from sddd.check.targets import load_targets, select
    from sddd.output.check import to_json

    targets = select(load_targets(ws.config), args["tags"] or [])
    if args["ids"]:
        known = {t.id for t in targets}
        unknown = [i for i in args["ids"] if i not in known]
        if unknown:
            raise UsageError(f"no target has the id {', '.join(map(repr, unknown))}"
                             + (" and those tags" if args["tags"] else "")
                             + f"; known ids: {', '.join(sorted(known))}")
        targets = [t for t in targets if t.id in args["ids"]]
    ws.store(build_missing=True)  # as `sddd check` on a fresh clone; and fresh, with the warm model
    report = run_checks(ws.config, targets, encoder=ws.encoder(), notice=ws.log)
    return Answer(to_json(report), text.check_text(report))


def drift(ws: Workspace, args: dict[str, Any]) -> Answer:
    from sddd.consistency.drift import run_drift

    report = run_drift(ws.config, include_reports=args["include_reports"])
    return Answer(report.to_json(), text.drift_text(report))


def audit(ws: Workspace, args: dict[str, Any]) -> Answer:
    from sddd.consistency.audit import run_audit

    report = run_audit(ws.config)
    return Answer(report.to_json(), text.audit_text(report))


def profile(ws: Workspace, args: dict[str, Any]) -> Answer:
    data = profile_data(ws, args["name"])
    return Answer(data, text.profile_text(data))


def archive_detect(ws: Workspace, args: dict[str, Any]) -> Answer:
    from sddd.compose.variants import detect_variants

    candidates = [asdict(c) for c in detect_variants(ws.config)]
    return Answer({"candidates": candidates}, text.candidates_text(candidates))


def explain_flag(ws: Workspace, args: dict[str, Any]) -> Answer:
    data = flag_data(ws, args["flag"])
    return Answer(data, text.flag_text(data))


def _object(*required: str) -> dict[str, Any]:
    return {"type": "object", "required": list(required)}


READ_TOOLS = (
    ToolSpec(
        "search", "Search the docs",
        "Find the files of the team's guides, reports and compose profiles that answer a question, "
        "best first, each at its best passage: path#anchor, heading, score (0-1: the file's share of "
        "the most a file can get, 1 = first by exact words and by meaning alike; blended with the "
        "relevance a reranker gives when sddd.yaml has search.rerank; higher is always a better "
        "rank) and a snippet; `notice` says when a configured reranker could not be used. "
        "Meaning and exact words are fused (pasted flags, model ids and error strings are found "
        "too). Rephrase with `also` when the question is vague or uses other words than docs "
        "would: `vec:` the question asked another way, `lex:` the exact terms, flags or ids the "
        "answer would contain, `hyde:` one sentence the answering passage might hold; a French "
        "question: also ask it in English (`vec:`). The index is brought up to date first when "
        "files changed, so answers come from the files as they are now.",
        (spec.string("query", "What you are looking for, in your own words (English or French).",
                     required=True, max_length=MAX_QUERY_CHARS),
         spec.integer("k", "How many files, each at its best passage.", minimum=1, maximum=MAX_K, default=5),
         spec.string("kind", "Only this kind of document; 'all' includes archived files, which are "
                     "left out by default, as is 'manual' (sddd's own manual: how to use sddd).",
                     enum=(*KINDS, ALL_KINDS)),
         spec.string("path", "Only files matching this glob, e.g. 'docs/guides/*'."),
         spec.string("mode", "hybrid: meaning and exact words (default); dense: meaning only; "
                     "lexical: exact words only (BM25).", enum=MODES, default="hybrid"),
         spec.boolean("explain", "Also give each passage's dense and lexical rank."),
         spec.strings("also", "Up to 8 sub-queries fused with the query (which weighs twice as "
                      "much), each 'lex:words', 'vec:a rephrasing' or 'hyde:a hypothetical answer'.")),
        search, _object("query", "results")),
    ToolSpec(
        "check", "Check discoverability targets",
        "Run the discoverability targets of sddd.yaml (query -> expected document): per target its "
        "rank, score (0-1), margin over the nearest other document and pass/fail, and the summary "
        "(hit@1, hit@k, MRR@k). Use after editing a guide to see that its questions still find it.",
        (spec.strings("tags", "Only targets with any of these tags."),
         spec.strings("ids", "Only the targets with these ids.")),
        check, _object("passed", "summary", "targets")),
    ToolSpec(
        "drift", "Find guides that contradict the profiles",
        "Every claim of a guide (a flag value, a port, a model id, an image tag, GPUs) checked against "
        "the resolved compose profiles; each finding gives the guide's file:line and the profile's.",
        (spec.boolean("include_reports", "Also check reports (history, skipped by default)."),),
        drift, _object("passed", "findings")),
    ToolSpec(
        "audit", "Audit the repository",
        "Entropy budget (compose files, scripts, documents), profiles/{size}.yml naming, variant "
        "copies, secret hygiene (.env, tokens in tracked files, masked) and compose lint; findings "
        "with file:line.",
        (), audit, _object("passed", "findings")),
    ToolSpec(
        "profile", "Show a resolved profile",
        "A compose profile resolved as Docker Compose does (base + size file, variables "
        "interpolated, secrets masked): image, model, every vLLM flag with its value and the "
        "file:line it comes from, the guide section that explains it, ports, GPUs, config hash.",
        (spec.string("name", "Profile name (a file stem under profiles/); default: the canonical "
                     "profile of sddd.yaml."),),
        profile, _object("profile", "vllm_args", "explained_in")),
    ToolSpec(
        "archive_detect", "List superseded configs",
        "Compose files that look superseded (variant markers such as -fixed or -optimized, dated "
        "copies, editor backups, copies outside profiles/), each with its reasons and what differs "
        "from the closest profile. Read-only: nothing is moved.",
        (), archive_detect, _object("candidates")),
    ToolSpec(
        "explain_flag", "Explain a vLLM flag",
        "One vLLM flag across every profile: its value and where it is set, the guide section that "
        "explains it, and the passages that speak of it.",
        (spec.string("flag", "The flag, e.g. --gpu-memory-utilization (dashes optional).",
                     required=True, max_length=100),),
        explain_flag, _object("flag", "profiles", "passages")),
)
