"""The repository's entropy, naming and hygiene: what the seeds counted and checked by hand.

``run_audit(config) -> AuditReport``:

- budgets (``audit:`` in sddd.yaml): compose files outside the profiles, scripts, documents per
  kind, counted against their limits (an unset limit is only counted);
- naming: ``profiles/{size}.yml`` with a ``vllm-{size}`` service, and the variant anti-patterns
  that ``sddd archive --detect`` finds (``sddd.variants.detect_variants``: the same detector);
- links: files that a symbolic link takes out of the repository (never read);
- secrets: a tracked ``.env``; secret-looking strings in tracked files (``file:line``, value
  masked); variables the profiles use but ``.env.example`` lacks, and the reverse;
- compose lint: ``sddd.lint`` over every profile, the rules deploy's pre-flight runs.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sddd.compose.lint import lint_service, missing_image
from sddd.compose.profiles import base_path, load_profile, profile_files, profile_names
from sddd.compose.variants import detect_variants
from sddd.consistency.drift import doc_files
from sddd.consistency.report import FindingsReport, severity_order
from sddd.core.config import Config
from sddd.core.errors import InputError
from sddd.core.files import git_files, in_work_tree, is_env_file, link_escape, tracked
from sddd.core.secrets import find_secrets, redact
from sddd.core.yamlio import read_text
from sddd.index.markdown_chunks import doc_kind, split_front_matter

MAX_SCAN_BYTES = 1 << 20  # larger tracked files are data, not config
ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
CONFIG_SUFFIXES = (".yml", ".yaml", ".json", ".toml", ".ini", ".cfg", ".conf", ".properties", ".env")
PLAIN_SECRET_KEYS = {"api_key", "api-key", "apikey", "token", "password", "secret", "hf_token",
                     "access_token"}
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "site"}


@dataclass
class Budget:
    name: str  # "compose files outside profiles", "scripts", "guide documents", ...
    count: int
    limit: int | None  # None: counted, no limit set
    files: list[str]
    key: tuple[str, ...] = ()  # where sddd.yaml sets the limit: ("audit", "max_scripts")

    @property
    def over(self) -> bool:
        return self.limit is not None and self.count > self.limit

    def to_json(self) -> dict[str, Any]:
        return {**{k: v for k, v in self.__dict__.items() if k != "key"}, "over": self.over,
                "setting": ".".join(self.key)}


@dataclass
class AuditFinding:
    rule: str  # "budget", "naming", "variant", "env_tracked", "secret", "env_missing", "env_unused",
    #            "profile", "link_outside", or "lint:<rule id>"
    severity: str
    message: str
    path: str | None = None
    line: int | None = None
    files: list[str] | None = None  # budget: every file counted against it

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.path and self.line else (self.path or "")

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class AuditReport(FindingsReport):
    findings: list[AuditFinding]  # narrower than the base's
    budgets: list[Budget] = field(default_factory=list)
    in_git: bool = False
    notes: list[str] = field(default_factory=list)
    nothing: str | None = None  # set when there was no profile to audit: what was looked for, where

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "fail_on": self.fail_on, "git": self.in_git, "counts": self.counts(),
                "budgets": [b.to_json() for b in self.budgets], "notes": self.notes,
                "nothing_to_check": self.nothing, "findings": [f.to_json() for f in self.findings]}


class _Audit:
    def __init__(self, config: Config):
        self.config, self.opts = config, config.section("audit")
        self.findings: list[AuditFinding] = []
        self.in_git = in_work_tree(config.root)
        self.files = self._files()
        self.used: set[str] = set()  # variables some profile interpolates
        self._example: tuple[str, dict[str, int]] | None = None
        self._example_read = False
        self.candidates = detect_variants(config)
        self.folded: set[str] = set()  # variant files the compose budget's finding already lists
        self.missing_images: dict[tuple[str, str | None, int | None], list[str]] = {}

    def add(self, rule: str, message: str, path: str | None = None, line: int | None = None,
            severity: str | None = None, files: list[str] | None = None) -> None:
        # sddd.yaml's audit.severity (defaults in the schema); a profile that cannot be read or
        # deployed is always an error, and lint findings bring their own rule's level
        level = severity or self.opts["severity"].get(rule) or "error"
        self.findings.append(AuditFinding(rule, level, message, path, line, files))

    def _files(self) -> list[str]:
        """The repository's files (git's view: tracked and not ignored), archives and index left out."""
        root, config = self.config.root, self.config
        if self.in_git:
            listed = git_files(root)
        else:
            listed = []
            for dirpath, dirs, names in os.walk(root):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                # A link to a folder is an entry, as git lists it (the walk does not enter it).
                links = [d for d in dirs if Path(dirpath, d).is_symlink()]
                listed += [config.relpath(Path(dirpath) / n) for n in [*names, *links]]
        skip = [config.relpath(config.archives_dir) + "/", config.relpath(config.index_dir) + "/"]
        kept = []
        for rel in sorted(f for f in listed if not any(f.startswith(s) for s in skip)):
            if find_secrets(rel):  # counted nowhere, shown nowhere but here, its name redacted
                self.add("secret", f"the file's name holds a secret ({find_secrets(rel)[0].kind}); "
                         "rename the file, and rotate the secret", redact(rel))
            else:
                kept.append(rel)
        return kept

    def budgets(self) -> list[Budget]:
        opts, out = self.opts, []
        outside = [c.path for c in self.candidates if "outside-profiles" in c.causes]
        out.append(Budget("compose files outside profiles", len(outside),
                          opts["max_compose_outside_profiles"], outside,
                          ("audit", "max_compose_outside_profiles")))
        scripts = [f for f in self.files if _matches(f, opts["scripts"])]
        out.append(Budget("scripts", len(scripts), opts["max_scripts"], scripts, ("audit", "max_scripts")))
        kinds: dict[str, list[str]] = {"guide": [], "report": []}
        for path in doc_files(self.config):
            rel = self.config.relpath(path)
            try:
                meta, _ = split_front_matter(read_text(path, rel), rel)
            except InputError:
                meta = {}
            kinds[doc_kind(meta, rel, "guide")].append(rel)
        limits = opts["max_docs"] or {}
        for kind, files in kinds.items():
            out.append(Budget(f"{kind} documents", len(files), limits.get(kind), files,
                              ("audit", "max_docs", kind)))
        out.append(Budget("documents in all", sum(map(len, kinds.values())), limits.get("total"),
                          sorted(f for files in kinds.values() for f in files),
                          ("audit", "max_docs", "total")))
        for budget in out:
            if budget.over and budget.limit is not None:
                self._over(budget)
        return out

    def _over(self, budget: Budget) -> None:
        assert budget.limit is not None
        """One finding per budget exceeded, at the line of sddd.yaml that sets it, listing its files
        (the variant copies among them are not warned about again one by one)."""
        marks = {c.path: _marks(c.causes) for c in self.candidates}
        listed = ", ".join(f"{f} ({marks[f]})" if marks.get(f) else f for f in budget.files)
        if budget.key[-1] == "max_compose_outside_profiles":
            self.folded = set(budget.files)
        config = self.config
        self.add("budget", f"{budget.count} {budget.name}, budget {budget.limit}: {listed}; archive "
                 f"{budget.count - budget.limit} of them (`sddd archive`) or raise {'.'.join(budget.key)} "
                 "in sddd.yaml", config.relpath(config.path) if config.path else None,
                 config.line_of(*budget.key), files=list(budget.files))

    def naming(self) -> None:
        pattern = self.opts["profile_name"]
        for name, path in sorted(profile_files(self.config).items()):
            rel = self.config.relpath(path)
            if not re.fullmatch(pattern, name):
                self.add("naming", f"profile name {name!r} breaks the convention profiles/{{size}}.yml "
                         f"(size matching {pattern}); rename it or archive it", rel, 1)
        for candidate in self.candidates:
            if candidate.causes == ["outside-profiles"] and not candidate.near_duplicate:
                continue  # a standalone compose file: counted by the budget
            if candidate.path in self.folded:
                continue  # listed by the compose budget's finding
            self.add("variant", f"{candidate.reason}: {'; '.join(candidate.reasons)}; "
                     f"archive it with `sddd archive {candidate.path}`", candidate.path)

    def profiles(self) -> None:
        service_name = self.opts["service_name"]
        for name in profile_names(self.config):
            try:
                profile = load_profile(self.config, name, strict=False)
            except InputError as exc:
                self.add("profile", f"cannot read the profile: {exc.message}", exc.path, exc.line)
                continue
            svc = profile.service
            expected = service_name.format(size=name)
            if svc.name != expected:
                source = svc.source_of()
                self.add("naming", f"service {svc.name!r} in profile {name} should be named {expected!r}",
                         source.path if source else None, source.line if source else None)
            for service in profile.services:
                if not service.image and service.base_only:  # said once, naming every size file
                    where = service.source_of()
                    key = (service.name, where.path if where else None, where.line if where else None)
                    self.missing_images.setdefault(key, []).extend(service.files[1:])
                    continue
                for lint in lint_service(service):
                    self.add("profile", f"[{lint.rule}] {lint.message}", lint.path, lint.line,
                             severity=lint.severity)
                    self.findings[-1].rule = f"lint:{lint.rule}"
            self._variables(name, profile.variables, profile.files)
        for (service_name, path, line), sizes in self.missing_images.items():
            base = self.config.relpath(base_path(self.config))
            self.add("profile", f"[image-pinned] {missing_image(service_name, base, sizes)}", path, line,
                     severity="error")
            self.findings[-1].rule = "lint:image-pinned"

    def _variables(self, name: str, used: list[str], files: list[str]) -> None:
        self.used.update(used)
        example = self.example()
        if example is None:
            return
        rel, defined = example
        for var in used:
            if var not in defined:
                path, line = _first_use(self.config, files, var)
                self.add("env_missing", f"profile {name} uses ${{{var}}} but {rel} does not list it; "
                         f"add {var}= with a comment", path, line)

    def example(self) -> tuple[str, dict[str, int]] | None:
        """(path, variable -> line) of .env.example, or None when it does not exist."""
        if not self._example_read:
            self._example_read = True
            rel = self.opts["env_example"]
            path = self.config.resolve(rel)
            if path.is_file():
                defined: dict[str, int] = {}
                for number, line in enumerate(read_text(path, rel).splitlines(), start=1):
                    if (m := ENV_LINE.match(line)) is not None:
                        defined.setdefault(m.group(1), number)
                self._example = (rel, defined)
        return self._example

    def unused_variables(self) -> None:
        example = self.example()
        if example is None:
            if self.used:
                self.add("env_missing", f"{self.opts['env_example']} does not exist but the profiles use "
                         f"{', '.join(sorted(self.used))}; create it with one commented line per variable")
            return
        rel, defined = example
        for var, line in sorted(defined.items(), key=lambda kv: kv[1]):
            if var not in self.used:
                self.add("env_unused", f"{var} is in {rel} but no profile uses it; remove it or use it",
                         rel, line)

    def links(self) -> None:
        """Files that a symbolic link takes out of the repository: sddd never reads them, and a
        reader of the repository should not either (``ln -s /etc/passwd docs/guides/x.md``)."""
        root, config = self.config.root, self.config
        refused: list[tuple[Path, Path]] = []
        doc_files(config, refused)
        seen = set()
        for rel in self.files:
            target = link_escape(root, root / rel)
            if target is not None:
                refused.append((root / rel, target))
        for path, target in refused:
            rel = config.relpath(path)
            if rel not in seen:
                seen.add(rel)
                self.add("link_outside", f"{rel} is a symbolic link to {target}, outside the repository; "
                         "sddd does not read it: replace the link with the file itself, or remove it", rel)

    def secrets(self) -> None:
        if not self.in_git:
            return
        root = self.config.root
        listed = sorted(tracked(root, ["."]))
        for rel in listed:
            if is_env_file(rel.rsplit("/", 1)[-1]):
                self.add("env_tracked", f"{rel} is tracked by git: its secrets are in the history; run "
                         f"`git rm --cached {rel}`, add it to .gitignore and rotate the secrets", rel)
        for rel in listed:
            path = root / rel
            if _matches(rel, self.opts["secrets_allow"]) or not path.is_file() or path.is_symlink():
                continue
            if path.stat().st_size > MAX_SCAN_BYTES:
                continue
            try:
                text = read_text(path, rel)
            except InputError:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                for match in find_secrets(line):
                    if not _real_secret(match.kind, match.value, rel):
                        continue
                    fix = "rotate it" if is_env_file(rel.rsplit("/", 1)[-1]) else \
                        "move it to .env (git-ignored), reference it as ${VAR}, and rotate it"
                    self.add("secret", f"{match.kind} {match.masked} in a tracked file; {fix}", rel, number)


def _real_secret(kind: str, value: str, rel: str) -> bool:
    """Token shapes (hf_..., sk-...) anywhere; a value assigned to a secret-named key only in config
    files (.env*, YAML, JSON, TOML, INI) under an env-style NAME, a --flag or a plain secret key:
    in source code and prose `key = ...` is a variable, not a secret."""
    if not kind.startswith("value of "):
        return True
    name, base = kind[len("value of "):], rel.rsplit("/", 1)[-1].lower()
    if value.startswith(("<", "{", "$", "(", "[")):
        return False
    config_like = is_env_file(base) or base.startswith(".env") or base.endswith(CONFIG_SUFFIXES)
    return config_like and bool(re.fullmatch(r"[A-Z][A-Z0-9_]*|--?[a-z][a-z0-9-]*", name)
                                or name.lower() in PLAIN_SECRET_KEYS)


def _marks(causes: list[str]) -> str:
    """``["marker:fixed", "outside-profiles"]`` -> ``-fixed``: what makes a file look superseded."""
    words = [f"-{c[7:]}" for c in causes if c.startswith("marker:")]
    words += [c for c in causes if c in ("dated-copy", "editor-backup")]
    return ", ".join(words)


def _matches(rel: str, patterns: list[str]) -> bool:
    """fnmatch with ``**/`` also matching no folder at all (``**/*.sh`` matches ``run.sh``)."""
    return any(fnmatch.fnmatch(rel, p) or (p.startswith("**/") and fnmatch.fnmatch(rel, p[3:]))
               for p in patterns)


def _first_use(config: Config, files: list[str], var: str) -> tuple[str | None, int | None]:
    for rel in files:
        try:
            lines = read_text(config.resolve(rel), rel).splitlines()
        except InputError:
            continue
        for number, line in enumerate(lines, start=1):
            if re.search(rf"\$\{{?{re.escape(var)}\b", line):
                return rel, number
    return (files[-1] if files else None), None


def run_audit(config: Config) -> AuditReport:
    audit = _Audit(config)
    budgets = audit.budgets()
    audit.naming()
    audit.profiles()
    audit.unused_variables()
    audit.links()
    audit.secrets()
    notes = [] if audit.in_git else [
        "not a git work tree: the tracked-file checks (.env, secrets) were skipped"]
    unique = {(f.rule, f.path, f.line, f.message): f for f in audit.findings}  # a base file's line,
    findings = sorted(unique.values(), key=lambda f: (severity_order(f.severity), f.rule,  # once
                                                      f.path or "", f.line or 0))
    nothing = None if profile_names(config) else (
        f"no compose profile: `profiles:` ({', '.join(config.profiles)}) matched none under "
        f"{config.root}; point `profiles:` in sddd.yaml at the compose files")
    return AuditReport(findings=findings, fail_on=audit.opts["fail_on"], budgets=budgets,
                       in_git=audit.in_git, notes=notes, nothing=nothing)
