"""Finding the repository's files: config globs, env files, and git's view of the tree.

Nothing outside the repository is read through a symbolic link inside it (``link_escape``).

The git helpers only read (is this a work tree, which files are tracked, who is the user);
every function works without git installed, and then nothing is a repository. Paths are
relative to ``root`` (the folder holding sddd.yaml), which may sit below the repository's top
level: git is always run from ``root``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def link_escape(root: Path, path: Path) -> Path | None:
    """Where ``path`` really leads when a symbolic link (the file, or a folder above it) takes it
    out of ``root``; None when it stays inside, or was outside to begin with (an absolute glob)."""
    root = root.resolve()
    lexical = Path(os.path.abspath(path))
    if not lexical.is_relative_to(root):
        return None
    try:
        target = lexical.resolve()
    except (RuntimeError, OSError):  # a link loop (RuntimeError on 3.11, OSError ELOOP later): it
        return None  # leads nowhere, and reading it fails with its own one-line error
    return None if target.is_relative_to(root) else target


def refused_link(target: Path) -> str:
    """Why a link out of the repository is not read (a ``skipped`` line's reason)."""
    return (f"symbolic link to {target}, outside the repository: not read (copy the file in "
            "if it belongs to the repository)")


def glob_files(root: Path, pattern: str, refused: list[tuple[Path, Path]] | None = None) -> list[Path]:
    """The files matching a glob of sddd.yaml (relative to ``root``, or absolute).

    A file that a symbolic link takes out of ``root`` is left out, and added to ``refused`` as
    (path, where it leads) when given: a link must not make sddd read ``/etc/passwd``.
    """
    if os.path.isabs(pattern):
        base = Path(os.path.abspath(pattern)).anchor
        pattern = os.path.relpath(pattern, base)
        base_path = Path(base)
    else:
        base_path = root
    found = []
    for path in base_path.glob(pattern):
        if not path.is_file():
            continue
        target = link_escape(root, path)
        if target is not None:
            if refused is not None:
                refused.append((path, target))
            continue
        found.append(path)
    return found


def is_env_file(name: str) -> bool:
    """``.env``, ``.env.local``, ``prod.env``: files of secrets, never indexed (the template
    ``.env.example`` is not one)."""
    return name == ".env" or (name.startswith(".env.") and name != ".env.example") or name.endswith(".env")


def run_git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError:  # git is not installed: behave as outside a repository
        return subprocess.CompletedProcess(["git", *args], 127, "", "git not found")


def in_work_tree(root: Path) -> bool:
    result = run_git(root, "rev-parse", "--is-inside-work-tree")
    return result.returncode == 0 and result.stdout.strip() == "true"


def tracked(root: Path, paths: list[str]) -> set[str]:
    """The subset of ``paths`` that git's index holds."""
    if not paths:
        return set()
    result = run_git(root, "ls-files", "-z", "--", *paths)
    if result.returncode != 0:
        return set()
    return {p for p in result.stdout.split("\0") if p}


def git_files(root: Path) -> list[str]:
    """Tracked and untracked files that .gitignore does not exclude, relative to ``root``."""
    result = run_git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return [p for p in result.stdout.split("\0") if p] if result.returncode == 0 else []


def git_user(root: Path) -> str | None:
    """``Name <email>`` from git's config, or None when git does not know."""
    name = run_git(root, "config", "user.name").stdout.strip()
    email = run_git(root, "config", "user.email").stdout.strip()
    if not name and not email:
        return None
    return f"{name} <{email}>" if name and email else name or email
