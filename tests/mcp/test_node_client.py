"""A second, independent client: the official TypeScript SDK (@modelcontextprotocol/sdk from npm,
installed in tests/mcp/js by `npm ci`, .ci/steps/50-node-mcp.sh) run with node, over stdio and
over `sddd mcp --http`. Its results are checked against the CLI's --json."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.mcp_repo import build_mcp_repo, cli_json, server_command, server_env
from tests.helpers import REPO, require

CLIENT_DIR = REPO / "tests" / "mcp" / "js"
QUERY = "plan de rollback restauration docker"
CALLS = [
    {"tool": "search", "arguments": {"query": QUERY, "k": 4}},
    {"tool": "drift", "arguments": {}},
    {"tool": "audit", "arguments": {}},
    {"tool": "archive_detect", "arguments": {}},
    {"tool": "profile", "arguments": {"name": "medium"}},
    {"tool": "profile", "arguments": {"name": "mini"}},  # VLLM_API_KEY_MINI is not set
    {"tool": "explain_flag", "arguments": {"flag": "--max-model-len"}},
    {"tool": "check", "arguments": {"tags": ["fr"]}},
    {"tool": "search", "arguments": {"query": QUERY, "limit": 4}},  # a wrong argument name
    {"tool": "search", "arguments": {"query": QUERY, "k": 4}},  # and the server still serves
]
READS = ["sddd://docs/docs/RESTORATION_PLAN_V2.md#plan-de-rollback", "sddd://docs/../sddd.yaml"]


def _node() -> str:
    node = shutil.which("node")
    require(node is not None, "node is not installed (Debian's nodejs: .ci/steps/50-node-mcp.sh)")
    require((CLIENT_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir(),
            "the TypeScript SDK is not installed: run `npm ci` in tests/mcp/js")
    return str(node)


def run_node(plan: dict[str, Any], folder: Path) -> dict[str, Any]:
    path = folder / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    proc = subprocess.run([_node(), str(CLIENT_DIR / "client.mjs"), str(path)], capture_output=True,
                          text=True, timeout=300, cwd=CLIENT_DIR)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def repo(tmp_path_factory, encoder) -> Path:
    root = tmp_path_factory.mktemp("mcp-node") / "repo"
    build_mcp_repo(root, encoder)
    return root


@pytest.fixture(scope="module")
def expected(repo) -> dict[str, Any]:
    return {"search": cli_json(repo, "search", "-k", "4", QUERY), "drift": cli_json(repo, "drift"),
            "audit": cli_json(repo, "audit"), "archive_detect": cli_json(repo, "archive", "--detect"),
            "deploy_medium": cli_json(repo, "deploy", "--dry-run", "medium"),
            "flag_passages": cli_json(repo, "search", "-k", "5", "--", "--max-model-len"),
            "check": cli_json(repo, "check", "--tag", "fr")}


@pytest.fixture(scope="module")
def over_stdio(repo) -> dict[str, Any]:
    command, args = server_command(repo)
    plan = {"stdio": {"command": command, "args": args, "cwd": str(repo), "env": server_env()},
            "calls": CALLS, "reads": READS}
    return run_node(plan, repo.parent)


@pytest.fixture(scope="module")
def over_http(repo) -> dict[str, Any]:
    _node()
    command, args = server_command(repo, "--http", "--port", "0")
    log = repo.parent / "http.stderr"
    with log.open("w") as stderr:
        server = subprocess.Popen([command, *args], stdout=subprocess.PIPE, stderr=stderr,
                                  env={**os.environ, **server_env()})
        try:
            url = _served_url(log, server)
            result = run_node({"url": url, "calls": CALLS, "reads": READS}, repo.parent)
            assert server.poll() is None  # still serving after every call
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert server.stdout is not None and server.stdout.read() == b""  # HTTP: nothing on stdout at all
    return {**result, "url": url}


def _served_url(log: Path, server: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = re.search(r"serving streamable HTTP on (http://127\.0\.0\.1:\d+/mcp)", log.read_text())
        if found:
            return found.group(1)
        assert server.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError(f"no URL on stderr: {log.read_text()}")


def _check(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert {t["name"] for t in got["tools"]} == {"search", "check", "drift", "audit", "profile",
                                                 "archive_detect", "explain_flag"}
    assert got["server"]["name"] == "sddd"
    assert got["protocolVersion"].startswith("2025-")  # the handshake era, beside Python's 2026-07-28
    assert "sddd://profiles/mini" in {r["uri"] for r in got["resources"]}
    search, drift, audit, detect, profile, mini, flag, check, wrong, again = got["calls"]
    assert search["structuredContent"] == expected["search"] and not search["isError"]
    assert drift["structuredContent"] == expected["drift"]
    assert audit["structuredContent"] == expected["audit"]
    assert detect["structuredContent"] == expected["archive_detect"]
    service = expected["deploy_medium"]["service"]
    assert {k: profile["structuredContent"][k] for k in service} == service
    assert mini["structuredContent"]["missing_variables"] == ["VLLM_API_KEY_MINI"]  # shown, not refused
    assert mini["structuredContent"]["environment"]["VLLM_API_KEY"] == ""
    assert flag["structuredContent"]["passages"] == expected["flag_passages"]["results"]
    assert [p["value"] for p in flag["structuredContent"]["profiles"]] == ["131072", None, None]
    drop = ("seconds", "model_loaded")
    assert ({k: v for k, v in check["structuredContent"].items() if k not in drop}
            == {k: v for k, v in expected["check"].items() if k not in drop})
    assert wrong["isError"] and wrong["text"].startswith("unknown argument 'limit' for search")
    assert again == search
    section, outside = got["reads"]
    assert section["contents"][0]["text"].startswith("#### Plan de Rollback")
    assert "outside the repository" in outside["protocolError"]


def test_the_typescript_sdk_over_stdio(over_stdio, expected):
    _check(over_stdio, expected)


def test_the_typescript_sdk_over_streamable_http(over_http, expected):
    _check(over_http, expected)
    assert over_http["url"].startswith("http://127.0.0.1:")
