"""Claims a Markdown guide makes about the profiles: flags and values, ports, models, images, GPUs.

``extract_claims(text, rel, profiles)`` walks one document line by line and returns a
``DocClaims``: every ``Claim`` with its ``file:line``, the profile(s) it speaks of and the rule
that decided it, plus the references (links, inline-code paths, front-matter profiles) that
``sddd.drift`` checks for staleness. Nothing here knows the profiles' values.

Where claims come from:

- tables: a flag column (``Flag``/``Paramètre``...) with a value column, columns named after a
  profile (``| Setting | micro | mini | medium |``), model / port / GPU columns;
- fenced code: compose ``command:`` items (``- "--model=..."``), ``vllm serve`` lines and their
  continuations, lines that start with a flag, ``key: value`` lines whose key is a vLLM flag;
- inline code: ``--gpu-memory-utilization 0.85``, ``--flag=value``, ``max-num-seqs: 32``, and
  ```--flag``` followed by ``set to``/``of``/``is``/``=``/``:`` and a value;
- prose: ``**max-num-seqs** : 32`` list items, ``localhost:5002``, ``port 5002``, model ids,
  ``vllm/vllm-openai:TAG`` images, ``GPU 2`` / ``GPUs 0 and 1`` / ``CUDA_VISIBLE_DEVICES=0,1``.

Which profile a claim speaks of, most specific rule first: ``column`` (a table column named
after a profile), ``row`` (the row's first cell names one), ``heading`` (the innermost heading
naming exactly one profile), ``front-matter`` (``profiles: [medium]``), ``nearest`` (the same
line, else the paragraph or code block, names exactly one), ``front-matter-any`` (the page lists
several: the claim holds if it fits any of them), ``any`` (no clue: any profile).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from sddd.compose.vllm_args import base_flag, normalize_flag
from sddd.index.chunking import FENCE
from sddd.index.markdown_chunks import ATX

FLAG = r"--[A-Za-z][\w-]*"
MODEL = re.compile(r"(?<![\w/.-])(?:Qwen/)?Qwen\d(?:\.\d+)?(?:-[A-Za-z][\w.]*)*-\d+(?:\.\d+)?B(?:-[\w.]+)*")
# Any org/name whose name carries a parameter size (meta-llama/Llama-3.1-8B-Instruct,
# mistralai/Mixtral-8x7B-Instruct-v0.1, google/gemma-2-9b-it): a model id wherever it is written.
SIZED_ID = re.compile(r"(?<![\w/.-])[A-Za-z0-9][\w.-]*/[A-Za-z][\w.-]*?[-_](?:\d+x)?\d+(?:\.\d+)?[BbMm]"
                      r"(?![A-Za-z0-9])[\w.-]*(?![\w/:])")
ORG_NAME = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.+-]*")
FILE_EXT = re.compile(r"\.(?:md|ya?ml|json|py|sh|ps1|txt|toml|cfg|ini)$", re.IGNORECASE)
IMAGE = re.compile(r"(?<![\w/.-])([a-z0-9][\w.-]*/[\w.-]+):([A-Za-z0-9][\w.-]*)")
PORT_URL = re.compile(r"(?:localhost|127\.0\.0\.1|0\.0\.0\.0):(\d{2,5})\b")
PORT_WORD = re.compile(r"(?<![-\w])[Pp]ort\**\s*:?\s*\**\s*(\d{4,5})\b")
PORT_VAR = re.compile(r"\$\{[A-Z0-9_]*PORT[A-Z0-9_]*:-(\d+)\}|\b[A-Z0-9_]*PORT[A-Z0-9_]*\s*=\s*(\d+)\b")
GPU_ENV = re.compile(r"\b(?:CUDA|NVIDIA)_VISIBLE_DEVICES(?:_[A-Z]+)?\s*=\s*['\"]?(\d+(?:\s*,\s*\d+)*)")
GPU_IDS = re.compile(r"\bdevice_ids\s*:\s*\[([^\]$]*)\]")
GPU_WORD = re.compile(r"\bGPUs?\s+(\d(?:\s*(?:,|and|et|&)\s*\d)*)\b(?!\s*(?:GB|Go|GiB|x|%|\.\d|cards?))")
GPU_CELL = re.compile(r"^\s*(\d(?:\s*(?:,|and|et)\s*\d)*)\b")
INLINE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CONNECTOR = re.compile(r"^\s*(?:(?:is|of|set to|to|at|à|de|=|:)\s*)?(?:`([^`\n]+)`|(\d[\d.,_]*)(?![\w.]))")
PROSE_KEY = re.compile(r"^\s*(?:[-*+]\s+)?\**`?((?:--)?[A-Za-z][\w-]*)`?\**\s*[:=]\s*(.+)$")
YAML_ITEM = re.compile(rf"^\s*-\s*[\"']?({FLAG})(?:=([^\"']*))?[\"']?\s*(?:#.*)?$")
PATH_TOKEN = re.compile(r"^(?:\.{0,2}/)?[\w.-]+(?:/[\w.-]+)*/?$")
PATH_EXT = (".yml", ".yaml", ".md", ".sh", ".ps1", ".py", ".json", ".toml", ".txt", ".example")
EXAMPLE_WORDS = re.compile(
    r"\b(?:never|do not|don't|such as|like|for example|e\.g\.|instead of|rather than|a new|would|"
    r"jamais|ne pas|par exemple|comme|au lieu de)\b|archiv", re.IGNORECASE)
FLAG_HEADERS = ("flag", "paramètre", "parametre", "parameter", "argument", "option", "setting", "réglage")
VALUE_HEADERS = ("value", "valeur", "valor")
ROW_HEADERS = ("profile", "profil", "service", "size", "taille")
NOT_VLLM_KEYS = {"port", "host", "model", "device", "config", "seed", "task", "tokenizer"}


@dataclass
class Claim:
    kind: str  # "flag", "model", "port", "image", "gpu"
    key: str  # "--max-num-seqs", "model", "port", "image", "gpus"
    value: str | None  # None: the flag is only mentioned
    path: str
    line: int
    text: str  # the line as written (trimmed)
    where: str  # "table", "code", "inline", "prose"
    profiles: list[str]  # the profile(s) the claim may speak of; several: any of them
    rule: str
    explicit: bool = True  # model: a `--model`/Model-column value (exact) or a mention (prefix)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Reference:
    target: str  # the path or profile name as written
    how: str  # "link", "inline", "front-matter"
    path: str
    line: int


@dataclass
class DocClaims:
    path: str
    kind: str  # "guide" or "report"
    profiles_meta: list[str]  # front matter `profiles:`
    claims: list[Claim] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)


@cache
def known_flags() -> frozenset[str]:
    """vLLM's serve flags for the pinned version (sddd/data/vllm_flags.txt)."""
    return frozenset(_data_lines("vllm_flags.txt"))


@cache
def known_models() -> frozenset[str]:
    return frozenset(_data_lines("known_models.txt"))


def _data_lines(name: str) -> list[str]:
    text = resources.files("sddd").joinpath("data", name).read_text(encoding="utf-8")
    return [ln.split("#", 1)[0].strip() for ln in text.splitlines() if ln.split("#", 1)[0].strip()]


def is_vllm_flag(flag: str, extra: frozenset[str] = frozenset()) -> bool:
    flag = normalize_flag(flag)
    flags = known_flags() | extra
    return flag in flags or (flag.startswith("--no-") and "--" + flag[5:] in flags)


def model_mentions(text: str) -> list[tuple[int, str]]:
    """(offset, id) of the model ids written in ``text``: Qwen names with or without ``Qwen/``,
    and any ``org/name`` carrying a size; files (``docs/qwen3-8b.md``) are not models."""
    found: list[tuple[int, int, str]] = []
    for pattern in (MODEL, SIZED_ID):
        for m in pattern.finditer(text):
            model = m.group(0).rstrip(".")
            if FILE_EXT.search(model) or any(s <= m.start() < e for s, e, _ in found):
                continue
            found.append((m.start(), m.end(), model))
    return sorted((s, model) for s, _e, model in found)


def is_model_value(value: str) -> bool:
    """A value after ``Model:`` / in a model column that is an id: ``org/name`` or a Qwen name."""
    return bool(MODEL.match(value) or (ORG_NAME.fullmatch(value) and not FILE_EXT.search(value)))


def names_in(text: str, profiles: list[str]) -> list[str]:
    """Profile names written in ``text`` as whole words (``vllm-medium`` names medium)."""
    found = []
    for name in profiles:
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", text, re.IGNORECASE):
            found.append(name)
    return found


def one_name(text: str, profiles: list[str]) -> str | None:
    names = names_in(text, profiles)
    return names[0] if len(names) == 1 else None


def table_cells(line: str) -> list[str]:
    body = line.strip().strip("|")
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


def plain_cell(cell: str) -> str:
    return re.sub(r"[`*]", "", cell).strip()


def value_of(raw: str) -> str:
    """A value as written: backticks, bold, emoji and trailing comments removed."""
    raw = raw.strip()
    if (m := re.match(r"^`([^`]*)`", raw)) is not None:
        return m.group(1).strip()
    raw = re.sub(r"[*`]", "", raw)
    words = re.findall(r"[\w.:/{}\[\]\"',-]+", raw)
    return words[0].rstrip(".,;") if words else ""


class Walker:
    """State of one pass over a document: headings, paragraphs and the claims found so far."""

    def __init__(self, rel: str, lines: list[str], profiles: list[str], meta_profiles: list[str]):
        self.rel, self.lines, self.profiles = rel, lines, profiles
        self.meta = [p for p in meta_profiles if p in profiles]
        self.headings: list[tuple[int, str]] = []
        self.paras: dict[int, tuple[int, int]] = {}  # prose line index -> its paragraph's bounds
        self.block: str | None = None  # profile named by the code block so far, or before it
        self.claims: list[Claim] = []
        self.refs: list[Reference] = []

    def sentence(self, lineno: int, pos: int | None) -> tuple[str, str]:
        """(the sentence around ``pos`` of line ``lineno``, its whole paragraph); prose wraps lines."""
        index = lineno - 1
        if index not in self.paras:
            return self.lines[index], self.lines[index]
        start, end = self.paras[index]
        text = "\n".join(self.lines[start:end + 1])
        offset = sum(len(ln) + 1 for ln in self.lines[start:index]) + (pos or 0)
        begin = max((m.end() for m in re.finditer(r"[.!?](?=\s)", text[:offset])), default=0)
        stop = re.search(r"[.!?](?=\s|$)", text[offset:])
        return text[begin:offset + stop.start() if stop else len(text)], text

    def _near(self, lineno: int, pos: int | None, where: str) -> list[str]:
        """Profiles named by the claim's sentence (prose), line (code, table) or paragraph."""
        if where in ("code", "table") or lineno - 1 not in self.paras:
            names = names_in(self.lines[lineno - 1], self.profiles)
            return names or ([self.block] if where == "code" and self.block else [])
        sentence, paragraph = self.sentence(lineno, pos)
        return names_in(sentence, self.profiles) or names_in(paragraph, self.profiles)

    def decide(self, lineno: int, pos: int | None, where: str, column: str | None = None,
               row: str | None = None) -> tuple[list[str], str]:
        if column:
            return [column], "column"
        if row:
            return [row], "row"
        scope: list[str] = []
        for _level, title in reversed(self.headings):
            names = names_in(title, self.profiles)
            if len(names) == 1:
                return names, "heading"
            if names and not scope:
                scope = names
        if len(self.meta) == 1 and not scope:
            return list(self.meta), "front-matter"
        near = self._near(lineno, pos, where)
        if len(near) == 1 and (not scope or near[0] in scope):
            return near, "nearest"
        if scope:
            return scope, "heading-any"
        if self.meta:
            return list(self.meta), "front-matter-any"
        return list(self.profiles), "any"

    def add(self, kind: str, key: str, value: str | None, lineno: int, line: str, where: str,
            column: str | None = None, row: str | None = None, explicit: bool = True,
            pos: int | None = None) -> None:
        profiles, rule = self.decide(lineno, pos, where, column, row)
        if profiles:
            self.claims.append(Claim(kind, key, value, self.rel, lineno, line.strip()[:200], where,
                                     profiles, rule, explicit))

    def flag(self, flag: str, value: str | None, lineno: int, line: str, where: str, **ctx: Any) -> None:
        flag = normalize_flag(flag)
        if value is not None:
            value = value.strip().strip("\"'`")
        if flag.startswith("--no-") and where in ("code", "table") and base_flag(flag) in known_flags():
            # In a command or a flag table, --no-enable-prefix-caching says the switch is off; in a
            # sentence (`--no-enable-prefix-caching` turns it off) it only names the flag.
            flag, value = base_flag(flag), "false"
        if flag == "--model" and value:
            self.add("model", "model", value, lineno, line, where, **ctx)
        self.add("flag", flag, value or None, lineno, line, where, **ctx)


def paragraphs(lines: list[str], start: int) -> dict[int, tuple[int, int]]:
    """Prose line index -> (first, last) line index of its paragraph (fences, tables, headings cut)."""
    out: dict[int, tuple[int, int]] = {}
    fence, current = False, list[int]()

    def close() -> None:
        for i in current:
            out[i] = (current[0], current[-1])
        current.clear()

    for i in range(start, len(lines)):
        line = lines[i]
        if FENCE.match(line):
            fence = not fence
            close()
        elif fence or not line.strip() or ATX.match(line) or line.lstrip().startswith("|"):
            close()
        else:
            current.append(i)
    close()
    return out
