"""Build an evaluation corpus of bench/eval/corpora.yaml from a local clone or tarball.

    python bench/eval/materialise.py NAME SOURCE [--out bench/corpora]
    python bench/eval/materialise.py --all --from DIR [--out bench/corpora]

SOURCE is a git work tree or bare git directory that holds the corpus's pinned commit, or the
tarball corpora.yaml names (checked against its sha256). With ``--all``, DIR holds one source
per corpus: ``<owner>+<repo>`` (a git folder, or one with a ``repo`` git directory inside) or the
tarball itself. The files selected by the corpus's globs, minus its excludes, are written under
``OUT/NAME/`` with ``corpus.json`` (repository, commit, file count): the harness reads that to
know a corpus is there and which commit it is. Symbolic links are left out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CORPORA = HERE / "corpora.yaml"
DEFAULT_OUT = HERE.parent / "corpora"


class Missing(Exception):
    """A source cannot be used; the message says what to do."""


def load_corpora() -> dict[str, dict]:
    return yaml.safe_load(CORPORA.read_text(encoding="utf-8"))["corpora"]


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as pathlib reads it: ``**/`` spans zero or more folders, ``*`` and ``?`` stay in one."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def selected(path: str, spec: dict) -> bool:
    """The corpus's globs minus its excludes."""
    if not any(glob_regex(glob).match(path) for glob in spec["globs"]):
        return False
    return not any(glob_regex(pattern).match(path) for pattern in spec.get("exclude") or [])


def _git_dir(source: Path) -> Path | None:
    for candidate in (source, source / ".git", source / "repo"):
        probe = subprocess.run(["git", "--git-dir", str(candidate), "rev-parse", "--git-dir"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return candidate
    return None


def from_git(git_dir: Path, spec: dict) -> dict[str, bytes]:
    """The selected regular files at the pinned commit (only their blobs are read: a snapshot
    that lacks other large blobs still works)."""
    commit = spec["commit"]
    git = ["git", "--git-dir", str(git_dir)]
    listing = subprocess.run([*git, "ls-tree", "-r", "-z", commit], capture_output=True, check=False)
    if listing.returncode != 0:
        raise Missing(f"{git_dir} does not hold commit {commit} of {spec['repo']}; "
                      f"fetch it (git fetch origin {commit}) or clone the repository")
    wanted = []
    for entry in listing.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        mode, kind, blob = meta.split()
        if kind == "blob" and mode != "120000" and selected(path, spec):
            wanted.append((path, blob))
    request = "".join(f"{blob}\n" for _, blob in wanted).encode()
    done = subprocess.run([*git, "cat-file", "--batch"], input=request, capture_output=True, check=True)
    files, data = {}, done.stdout
    for path, _blob in wanted:
        header, _, data = data.partition(b"\n")
        size = int(header.split()[2])
        files[path], data = data[:size], data[size + 1:]
    return files


def from_tarball(path: Path, spec: dict) -> dict[str, bytes]:
    expected = spec.get("tarball_sha256")
    if expected and hashlib.sha256(path.read_bytes()).hexdigest() != expected:
        raise Missing(f"{path} is not the tarball corpora.yaml pins (sha256 differs)")
    return _members(tarfile.open(path), spec.get("tarball_prefix", ""), spec)


def _members(archive: tarfile.TarFile, prefix: str, spec: dict) -> dict[str, bytes]:
    files = {}
    for member in archive.getmembers():
        if not member.isfile() or not member.name.startswith(prefix):
            continue
        rel = member.name[len(prefix):]
        if selected(rel, spec):
            handle = archive.extractfile(member)
            if handle is not None:
                files[rel] = handle.read()
    return files


def materialise(name: str, source: Path, out: Path) -> Path:
    corpora = load_corpora()
    if name not in corpora:
        raise Missing(f"no corpus {name!r} in {CORPORA.name}; known: {', '.join(corpora)}")
    spec = corpora[name]
    if not source.exists():
        raise Missing(f"{source} does not exist; clone {spec['repo']} (or get {spec.get('tarball', 'it')})")
    git_dir = None if source.is_file() else _git_dir(source)
    if git_dir is not None:
        files = from_git(git_dir, spec)
    elif source.is_file() and spec.get("tarball"):
        files = from_tarball(source, spec)
    else:
        raise Missing(f"{source} is neither a git clone nor the tarball {spec.get('tarball', '(none)')}")
    if not files:
        raise Missing(f"no file of {source} matches the globs of {name}")
    target = out / name
    work = out / f".{name}.partial"
    shutil.rmtree(work, ignore_errors=True)
    for rel, data in files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    meta = {"name": name, "repo": spec["repo"], "commit": spec["commit"], "files": len(files)}
    (work / "corpus.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    return target


def _source_in(folder: Path, name: str, spec: dict) -> Path:
    owner_repo = spec["repo"].replace("/", "+")
    for candidate in (folder / owner_repo, folder / spec.get("tarball", "\0"), folder / name):
        if candidate.exists():
            return candidate
    raise Missing(f"no source for {name} in {folder} (looked for {owner_repo}/ or "
                  f"{spec.get('tarball', name)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", nargs="?", help="corpus name (see bench/eval/corpora.yaml)")
    parser.add_argument("source", nargs="?", type=Path, help="git clone / git dir / tarball")
    parser.add_argument("--all", action="store_true", help="every corpus, from the sources in --from")
    parser.add_argument("--from", dest="folder", type=Path, help="folder holding the sources")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    jobs: list[tuple[str, Path | None]] = []
    if args.all:
        if args.folder is None:
            parser.error("--all needs --from DIR")
        jobs = [(name, None) for name in load_corpora()]
    elif args.name and args.source:
        jobs = [(args.name, args.source)]
    else:
        parser.error("name a corpus and its source, or use --all --from DIR")
    status = 0
    for name, source in jobs:
        try:
            spec = load_corpora().get(name, {})
            where = source or _source_in(args.folder, name, spec)
            target = materialise(name, where, args.out)
            count = json.loads((target / "corpus.json").read_text())["files"]
            print(f"{name}: {count} files from {where} -> {target}")
        except Missing as exc:
            print(f"{name}: not built: {exc}", file=sys.stderr)
            status = 4
    return status


if __name__ == "__main__":
    sys.exit(main())
