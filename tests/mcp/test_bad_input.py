"""Bad input through the Python SDK's client: each is answered with one clear line (an error result
for a tool, a JSON-RPC error for a resource) and the next call is served as if nothing happened."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tests.fixtures.mcp_repo import Recorder, build_mcp_repo, python_client, result_json, server_command
from tests.helpers import run_sddd

GOOD = ("search", {"query": "port du service medium", "k": 2})
BAD_CALLS = [
    (("search", {"query": "port", "top": 3}),
     "unknown argument 'top' for search; it takes query, k, kind, path, mode, explain"),
    (("search", {"query": "port", "k": "three"}), "k must be an integer; got 'three'"),
    (("search", {"query": "port", "k": 0}), "k must be from 1 to 50; got 0"),
    (("search", {"query": "x" * 100_000}), "query is 100,000 characters long; keep it under 2,000"),
    (("search", {"query": "   "}), "query is empty; say what you are looking for"),
    (("search", {}), "search needs 'query'"),
    (("search", {"query": "port", "kind": "novel"}),
     "kind must be one of guide, report, profile, archive, manual, all; got 'novel'"),
    (("profile", {"name": "large"}), "unknown profile 'large'; known profiles: medium, micro, mini"),
    (("profile", {"name": "../../outside.yml"}), "'../../outside.yml' is a file path: an agent names a "
                                                "profile of profiles/ instead; known profiles"),
    (("explain_flag", {"flag": "--warp-speed"}), "flag --warp-speed is neither a vLLM flag sddd knows"),
    (("check", {"ids": ["nope"]}),
     "no target has the id 'nope'; known ids: medium-context, rollback, token-setup"),
    (("archive", {"detect": True}),
     "archive changes files or the engine: it is offered only when the server is started with "
     "`sddd mcp --allow-writes`"),
]
BAD_READS = [
    ("sddd://docs/../../etc/passwd", "'../../etc/passwd' is outside the repository"),
    ("sddd://docs/.env", ".env is not an indexed document"),
    ("sddd://docs/docs/docker/ARCHITECTURE.md#nowhere", "no section #nowhere in docs/docker/ARCHITECTURE.md; "
                                                        "its sections: architecture-docker-service-vllm"),
    ("sddd://profiles/large", "unknown profile 'large'"),
    ("https://example.org/x", "unknown resource 'https://example.org/x'"),
]


async def _error_of(work: Any) -> str:
    try:
        await work
    except Exception as exc:  # the SDK raises MCPError for a JSON-RPC error
        return str(exc)
    return "(no error)"


@pytest.fixture(scope="module")
def seen(tmp_path_factory, encoder) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mcp-bad") / "repo"
    build_mcp_repo(root, encoder)
    stderr_path = root.parent / "server.stderr"
    recorder = Recorder()

    async def session() -> dict[str, Any]:
        out: dict[str, Any] = {"calls": [], "reads": [], "after": []}
        with stderr_path.open("w") as stderr:
            async with python_client(*server_command(root), stderr, recorder) as client:
                async def good() -> dict[str, Any]:
                    return result_json(await client.call_tool(*GOOD))

                out["before"] = await good()
                for (tool, arguments), _ in BAD_CALLS:
                    out["calls"].append(result_json(await client.call_tool(tool, arguments)))
                    out["after"].append(await good())
                for uri, _ in BAD_READS:
                    out["reads"].append(await _error_of(client.read_resource(uri)))
                    out["after"].append(await good())
                out["unknown_tool"] = await _error_of(client.call_tool("deploy_everything", {}))
                out["after"].append(await good())
                # A corrupt index: the vector file of the live generation overwritten.
                live = root / ".sddd" / (root / ".sddd" / "CURRENT").read_text().strip() / "vectors.faiss"
                live.write_bytes(b"not a faiss index")
                out["corrupt"] = result_json(await client.call_tool(*GOOD))
                out["rebuild"] = run_sddd("index", "--rebuild", cwd=root).returncode  # another process
                out["repaired"] = await good()
        return out

    out = anyio.run(session)
    out.update(stderr=stderr_path.read_text(), stream_errors=recorder.stream_errors)
    return out


@pytest.mark.parametrize("index", range(len(BAD_CALLS)), ids=[c[0][0] for c in BAD_CALLS])
def test_a_bad_call_is_one_line_and_the_next_call_works(seen, index):
    result, expected = seen["calls"][index], BAD_CALLS[index][1]
    assert result["isError"] is True and result["structuredContent"] is None
    assert result["text"].startswith(expected) and "\n" not in result["text"]
    assert seen["after"][index] == seen["before"]


@pytest.mark.parametrize("index", range(len(BAD_READS)), ids=[r[0] for r in BAD_READS])
def test_a_bad_resource_is_a_json_rpc_error_and_the_next_call_works(seen, index):
    assert BAD_READS[index][1] in seen["reads"][index]
    assert seen["after"][len(BAD_CALLS) + index] == seen["before"]


def test_an_unknown_tool_is_a_protocol_error_naming_the_tools(seen):
    assert "unknown tool 'deploy_everything'; sddd has search, check" in seen["unknown_tool"]
    assert seen["after"][-1] == seen["before"]


def test_a_corrupt_index_says_how_to_fix_it_and_a_rebuild_is_picked_up(seen):
    corrupt = seen["corrupt"]
    assert corrupt["isError"] is True
    assert "vector file is missing or unreadable; run `sddd index --rebuild`" in corrupt["text"]
    assert seen["rebuild"] == 0
    assert seen["repaired"] == seen["before"] and seen["before"]["structuredContent"]["results"]
    assert seen["stream_errors"] == [] and "Traceback" not in seen["stderr"]
