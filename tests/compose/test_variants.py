"""The variant detector: every anti-pattern the seeds list, never a canonical profile."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from sddd.compose.variants import detect_variants, markers_in
from sddd.core.config import load_config
from tests.fixtures.archive_tree import GIT_ENV, seed_compose
from tests.helpers import REPO

MEDIUM = (REPO / "profiles" / "medium.yml").read_text(encoding="utf-8")

# name -> the cause the detector must give (content: a copy of the medium profile)
ANTI_PATTERNS = {
    "docker-compose-medium-qwen3-fixed.yml": "marker:fixed",
    "docker-compose-micro-qwen3-new.yml": "marker:new",
    "docker-compose-micro-qwen3-improved.yml": "marker:improved",
    "docker-compose-mini-qwen3-optimized.yml": "marker:optimized",
    "docker-compose-medium-qwen3-memory-optimized.yml": "marker:memory-optimized",
    "docker-compose-medium-qwen3-original-parser.yml": "marker:original-parser",
    "docker-compose-medium.old.yml": "marker:old",
    "docker-compose.yml.bak": "marker:bak",
    "docker-compose.backup_20250901.yml": "marker:backup",
    "docker-compose-medium-20251016.yml": "dated-copy",
    "medium.yml.2025-09-23": "dated-copy",
    "medium.yml~": "editor-backup",
    "configs/docker-compose-qwen3-medium.yml": "outside-profiles",
    "profiles/medium-copy.yml": "marker:copy",
}
NOT_CANDIDATES = ["mkdocs.yml", "docs/notes.yaml", ".github/workflows/ci.yml",
                  "docker-compose-newton.txt"]


def build(root, use_git: bool):
    root.mkdir()
    shutil.copytree(REPO / "profiles", root / "profiles")
    (root / "sddd.yaml").write_text("docs: ['docs/**/*.md']\n")
    for name in ANTI_PATTERNS:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {name}\n{MEDIUM}")
    for name in NOT_CANDIDATES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("site_name: x\njobs: {}\n")
    if use_git:
        (root / ".gitignore").write_text("ignored/\n")
        (root / "ignored").mkdir()
        (root / "ignored" / "docker-compose.old.yml").write_text(MEDIUM)
        subprocess.run(["git", "init", "-q"], cwd=root, check=True, env={**GIT_ENV})
    return load_config(root / "sddd.yaml")


@pytest.mark.parametrize("use_git", [False, True], ids=["plain", "git"])
def test_finds_every_anti_pattern_and_no_canonical_profile(tmp_path, use_git):
    config = build(tmp_path / "repo", use_git)
    found = {c.path: c for c in detect_variants(config)}
    assert set(found) == set(ANTI_PATTERNS), set(found) ^ set(ANTI_PATTERNS)
    for name, cause in ANTI_PATTERNS.items():
        assert cause in found[name].causes, (name, found[name].causes)
        assert found[name].reason and len(found[name].reasons) >= len(found[name].causes)
    assert not any(p.startswith("profiles/") and p != "profiles/medium-copy.yml" for p in found)
    assert "outside-profiles" not in found["profiles/medium-copy.yml"].causes


def test_near_duplicate_says_how_close_and_what_differs(tmp_path):
    config = build(tmp_path / "repo", use_git=False)
    found = {c.path: c for c in detect_variants(config)}
    copy = found["docker-compose-medium-qwen3-fixed.yml"]
    assert copy.near_duplicate and copy.closest is not None
    assert copy.closest.profile == "profiles/medium.yml" and copy.closest.score == 1.0
    assert copy.closest.differences == []
    assert "superseded by profiles/medium.yml" in copy.reason
    # The seeds' old-style medium file: same size, old image and model ids.
    old = tmp_path / "repo" / "docker-compose-qwen3-medium.yml"
    old.write_text(seed_compose("docker-compose-qwen3-medium.yml"))
    found = {c.path: c for c in detect_variants(config)}
    sim = found["docker-compose-qwen3-medium.yml"].closest
    assert sim is not None and sim.profile == "profiles/medium.yml" and 0 < sim.score < 1
    diffs = {d.key: (d.candidate, d.profile) for d in sim.differences}
    assert diffs["image"] == ("vllm/vllm-openai:v0.9.2", "vllm/vllm-openai:v0.11.0")
    assert diffs["--model"] == ("Qwen/Qwen2-32B-Instruct-AWQ", "Qwen/Qwen3-32B-AWQ")
    assert "--tensor-parallel-size" not in diffs and "ports" not in diffs  # identical settings
    assert sim.identical == sim.total - len(sim.differences)


def test_markers_are_whole_segments():
    markers = ["new", "old", "optimized", "memory-optimized", "bak"]
    assert markers_in("docker-compose-newton.yml", markers) == []
    assert markers_in("bold.yml", markers) == []
    assert markers_in("x-memory-optimized.yml", markers) == ["memory-optimized"]
    assert markers_in("x.yml.bak", markers) == ["bak"]
    assert markers_in("x-NEW.yml", markers) == ["new"]


def test_markers_come_from_sddd_yaml(tmp_path):
    config = build(tmp_path / "repo", use_git=False)
    (config.root / "sddd.yaml").write_text("archive:\n  variant_markers: [draft]\n")
    (config.root / "profiles" / "medium.draft.yml").write_text(MEDIUM)
    found = {c.path: c for c in detect_variants(load_config(config.root / "sddd.yaml"))}
    assert "profiles/medium.draft.yml" in found
    assert "docker-compose-medium.old.yml" in found  # still a compose file outside profiles/
    assert found["docker-compose-medium.old.yml"].causes == ["outside-profiles"]


def test_differences_never_show_a_secret_value(tmp_path):
    config = build(tmp_path / "repo", use_git=False)
    leaky = MEDIUM.replace("VLLM_API_KEY: ${VLLM_API_KEY_MEDIUM}", "VLLM_API_KEY: plaintextkey123456")
    assert leaky != MEDIUM
    (config.root / "docker-compose-leaky.yml").write_text(leaky)
    found = {c.path: c for c in detect_variants(config)}
    sim = found["docker-compose-leaky.yml"].closest
    diffs = {d.key: (d.candidate, d.profile) for d in sim.differences}
    assert diffs == {"environment.VLLM_API_KEY": ("pla***", "${VLLM_API_KEY_MEDIUM}")}
    assert "plaintextkey123456" not in repr(found)
