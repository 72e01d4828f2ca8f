"""Docs that contradict the profiles: the claims of every guide checked against the resolved profiles.

``run_drift(config, include_reports=False) -> DriftReport``. Finding types (``TYPES``):

- ``value_mismatch``: a flag, port, image, GPU id or model differs from the profile's. A flag
  the profile leaves out is compared with vLLM's default for the image's version
  (``sddd.compose.vllm_defaults``): "prefix caching is disabled" beside a profile without
  ``--no-enable-prefix-caching`` is a mismatch, since vLLM's V1 engine turns it on;
- ``unknown_flag``: a flag vLLM does not have (``reason: not_in_vllm``), or a vLLM flag the
  profile does not set and whose default is not known (``reason: not_in_profile``, reported
  at its own, lower severity);
- ``unknown_model``: a model id that cannot exist (``sddd.consistency.models``: ids the seeds
  invented, Qwen sizes a generation never had); any other well-formed id is taken to exist;
- ``undocumented``: a profile flag that no guide explains;
- ``stale_reference``: a link, inline-code path or front-matter profile that no longer exists
  (an archived file is named with its archive path).

Each finding carries the document's ``file:line`` and the profile's (``svc.flag_source``). Reports
(``kind: report``) are history: skipped unless ``include_reports``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sddd.compose.profiles import ResolvedProfile, load_profile, profile_names
from sddd.compose.service import ResolvedService, Source
from sddd.compose.vllm_args import base_flag
from sddd.compose.vllm_defaults import Effective, effective
from sddd.consistency.claims import Claim, DocClaims, Reference, is_vllm_flag
from sddd.consistency.extract import extract_claims
from sddd.consistency.models import model_key, model_problem, same_model
from sddd.consistency.references import References
from sddd.consistency.report import FindingsReport, severity_order
from sddd.core.config import Config
from sddd.core.errors import InputError
from sddd.core.files import glob_files, refused_link
from sddd.core.secrets import find_secrets
from sddd.core.yamlio import read_text

TYPES = ("value_mismatch", "unknown_flag", "unknown_model", "undocumented", "stale_reference")
FALSE = {"off", "false", "no", "0", "disabled", "désactivé", "non", "none"}


@dataclass
class DriftFinding:
    type: str
    severity: str
    message: str
    doc_path: str | None
    doc_line: int | None
    profile: str | None = None
    profile_path: str | None = None
    profile_line: int | None = None
    key: str | None = None
    doc_value: str | None = None
    profile_value: str | None = None
    rule: str | None = None  # how the claim was tied to the profile
    reason: str | None = None  # unknown_flag: not_in_vllm / not_in_profile
    default_source: str | None = None  # the profile leaves the flag out: where vLLM's default is defined

    @property
    def where(self) -> str:
        path, line = ((self.doc_path, self.doc_line) if self.doc_path
                      else (self.profile_path, self.profile_line))
        return f"{path}:{line}" if path and line else (path or "")

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class DriftReport(FindingsReport):
    findings: list[DriftFinding]  # narrower than the base's
    documents: int = 0
    claims: int = 0
    profiles: list[str] = field(default_factory=list)
    skipped_reports: int = 0
    problems: list[str] = field(default_factory=list)  # unreadable documents, skipped
    nothing: str | None = None  # set when there was nothing to compare: what was looked for, where

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "fail_on": self.fail_on, "documents": self.documents,
                "claims": self.claims, "profiles": self.profiles, "skipped_reports": self.skipped_reports,
                "counts": self.counts(), "problems": self.problems, "nothing_to_check": self.nothing,
                "findings": [f.to_json() for f in self.findings]}


def _severity(opts: dict[str, Any], key: str) -> str:
    """The level of a finding type: sddd.yaml's `drift.severity`, its defaults in the schema."""
    return str(opts["severity"][key.replace(".", "_")])


def doc_files(config: Config, refused: list[tuple[Path, Path]] | None = None) -> list[Path]:
    """The guides and reports (archives left out); links out of the repository go to ``refused``."""
    archive = config.archives_dir.resolve()
    # A file whose name holds a secret is left out, as `sddd index` leaves it out: its path would
    # be in every finding (the index and the audit say so, with the name redacted).
    found = {p.resolve(): p for pattern in config.docs for p in glob_files(config.root, pattern, refused)
             if p.suffix == ".md" and not p.resolve().is_relative_to(archive)
             and not find_secrets(config.relpath(p))}
    return sorted(found.values(), key=lambda p: config.relpath(p))


def _readable_profiles(config: Config, problems: list[str]) -> list[ResolvedProfile]:
    """Every profile that can be read; one that cannot (binary, not UTF-8, malformed, over a
    limit) is a problem line and is left out, as `sddd index` skips it: drift used to stop there."""
    found = []
    for name in profile_names(config):
        try:
            found.append(load_profile(config, name, strict=False))
        except InputError as exc:
            # read_text's own message may already end in "; skipped": say it once
            line = f"{str(exc).removesuffix('; skipped')} (profile {name} skipped)"
            if line not in problems:
                problems.append(line)
    return found


def run_drift(config: Config, include_reports: bool = False) -> DriftReport:
    opts = config.section("drift")
    problems: list[str] = []
    services = {p.name: p.service for p in _readable_profiles(config, problems)}
    names = sorted(services)
    extra_flags = frozenset(f"--{f.lstrip('-')}" for f in opts["known_flags"])
    docs: list[DocClaims] = []
    skipped = 0
    refused: list[tuple[Path, Path]] = []
    for path in doc_files(config, refused):
        rel = config.relpath(path)
        try:
            doc = extract_claims(read_text(path, rel), rel, names, extra_flags)
        except InputError as exc:
            problems.append(f"{str(exc).removesuffix('; skipped')} (document skipped)")
            continue
        if doc.kind == "report" and not include_reports:
            skipped += 1
            continue
        docs.append(doc)
    problems += [f"{config.relpath(path)}: {refused_link(target)} (document skipped)"
                 for path, target in refused]
    checker = _Checker(config, opts, services, extra_flags)
    for doc in docs:
        for claim in doc.claims:
            checker.claim(claim)
        for ref in doc.references:
            checker.reference(ref, names)
    checker.undocumented([d for d in docs if d.kind == "guide"])
    findings = sorted(_dedupe(checker.findings), key=lambda f: (
        severity_order(f.severity), f.doc_path or "~", f.doc_line or 0, f.type, f.key or ""))
    return DriftReport(findings=findings, fail_on=opts["fail_on"], documents=len(docs),
                       claims=sum(len(d.claims) for d in docs), profiles=names,
                       skipped_reports=skipped, problems=problems,
                       nothing=_nothing(config, len(docs), skipped, names,
                                        unreadable=bool(profile_names(config))))


def _nothing(config: Config, documents: int, skipped: int, profiles: list[str],
             unreadable: bool = False) -> str | None:
    """What drift looked for and where, when it found nothing to compare (``unreadable``: profiles
    were found, and none could be read)."""
    missing = []
    if not profiles and unreadable:
        missing.append("no compose profile that could be read (each is named above)")
    elif not profiles:
        missing.append(f"no compose profile (`profiles:` {', '.join(config.profiles)} matched none)")
    if not documents and skipped:
        missing.append(f"no guide (the {skipped} document(s) `docs:` {', '.join(config.docs)} matched "
                       "are all reports, which drift skips: --all checks them)")
    elif not documents:
        missing.append(f"no document (`docs:` {', '.join(config.docs)} matched no Markdown file)")
    if not missing:
        return None
    point = [k for k, m in (("`profiles:`", not profiles and not unreadable),
                            ("`docs:`", not documents)) if m]
    advice = [f"point {' and '.join(point)} in sddd.yaml at them"] if point else []
    advice += ["fix the profiles named above"] if unreadable and not profiles else []
    return f"{' and '.join(missing)} under {config.root}; {' and '.join(advice)}"


def _dedupe(findings: list[DriftFinding]) -> list[DriftFinding]:
    seen, out = set(), []
    for f in findings:
        key = (f.type, f.doc_path, f.doc_line, f.key, f.doc_value, f.profile)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _same(flag: str, doc: str | None, prof: str | None) -> bool:
    if prof is None or prof.lower() in ("true", "false"):  # a switch: on (bare, true) or off
        on = prof is None or prof.lower() == "true"
        return ((doc or "").strip().lower() not in FALSE) == on
    if doc is None:
        return True
    a, b = doc.strip().strip("\"'"), prof.strip().strip("\"'")
    if flag == "--model":
        return model_key(a) == model_key(b)
    if a.startswith("{") and b.startswith("{"):
        try:
            return bool(json.loads(a) == json.loads(b))
        except ValueError:
            pass
    try:
        return float(a.replace("_", "").replace(",", "")) == float(b.replace("_", "").replace(",", ""))
    except ValueError:
        return a.lower() == b.lower()


def _tag(image: str) -> tuple[str, str]:
    repo, _, tag = image.rpartition(":")
    return (repo.lower(), tag) if repo and "/" not in tag else (image.lower(), "")


class _Checker:
    def __init__(self, config: Config, opts: dict[str, Any], services: dict[str, ResolvedService],
                 extra_flags: frozenset[str]):
        self.config, self.opts, self.services, self.extra_flags = config, opts, services, extra_flags
        self.findings: list[DriftFinding] = []
        self.documented: set[tuple[str, str]] = set()  # (profile, flag) a guide mentions
        self.references = References(config)

    def emit(self, type_: str, message: str, claim: Claim | Reference | None, svc: ResolvedService | None,
             source: Source | None, severity_key: str | None = None, **extra: Any) -> None:
        self.findings.append(DriftFinding(
            type_, _severity(self.opts, severity_key or type_), message,
            claim.path if claim else None, claim.line if claim else None,
            svc.profile if svc else None, source.path if source else None, source.line if source else None,
            rule=getattr(claim, "rule", None), **extra))

    def claim(self, claim: Claim) -> None:
        svcs = [self.services[p] for p in claim.profiles if p in self.services]
        if not svcs:
            return
        check = getattr(self, f"_{claim.kind}")
        check(claim, svcs)

    def _where(self, svcs: list[ResolvedService]) -> str:
        return svcs[0].profile if len(svcs) == 1 else "any of " + ", ".join(s.profile for s in svcs)

    def _flag(self, claim: Claim, svcs: list[ResolvedService]) -> None:
        flag = base_flag(claim.key)
        for svc in svcs:
            self.documented.add((svc.profile, flag))
        if flag == "--model" and claim.value:
            return  # checked as a model claim
        if not is_vllm_flag(claim.key, self.extra_flags):
            self.emit("unknown_flag", f"{claim.key} is not a vLLM serve flag (vLLM v0.11.0); fix the name or "
                      "remove it", claim, svcs[0], svcs[0].flag_source(flag), key=claim.key,
                      doc_value=claim.value, reason="not_in_vllm")
            return
        if claim.key != flag:
            return  # a --no-X the extractor did not turn into X=false: documents X, asserts nothing
        runs = [(s, e) for s in svcs if (e := effective(s, flag, self.opts["vllm_version"])) is not None]
        if claim.value is None:  # a mention: it holds when some profile sets the flag or has it on
            if not any(not e.is_default or e.value == "true" for _s, e in runs):
                self._not_in_profile(claim, flag, svcs)
            return
        if not runs:
            self._not_in_profile(claim, flag, svcs)
            return
        if any(_same(flag, claim.value, e.value) for _s, e in runs):
            return
        if all(e.is_default and e.value not in ("true", "false") for _s, e in runs):
            # A value vLLM picks by itself (0.9, auto) that the guide states otherwise: the profile
            # does not say, so it stays a flag the profile does not set, with the default named.
            self._not_in_profile(claim, flag, svcs, runs[0][1])
            return
        svc, run = runs[0]
        source = {"set": svc.flag_source(flag), "off": svc.flag_source("--no-" + flag[2:])}.get(
            run.how, svc.source_of("command"))
        self.emit("value_mismatch", self._mismatch(flag, claim.value, runs), claim, svc, source, key=flag,
                  doc_value=claim.value, profile_value=run.value,
                  default_source=run.source if run.is_default else None)

    def _not_in_profile(self, claim: Claim, flag: str, svcs: list[ResolvedService],
                        default: Effective | None = None) -> None:
        if claim.value is None and len(svcs) > 1:
            return
        shown = f" {claim.value}" if claim.value is not None else ""
        runs = ""
        if default is not None:
            version = f"vLLM {default.version}" if default.version else "vLLM"
            runs = f" (so {version} runs it at its default, {default.value})"
        self.emit("unknown_flag", f"{flag}{shown} is a vLLM flag that {self._where(svcs)} does not set{runs}",
                  claim, svcs[0], svcs[0].source_of("command"), "unknown_flag.not_in_profile", key=flag,
                  doc_value=claim.value, reason="not_in_profile",
                  profile_value=default.value if default else None,
                  default_source=default.source if default else None)

    @staticmethod
    def _mismatch(flag: str, said: str, runs: list[tuple[ResolvedService, Effective]]) -> str:
        """``--x is A here but medium has B`` / ``... leaves it unset: vLLM 0.11.0 runs it at B``."""
        parts = []
        for svc, run in runs:
            shown = {"true": "on", "false": "off"}.get(run.value, run.value)
            if run.how == "set":
                parts.append(f"{svc.profile} has {shown}")
            elif run.how == "off":
                parts.append(f"{svc.profile} turns it off (--no-{flag[2:]})")
            else:
                version = f"vLLM {run.version}" if run.version else "vLLM"
                parts.append(f"{svc.profile} leaves it unset, so {version} runs it {shown} by default")
        said = {"true": "on", "false": "off"}.get(said.lower(), said)
        fix = "update the document"
        if any(run.is_default for _s, run in runs) and said == "off" and flag.startswith("--enable-"):
            fix = f"add --no-{flag[2:]} to the profile or update the document"
        return f"{flag} is {said} here but {'; '.join(parts)}; {fix}"

    def _model(self, claim: Claim, svcs: list[ResolvedService]) -> None:
        model = claim.value or ""
        svc = svcs[0]
        for s in svcs:
            self.documented.add((s.profile, "--model"))
        problem = model_problem(model, self.opts["known_models"])
        if problem:
            runs = ", ".join(f"{s.profile} runs {s.model}" for s in svcs if s.model)
            self.emit("unknown_model", f"model {model} does not exist: {problem} ({runs}); use a real model "
                      "id (or add it to drift.known_models)", claim, svc, svc.flag_source("--model"),
                      key="model", doc_value=model, profile_value=svc.model)
            return
        with_model = [s for s in svcs if s.model]
        if not with_model or any(same_model(model, s.model or "", exact=claim.explicit) for s in with_model):
            return
        s = with_model[0]
        self.emit("value_mismatch", f"model {model} here but {self._where(with_model)} runs "
                  f"{', '.join(x.model or '' for x in with_model)}; update the document", claim, s,
                  s.flag_source("--model"), key="model", doc_value=model, profile_value=s.model)

    def _port(self, claim: Claim, svcs: list[ResolvedService]) -> None:
        port = int(claim.value or 0)
        for s in svcs:
            allowed = {p.host for p in s.ports} | {p.container for p in s.ports}
            if s.vllm.get("--port"):
                allowed.add(int(s.vllm["--port"] or 0))
            if port in allowed:
                return
        s = svcs[0]
        have = ", ".join(f"{x.profile} publishes " + ", ".join(f"{p.host}:{p.container}" for p in x.ports)
                         for x in svcs)
        self.emit("value_mismatch", f"port {port} here but {have}; update the document", claim, s,
                  s.source_of("ports"), key="port", doc_value=str(port),
                  profile_value=", ".join(str(p.host) for p in s.ports))

    def _image(self, claim: Claim, svcs: list[ResolvedService]) -> None:
        repo, tag = _tag(claim.value or "")
        same_repo = [s for s in svcs if s.image and _tag(s.image)[0] == repo]
        if not same_repo or any(_tag(s.image or "")[1] == tag for s in same_repo):
            return
        s = same_repo[0]
        self.emit("value_mismatch", f"image {claim.value} here but {self._where(same_repo)} runs {s.image}; "
                  "update the document", claim, s, s.source_of("image"), key="image",
                  doc_value=claim.value, profile_value=s.image)

    def _gpu(self, claim: Claim, svcs: list[ResolvedService]) -> None:
        ids = set((claim.value or "").split(","))
        # An id that is an unset variable (${CUDA_VISIBLE_DEVICES_MEDIUM}) says nothing: audit's lint
        # reports the variable; drift has no GPUs to compare against.
        with_ids = [(s, s.gpu.device_ids) for s in svcs
                    if s.gpu and s.gpu.device_ids and all(i.strip() for i in s.gpu.device_ids)]
        if not with_ids:
            return
        for _svc, device_ids in with_ids:
            theirs = {p for i in device_ids for p in i.replace(" ", ",").split(",") if p}
            if ids <= theirs:
                return
        s, first_ids = with_ids[0]
        self.emit("value_mismatch", f"GPU {', '.join(sorted(ids))} here but "
                  f"{self._where([x for x, _ in with_ids])} reserves "
                  f"{', '.join(', '.join(d) for _, d in with_ids)}; update the document",
                  claim, s, s.source_of("deploy", "resources", "reservations", "devices"), key="gpus",
                  doc_value=claim.value, profile_value=",".join(first_ids))

    def undocumented(self, guides: list[DocClaims]) -> None:
        for svc in self.services.values():
            for flag in svc.vllm:
                if (svc.profile, base_flag(flag)) not in self.documented:
                    self.emit("undocumented", f"{flag} is set in profile {svc.profile} but no guide explains "
                              "it; add it to the profile's table in a guide", None, svc,
                              svc.flag_source(flag), key=flag, profile_value=svc.vllm[flag])

    def reference(self, ref: Reference, names: list[str]) -> None:
        found = self.references.stale(ref, names)
        if found is not None:
            message, key = found
            self.emit("stale_reference", message, ref, None, None, key=key, doc_value=ref.target)
