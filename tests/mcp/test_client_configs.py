"""The client configurations of the manual's MCP page ("Connecting a coding agent") are the ones
that work: each block is read from sddd/manual/concepts/mcp.md, its repository path filled in,
and the server it describes is started by the Python SDK's client and answers a search."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tests.fixtures.mcp_repo import Recorder, as_test_command, build_mcp_repo, python_client, readme_configs

FILES = ("mcp_settings.json", ".mcp.json", ".cursor/mcp.json")  # Roo Code / Cline, Claude Code, Cursor


@pytest.fixture(scope="module")
def repo(tmp_path_factory, encoder):
    root = tmp_path_factory.mktemp("mcp-configs") / "repo"
    build_mcp_repo(root, encoder)
    return root


def test_the_readme_gives_one_block_per_client():
    configs = readme_configs()
    assert set(configs) == set(FILES)
    for config in configs.values():
        assert config["mcpServers"]["sddd"]["command"] == "sddd"
        assert config["mcpServers"]["sddd"]["args"][-1] == "mcp"


@pytest.mark.parametrize("name", FILES)
def test_a_readme_config_starts_a_server_that_answers(repo, tmp_path, name):
    command, args = as_test_command(readme_configs()[name]["mcpServers"]["sddd"], repo)

    async def session() -> dict[str, Any]:
        with (tmp_path / "stderr").open("w") as stderr:
            async with python_client(command, args, stderr, Recorder()) as client:
                result = await client.call_tool("search", {"query": "port du service medium", "k": 1})
                return {"error": result.is_error, "results": result.structured_content["results"]}

    answer = anyio.run(session)
    assert answer["error"] is False and len(answer["results"]) == 1
