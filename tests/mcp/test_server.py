"""`sddd mcp` through the official Python SDK's own client over stdio: every tool and resource,
each result checked against the CLI's --json for the same inputs, on the seed repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.fixtures.mcp_repo import (
    Recorder,
    build_mcp_repo,
    cli_json,
    python_client,
    result_json,
    server_command,
)
from tests.fixtures.seed_repo import FAKE_HF_TOKEN

READ_ONLY = {"search", "check", "drift", "audit", "profile", "archive_detect", "explain_flag"}
QUERY = "taille maximale du contexte max-model-len pour le medium"


ALSO = ["lex:max-model-len", "vec:how long a context the server takes"]


@pytest.fixture(scope="module")
def seen(tmp_path_factory, encoder) -> dict[str, Any]:
    """One server session on the seed repository: everything the client got, and the repo."""
    root = tmp_path_factory.mktemp("mcp") / "repo"
    seed = build_mcp_repo(root, encoder)
    stderr_path = root.parent / "server.stderr"
    recorder = Recorder()
    calls = {
        "search": ("search", {"query": QUERY, "k": 3}),
        "search_also": ("search", {"query": QUERY, "k": 3, "also": ALSO}),
        "search_lexical": ("search", {"query": "--max-model-len", "kind": "guide", "mode": "lexical",
                                      "path": "docs/**", "explain": True}),
        "check": ("check", {}),
        "check_en": ("check", {"tags": ["en"]}),
        "check_ids": ("check", {"ids": ["rollback"]}),
        "drift": ("drift", {"include_reports": True}),
        "audit": ("audit", {}),
        "archive_detect": ("archive_detect", {}),
        "profile": ("profile", {"name": "medium"}),
        "profile_default": ("profile", {}),
        "explain_flag": ("explain_flag", {"flag": "gpu-memory-utilization"}),
        "search_secret": ("search", {"query": "export HF_TOKEN Hugging Face token", "k": 5}),
    }
    reads = ["sddd://docs/docs/docker/ARCHITECTURE.md", "sddd://docs/docs/docker/ARCHITECTURE.md#parametres-critiques",
             "sddd://docs/docs/guides/setup.md", "sddd://profiles/medium"]

    async def session() -> dict[str, Any]:
        with stderr_path.open("w") as stderr:
            async with python_client(*server_command(root), stderr, recorder) as client:
                out: dict[str, Any] = {
                    "protocol": client.protocol_version,
                    "tools": (await client.list_tools()).tools,
                    "resources": (await client.list_resources()).resources,
                    "templates": (await client.list_resource_templates()).resource_templates,
                }
                for key, (tool, arguments) in calls.items():
                    out[key] = result_json(await client.call_tool(tool, arguments))
                out["reads"] = [(await client.read_resource(uri)).contents[0] for uri in reads]
                return out

    out = anyio.run(session)
    out.update(root=root, seed=seed, stderr=stderr_path.read_text(), stream_errors=recorder.stream_errors)
    return out


def test_the_tools_are_the_read_only_ones_with_strict_schemas(seen):
    tools = {t.name: t for t in seen["tools"]}
    assert set(tools) == READ_ONLY
    for tool in tools.values():
        assert tool.input_schema["type"] == "object" and tool.input_schema["additionalProperties"] is False
        assert tool.annotations.read_only_hint is True and tool.output_schema["type"] == "object"
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["search"].input_schema["properties"]["mode"]["enum"] == ["hybrid", "dense", "lexical"]


def test_resources_are_the_indexed_documents_and_the_profiles(seen):
    uris = {r.uri for r in seen["resources"]}
    assert {"sddd://docs/docs/docker/ARCHITECTURE.md", "sddd://docs/profiles/medium.yml",
            "sddd://profiles/medium", "sddd://profiles/mini", "sddd://profiles/micro"} <= uris
    assert "sddd://docs/docs/docker/ARCHITECTURE.md#parametres-critiques" in uris  # its sections too
    assert not any(".env" in uri for uri in uris)  # never indexed, never served
    assert {t.uri_template for t in seen["templates"]} == {"sddd://docs/{+path}", "sddd://profiles/{name}"}


def test_search_is_the_cli_search(seen):
    root = seen["root"]
    assert seen["search"]["structuredContent"] == cli_json(root, "search", "-k", "3", QUERY)
    lexical = seen["search_lexical"]["structuredContent"]
    assert lexical == cli_json(root, "search", "--kind", "guide", "--mode", "lexical", "--path", "docs/**",
                               "--explain", "--", "--max-model-len")
    assert lexical["results"] and all(r["kind"] == "guide" for r in lexical["results"])
    first = seen["search"]["structuredContent"]["results"][0]
    assert f"{first['path']}#{first['anchor']}" in seen["search"]["text"]
    also = seen["search_also"]["structuredContent"]
    assert also == cli_json(root, "search", "-k", "3", "--also", ALSO[0], "--also", ALSO[1], QUERY)
    assert also["results"] and len({r["path"] for r in also["results"]}) == len(also["results"])


def _without_timing(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in ("seconds", "model_loaded")}


def test_check_is_the_cli_check(seen):
    root = seen["root"]
    full = seen["check"]["structuredContent"]
    assert _without_timing(full) == _without_timing(cli_json(root, "check"))
    assert [t["id"] for t in full["targets"]] == ["medium-context", "rollback", "token-setup"]
    assert _without_timing(seen["check_en"]["structuredContent"]) == _without_timing(
        cli_json(root, "check", "--tag", "en"))
    only = seen["check_ids"]["structuredContent"]["targets"]
    assert [t["id"] for t in only] == ["rollback"]
    assert only == [t for t in full["targets"] if t["id"] == "rollback"]


def test_drift_audit_and_variants_are_the_cli_reports(seen):
    root = seen["root"]
    drift = seen["drift"]["structuredContent"]
    assert drift == cli_json(root, "drift", "--all")
    seed = seen["seed"]
    line = seed.line("docs/docker/ARCHITECTURE.md", "| `--gpu-memory-utilization` | 0.95")
    assert any(f["doc_path"] == "docs/docker/ARCHITECTURE.md" and f["doc_line"] == line
               and f["profile_path"] == "profiles/medium.yml" for f in drift["findings"])
    assert f"docs/docker/ARCHITECTURE.md:{line}: error: value_mismatch" in seen["drift"]["text"]
    assert seen["audit"]["structuredContent"] == cli_json(root, "audit")
    detected = seen["archive_detect"]["structuredContent"]
    assert detected == cli_json(root, "archive", "--detect")
    assert "docker-compose-medium-qwen3-optimized.yml" in {c["path"] for c in detected["candidates"]}


def test_profile_is_the_resolved_service_with_its_explanations(seen):
    root, seed = seen["root"], seen["seed"]
    profile = seen["profile"]["structuredContent"]
    service = cli_json(root, "deploy", "--dry-run", "medium")["service"]
    assert {k: profile[k] for k in service} == service
    assert seen["profile_default"]["structuredContent"] == profile  # canonical_profile: medium
    line = seed.line("profiles/medium.yml", "--gpu-memory-utilization=0.85")
    assert profile["flag_sources"]["--gpu-memory-utilization"] == f"profiles/medium.yml:{line}"
    # The seed guide's "Paramètres Critiques" table has a row for --max-model-len.
    assert {"path": "docs/docker/ARCHITECTURE.md", "anchor": "parametres-critiques", "how": "table"}.items() \
        <= profile["explained_in"]["--max-model-len"][0].items()
    assert FAKE_HF_TOKEN not in json.dumps(profile)  # HF_TOKEN comes from .env: masked


def test_explain_flag_gives_every_profile_and_the_passages(seen):
    root, seed = seen["root"], seen["seed"]
    data = seen["explain_flag"]["structuredContent"]
    values = {p["profile"]: (p["value"], p["source"]) for p in data["profiles"]}
    assert values == {
        "medium": ("0.85", f"profiles/medium.yml:{seed.line('profiles/medium.yml', 'utilization=0.85')}"),
        "mini": ("0.55", f"profiles/mini.yml:{seed.line('profiles/mini.yml', 'utilization=0.55')}"),
        "micro": ("0.30", f"profiles/micro.yml:{seed.line('profiles/micro.yml', 'utilization=0.30')}"),
    }
    assert data["flag"] == "--gpu-memory-utilization" and data["known"] is True
    cli = cli_json(root, "search", "-k", "5", "--", "--gpu-memory-utilization")
    assert data["passages"] == cli["results"]


def test_resources_read_documents_sections_and_profiles(seen):
    root = seen["root"]
    whole, section, setup, profile = seen["reads"]
    assert whole.text == (root / "docs/docker/ARCHITECTURE.md").read_text(encoding="utf-8")
    assert section.text.startswith("#### Paramètres Critiques\n")
    assert "| `--max-model-len` | 131072 |" in section.text and "## Fichiers Archivés" not in section.text
    assert FAKE_HF_TOKEN in (root / "docs/guides/setup.md").read_text(encoding="utf-8")
    assert FAKE_HF_TOKEN not in setup.text and "export HF_TOKEN=" in setup.text
    assert json.loads(profile.text) == seen["profile"]["structuredContent"]


def test_no_result_shows_the_token(seen):
    hits = seen["search_secret"]["structuredContent"]["results"]
    assert "docs/guides/setup.md" in {h["path"] for h in hits}
    for key, value in seen.items():
        if isinstance(value, dict) and "structuredContent" in value:
            assert FAKE_HF_TOKEN not in json.dumps(value), key
    assert any("audit" in k for k in seen) and "hf_***" in json.dumps(seen["audit"])


def test_the_python_client_speaks_the_2026_protocol(seen):
    assert seen["protocol"] == "2026-07-28"  # the TypeScript client covers the 2025 handshake


def test_stdout_carried_only_protocol_and_logs_went_to_stderr(seen):
    assert seen["stream_errors"] == []
    assert "sddd mcp: model loaded and index open" in seen["stderr"]
    assert Path(seen["root"] / ".sddd").is_dir()
