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
import shlex
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from sddd.index.chunking import FENCE
from sddd.index.markdown_chunks import ATX, doc_kind, split_front_matter

FLAG = r"--[A-Za-z][\w-]*"
MODEL = re.compile(r"(?<![\w/.-])(?:Qwen/)?Qwen\d(?:\.\d+)?(?:-[A-Za-z][\w.]*)*-\d+(?:\.\d+)?B(?:-[\w.]+)*")
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

    def to_json(self) -> dict:
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


def normalize_flag(flag: str) -> str:
    return "--" + flag.lstrip("-").lower().replace("_", "-")


def is_vllm_flag(flag: str, extra: frozenset[str] = frozenset()) -> bool:
    flag = normalize_flag(flag)
    flags = known_flags() | extra
    return flag in flags or (flag.startswith("--no-") and "--" + flag[5:] in flags)


def names_in(text: str, profiles: list[str]) -> list[str]:
    """Profile names written in ``text`` as whole words (``vllm-medium`` names medium)."""
    found = []
    for name in profiles:
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", text, re.IGNORECASE):
            found.append(name)
    return found


def _one(text: str, profiles: list[str]) -> str | None:
    names = names_in(text, profiles)
    return names[0] if len(names) == 1 else None


def _cells(line: str) -> list[str]:
    body = line.strip().strip("|")
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


def _plain(cell: str) -> str:
    return re.sub(r"[`*]", "", cell).strip()


def _value(raw: str) -> str:
    """A value as written: backticks, bold, emoji and trailing comments removed."""
    raw = raw.strip()
    if (m := re.match(r"^`([^`]*)`", raw)) is not None:
        return m.group(1).strip()
    raw = re.sub(r"[*`]", "", raw)
    words = re.findall(r"[\w.:/{}\[\]\"',-]+", raw)
    return words[0].rstrip(".,;") if words else ""


class _Walker:
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

    def flag(self, flag: str, value: str | None, lineno: int, line: str, where: str, **ctx) -> None:
        flag = normalize_flag(flag)
        if value is not None:
            value = value.strip().strip("\"'`")
        if flag == "--model" and value:
            self.add("model", "model", value, lineno, line, where, **ctx)
        self.add("flag", flag, value or None, lineno, line, where, **ctx)


def _paragraphs(lines: list[str], start: int) -> dict[int, tuple[int, int]]:
    """Prose line index -> (first, last) line index of its paragraph (fences, tables, headings cut)."""
    out: dict[int, tuple[int, int]] = {}
    fence, current = False, []

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


def extract_claims(text: str, rel: str, profiles: list[str], extra_flags: frozenset[str] = frozenset()
                   ) -> DocClaims:
    """Every claim and reference of one Markdown document (front matter errors raise InputError)."""
    meta, body_start = split_front_matter(text, rel)
    raw_meta = meta.get("profiles") or []
    meta_profiles = [str(p) for p in (raw_meta if isinstance(raw_meta, list) else [raw_meta])]
    lines = text.split("\n")
    result = DocClaims(rel, doc_kind(meta, rel, "guide"), meta_profiles)
    in_key = False
    for offset, raw in enumerate(lines[1:max(body_start - 1, 1)], start=2):
        in_key = raw.startswith("profiles:") or (in_key and raw[:1] in (" ", "-"))
        for name in meta_profiles if in_key else []:
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", raw):
                result.references.append(Reference(name, "front-matter", rel, offset))
    w = _Walker(rel, lines, profiles, meta_profiles)
    w.paras = _paragraphs(lines, body_start)
    flags = known_flags() | extra_flags
    fence, vllm_cont, table, before = False, False, None, None
    for index in range(body_start, len(lines)):
        line, lineno = lines[index], index + 1
        if FENCE.match(line):
            fence, vllm_cont = not fence, False
            w.block = before if fence else None
            continue
        if fence:
            w.block = _one(line, profiles) or w.block
            vllm_cont = _code_line(w, line, lineno, vllm_cont, flags)
            _generic(w, line, lineno, "code")
            continue
        if (heading := ATX.match(line)) is not None:
            level = len(heading.group(1))
            w.headings = [h for h in w.headings if h[0] < level] + [(level, heading.group(2))]
            table = before = None
            continue
        if not line.strip():
            table = None
            continue
        if index in w.paras:  # the last paragraph before a code block may name its profile
            first, last = w.paras[index]
            before = _one("\n".join(lines[first:last + 1]), profiles)
        if line.lstrip().startswith("|"):
            if table is None and index + 1 < len(lines) and re.match(r"^\s*\|?[\s:|-]+\|[\s:|-]*$",
                                                                       lines[index + 1]):
                table = [_plain(c).lower() for c in _cells(line)]
                continue
            if table is not None:
                if re.match(r"^\s*\|?[\s:|-]+\|[\s:|-]*$", line):
                    continue
                _table_row(w, table, _cells(line), line, lineno, flags)
                _references(w, result, line, lineno)
                continue
        _inline(w, line, lineno, flags)
        _prose_key(w, line, lineno, flags)
        _generic(w, line, lineno, "prose")
        _references(w, result, line, lineno)
    result.claims = _dedupe(w.claims)
    result.references += w.refs
    return result


def _dedupe(claims: list[Claim]) -> list[Claim]:
    seen, out = set(), []
    for c in claims:
        key = (c.kind, c.key, c.value, c.line, tuple(c.profiles))
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _tokens(text: str) -> list[str]:
    text = re.sub(r"\s#.*$", "", text).rstrip().rstrip("\\").strip()
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _flag_tokens(w: _Walker, tokens: list[str], lineno: int, line: str, where: str,
                 only: frozenset[str] | None = None, pos: int | None = None) -> None:
    """Flags of a command line; with ``only``, flags outside it (docker's, sddd's) are skipped."""
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if only is not None and re.match(FLAG, tok) and not is_vllm_flag(tok.split("=")[0], only):
            i += 1
            continue
        if re.match(FLAG + r"(=|$)", tok):
            if "=" in tok:
                flag, value = tok.split("=", 1)
                w.flag(flag, value, lineno, line, where, pos=pos)
            elif i + 1 < len(tokens) and not tokens[i + 1].startswith("-"):
                w.flag(tok, tokens[i + 1], lineno, line, where, pos=pos)
                i += 1
            else:
                w.flag(tok, None, lineno, line, where, pos=pos)
        i += 1


def _code_line(w: _Walker, line: str, lineno: int, cont: bool, flags: frozenset[str]) -> bool:
    """Claims of one line of a fenced block; returns whether the next line continues a command."""
    stripped = line.strip()
    if (item := YAML_ITEM.match(line)) is not None:
        w.flag(item.group(1), item.group(2), lineno, line, "code")
        return False
    is_vllm = cont or "vllm serve" in stripped or "api_server" in stripped or stripped.startswith("--")
    if is_vllm:
        tokens = _tokens(stripped)
        if tokens[:2] == ["vllm", "serve"] and len(tokens) > 2 and not tokens[2].startswith("-"):
            w.flag("--model", tokens[2], lineno, line, "code")
        _flag_tokens(w, tokens, lineno, line, "code")
        return stripped.endswith("\\")
    _prose_key(w, re.sub(r"\s#.*$", "", line), lineno, flags)
    return False


def _inline(w: _Walker, line: str, lineno: int, flags: frozenset[str]) -> None:
    for match in INLINE.finditer(line):
        span = match.group(1).strip()
        tokens = _tokens(span)
        if not tokens:
            continue
        served = tokens[:2] == ["vllm", "serve"]
        if tokens[0].startswith("--") or served:
            if len(tokens) == 1 and "=" not in tokens[0]:
                if not is_vllm_flag(tokens[0], flags):
                    continue  # `--env-file`, `--json`: another program's flag
                after = CONNECTOR.match(line[match.end():])
                value = (after.group(1) or after.group(2)) if after else None
                w.flag(tokens[0], value.rstrip(".,") if value else None, lineno, line, "inline",
                       pos=match.start())
            else:
                _flag_tokens(w, tokens[2:] if served else tokens, lineno, line, "inline",
                             None if served else flags, match.start())
                if served and len(tokens) > 2 and not tokens[2].startswith("-"):
                    w.flag("--model", tokens[2], lineno, line, "inline", pos=match.start())
        elif ((kv := re.fullmatch(r"([a-z][a-z0-9_-]*)\s*[:=]\s*(\S+)", span)) is not None
              and kv.group(1) not in NOT_VLLM_KEYS and normalize_flag(kv.group(1)) in flags):
            w.flag(kv.group(1), kv.group(2), lineno, line, "inline", pos=match.start())


def _prose_key(w: _Walker, line: str, lineno: int, flags: frozenset[str]) -> None:
    """``- **max-num-seqs** : 32`` and ``Modèle: Qwen/...`` lines."""
    if (m := PROSE_KEY.match(line)) is None:
        return
    key, rest = m.group(1), m.group(2)
    value = _value(rest)
    tail = re.sub(r"[^\w.:/{}\[\]\"',()<>=+-]+", " ", re.sub(r"[*`]", "", rest)).strip()
    if not re.fullmatch(r"\S+(?:\s*\(.*\))?", tail):
        return  # "`--trust-remote-code`: Qwen3 is supported natively": a definition, not a value
    if key.lower() in ("model", "modèle", "modele") or key.upper().startswith("MODEL_NAME"):
        if MODEL.match(value):
            w.add("model", "model", value, lineno, line, "prose", pos=0)
        return
    if key.lower() in NOT_VLLM_KEYS or not value or "`" in key:
        return
    if normalize_flag(key) in flags and (key.startswith("--") or key.islower()):
        w.flag(key, value, lineno, line, "prose")


def _generic(w: _Walker, line: str, lineno: int, where: str, column: str | None = None,
             row: str | None = None) -> None:
    """Model ids, images, ports and GPU ids anywhere in a line."""
    ctx = {"column": column, "row": row}
    for m in MODEL.finditer(line):
        model = m.group(0).rstrip(".")
        if not any(c.kind == "model" and c.line == lineno and c.value == model for c in w.claims):
            w.add("model", "model", model, lineno, line, where, explicit=False, pos=m.start(), **ctx)
    for m in IMAGE.finditer(line):
        w.add("image", "image", f"{m.group(1)}:{m.group(2).rstrip('.')}", lineno, line, where,
              pos=m.start(), **ctx)
    for pattern in (PORT_URL, PORT_WORD, PORT_VAR):
        for m in pattern.finditer(line):
            port = next(g for g in m.groups() if g)
            w.add("port", "port", port, lineno, line, where, pos=m.start(), **ctx)
    for pattern in (GPU_ENV, GPU_IDS, GPU_WORD):
        for m in pattern.finditer(line):
            ids = ",".join(re.findall(r"\d+", m.group(1)))
            if ids:
                w.add("gpu", "gpus", ids, lineno, line, where, pos=m.start(), **ctx)


def _table_row(w: _Walker, header: list[str], cells: list[str], line: str, lineno: int,
               flags: frozenset[str]) -> None:
    roles: dict[int, str] = {}
    row_profile = None
    for i, name in enumerate(header):
        if i >= len(cells):
            break
        if name in w.profiles:
            roles[i] = f"profile:{name}"
        elif any(name.startswith(h) for h in FLAG_HEADERS):
            roles[i] = "flag"
        elif any(name.startswith(h) for h in VALUE_HEADERS):
            roles[i] = "value"
        elif any(name.startswith(h) for h in ROW_HEADERS):
            roles[i] = "row"
            row_profile = _one(_plain(cells[i]), w.profiles)
        elif "model" in name or "modèle" in name:
            roles[i] = "model"
        elif "port" in name:
            roles[i] = "port"
        elif "gpu" in name:
            roles[i] = "gpu"
    ctx = {"row": row_profile}
    flag_col = next((i for i, r in roles.items() if r == "flag"), None)
    key = _plain(cells[flag_col]) if flag_col is not None else ""
    value_col = next((i for i, r in roles.items() if r == "value"), None)
    if key and re.fullmatch(r"(--)?[A-Za-z][\w-]*", key) and (key.startswith("--") or
                                                              normalize_flag(key) in flags):
        if value_col is not None:
            value = _value(cells[value_col])
            w.flag(key, None if value.lower() == "on" else value, lineno, line, "table", **ctx)
        for i, role in roles.items():
            if role.startswith("profile:"):
                value = _value(cells[i])
                if value and value.lower() not in ("same", "-", "idem"):
                    w.flag(key, None if value.lower() == "on" else value, lineno, line, "table",
                           column=role[8:])
    for i, role in roles.items():
        cell = cells[i]
        column = role[8:] if role.startswith("profile:") else None
        if column:
            _setting_cell(w, key.lower(), cell, lineno, line, column)
        elif role == "model" and (m := MODEL.search(cell)) is not None:
            w.add("model", "model", m.group(0), lineno, line, "table", **ctx)
        elif role == "port" and (m := re.match(r"^\D{0,3}(\d{2,5})\b", _plain(cell))) is not None:
            w.add("port", "port", m.group(1), lineno, line, "table", **ctx)
        elif role == "gpu" and (m := GPU_CELL.match(_plain(cell))) is not None:
            w.add("gpu", "gpus", ",".join(re.findall(r"\d", m.group(1))), lineno, line, "table", **ctx)
    for i, cell in enumerate(cells):
        if i in (flag_col, value_col) or roles.get(i, "").startswith("profile:"):
            continue
        _inline(w, cell, lineno, flags)
        _generic(w, cell, lineno, "table", row=row_profile)


def _setting_cell(w: _Walker, key: str, cell: str, lineno: int, line: str, column: str) -> None:
    """A cell of a ``| Setting | micro | mini | medium |`` table."""
    for m in IMAGE.finditer(cell):
        w.add("image", "image", f"{m.group(1)}:{m.group(2)}", lineno, line, "table", column=column)
    if "port" in key:
        for pattern in (PORT_VAR, PORT_URL):
            for m in pattern.finditer(cell):
                w.add("port", "port", next(g for g in m.groups() if g), lineno, line, "table", column=column)
    if "device_ids" in key or key.startswith("gpu"):
        ids = re.findall(r"\d+", cell)
        if ids:
            w.add("gpu", "gpus", ",".join(ids), lineno, line, "table", column=column)
    for m in MODEL.finditer(cell):
        w.add("model", "model", m.group(0), lineno, line, "table", column=column, explicit=False)


def _references(w: _Walker, result: DocClaims, line: str, lineno: int) -> None:
    """Links and inline-code paths, unless the sentence gives an example or speaks of archives."""
    heading = " ".join(t for _l, t in w.headings)
    if re.search(r"archiv", heading, re.IGNORECASE):
        return
    for m in LINK.finditer(line):
        target = m.group(1)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) and not target.startswith("#"):
            w.refs.append(Reference(target, "link", w.rel, lineno))
    for m in INLINE.finditer(line):
        if EXAMPLE_WORDS.search(w.sentence(lineno, m.start())[0] if line is w.lines[lineno - 1] else line):
            continue
        for token in _tokens(m.group(1)):
            if _looks_like_path(token):
                w.refs.append(Reference(token, "inline", w.rel, lineno))


def _looks_like_path(token: str) -> bool:
    if any(c in token for c in "<>{}*$") or "..." in token or token.startswith(("-", "http")):
        return False
    if not PATH_TOKEN.match(token):
        return False
    name = token.rstrip("/").rsplit("/", 1)[-1]
    if name == ".env" or (name.startswith(".env.") and name != ".env.example"):
        return False
    return token.endswith("/") or name.lower().endswith(PATH_EXT)
