"""``grid apply``: the champion written into the profile's own file, as a diff first.

The file is edited line by line, so its comments, order and quoting stay as they are: a flag
already in a block-list ``command:`` is replaced on its own line (or removed), a new one is
appended after the last item; an environment variable or a Compose key is replaced on its line,
removed, or added at the end of its mapping. The edited text is then resolved as Compose would
and must give the champion's service exactly (flags, environment, every key); when it does not
(a setting lives in the base file, a flow-style or multi-line value) nothing is written and the
error says what to change by hand. ``apply_profile`` writes atomically, and only if the file is
still the one the diff was made from.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sddd.compose.merge import ComposeLoader
from sddd.compose.profiles import load_profile
from sddd.compose.service import ResolvedService
from sddd.compose.vllm_args import args_dict, parse_vllm_args
from sddd.core.atomic import atomic_write_text
from sddd.core.config import Config
from sddd.core.errors import ConflictError, InputError, UsageError
from sddd.core.yamlio import KeyPath, YamlDoc, parse_yaml, read_text
from sddd.grid.report import GridReport, Row
from sddd.grid.spec import Special, Value
from sddd.grid.variants import show

ITEM = re.compile(r"^(\s*-\s*)([\"']?)(.*?)\2(\s+#.*)?$")


@dataclass
class ApplyPlan:
    profile: str
    path: Path
    rel: str
    before: str
    after: str
    champion: Row

    @property
    def diff(self) -> list[str]:
        return list(difflib.unified_diff(self.before.splitlines(), self.after.splitlines(),
                                         f"a/{self.rel}", f"b/{self.rel}", lineterm="", n=2))

    @property
    def unchanged(self) -> bool:
        return self.before == self.after

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "file": self.rel, "champion": self.champion.label,
                "config_hash": self.champion.plan.config_hash, "unchanged": self.unchanged,
                "diff": self.diff}


def _scalar(value: Any) -> str:
    """A value as a YAML scalar on one line (flow style for a mapping or a list)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text[:-4].rstrip() if text.endswith("\n...") or text.endswith(" ...") else text


def _token(text: str, quote: str) -> str:
    if quote:
        return f"{quote}{text}{quote}"
    return text if yaml.safe_load(f"- {text}") == [text] else '"' + text.replace('"', '\\"') + '"'


class Editor:
    """Line edits of one service in one compose file, applied together at the end."""

    def __init__(self, text: str, doc: YamlDoc, service: str, rel: str):
        self.lines, self.doc, self.service, self.rel = text.split("\n"), doc, service, rel
        self.replace: dict[int, str] = {}
        self.delete: set[int] = set()
        self.insert: dict[int, list[str]] = {}  # after line index

    def at(self, *keys: str | int) -> int | None:
        line = self.doc.lines.get(("services", self.service, *keys))
        return line - 1 if line else None

    def last_line(self, *keys: str | int) -> int:
        """The last line of a key and everything under it (0-based)."""
        prefix: KeyPath = ("services", self.service, *keys)
        return max(line for path, line in self.doc.lines.items() if path[:len(prefix)] == prefix) - 1

    def value(self, *keys: str | int) -> Any:
        node: Any = (self.doc.data or {}).get("services", {}).get(self.service, {})
        for key in keys:
            if not isinstance(node, dict | list):
                return None
            node = node.get(key) if isinstance(node, dict) else node[key]  # type: ignore[index]
        return node

    def fail(self, what: str) -> ConflictError:
        return ConflictError(f"cannot apply the champion in place: {what}; change the file by hand "
                             "(`sddd grid apply` without --yes shows the settings)", path=self.rel)

    def text(self) -> str:
        out: list[str] = []
        for i, line in enumerate(self.lines):
            if i not in self.delete:
                out.append(self.replace.get(i, line))
            out += self.insert.get(i, [])
        return "\n".join(out)

    def set_item(self, index: int, token: str) -> None:
        i = self.at("command", index)
        match = ITEM.match(self.lines[i]) if i is not None else None
        if i is None or match is None:
            raise self.fail(f"command item {index + 1} is not on a line of its own")
        self.replace[i] = f"{match.group(1)}{_token(token, match.group(2))}{match.group(4) or ''}"

    def append_items(self, tokens: list[str], count: int) -> None:
        if not tokens:
            return
        last = self.at("command", count - 1) if count else None
        match = ITEM.match(self.lines[last]) if last is not None else None
        if last is None or match is None:
            raise self.fail("the profile's command: has no block list item to add flags after")
        self.insert.setdefault(last, []).extend(match.group(1) + _token(t, match.group(2)) for t in tokens)

    def item_line(self, *keys: str | int) -> int:
        line = self.at(*keys)
        if line is None:
            raise self.fail(f"{'.'.join(map(str, keys))} is not on a line of its own")
        return line

    def set_env_item(self, name: str, value: Any) -> None:
        """``environment:`` written as a list (``- NAME=value``)."""
        items = [str(i) for i in self.value("environment")]
        found = [i for i, item in enumerate(items) if item == name or item.startswith(name + "=")]
        text = None if value is Special.ABSENT else f"{name}={value}"
        for n, index in enumerate(found):
            line = self.item_line("environment", index)
            match = ITEM.match(self.lines[line])
            if n or text is None or match is None:
                self.delete.add(line)
            else:
                self.replace[line] = f"{match.group(1)}{_token(text, match.group(2))}{match.group(4) or ''}"
        if text is not None and not found:
            last = self.item_line("environment", len(items) - 1)
            match = ITEM.match(self.lines[last])
            prefix = match.group(1) if match else "      - "
            self.insert.setdefault(last, []).append(prefix + _token(text, ""))

    def set_mapping(self, keys: tuple[str, ...], value: Any) -> None:
        """``key: value`` under the service; ``Special.ABSENT`` removes it."""
        if keys[0] == "environment" and isinstance(self.value("environment"), list) and \
                self.value("environment"):
            self.set_env_item(keys[1], value)
            return
        line = self.at(*keys)
        if line is not None:
            current = self.value(*keys)
            if isinstance(current, dict | list) or line != self.last_line(*keys):
                raise self.fail(f"{'.'.join(keys)} spans several lines")
            if value is Special.ABSENT:
                self.delete.add(line)
                return
            match = re.match(r"^(\s*[^:#]+?\s*:\s*)(.*?)(\s+#.*)?$", self.lines[line])
            if match is None:
                raise self.fail(f"{'.'.join(keys)} is not written as `key: value`")
            self.replace[line] = f"{match.group(1)}{_scalar(value)}{match.group(3) or ''}"
            return
        if value is Special.ABSENT:
            return  # not in this file: verification tells whether another file sets it
        depth = next(d for d in range(len(keys) - 1, -1, -1) if d == 0 or self.at(*keys[:d]) is not None)
        parent_line = self.at(*keys[:depth]) if depth else self.at()
        if parent_line is None:
            raise self.fail(f"service {self.service} is not in this file")
        if depth and isinstance(self.value(*keys[:depth]), dict) and self.value(*keys[:depth]) and \
                self.last_line(*keys[:depth]) == parent_line:
            raise self.fail(f"{'.'.join(keys[:depth])} is written on one line ({{...}})")
        indent = len(self.lines[parent_line]) - len(self.lines[parent_line].lstrip()) + 2
        after = self.last_line(*keys[:depth])
        new = [" " * (indent + 2 * k) + f"{part}:" for k, part in enumerate(keys[depth:-1])]
        new.append(" " * (indent + 2 * (len(keys) - 1 - depth)) + f"{keys[-1]}: {_scalar(value)}")
        self.insert.setdefault(after, []).extend(new)


def edit_command(ed: Editor, settings: dict[str, tuple[str, Value]]) -> None:
    """Each flag setting (flag, value) replaced in place, removed or appended."""
    tokens = ed.value("command")
    if not settings:
        return
    if tokens is None:
        raise ed.fail("the profile file sets no command: (it comes from the base file)")
    if not isinstance(tokens, list) or ed.at("command", 0) == ed.at("command"):
        raise ed.fail("the profile file's command: is not a block list (one `- --flag` per line)")
    tokens = [str(t) for t in tokens]
    appended: list[str] = []
    for flag, value in settings.values():
        positive = "--" + flag[5:] if flag.startswith("--no-") else flag
        negative = "--no-" + positive[2:]
        want = None if value is Special.ABSENT else (flag if value is True else (
            (negative if flag == positive else positive) if value is False else f"{flag}={show(value)}"))
        hits = [a for a in parse_vllm_args(tokens) if a.flag in (positive, negative)]
        for n, arg in enumerate(hits):
            if n == 0 and want is not None:
                ed.set_item(arg.index, want)
            else:
                ed.delete.add(ed.item_line("command", arg.index))
            if arg.value is not None and "=" not in tokens[arg.index]:
                ed.delete.add(ed.item_line("command", arg.index + 1))
        if want is not None and not hits:
            appended.append(want)
    ed.append_items(appended, len(tokens))


def _same(ours: ResolvedService, champion: ResolvedService) -> str | None:
    """What still differs between the edited profile's service and the champion's, or None."""
    def plain(svc: ResolvedService) -> dict[str, Any]:
        return {k: v for k, v in svc.spec.items() if k not in ("command", "container_name")}
    if args_dict(ours.spec.get("command")) != args_dict(champion.spec.get("command")):
        return "the vLLM flags"
    a, b = plain(ours), plain(champion)
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(keys) or None


def plan_apply(config: Config, report: GridReport) -> ApplyPlan:
    champion = report.champion
    if champion is None:
        raise UsageError(f"grid {report.spec.name} has no champion yet ({'; '.join(report.why)})")
    base = report.plan.base
    path = config.resolve(base.files[-1])
    rel = config.relpath(path)
    before = read_text(path, rel)
    if _same(base.service, champion.plan.deploy.service) is None:
        return ApplyPlan(base.name, path, rel, before, before, champion)  # already the champion
    doc = parse_yaml(before, rel, loader=ComposeLoader)
    ed = Editor(before, doc, base.service.name, rel)
    flags: dict[str, tuple[str, Value]] = {}
    for name, value in champion.plan.variant.settings.items():
        axis = report.spec.axis(name)
        if axis.kind == "flag":
            flags[name] = (axis.target, value)
        elif axis.kind == "env":
            ed.set_mapping(("environment", axis.target), value if value is Special.ABSENT else show(value))
        else:
            ed.set_mapping(tuple(axis.target.split(".")), value)
    edit_command(ed, flags)
    after = ed.text()
    with tempfile.TemporaryDirectory(prefix="sddd-apply-") as folder:
        trial = Path(folder) / path.name
        trial.write_text(after, encoding="utf-8")
        try:
            edited = load_profile(config, str(trial), report.plan.env_file, strict=True).service
        except InputError as exc:
            raise ed.fail(f"the edited file would not parse ({exc.message})") from None
    differs = _same(edited, champion.plan.deploy.service)
    if differs:
        raise ed.fail(f"after the edit, {differs} still differ from the champion's")
    return ApplyPlan(base.name, path, rel, before, after, champion)


def apply_profile(plan: ApplyPlan) -> None:
    if read_text(plan.path, plan.rel) != plan.before:
        raise ConflictError("the profile changed while the diff was made; run `sddd grid apply` again",
                            path=plan.rel)
    atomic_write_text(plan.path, plan.after)
