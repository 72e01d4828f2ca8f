"""The tools that change files or the engine, offered only when the server is started with
``--allow-writes``: archive and restore (files, through the same plan, journal and manifest as
`sddd archive` / `sddd restore`), deploy and down (the local Docker engine, as `sddd deploy` /
`sddd down`).

They ask what the CLI asks: archiving what ``--detect`` found needs ``yes`` (the CLI asks, or
needs --yes without a terminal); named files need a ``reason``; ``dry_run`` shows the plan and
moves nothing. Results are the CLI's ``--json``.
"""

from __future__ import annotations

from typing import Any

from sddd.archive.operation import ARCHIVE, RESTORE
from sddd.core.errors import UsageError
from sddd.deploy.operation import DEPLOY, DOWN
from sddd.mcp import policy
from sddd.mcp.spec import Answer, ToolSpec
from sddd.output import mcp as text
from sddd.resident.warm import Workspace


def archive(ws: Workspace, args: dict[str, Any]) -> Answer:
    from sddd.archive.archiving import ArchiveResult, apply_archive, plan_archive
    from sddd.compose.variants import detect_variants

    config, paths = ws.config, args["paths"] or []
    if args["detect"] == bool(paths):
        raise UsageError("name the files to archive (with a reason), or set detect: true, not both",
                         option="paths")
    candidates = detect_variants(config)
    if args["detect"]:
        if not candidates:
            return Answer({"candidates": []}, text.candidates_text([]))
        reasons: str | dict[str, str] = args["reason"] or {c.path: c.reason for c in candidates}
        paths = [c.path for c in candidates]
    elif not args["reason"]:
        raise UsageError("say why the files are archived; it is stored in the manifest", option="reason")
    else:
        reasons = args["reason"]
    plan = plan_archive(config, paths, reasons, category=args["category"], date=args["date"],
                        cwd=config.root)
    policy.archive_plan(config, plan, {c.path for c in candidates})
    if args["dry_run"] or (args["detect"] and not args["yes"]):
        result = ArchiveResult(plan, False)
        note = ("dry run" if args["dry_run"] else
                "nothing moved: call again with yes: true to archive these (as --detect --apply --yes)")
        return Answer(result.to_json(), text.plan_text(f"Would archive {len(plan.files)} file(s) into "
                                                       f"{plan.folder} ({note}):", result.to_json()["plan"]
                                                       ["files"]))
    result = apply_archive(config, plan)
    return Answer(result.to_json(), text.plan_text(f"Archived {len(plan.files)} file(s) into {plan.folder}:",
                                                   result.to_json()["plan"]["files"]))


def restore(ws: Workspace, args: dict[str, Any]) -> Answer:
    from sddd.archive.archiving import apply_restore, plan_restore

    plan = plan_restore(ws.config, args["path"], args["to"], cwd=ws.config.root)
    policy.restore_target(ws.config, plan.target)
    if args["dry_run"]:
        data = {"archived": plan.entry.archived, "restored_to": plan.target,
                "sha256": plan.entry.sha256, "applied": False}
        return Answer(data, f"Would restore {plan.entry.archived} to {plan.target} (dry run).")
    result = apply_restore(ws.config, plan)
    return Answer(result.to_json(), f"Restored {result.archived} to {result.restored_to} "
                                    f"(sha256 {result.sha256[:12]} checked).")


def deploy(ws: Workspace, args: dict[str, Any]) -> Answer:
    from sddd.compose.lint import LintFailed
    from sddd.deploy.target import target

    profile = policy.profile_name(ws.config, args["profile"])
    if args["dry_run"]:
        planned = target().plan(ws.config, profile)
        if planned.errors:
            raise LintFailed(planned.errors)
        plan = planned.plan
        return Answer(planned.to_json(), f"Plan for {plan.profile.name}: {plan.url or 'no port'}; "
                                         f"{' '.join(planned.command)}")
    result = target().up(ws.config, profile, timeout=args["timeout"], wait=not args["no_wait"])
    data = result.to_json()
    return Answer(data, f"{data['profile']}: {data['outcome']} in {data['seconds']} s "
                        f"({data['url'] or data['container']}). {data['message'] or ''}".strip())


def down(ws: Workspace, args: dict[str, Any]) -> Answer:
    from sddd.deploy.target import target

    result = target().down(ws.config, policy.profile_name(ws.config, args["profile"]))
    removed = ", ".join(result.removed)
    return Answer(result.to_json(), f"{result.profile}: removed {removed}" if removed else
                  f"{result.profile}: nothing was running (project {result.project})")


WRITE_TOOLS = (
    ToolSpec(ARCHIVE, archive, writes=True),  # declared with `sddd archive`
    ToolSpec(RESTORE, restore, writes=True),  # declared with `sddd restore`
    ToolSpec(DEPLOY, deploy, writes=True),  # declared with `sddd deploy`
    ToolSpec(DOWN, down, writes=True),  # declared with `sddd down`
)
