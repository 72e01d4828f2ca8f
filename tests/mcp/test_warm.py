"""The server stays warm and stays right: an edited guide, a deleted one and a new target in
sddd.yaml are seen by the next call, through the Python SDK's client, with no restart."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tests.fixtures.mcp_repo import Recorder, build_mcp_repo, python_client, server_command
from tests.helpers import write

NEW_SECTION = """
## Zanzibar flux capacitor

The zanzibar flux capacitor of the medium host is calibrated every Tuesday at dawn.
"""
NEW_TARGET = """\
  - id: zanzibar
    query: "when is the zanzibar flux capacitor calibrated"
    expect: [docs/guides/setup.md#zanzibar-flux-capacitor]
"""
QUERY = "when is the zanzibar flux capacitor calibrated"


@pytest.fixture(scope="module")
def seen(tmp_path_factory, encoder) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mcp-warm") / "repo"
    build_mcp_repo(root, encoder)
    stderr_path = root.parent / "server.stderr"

    async def search(client: Any, query: str) -> list[dict[str, Any]]:
        result = await client.call_tool("search", {"query": query, "k": 10, "kind": "all"})
        assert not result.is_error, result.content[0].text
        return list(result.structured_content["results"])

    async def session() -> dict[str, Any]:
        out: dict[str, Any] = {}
        with stderr_path.open("w") as stderr:
            async with python_client(*server_command(root), stderr, Recorder()) as client:
                out["before"] = await search(client, QUERY)
                guide = root / "docs/guides/setup.md"
                guide.write_text(guide.read_text(encoding="utf-8") + NEW_SECTION, encoding="utf-8")
                out["edited"] = await search(client, QUERY)
                # New files: one beside others, one in a folder that did not exist.
                write(root, "docs/guides/quokka.md", "# Quokka rota\n\nThe quokka rota rotates weekly.\n")
                out["new_file"] = await search(client, "quokka rota")
                write(root, "docs/teams/wombat/oncall.md", "# Wombat on-call\n\nWombats page at night.\n")
                out["new_folder"] = await search(client, "wombat on-call pages")
                (root / "docs/qwen3/README.md").unlink()
                out["deleted"] = await search(client, "Documentation Qwen3 document maître")
                out["resources"] = {r.uri for r in (await client.list_resources()).resources}
                config = root / "sddd.yaml"
                config.write_text(config.read_text(encoding="utf-8") + NEW_TARGET, encoding="utf-8")
                check = await client.call_tool("check", {"ids": ["zanzibar"]})
                out["check"] = check.structured_content
                write(root, "sddd.yaml", "docs: [unclosed\n")
                out["bad_config"] = (await client.call_tool("search", {"query": QUERY})).content[0].text
                config.write_text("docs: ['docs/**/*.md']\nprofiles: ['profiles/*.yml']\n", encoding="utf-8")
                out["fixed_config"] = await search(client, QUERY)
        return out

    out = anyio.run(session)
    out["stderr"] = stderr_path.read_text()
    return out


def test_an_edited_guide_is_indexed_before_the_next_answer(seen):
    assert not any(h["anchor"] == "zanzibar-flux-capacitor" for h in seen["before"])
    first = seen["edited"][0]
    assert (first["path"], first["anchor"]) == ("docs/guides/setup.md", "zanzibar-flux-capacitor")
    assert "index updated: 1 changed, 0 deleted file(s)" in seen["stderr"]


def test_new_files_are_found_at_once_even_in_a_new_folder(seen):
    assert seen["new_file"][0]["path"] == "docs/guides/quokka.md"
    assert seen["new_folder"][0]["path"] == "docs/teams/wombat/oncall.md"


def test_a_deleted_guide_is_gone_from_answers_and_resources(seen):
    assert "docs/qwen3/README.md" not in {h["path"] for h in seen["deleted"]}
    assert "sddd://docs/docs/qwen3/README.md" not in seen["resources"]
    assert "sddd://docs/docs/guides/setup.md" in seen["resources"]


def test_sddd_yaml_is_read_again_when_it_changes(seen):
    [target] = seen["check"]["targets"]
    assert target["id"] == "zanzibar" and target["passed"] is True and target["rank"] == 1
    assert "sddd.yaml" in seen["bad_config"] and "\n" not in seen["bad_config"]
    assert seen["fixed_config"][0]["anchor"] == "zanzibar-flux-capacitor"
