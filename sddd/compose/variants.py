"""Find superseded config copies: the DETECTOR behind `sddd archive --detect` (and `sddd audit`).

Public API::

    from sddd.compose.variants import detect_variants, compare_to_profiles

    for candidate in detect_variants(config):       # sorted by path; nothing is moved
        candidate.path                               # "docker-compose-medium-qwen3-fixed.yml"
        candidate.causes                              # ["marker:fixed", "outside-profiles"]
        candidate.reasons                             # the same, in words, one per cause
        candidate.reason                              # one line for the archive manifest
        candidate.closest                             # Similarity to the nearest profile, or None
        candidate.closest.score                       # 0.64: share of identical settings
        candidate.closest.differences                 # [Difference("--model", "Qwen/Qwen2-32B...", ...)]
        candidate.near_duplicate                      # score >= archive.near_duplicate

A file is a candidate when its name carries a variant marker (``archive.variant_markers`` in
sddd.yaml: ``-fixed``, ``-new``, ``.old``, ``.bak``, ``.backup_*`` ...), a date (a dated copy)
or a trailing ``~``, or when it is a compose file (``services:``) outside the canonical
profiles. The canonical profiles (``profiles:`` globs, base included) are never candidates
unless their own name carries a marker. Compose candidates are compared service by service
with every canonical profile: the closest one, how close, and each setting that differs.
Files ignored by git, hidden folders, the archive root and the index are not scanned.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sddd.compose.profiles import profile_files
from sddd.compose.service import gpu_reservation, mask_spec
from sddd.compose.vllm_args import args_dict
from sddd.core.config import Config
from sddd.core.errors import InputError
from sddd.core.files import git_files, in_work_tree
from sddd.core.secrets import is_secret_name, mask_value, redact
from sddd.core.yamlio import parse_yaml, read_text

YAMLISH = re.compile(r"\.ya?ml(?:$|[.~_-])|compose", re.IGNORECASE)
DATED = re.compile(r"(?:^|[-_.])((?:19|20)\d\d-?[01]\d-?[0-3]\d)(?:[T_-]?\d{4,6})?(?=$|[-_.])")
SKIP_DIRS = {"node_modules", "__pycache__", "site", "venv"}
SERVICE_KEYS = ("ipc", "shm_size", "runtime")
REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}|\$[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Difference:
    key: str  # "--model", "image", "environment.HF_TOKEN", "ports", "gpus", ...
    candidate: str | None  # None: the candidate does not set it
    profile: str | None  # None: the profile does not set it


@dataclass
class Similarity:
    profile: str  # repository-relative path of the canonical profile
    service: str
    score: float  # identical settings / all settings either side sets
    identical: int
    total: int
    differences: list[Difference] = field(default_factory=list)


@dataclass
class Candidate:
    path: str
    causes: list[str]  # "marker:<word>", "dated-copy", "editor-backup", "outside-profiles"
    reasons: list[str]
    reason: str  # suggested manifest reason
    closest: Similarity | None = None
    near_duplicate: bool = False


def markers_in(name: str, markers: list[str]) -> list[str]:
    """Variant markers that ``name`` carries as whole segments (longest wins: memory-optimized)."""
    lowered = name.lower()
    found = [m for m in markers
             if re.search(rf"(?:^|[-_.]){re.escape(m.lower())}(?=$|[-_.~])", lowered)]
    return [m for m in found if not any(m != other and m in other for other in found)]


def _env_value(name: str, value: Any) -> str:
    """A ``${VAR}`` reference names a secret and is shown; a literal secret value is masked."""
    text = "" if value is None else str(value)
    if REFERENCE.fullmatch(text):
        return text
    return mask_value(text) if text and is_secret_name(name) else redact(text)


def service_settings(spec: dict[str, Any]) -> dict[str, str]:
    """One service flattened to comparable settings, secrets masked."""
    spec = dict(spec)
    env = spec.get("environment")
    if isinstance(env, list):
        pairs = [str(item).partition("=") for item in env]
        spec["environment"] = {name: value for name, _, value in pairs}
    env = spec.get("environment") if isinstance(spec.get("environment"), dict) else {}
    spec = mask_spec(spec)
    out: dict[str, str] = {}
    if spec.get("image"):
        out["image"] = str(spec["image"])
    for flag, value in args_dict(spec.get("command")).items():
        out[flag] = "(on)" if value is None else value
    for name, value in (env or {}).items():
        out[f"environment.{name}"] = _env_value(str(name), value)
    # As written: "${VLLM_PORT_MEDIUM:-5002}:8000" and "8002:8000" are different choices.
    ports = sorted(str(p) for p in spec.get("ports") or [])
    if ports:
        out["ports"] = ", ".join(ports)
    gpu = gpu_reservation(spec)
    if gpu is not None:
        out["gpus"] = ",".join(gpu.device_ids) if gpu.device_ids else f"count {gpu.count}"
    for key in SERVICE_KEYS:
        if spec.get(key) is not None:
            out[key] = str(spec[key])
    return out


def compare(candidate: dict[str, str], profile: dict[str, str], profile_path: str,
            service: str) -> Similarity:
    keys = sorted(set(candidate) | set(profile))
    same = [k for k in keys if candidate.get(k) == profile.get(k)]
    diffs = [Difference(k, candidate.get(k), profile.get(k)) for k in keys if k not in same]
    return Similarity(profile_path, service, round(len(same) / len(keys), 3) if keys else 0.0,
                      len(same), len(keys), diffs)


def _services(path: Path, rel: str) -> dict[str, dict[str, str]] | None:
    """Service name -> settings, or None when the file is not a readable compose file."""
    try:
        doc = parse_yaml(read_text(path, rel), rel)
    except InputError:
        return None
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        return None
    # Compared as written, not interpolated: ${VAR} references say which variable is meant.
    return {str(name): service_settings(spec) for name, spec in data["services"].items()
            if isinstance(spec, dict)}


def compare_to_profiles(config: Config, path: Path,
                        profiles: dict[str, dict[str, dict[str, str]]] | None = None) -> Similarity | None:
    """The canonical profile service closest to any service of compose file ``path``."""
    rel = config.relpath(path)
    services = _services(path, rel)
    profiles = canonical_services(config) if profiles is None else profiles
    return _closest(services or {}, profiles, rel)


def _closest(services: dict[str, dict[str, str]], profiles: dict[str, dict[str, dict[str, str]]],
             own: str) -> Similarity | None:
    best: Similarity | None = None
    for svc in services.values():
        for profile_path, profile_services in profiles.items():
            if profile_path == own:
                continue
            for name, settings in profile_services.items():
                sim = compare(svc, settings, profile_path, name)
                if best is None or sim.score > best.score:
                    best = sim
    return best


def canonical_services(config: Config) -> dict[str, dict[str, dict[str, str]]]:
    markers = config.section("archive")["variant_markers"]
    found = {}
    for path in profile_files(config).values():
        rel = config.relpath(path)
        if not markers_in(path.name, markers) and (services := _services(path, rel)):
            found[rel] = services
    return found


def _scan(config: Config) -> list[Path]:
    """YAML-like files of the repository (git's view when in a work tree, else a walk)."""
    root = config.root
    skip = [config.archives_dir.resolve(), config.index_dir.resolve()]
    if in_work_tree(root):
        listed = git_files(root)
        paths = [root / p for p in listed]
    else:
        paths = []
        for dirpath, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
            paths += [Path(dirpath) / n for n in sorted(names)]
    out = []
    for path in paths:
        if not YAMLISH.search(path.name) or path.is_symlink() or not path.is_file():
            continue
        if any(path.resolve().is_relative_to(s) for s in skip):
            continue
        if any(part.startswith(".") for part in Path(config.relpath(path)).parts[:-1]):
            continue
        out.append(path)
    return sorted(set(out))


def _closest_phrase(sim: Similarity | None) -> str:
    if sim is None or sim.score < 0.3:
        return "superseded by the canonical profiles"
    return f"superseded by {sim.profile}"


def detect_variants(config: Config) -> list[Candidate]:
    """Every superseded-looking config file, with the reasons it would be archived."""
    opts = config.section("archive")
    markers, threshold = opts["variant_markers"], float(opts["near_duplicate"])
    profile_paths = {p.resolve() for p in profile_files(config).values()}
    profile_paths.add(config.resolve(config.base_profile).resolve())
    profiles = canonical_services(config)
    found = []
    for path in _scan(config):
        rel = config.relpath(path)
        causes, reasons = [], []
        for marker in markers_in(path.name, markers):
            causes.append(f"marker:{marker}")
            reasons.append(f"name carries the variant marker {marker!r}: an edited copy, not a profile")
        if (date := DATED.search(path.name.lower())) is not None:
            causes.append("dated-copy")
            reasons.append(f"name carries a date ({date.group(1)}): a dated copy")
        if path.name.endswith("~"):
            causes.append("editor-backup")
            reasons.append("name ends with '~': an editor's backup copy")
        canonical = path.resolve() in profile_paths
        if canonical and not causes:
            continue
        services = _services(path, rel)
        sim = _closest(services or {}, profiles, rel)
        if services is not None and not canonical:
            causes.append("outside-profiles")
            reasons.append(f"compose file outside the canonical profiles ({', '.join(config.profiles)})")
        if not causes:
            continue
        near = sim is not None and sim.score >= threshold
        if sim is not None:
            reasons.append(f"{'near-duplicate' if near else 'closest profile'}: {sim.profile} "
                           f"({sim.score:.0%} identical settings, {len(sim.differences)} differ)")
        kind = causes[0]
        label = {"dated-copy": "dated copy", "editor-backup": "editor backup copy",
                 "outside-profiles": "standalone compose file"}.get(kind, f"variant copy (-{kind[7:]})")
        found.append(Candidate(rel, causes, reasons, f"{label}, {_closest_phrase(sim)}", sim, near))
    return found
