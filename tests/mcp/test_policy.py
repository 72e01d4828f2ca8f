"""The policy of what each MCP tool may touch (sddd/mcp/policy.py), in process: every tool has its
line, profile names only, restores never into a dot-folder, archives only what detection or
archive.agent_globs allows, and the record of agents' writes (sddd/mcp/record.py)."""

from __future__ import annotations

import json
import os
from multiprocessing import Pool

import pytest

from sddd.archive.archiving import plan_archive
from sddd.core.config import load_config
from sddd.mcp import policy, record
from sddd.mcp.policy import Refused
from sddd.mcp.tools import READ_TOOLS
from sddd.mcp.writes import WRITE_TOOLS

COMPOSE = "services:\n  vllm:\n    image: vllm/vllm-openai:v0.9.2\n"
FILES = {"profiles/base.yml": COMPOSE, "profiles/medium.yml": COMPOSE, "profiles/mini.yml": COMPOSE,
         "docs/guide.md": "# Guide\n", "docs/old-report.md": "# Old\n", "Makefile": "all:\n",
         "docker-compose-medium-fixed.yml": COMPOSE, ".github/workflows/ci.yml": "on: push\n"}


@pytest.fixture
def config(make_repo):
    return make_repo(FILES, "docs: ['docs/**/*.md']\narchive: {agent_globs: ['docs/old-*.md']}\n")


def test_every_tool_has_its_line_in_the_policy():
    tools = {t.name for t in READ_TOOLS + WRITE_TOOLS}
    assert set(policy.REACH) == tools
    assert all("--allow-writes" in policy.REACH[t.name] for t in WRITE_TOOLS)


@pytest.mark.parametrize("value", ["/tmp/x/outside/compose.yml", "../profiles/medium.yml", "medium.yml",
                                   "profiles/medium.yml", "sub\\medium"])
def test_a_profile_is_a_name_never_a_path(config, value):
    with pytest.raises(Refused, match="is a file path: an agent names a profile of profiles/ instead; "
                                      "known profiles: medium, mini"):
        policy.profile_name(config, value)


def test_a_profile_name_passes_and_none_is_the_canonical_one(config):
    assert policy.profile_name(config, "mini") == "mini" and policy.profile_name(config, None) is None
    with pytest.raises(Refused, match="unknown profile 'large'"):
        policy.profile_name(config, "large")


@pytest.mark.parametrize("target", [".git/hooks/post-checkout", ".github/workflows/evil.yml", ".envrc",
                                    "docs/.hidden/x.yml", ".sddd/x.yml", "archives/x.yml", "../outside.yml",
                                    "/etc/cron.d/x"])
def test_restore_never_writes_into_a_dot_folder_the_index_or_the_archives(config, target):
    with pytest.raises(Refused):
        policy.restore_target(config, target)


def test_restore_through_a_link_into_git_is_refused(config):
    (config.root / ".git").mkdir()
    os.symlink(config.root / ".git", config.root / "innocent")
    with pytest.raises(Refused, match="a symbolic link takes it out of the repository or into a dot-folder"):
        policy.restore_target(config, "innocent/hooks/post-checkout")


def test_restore_to_a_live_path_passes(config):
    policy.restore_target(config, "profiles/medium-restored.yml")
    policy.restore_target(config, "docker-compose-medium-fixed.yml")


@pytest.mark.parametrize("paths,refusal", [
    (["Makefile"], "Makefile: not a superseded copy that detection finds, nor matched by archive.agent"),
    (["docs"], "docs/guide.md: not a superseded copy"),
    ([".github"], ".github/workflows/ci.yml: lies in .github"),
    (["sddd.yaml"], "sddd.yaml: is sddd's configuration"),
])
def test_archive_moves_only_what_detection_or_the_config_allows(config, paths, refusal):
    plan = plan_archive(config, paths, "agent says so", cwd=config.root)
    with pytest.raises(Refused, match=refusal.replace(".", r"\.")):
        policy.archive_plan(config, plan, {"docker-compose-medium-fixed.yml"})


def test_archive_of_detected_and_allowed_files_passes(config):
    plan = plan_archive(config, ["docker-compose-medium-fixed.yml", "docs/old-report.md"], "superseded",
                        cwd=config.root)
    policy.archive_plan(config, plan, {"docker-compose-medium-fixed.yml"})


def _append(args: tuple[str, int]) -> None:
    root, n = args
    config = load_config(os.path.join(root, "sddd.yaml"))
    for i in range(50):
        record.append(config, {"tool": "restore", "arguments": {"to": "x" * 3000, "n": n, "i": i},
                               "outcome": "started"})


def test_the_record_takes_whole_lines_from_concurrent_servers(config):
    with Pool(4) as pool:
        pool.map(_append, [(str(config.root), n) for n in range(4)])
    lines = record.record_path(config).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200 and all(json.loads(line)["outcome"] == "started" for line in lines)
    assert oct(record.record_path(config).stat().st_mode & 0o777) == "0o600"


def test_the_record_masks_secrets_in_arguments(config):
    token = "hf_PlantedStagingToken0123456789abcd"
    record.append(config, {"tool": "archive", "arguments": {"reason": f"leaked {token}"},
                           "outcome": "refused", "result": "no"})
    assert token not in record.record_path(config).read_text(encoding="utf-8")
