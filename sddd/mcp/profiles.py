"""A resolved profile with the guide section that explains each flag (the site's "Explained in"),
and one vLLM flag across every profile with the passages that explain it.

The links come from ``sddd.site.links.flag_links`` over the headings of the indexed guides and
reports, with the same fallback as the site (the best guide passage from a search when no guide
names the flag), so an agent reads the same "explained in" as a person on the site.
"""

from __future__ import annotations

from typing import Any

from sddd.compose.profiles import ResolvedProfile, load_all_profiles, load_profile, profile_names
from sddd.compose.service import ResolvedService
from sddd.compose.vllm_args import normalize_flag
from sddd.consistency.claims import is_vllm_flag
from sddd.core.errors import UsageError
from sddd.mcp import policy
from sddd.resident.warm import Workspace
from sddd.site.links import FlagLink, Section, flag_links

PASSAGES = 5


def _link_json(link: FlagLink) -> dict[str, Any]:
    s = link.section
    return {"path": s.src_uri, "anchor": s.anchor, "heading": s.title, "page_title": s.page_title,
            "how": link.how}


class _Linker:
    """flag_links over the workspace's sections, its search fallback memoised per flag."""

    def __init__(self, ws: Workspace, names: list[str]):
        self.ws, self.names = ws, names
        self.sections = ws.sections()
        self._found: dict[str, Section | None] = {}

    def _search(self, flag: str) -> Section | None:
        if flag not in self._found:
            hits = self.ws.search(flag, 1, kind="guide").results
            self._found[flag] = next((s for s in self.sections if hits and s.src_uri == hits[0].path
                                      and s.anchor == hits[0].anchor), None)
        return self._found[flag]

    def links(self, flag: str, value: str | None, profile: str) -> list[dict[str, Any]]:
        found = flag_links(flag, value, profile, self.names, self.sections, self._search)
        return [_link_json(link) for link in found]


def _profile_json(profile: ResolvedProfile, linker: _Linker) -> dict[str, Any]:
    svc = profile.service
    return {
        **svc.to_json(),
        "env_file": profile.env_file,
        "missing_variables": profile.missing,
        "flag_sources": {a.flag: str(svc.flag_source(a.flag)) for a in svc.args},
        "explained_in": {a.flag: linker.links(a.flag, a.value, profile.name) for a in svc.args},
    }


def profile_data(ws: Workspace, name: str | None) -> dict[str, Any]:
    """The resolved profile (``ResolvedService.to_json()``) plus where each flag is explained.

    Unset ``${VAR}`` are shown blank and listed in ``missing_variables`` (as the site shows them)
    rather than refusing to show the profile at all.
    """
    config = ws.config
    names = profile_names(config)
    profile = load_profile(config, policy.profile_name(config, name), strict=False)
    return _profile_json(profile, _Linker(ws, names))


def _setting(svc: ResolvedService, flag: str) -> tuple[bool, str | None, str | None]:
    for arg in reversed(svc.args):  # the last one wins, as in vLLM's parser
        if normalize_flag(arg.flag) == flag:
            return True, arg.value, str(svc.flag_source(arg.flag))
    return False, None, None


def flag_data(ws: Workspace, flag: str) -> dict[str, Any]:
    """``flag``'s value in every profile, where each is explained, and the best passages on it."""
    wanted = normalize_flag(flag.strip())
    if wanted == "--":
        raise UsageError("name a vLLM flag, e.g. --max-model-len", option="flag")
    profiles = load_all_profiles(ws.config)
    linker = _Linker(ws, [p.name for p in profiles])
    rows = []
    for profile in profiles:
        present, value, source = _setting(profile.service, wanted)
        rows.append({"profile": profile.name, "set": present, "value": value, "source": source,
                     "explained_in": linker.links(wanted, value, profile.name) if present else []})
    known = is_vllm_flag(wanted)
    if not known and not any(r["set"] for r in rows):
        raise UsageError(f"{wanted} is neither a vLLM flag sddd knows nor set in any profile "
                         f"({', '.join(p.name for p in profiles)}); check the spelling", option="flag")
    passages = ws.search(wanted, PASSAGES).to_json()["results"]
    return {"flag": wanted, "known": known, "profiles": rows, "passages": passages}
