"""What a new user meets in the first hour, in a fresh clone of this repository (no `.env`): dry runs
that need no secret, `-o` into a folder that does not exist, files other users can read, "did you
mean", help texts that say what the score is, a query with no word in it, and piped output that
is the same whole lines whatever COLUMNS says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sddd.cli import COMMANDS
from tests.helpers import REPO, planted_in

SECRETS = ("HUGGING_FACE_HUB_TOKEN", "VLLM_API_KEY_MEDIUM")
GRID = "examples/grid-medium.yml"


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """This repository's configuration as a fresh clone has it: no .env, no index."""
    root = tmp_path_factory.mktemp("clone")
    for name in ("sddd.yaml", ".env.example"):
        shutil.copy2(REPO / name, root / name)
    for name in ("profiles", "examples"):
        shutil.copytree(REPO / name, root / name)
    (root / "docs").mkdir()
    assert not (root / ".env").exists()
    return root


def fresh(*args: str, cwd: Path, columns: int = 200) -> tuple[int, str, str]:
    """``sddd *args`` in a pipe, with none of the profile's secrets in the environment."""
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    proc = subprocess.run([sys.executable, "-m", "sddd.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**env, "COLUMNS": str(columns)})
    assert "Traceback" not in proc.stderr, proc.stderr
    assert not planted_in(proc.stdout + proc.stderr)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("args", [("deploy", "--dry-run"), ("deploy", "--dry-run", "--target", "swarm"),
                                  ("grid", "run", GRID, "--dry-run")])
def test_dry_runs_need_no_secret(clone, args):
    code, out, err = fresh(*args, cwd=clone)
    assert code == 0, err
    notices = [line for line in err.splitlines() if "not set" in line]
    assert notices == [f"2 variable(s) not set, shown as ${{NAME}}: {', '.join(SECRETS)}; "
                       f"`sddd {' '.join(a for a in args if a not in (GRID, '--dry-run'))}` without "
                       "--dry-run needs them"], err
    if args[0] == "deploy":
        assert "HF_TOKEN=${HUGGING_FACE_HUB_TOKEN}" in out and "VLLM_API_KEY=${VLLM_API_KEY_MEDIUM}" in out


def test_report_and_export_need_no_secret_but_deploy_does(clone):
    code, out, err = fresh("grid", "report", GRID, cwd=clone)
    assert code == 1 and "no champion" in out, err  # nothing measured yet: 1, not a config error (2)
    code, out, err = fresh("export", "kubernetes", "medium", cwd=clone)
    assert code == 0 and "kind: Deployment" in out, err
    code, out, err = fresh("deploy", "--timeout", "1", cwd=clone)  # starts something: needs them
    assert code == 2 and "variable(s) not set: HUGGING_FACE_HUB_TOKEN" in err, err


def test_output_into_a_missing_folder_outside_the_repository_creates_nothing(clone, tmp_path):
    missing = tmp_path / "nonexistent" / "dir"
    for args in (("export", "kubernetes", "medium", "-o", str(missing / "x.yaml")),
                 ("check", "-f", "junit", "-o", str(missing / "report.xml")),
                 ("site", "build", "-o", str(missing / "site"))):
        code, _, err = fresh(*args, cwd=clone)
        assert code == 4, (args, err)
        assert err.strip().splitlines() == [f"error: --output {missing / args[-1].rsplit('/', 1)[-1]}: "
                                            f"the folder {missing} does not exist; create it first or "
                                            "write into an existing folder"], err
        assert not (tmp_path / "nonexistent").exists()
    # Inside the repository a missing folder is made, as `-o .sddd/reports/check.json` needs.
    code, _, err = fresh("export", "kubernetes", "medium", "-o", "reports/k8s/medium.yaml", cwd=clone)
    assert code == 0 and (clone / "reports" / "k8s" / "medium.yaml").is_file(), err


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_written_files_follow_the_umask(clone, tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        code, _, err = fresh("export", "kubernetes", "medium", "-o", str(tmp_path / "medium.yaml"), cwd=clone)
    finally:
        os.umask(old)
    assert code == 0, err
    assert (tmp_path / "medium.yaml").stat().st_mode & 0o777 == mode


def test_did_you_mean(clone):
    code, _, err = fresh("serach", "gpu", cwd=clone)
    assert code == 2 and "No such command 'serach'. Did you mean 'search'?" in err, err
    code, _, err = fresh("deploy", "mediun", "--dry-run", cwd=clone)
    assert code == 2 and "unknown profile 'mediun'" in err and "did you mean 'medium'?" in err, err
    code, _, err = fresh("search", "--topp", "3", "gpu", cwd=clone)
    assert code == 2 and "--top" in err, err
    code, _, err = fresh("grid", "rn", GRID, cwd=clone)
    assert code == 2 and "Did you mean 'run'?" in err, err


def test_a_query_with_no_word_is_refused_like_an_empty_one(clone):
    for query in ("?!...", "  "):
        code, out, err = fresh("search", query, cwd=clone)
        assert code == 2 and out == "", err
        assert len(err.strip().splitlines()) == 1 and "say what you are looking for" in err


GROUPS = [(name,) for name in COMMANDS] + [("grid", "run"), ("grid", "report"), ("grid", "apply"),
                                          ("export", "kubernetes"), ("site", "build"), ("site", "serve")]


def test_help_says_what_the_score_is_and_cuts_nothing(clone):
    for args in [(), *GROUPS]:
        code, out, err = fresh(*args, "--help", cwd=clone, columns=80)
        assert code == 0, (args, err)
        assert "cosine" not in out, args  # the score shown is the calibrated 0-1 one
        commands = out.partition("\nCommands:\n")[2]
        assert "..." not in commands, (args, commands)


def normalised(text: str) -> str:
    return re.sub(r"\d+(\.\d+)?", "N", text)


@pytest.fixture(scope="module")
def configured(clone, tmp_path_factory) -> Path:
    """The clone once its .env is filled in (from .env.example)."""
    root = tmp_path_factory.mktemp("configured")
    shutil.copytree(clone, root, dirs_exist_ok=True)
    shutil.copy2(root / ".env.example", root / ".env")
    return root


@pytest.mark.parametrize("args", [("deploy", "--dry-run"), ("grid", "run", GRID, "--dry-run"),
                                  ("grid", "report", GRID), ("export", "kubernetes", "medium"),
                                  ("export", "kubernetes", "medium", "-o", "medium-manifests.yaml"),
                                  ("status", "--history"), ("drift",), ("audit",),
                                  ("archive", "--detect"), ("archive", "--list")])
def test_piped_output_is_the_same_whole_lines_whatever_columns_says(configured, args):
    code, narrow, err_narrow = fresh(*args, cwd=configured, columns=80)
    wide_code, wide, err_wide = fresh(*args, cwd=configured, columns=1000)
    assert code == wide_code
    assert narrow.splitlines() == wide.splitlines()  # nothing wrapped, squeezed or cut at 80
    assert normalised(err_narrow).splitlines() == normalised(err_wide).splitlines()
    assert "…" not in narrow + err_narrow
