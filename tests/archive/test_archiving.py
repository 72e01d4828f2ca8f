"""`sddd archive` / `sddd restore` on small repositories made here, inside and outside git.

The seed tree holds the 15 compose variants the team really archived on 2025-10-16 (names
from the seeds), written the old way (vLLM v0.9.2, Qwen2 model ids), next to the canonical
profiles of this repository.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
import yaml

from sddd.archive.archiving import list_archives
from sddd.archive.journal import _copy_across, sha256_of
from sddd.core.config import load_config
from tests.fixtures.archive_tree import FOLDER, SEED_NAMES, assert_archived, git, make_tree, snapshot
from tests.helpers import sddd_here


@pytest.mark.parametrize("use_git", [False, True], ids=["plain", "git"])
def test_archive_seed_tree(tmp_path, use_git):
    root = tmp_path / "repo"
    hashes = make_tree(root, use_git=use_git, untracked=3)
    head = git(root, "rev-parse", "HEAD") if use_git else None
    proc = sddd_here("archive", *SEED_NAMES, "--reason", "superseded by profiles/",
                    "--date", "2025-10-16", "--json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["applied"] and len(result["plan"]["files"]) == 15
    manifest = assert_archived(root, hashes)
    assert manifest["review_date"] == "2026-04-16" and manifest["retention_months"] == 6
    entry = manifest["files"][0]
    assert entry["reason"] == "superseded by profiles/" and entry["review_date"] == "2026-04-16"
    assert entry["archived_on"] == "2025-10-16"
    if use_git:
        assert git(root, "rev-parse", "HEAD") == head, "sddd must never commit"
        status = git(root, "status", "--porcelain", "--untracked-files=all")
        for name in SEED_NAMES[:12]:  # tracked: staged as renames, history follows
            assert f"R  {name} -> {FOLDER}/{name}" in status
        index = git(root, "ls-files").split()
        for name in SEED_NAMES[12:]:  # untracked before, untracked after
            assert f"{FOLDER}/{name}" not in index and f"?? {FOLDER}/{name}" in status
        assert entry["archived_by"] == "Test <test@example.invalid>"
    listed = sddd_here("archive", "--list", "--json", cwd=root)
    assert listed.returncode == 0, listed.stderr
    (summary,) = json.loads(listed.stdout)["archives"]
    assert summary["folder"] == FOLDER and summary["archived"] == 15 and summary["problems"] == []


def test_list_due_uses_the_review_date(tmp_path):
    root = tmp_path / "repo"
    make_tree(root, use_git=False)
    sddd_here("archive", SEED_NAMES[0], "-r", "old", "--date", "2025-10-16", cwd=root)
    sddd_here("archive", SEED_NAMES[1], "-r", "new", cwd=root)
    config = load_config(root / "sddd.yaml")
    due = list_archives(config, due_only=True, today=dt.date(2026, 4, 16))
    assert [s.folder for s in due] == [FOLDER]
    assert list_archives(config, due_only=True, today=dt.date(2026, 4, 15)) == []
    proc = sddd_here("archive", "--list", "--due", "--json", cwd=root)
    folders = [a["folder"] for a in json.loads(proc.stdout)["archives"]]
    assert FOLDER in folders and len(folders) == 1  # today's archive is not due


def test_clash_is_refused_before_anything_moves(tmp_path):
    root = tmp_path / "repo"
    make_tree(root, use_git=False)
    assert sddd_here("archive", SEED_NAMES[5], "-r", "x", "--date", "2025-10-16", cwd=root).returncode == 0
    (root / SEED_NAMES[5]).write_text("services: {}\n")  # a new file with the same name
    before = snapshot(root)
    proc = sddd_here("archive", *SEED_NAMES, "-r", "x", "--date", "2025-10-16", cwd=root)
    assert proc.returncode == 6, proc.stderr
    assert "would overwrite" in proc.stderr and SEED_NAMES[5] in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert snapshot(root) == before


def test_dry_run_moves_nothing(tmp_path):
    root = tmp_path / "repo"
    make_tree(root, use_git=True)
    before, status = snapshot(root), git(root, "status", "--porcelain")
    proc = sddd_here("archive", *SEED_NAMES, "-r", "x", "--dry-run", "--json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["applied"] is False and len(data["plan"]["files"]) == 15
    proc = sddd_here("archive", "--detect", "--apply", "--dry-run", cwd=root)
    assert proc.returncode == 0 and "nothing moved" in proc.stdout
    assert snapshot(root) == before and git(root, "status", "--porcelain") == status
    assert not (root / "archives").exists()


@pytest.mark.parametrize("use_git", [False, True], ids=["plain", "git"])
def test_restore_round_trip_is_byte_identical(tmp_path, use_git):
    root = tmp_path / "repo"
    hashes = make_tree(root, use_git=use_git)
    assert sddd_here("archive", *SEED_NAMES[:3], "-r", "x", "--date", "2025-10-16", cwd=root).returncode == 0
    first, second, third = SEED_NAMES[:3]
    # By archived path, back to the original place.
    proc = sddd_here("restore", f"{FOLDER}/{first}", "--json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert sha256_of(root / first) == hashes[first] and not (root / FOLDER / first).exists()
    # By original path, from a subfolder, to another place.
    (root / "docs").mkdir(exist_ok=True)
    proc = sddd_here("restore", f"../{second}", "--to", "restored.yml", cwd=root / "docs")
    assert proc.returncode == 0, proc.stderr
    assert sha256_of(root / "docs" / "restored.yml") == hashes[second]
    # Never over an existing file.
    (root / third).write_text("someone's new file\n")
    proc = sddd_here("restore", third, cwd=root)
    assert proc.returncode == 6 and "refusing to overwrite" in proc.stderr
    assert (root / third).read_text() == "someone's new file\n"
    assert sha256_of(root / FOLDER / third) == hashes[third]
    # Restoring twice: nothing left to restore.
    proc = sddd_here("restore", first, cwd=root)
    assert proc.returncode == 2 and "no archived file" in proc.stderr
    manifest = yaml.safe_load((root / FOLDER / "MANIFEST.yaml").read_text())
    by_name = {e["original"]: e for e in manifest["files"]}
    assert by_name[first]["restored_to"] == first and by_name[first]["restored_at"]
    assert by_name[second]["restored_to"] == "docs/restored.yml"
    assert by_name[third]["restored_at"] is None
    assert "## Restored files" in (root / FOLDER / "README.md").read_text()
    if use_git:
        assert first in git(root, "ls-files").split()
        assert f"{FOLDER}/{first}" not in git(root, "ls-files").split()
    # Archive again after a restore: a clash-free round trip.
    proc = sddd_here("archive", first, "-r", "again", "--date", "2025-10-16", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert list_archives(load_config(root / "sddd.yaml"))[0].problems == []


def test_restore_refuses_a_changed_archive(tmp_path):
    root = tmp_path / "repo"
    make_tree(root, use_git=False)
    sddd_here("archive", SEED_NAMES[0], "-r", "x", "--date", "2025-10-16", cwd=root)
    (root / FOLDER / SEED_NAMES[0]).write_text("edited\n")
    proc = sddd_here("restore", SEED_NAMES[0], cwd=root)
    assert proc.returncode == 4 and "sha256" in proc.stderr
    assert not (root / SEED_NAMES[0]).exists()
    listed = sddd_here("archive", "--list", cwd=root)
    assert listed.returncode == 1 and "changed since archiving" in listed.stdout


def test_paths_escaping_the_repository_are_refused(tmp_path):
    root = tmp_path / "repo"
    make_tree(root, use_git=False)
    outside = tmp_path / "outside.yml"
    outside.write_text("services: {}\n")
    (root / "link-out.yml").symlink_to(outside)
    (root / "dir-out").symlink_to(tmp_path)
    before = snapshot(root)
    for bad in ("../outside.yml", str(outside), "link-out.yml", "dir-out/outside.yml", "/etc/hostname"):
        proc = sddd_here("archive", SEED_NAMES[0], bad, "-r", "x", cwd=root)
        assert proc.returncode == 2, (bad, proc.stderr)
        assert "outside the repository" in proc.stderr or "symbolic link" in proc.stderr, proc.stderr
    assert snapshot(root) == before and outside.exists()
    sddd_here("archive", SEED_NAMES[0], "-r", "x", cwd=root)
    proc = sddd_here("restore", SEED_NAMES[0], "--to", "../escaped.yml", cwd=root)
    assert proc.returncode == 2 and not (tmp_path / "escaped.yml").exists()


def test_usage_errors_are_one_line(tmp_path):
    root = tmp_path / "repo"
    make_tree(root, use_git=False)
    cases = [
        (["archive", SEED_NAMES[0]], "--reason"),
        (["archive", SEED_NAMES[0], "-r", "x", "--date", "16/10/2025"], "YYYY-MM-DD"),
        (["archive", "missing.yml", "-r", "x"], "no such file"),
        (["archive", "--due"], "--list"),
        (["archive", "--apply"], "--detect"),
        (["archive"], "--detect"),
        (["archive", "--detect", "--apply"], "--yes"),
        (["archive", SEED_NAMES[0], "-r", "x", "--category", "a/b"], "--category"),
    ]
    for args, expected in cases:
        proc = sddd_here(*args, cwd=root)
        assert proc.returncode == 2 and expected in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    (root / "sddd.yaml").write_text("archive:\n  retention_month: 6\n")
    proc = sddd_here("archive", "--list", cwd=root)
    assert proc.returncode == 2 and "sddd.yaml:2:" in proc.stderr and "retention_month" in proc.stderr


def test_detect_then_apply_archives_every_candidate(tmp_path):
    root = tmp_path / "repo"
    hashes = make_tree(root, use_git=True, untracked=2)
    proc = sddd_here("archive", "--detect", "--json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    candidates = json.loads(proc.stdout)["candidates"]
    assert sorted(c["path"] for c in candidates) == sorted(SEED_NAMES)
    proc = sddd_here("archive", "--detect", "--apply", "--yes", "--date", "2025-10-16", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "Archived 15 file(s)" in proc.stdout
    manifest = assert_archived(root, hashes)
    reasons = {e["original"]: e["reason"] for e in manifest["files"]}
    assert reasons["docker-compose-medium-qwen3-fixed.yml"].startswith("variant copy (-fixed)")
    assert reasons["docker-compose-medium.yml"].startswith("standalone compose file")
    proc = sddd_here("archive", "--detect", "--json", cwd=root)
    assert json.loads(proc.stdout)["candidates"] == []


def test_folders_keep_relative_paths(tmp_path):
    root = tmp_path / "repo"
    make_tree(root, use_git=False)
    for sub in ("configs/a", "configs/b"):
        (root / sub).mkdir(parents=True)
        (root / sub / "medium.yml").write_text(f"# {sub}\nservices: {{}}\n")
    proc = sddd_here("archive", "configs", "-r", "old layout", "--date", "2025-10-16", cwd=root)
    assert proc.returncode == 0, proc.stderr
    for sub in ("configs/a", "configs/b"):
        assert (root / FOLDER / sub / "medium.yml").read_text().startswith(f"# {sub}")


def test_copy_across_filesystems_verifies_then_unlinks(tmp_path):
    src = tmp_path / "a.yml"
    src.write_bytes(b"services: {}\n" * 1000)
    sha = sha256_of(src)
    other = Path("/dev/shm") if Path("/dev/shm").is_dir() else tmp_path
    dst = Path(other) / f"sddd-test-{os.getpid()}.yml"
    try:
        _copy_across(src, dst, sha)
        assert sha256_of(dst) == sha and not src.exists()
        assert not list(dst.parent.glob(f".{dst.name}*"))
    finally:
        dst.unlink(missing_ok=True)


def test_search_sees_archived_files_as_archive_kind(tmp_path, encoder):
    from sddd.index.indexer import build_index
    from sddd.index.search import search

    root = tmp_path / "repo"
    make_tree(root, use_git=False)
    assert sddd_here("archive", SEED_NAMES[1], "-r", "superseded", "--date", "2025-10-16",
                    cwd=root).returncode == 0
    config = load_config(root / "sddd.yaml")
    build_index(config, encoder=encoder)
    result = search(config, "Qwen2-32B-Instruct-AWQ medium fixed compose", 20, kind="archive")
    paths = {hit.path for hit in result.results}
    assert f"{FOLDER}/{SEED_NAMES[1]}" in paths
    assert all(hit.kind == "archive" for hit in result.results)
    live = search(config, "Qwen2-32B-Instruct-AWQ medium fixed compose", 20, kind="profile")
    assert all(not hit.path.startswith("archives/") for hit in live.results)


@pytest.mark.parametrize("use_git", [False, True], ids=["plain", "git"])
def test_archiving_a_restored_file_again_keeps_its_history(tmp_path, use_git):
    """Archive, restore, archive again on the same date: the same archived path, twice. The
    second archiving used to replace the first entry and lose its restored_at."""
    root = tmp_path / "repo"
    hashes = make_tree(root, use_git=use_git)
    name = SEED_NAMES[1]
    args = ["archive", name, "--date", "2025-10-16", "--yes"]
    assert sddd_here(*args, "--reason", "first time", cwd=root).returncode == 0
    assert sddd_here("restore", f"{FOLDER}/{name}", cwd=root).returncode == 0
    assert sddd_here(*args, "--reason", "second time", cwd=root).returncode == 0
    manifest = yaml.safe_load((root / FOLDER / "MANIFEST.yaml").read_text())
    entries = [e for e in manifest["files"] if e["original"] == name]
    assert [(e["reason"], bool(e["restored_at"])) for e in entries] == [("first time", True),
                                                                        ("second time", False)]
    assert entries[0]["restored_to"] == name
    assert sha256_of(root / FOLDER / name) == hashes[name] and not (root / name).exists()
    readme = (root / FOLDER / "README.md").read_text()
    assert "## Restored files" in readme and f"]({name})" in readme
    [summary] = list_archives(load_config(root / "sddd.yaml"))
    assert (summary.archived, summary.restored, summary.problems) == (1, 1, [])
    # And the live entry is the one a restore finds: the round trip works a second time.
    assert sddd_here("restore", name, cwd=root).returncode == 0
    assert sha256_of(root / name) == hashes[name]
