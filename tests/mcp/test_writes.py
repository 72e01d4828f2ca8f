"""`sddd mcp --allow-writes`: archive, restore, deploy and down through the Python SDK's client,
with the CLI's confirmations and results, on the seed repository (a git work tree)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.fixtures.engine import engine_client
from tests.fixtures.mcp_repo import (
    Recorder,
    build_mcp_repo,
    cli_json,
    python_client,
    result_json,
    server_command,
)
from tests.helpers import require

DATE = "2026-01-15"
FOLDER = "archives/docker_configs_20260115"
WRITE_TOOLS = {"archive", "restore", "deploy", "down"}
OPTIMIZED = "docker-compose-medium-qwen3-optimized.yml"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def seen(tmp_path_factory, encoder) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mcp-writes") / "repo"
    build_mcp_repo(root, encoder)
    stderr_path = root.parent / "server.stderr"
    out: dict[str, Any] = {"root": root, "cli_plan": cli_json(root, "archive", "--detect", "--apply",
                                                              "--dry-run", "--date", DATE),
                           "cli_deploy_plan": cli_json(root, "deploy", "--dry-run", "medium"),
                           "engine": engine_client() is not None}
    out["hashes"] = {f["original"]: _sha(root / f["original"]) for f in out["cli_plan"]["plan"]["files"]}
    outside = root.parent / "outside" / "compose.yml"
    outside.parent.mkdir()
    outside.write_text((root / "profiles" / "medium.yml").read_text(encoding="utf-8"), encoding="utf-8")

    async def call(client: Any, tool: str, **arguments: Any) -> dict[str, Any]:
        return result_json(await client.call_tool(tool, arguments))

    async def session() -> None:
        with stderr_path.open("w") as stderr:
            async with python_client(*server_command(root, "--allow-writes"), stderr, Recorder()) as client:
                out["tools"] = (await client.list_tools()).tools
                out["dry_run"] = await call(client, "archive", detect=True, dry_run=True, date=DATE)
                out["unconfirmed"] = await call(client, "archive", detect=True, date=DATE)
                out["present_after_unconfirmed"] = all((root / p).is_file() for p in out["hashes"])
                out["no_reason"] = await call(client, "archive", paths=["docker-compose-micro-qwen3-new.yml"])
                out["archived"] = await call(client, "archive", detect=True, yes=True, date=DATE)
                out["search"] = await call(client, "search", query="max-num-seqs medium optimized", k=10,
                                           kind="archive")
                out["restored"] = await call(client, "restore", path="docker-compose-micro-qwen3-new.yml")
                # The probes of the untrusted-callers issue: a git hook, a compose file outside.
                for key, dry_run in (("hook_dry", True), ("hook", False)):
                    out[key] = await call(client, "restore", path=OPTIMIZED,
                                          to=".git/hooks/post-checkout", dry_run=dry_run)
                out["github"] = await call(client, "restore", path=OPTIMIZED, to=".github/workflows/x.yml")
                out["outside_down"] = await call(client, "down", profile=str(outside))
                out["outside_deploy"] = await call(client, "deploy", profile=str(outside), dry_run=True)
                out["not_detected"] = await call(client, "archive", paths=["sddd.yaml", "docs"],
                                                 reason="agent says so", date=DATE)
                out["deploy_plan"] = await call(client, "deploy", profile="medium", dry_run=True)
                if out["engine"]:
                    out["down"] = await call(client, "down", profile="micro")

    anyio.run(session)
    return out


def test_write_tools_are_listed_as_destructive(seen):
    tools = {t.name: t for t in seen["tools"]}
    assert set(tools) >= WRITE_TOOLS
    for name in WRITE_TOOLS:
        assert tools[name].annotations.destructive_hint is True
        assert tools[name].annotations.read_only_hint is False


def test_archiving_what_detect_found_asks_first_as_the_cli(seen):
    assert seen["dry_run"]["structuredContent"] == seen["cli_plan"]
    unconfirmed = seen["unconfirmed"]
    assert unconfirmed["structuredContent"]["applied"] is False
    assert "call again with yes: true" in unconfirmed["text"] and seen["present_after_unconfirmed"]
    assert seen["no_reason"]["isError"] and "reason" in seen["no_reason"]["text"]


def test_archive_moves_every_file_byte_for_byte_with_its_manifest(seen):
    root, result = seen["root"], seen["archived"]["structuredContent"]
    assert result["applied"] is True and result["manifest"] == f"{FOLDER}/MANIFEST.yaml"
    assert (root / FOLDER / "MANIFEST.yaml").is_file()
    for original, digest in seen["hashes"].items():
        if original == "docker-compose-micro-qwen3-new.yml":
            continue  # restored below
        assert not (root / original).exists()
        assert _sha(root / FOLDER / original) == digest
    archived_hits = {h["path"] for h in seen["search"]["structuredContent"]["results"]}
    assert f"{FOLDER}/docker-compose-medium-qwen3-optimized.yml" in archived_hits  # index refreshed


def test_restore_puts_the_file_back(seen):
    root, restored = seen["root"], seen["restored"]["structuredContent"]
    assert restored["restored_to"] == "docker-compose-micro-qwen3-new.yml" and restored["applied"] is True
    name = "docker-compose-micro-qwen3-new.yml"
    assert _sha(root / name) == seen["hashes"][name]


def test_deploy_dry_run_is_the_cli_plan(seen):
    assert seen["deploy_plan"]["structuredContent"] == seen["cli_deploy_plan"]


def test_down_talks_to_the_engine(seen):
    require(seen["engine"], "no Docker engine reachable")
    assert seen["down"]["structuredContent"] == cli_json(seen["root"], "down", "micro")
    assert seen["down"]["structuredContent"]["removed"] == []


@pytest.mark.parametrize("key", ["hook_dry", "hook", "github"])
def test_restore_into_a_dot_folder_is_refused(seen, key):
    refused, root = seen[key], seen["root"]
    assert refused["isError"] is True and "\n" not in refused["text"]
    assert "an agent restores only to paths outside dot-folders" in refused["text"]
    assert not (root / ".git/hooks/post-checkout").exists() and not (root / ".github").exists()
    assert (root / FOLDER / OPTIMIZED).is_file()  # still archived


@pytest.mark.parametrize("key", ["outside_down", "outside_deploy"])
def test_a_compose_file_outside_the_profiles_is_no_profile(seen, key):
    refused = seen[key]
    assert refused["isError"] is True
    assert "is a file path: an agent names a profile of profiles/ instead; known profiles: medium, " \
           "micro, mini" in refused["text"]


def test_archive_moves_only_what_detection_finds(seen):
    refused, root = seen["not_detected"], seen["root"]
    assert refused["isError"] is True and "sddd.yaml: is sddd's configuration" in refused["text"]
    assert (root / "sddd.yaml").is_file() and (root / "docs").is_dir()


def test_every_write_call_is_recorded(seen):
    lines = [json.loads(line) for line in
             (seen["root"] / ".sddd" / "mcp-writes.jsonl").read_text(encoding="utf-8").splitlines()]
    outcomes = [(line["tool"], line["outcome"]) for line in lines]
    assert ("archive", "dry run") in outcomes and ("archive", "not applied") in outcomes
    assert outcomes.count(("archive", "started")) >= 1 and ("archive", "applied") in outcomes
    assert ("restore", "applied") in outcomes and ("down", "refused") in outcomes
    hook = [line for line in lines if line["arguments"].get("to") == ".git/hooks/post-checkout"]
    assert [h["outcome"] for h in hook] == ["refused", "started", "refused"]
    finished = [line for line in lines if line["outcome"] != "started"]
    assert all(line["at"].endswith("Z") and "result" in line for line in finished)
