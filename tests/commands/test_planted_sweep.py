"""The planted-token sweep (issues 30 and 31): tokens in every shape people paste them (touched by
`_`, letters, digits, accents, Markdown emphasis, backticks, punctuation) planted in headings,
front matter, code, compose files, a file name and queries; then every output surface is searched
for them: the CLI's table, plain and JSON output and error lines (`run_sddd` fails on any), the MCP
server's answers, resource list and resources, the built site's HTML and search index, and every
file under `.sddd/`. A half-redacted token counts (tests.helpers.planted_in).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sddd.core.config import load_config
from tests.helpers import PLANTED_SECRETS, planted_in, planted_shapes, run_sddd, write

HF, SK, GH = PLANTED_SECRETS
HF_SHAPES, SK_SHAPES, GH_SHAPES = (planted_shapes(t) for t in PLANTED_SECRETS)
# The probe's heading: the anchor was the slug of the raw heading, the whole token lowercased.
HEADING = f"Italic *{HF}* and trailing {HF}_old"
ANCHOR = "italic-and-trailing"

CONFIG = f"""\
docs: ['docs/**/*.md']
targets:
  - query: "how to rotate the staging token {HF_SHAPES[0]}"
    expect: docs/guides/staging.md#{ANCHOR}
"""
MKDOCS = "site_name: Sweep\ndocs_dir: docs\nsite_dir: site\ntheme: {name: material, font: false}\n" \
    "plugins: [search, {sddd: {related: 2}}]\n"
GUIDE = f"""\
---
title: Staging access {GH_SHAPES[3]}
---
# Staging access

How the team reaches the staging server: {' '.join(HF_SHAPES)}.

## {HEADING}

Rotate the staging token every month; keys look like {' '.join(SK_SHAPES)}.

## Token `{GH}` and {GH_SHAPES[2]}

```bash
export HF_TOKEN={HF_SHAPES[4]}
curl -H "Authorization: Bearer {SK_SHAPES[1]}" http://127.0.0.1:5002/v1/models
```

### Plain {SK}

The staging server listens on port 5002; {' '.join(GH_SHAPES)}.
"""
MEDIUM = f"""\
services:
  vllm-medium:
    image: vllm/vllm-openai:v0.11.0
    environment:
      - HUGGING_FACE_HUB_TOKEN={HF_SHAPES[4]}
      - NOTE=MY{GH}
    ports:
      - "5002:8000"
    command: ["--model", "Qwen/Qwen3-32B-AWQ", "--api-key", "{SK_SHAPES[1]}"]
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sweep")
    write(root, "sddd.yaml", CONFIG)
    write(root, "mkdocs.yml", MKDOCS)
    write(root, "docs/index.md", "# Sweep\n\nThe staging guides.\n")
    write(root, "docs/guides/staging.md", GUIDE)
    write(root, f"docs/guides/notes-{GH}_old.md", f"# Notes\n\nA page named after {GH_SHAPES[5]}.\n")
    write(root, "profiles/base.yml", "services:\n  vllm-medium:\n    image: vllm/vllm-openai:v0.11.0\n")
    write(root, "profiles/medium.yml", MEDIUM)
    return root


def mcp_surfaces(root: Path) -> list[Any]:
    """What an agent gets from `sddd mcp`: each read tool's answer (JSON and text), the resource
    list and every resource, through the server's own Service (the protocol adds only framing)."""
    from sddd.mcp.server import Service

    service = Service(load_config(root / "sddd.yaml"))
    try:
        seen: list[Any] = []
        for tool, arguments in [("search", {"query": f"staging token {HF_SHAPES[2]}", "k": 10}),
                                ("search", {"query": GH_SHAPES[3], "mode": "lexical", "explain": True}),
                                ("check", {}), ("drift", {}), ("audit", {}), ("archive_detect", {}),
                                ("profile", {"name": "medium"}), ("explain_flag", {"flag": "api-key"}),
                                ("profile", {"name": f"x{SK_SHAPES[0]}"})]:
            answer, error = service.call(tool, arguments)
            seen.append(error if answer is None else {"data": answer.data, "text": answer.text})
        listings = service.listings()
        seen.append([vars(item) for item in listings])
        seen += [service.read(item.uri) for item in listings]
        return seen
    finally:
        service.worker.shutdown(wait=True)


def test_no_planted_shape_reaches_any_output_surface(repo: Path):
    assert run_sddd("index", "--json", cwd=repo).returncode == 0
    found = run_sddd("search", "--json", "-k", "10", f"{SK_SHAPES[3]} rotate the staging token", cwd=repo)
    hits = json.loads(found.stdout)["results"]
    # The anchor is the slug of the redacted heading, stable whatever the token is rotated to.
    assert ANCHOR in {h["anchor"] for h in hits}, hits
    for args in (["search", "--format", "table", f"staging {GH_SHAPES[4]}"],
                 ["search", "--format", "plain", "--explain", HF_SHAPES[6]],
                 ["check", "--json"], ["check", "--format", "table"], ["drift", "--json"],
                 ["drift", "--format", "plain"], ["audit", "--json"], ["audit", "--format", "table"],
                 ["archive", "--detect", "--json"], ["deploy", "medium", "--dry-run", "--json"],
                 ["deploy", f"m{SK_SHAPES[2]}", "--dry-run"], ["search", "-k", HF_SHAPES[0], "x"],
                 ["search", "--kind", SK_SHAPES[0], "x"],
                 ["--config", f"{GH_SHAPES[1]}.yaml", "search", "x"],
                 ["site", "build", "--json"]):
        run_sddd(*args, cwd=repo)  # fails the test on any planted token, in any shape
    assert (repo / "site" / "index.html").is_file()
    check = json.loads(run_sddd("check", "--json", cwd=repo).stdout)
    assert check["passed"], check  # the target's anchor is the one the index stores
    staging = (repo / "site" / "guides" / "staging" / "index.html").read_text(encoding="utf-8")
    assert f'id="{ANCHOR}"' in staging  # the site's anchor is the one search links to
    leaks = {"mcp": planted_in(json.dumps(mcp_surfaces(repo), ensure_ascii=False, default=str))}
    for folder in (".sddd", "site"):
        for path in (repo / folder).rglob("*"):
            if path.is_file() and planted_in(path.read_bytes()):
                leaks[str(path.relative_to(repo))] = planted_in(path.read_bytes())
            if planted_in(str(path.relative_to(repo))):
                leaks[f"name: {path.relative_to(repo)}"] = ["file name"]
    assert not any(leaks.values()), leaks
