"""What each MCP tool may touch: an agent is an untrusted caller, and this module is the one
place that says how far it reaches. Every tool has its line in ``REACH`` (the manual page and the
tests read it; a tool without one is a test failure), and the checks below are called by the
tools and resources before anything is read, moved, started or stopped.

- Read tools and resources read indexed documents and profiles, nothing else: a document is
  served only when the index covers it and it lies in the repository (no symbolic link out).
- ``archive`` moves only what detection finds (superseded copies) or what ``archive.agent_globs``
  of sddd.yaml allows, into the archive root; never a file in a dot-folder, sddd.yaml or the index.
- ``restore`` writes only to a path inside the repository that is free, outside the archive root,
  the index and every dot-folder (``.git/hooks/post-checkout`` would run code at the next
  checkout; ``.github/workflows/…`` in CI), whether the path is the file's original one or ``to``.
- ``deploy`` and ``down`` take a profile NAME from ``profiles/`` (the CLI also takes a compose
  file path; an agent does not: a path would let it start or stop any compose file on the host).

Refusals are ``Refused`` (a UsageError, so one line to the agent, and exit 2 where a command
meets one), each naming the rule.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from sddd.core.config import Config
from sddd.core.errors import UsageError
from sddd.core.files import glob_files, link_escape

if TYPE_CHECKING:
    from sddd.archive.archiving import ArchivePlan

REACH: dict[str, str] = {
    "search": "reads the index: passages of indexed documents",
    "check": "reads the index and the targets of sddd.yaml",
    "drift": "reads indexed guides (and reports) and the profiles",
    "audit": "reads the repository's file list, indexed documents and profiles; masks secrets",
    "profile": "reads one profile of profiles/, by name",
    "archive_detect": "reads compose files to list superseded copies; moves nothing",
    "explain_flag": "reads the profiles and the index",
    "archive": "moves files that detection finds or archive.agent_globs allows into the archive "
               "root, with a manifest (writes: --allow-writes)",
    "restore": "writes an archived file back to a free path in the repository, never in a "
               "dot-folder, the index or the archive root (writes: --allow-writes)",
    "deploy": "starts a profile, by name, on the local Docker engine (writes: --allow-writes)",
    "down": "stops a profile's containers, by name (writes: --allow-writes)",
}
RESOURCES = "indexed documents (sddd://docs/…) and profiles by name (sddd://profiles/…)"


class Refused(UsageError):
    """An agent asked for something outside what its tool is for."""


def _hidden(rel: str) -> str | None:
    """The dot-folder (or dotfile) ``rel`` lies in, if any."""
    return next((part for part in PurePosixPath(rel).parts if part.startswith(".")), None)


def profile_name(config: Config, value: str | None) -> str | None:
    """``value`` when it names a profile of ``profiles/`` (None: the canonical one)."""
    from sddd.compose.profiles import profile_names

    if value is None:
        return None
    names = profile_names(config)
    if value not in names:
        shown = ", ".join(names) or "none"
        if "/" in value or "\\" in value or value.endswith((".yml", ".yaml")):
            raise Refused(f"{value!r} is a file path: an agent names a profile of profiles/ "
                          f"instead; known profiles: {shown}")
        raise Refused(f"unknown profile {value!r}; known profiles: {shown}")
    return value


def document(config: Config, rel: str, indexed: bool) -> Path:
    """The file of an indexed document ``rel``, checked to lie in the repository."""
    pure = PurePosixPath(rel)
    if not rel or pure.is_absolute() or ".." in pure.parts:
        raise Refused(f"{rel!r} is outside the repository; give a path relative to its root, "
                      "as the resource list shows them")
    if not indexed:
        raise Refused(f"{rel} is not an indexed document; list the resources to see them "
                      "(the docs: and profiles: globs of sddd.yaml say what is indexed)")
    path = config.resolve(rel)
    if link_escape(config.root, path) is not None:
        raise Refused(f"{rel} leads outside the repository through a symbolic link; not served")
    return path


def _agent_allowed(config: Config) -> set[str]:
    found: set[str] = set()
    for pattern in config.section("archive")["agent_globs"]:
        found |= {config.relpath(p) for p in glob_files(config.root, pattern)}
    return found


def archive_plan(config: Config, plan: ArchivePlan, detected: set[str]) -> None:
    """Refuse a plan that moves a file neither detection nor ``archive.agent_globs`` allows."""
    from sddd.archive.archiving import archive_root

    root = archive_root(config)
    if not (config.root / plan.folder).resolve().is_relative_to(root):
        raise Refused(f"{plan.folder} is not inside the archive root {config.relpath(root)}/")
    allowed = detected | _agent_allowed(config)
    for planned in plan.files:
        hidden = _hidden(planned.original)
        if hidden is not None:
            raise Refused(f"{planned.original}: lies in {hidden}; an agent does not archive files "
                          "of dot-folders or dotfiles")
        if config.path is not None and planned.original == config.relpath(config.path):
            raise Refused(f"{planned.original}: is sddd's configuration")
        if planned.original not in allowed:
            raise Refused(f"{planned.original}: not a superseded copy that detection finds, nor "
                          "matched by archive.agent_globs in sddd.yaml; an agent archives only "
                          "those (a person can: `sddd archive PATH --reason …`)")


def restore_target(config: Config, target: str) -> None:
    """Refuse a restore to a dot-folder, the index, the archive root or outside the repository."""
    from sddd.archive.archiving import archive_root

    pure = PurePosixPath(target)
    if pure.is_absolute() or ".." in pure.parts:
        raise Refused(f"{target}: outside the repository", option="to")
    hidden = _hidden(target)
    if hidden is not None:
        raise Refused(f"{target}: lies in {hidden}; an agent restores only to paths outside "
                      "dot-folders (.git/, .sddd/, .github/ …) and dotfiles", option="to")
    path = (config.root / target).resolve()
    inside = ((config.index_dir.resolve(), "sddd's index"), (archive_root(config), "the archive root"))
    for folder, what in inside:
        if path.is_relative_to(folder):
            raise Refused(f"{target}: inside {what}; restore to a live path", option="to")
    if not path.is_relative_to(config.root) or _hidden(config.relpath(path)):
        raise Refused(f"{target}: a symbolic link takes it out of the repository or into a "
                      "dot-folder", option="to")
