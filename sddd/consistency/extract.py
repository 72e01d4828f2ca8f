"""Reading a guide's claims line by line: tables, fenced code, inline code, prose (see
``sddd.consistency.claims`` for what a claim is and how its profile is decided)."""

from __future__ import annotations

import re
import shlex
from typing import Any

from sddd.compose.vllm_args import normalize_flag
from sddd.consistency.claims import (
    CONNECTOR,
    EXAMPLE_WORDS,
    FLAG,
    FLAG_HEADERS,
    GPU_CELL,
    GPU_ENV,
    GPU_IDS,
    GPU_WORD,
    IMAGE,
    INLINE,
    LINK,
    NOT_VLLM_KEYS,
    PATH_EXT,
    PATH_TOKEN,
    PORT_URL,
    PORT_VAR,
    PORT_WORD,
    PROSE_KEY,
    ROW_HEADERS,
    VALUE_HEADERS,
    YAML_ITEM,
    Claim,
    DocClaims,
    Reference,
    Walker,
    is_model_value,
    is_vllm_flag,
    known_flags,
    model_mentions,
    one_name,
    paragraphs,
    plain_cell,
    table_cells,
    value_of,
)
from sddd.consistency.states import feature_flag, feature_states, runs_model, state_of
from sddd.index.chunking import FENCE
from sddd.index.markdown_chunks import ATX, doc_kind, split_front_matter


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
    w = Walker(rel, lines, profiles, meta_profiles)
    w.paras = paragraphs(lines, body_start)
    flags = known_flags() | extra_flags
    fence, vllm_cont, table, before = False, "", None, None
    for index in range(body_start, len(lines)):
        line, lineno = lines[index], index + 1
        if FENCE.match(line):
            fence, vllm_cont = not fence, ""
            w.block = before if fence else None
            continue
        if fence:
            w.block = one_name(line, profiles) or w.block
            vllm_cont = _code_line(w, line, lineno, vllm_cont, flags)
            _generic(w, line, lineno, "code")
            feature_states(w, line, lineno, "code")
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
            before = one_name("\n".join(lines[first:last + 1]), profiles)
        if line.lstrip().startswith("|"):
            if table is None and index + 1 < len(lines) and re.match(r"^\s*\|?[\s:|-]+\|[\s:|-]*$",
                                                                       lines[index + 1]):
                table = [plain_cell(c).lower() for c in table_cells(line)]
                continue
            if table is not None:
                if re.match(r"^\s*\|?[\s:|-]+\|[\s:|-]*$", line):
                    continue
                _table_row(w, table, table_cells(line), line, lineno, flags)
                _references(w, result, line, lineno)
                continue
        _prose_line(w, result, line, lineno, flags)
    result.claims = _dedupe(w.claims)
    result.references += w.refs
    return result


def _prose_line(w: Walker, result: DocClaims, line: str, lineno: int, flags: frozenset[str]) -> None:
    """Claims and references of a line of prose (a paragraph, a list item, a quote)."""
    _inline(w, line, lineno, flags)
    _prose_key(w, line, lineno, flags)
    _generic(w, line, lineno, "prose")
    feature_states(w, line, lineno, "prose")
    runs_model(w, line, lineno, "prose")
    _references(w, result, line, lineno)


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


def _flag_tokens(w: Walker, tokens: list[str], lineno: int, line: str, where: str,
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


def _code_line(w: Walker, line: str, lineno: int, cont: str, flags: frozenset[str]) -> str:
    """Claims of one line of a fenced block. ``cont`` and the result say whether the line goes
    on a command: ``vllm`` (a vllm serve command), ``other`` (``python bench.py \\``: its
    ``--endpoint`` is not vLLM's) or ``""``."""
    stripped = line.strip()
    if (item := YAML_ITEM.match(line)) is not None:
        w.flag(item.group(1), item.group(2), lineno, line, "code")
        return ""
    if cont == "other":
        return "other" if stripped.endswith("\\") else ""
    is_vllm = cont or "vllm serve" in stripped or "api_server" in stripped or stripped.startswith("--")
    if is_vllm:
        tokens = _tokens(stripped)
        if tokens[:2] == ["vllm", "serve"] and len(tokens) > 2 and not tokens[2].startswith("-"):
            w.flag("--model", tokens[2], lineno, line, "code")
        _flag_tokens(w, tokens, lineno, line, "code")
        return "vllm" if stripped.endswith("\\") else ""
    _prose_key(w, re.sub(r"\s#.*$", "", line), lineno, flags)
    return "other" if stripped.endswith("\\") else ""


def _inline(w: Walker, line: str, lineno: int, flags: frozenset[str]) -> None:
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


def _prose_key(w: Walker, line: str, lineno: int, flags: frozenset[str]) -> None:
    """``- **max-num-seqs** : 32`` and ``Modèle: Qwen/...`` lines."""
    if (m := PROSE_KEY.match(line)) is None:
        return
    key, rest = m.group(1), m.group(2)
    value = value_of(rest)
    tail = re.sub(r"[^\w.:/{}\[\]\"',()<>=+-]+", " ", re.sub(r"[*`]", "", rest)).strip()
    if not re.fullmatch(r"\S+(?:\s*\(.*\))?", tail):
        return  # "`--trust-remote-code`: Qwen3 is supported natively": a definition, not a value
    if key.lower() in ("model", "modèle", "modele") or key.upper().startswith("MODEL_NAME"):
        if is_model_value(value):
            w.add("model", "model", value, lineno, line, "prose", pos=0)
        return
    if key.lower() in NOT_VLLM_KEYS or not value or "`" in key:
        return
    if normalize_flag(key) in flags and (key.startswith("--") or key.islower()):
        w.flag(key, value, lineno, line, "prose")


def _generic(w: Walker, line: str, lineno: int, where: str, column: str | None = None,
             row: str | None = None) -> None:
    """Model ids, images, ports and GPU ids anywhere in a line."""
    ctx: dict[str, Any] = {"column": column, "row": row}
    for start, model in model_mentions(line):
        if not any(c.kind == "model" and c.line == lineno and c.value == model for c in w.claims):
            w.add("model", "model", model, lineno, line, where, explicit=False, pos=start, **ctx)
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


def _table_row(w: Walker, header: list[str], cells: list[str], line: str, lineno: int,
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
            row_profile = one_name(plain_cell(cells[i]), w.profiles)
        elif "model" in name or "modèle" in name:
            roles[i] = "model"
        elif "port" in name:
            roles[i] = "port"
        elif "gpu" in name:
            roles[i] = "gpu"
    ctx: dict[str, Any] = {"row": row_profile}
    flag_col = next((i for i, r in roles.items() if r == "flag"), None)
    key = plain_cell(cells[flag_col]) if flag_col is not None else ""
    value_col = next((i for i, r in roles.items() if r == "value"), None)
    _feature_row(w, roles, cells, line, lineno, row_profile)
    if key and re.fullmatch(r"(--)?[A-Za-z][\w-]*", key) and (key.startswith("--") or
                                                              normalize_flag(key) in flags):
        if value_col is not None:
            w.flag(key, _cell_value(cells[value_col]), lineno, line, "table", **ctx)
        for i, role in roles.items():
            if role.startswith("profile:"):
                value = value_of(cells[i])
                if (value or state_of(cells[i])) and value.lower() not in ("same", "-", "idem"):
                    w.flag(key, _cell_value(cells[i]), lineno, line, "table", column=role[8:])
    for i, role in roles.items():
        cell = cells[i]
        column = role[8:] if role.startswith("profile:") else None
        if column:
            _setting_cell(w, key.lower(), cell, lineno, line, column)
        elif role == "model" and (model := _model_cell(cell)) is not None:
            w.add("model", "model", model, lineno, line, "table", **ctx)
        elif role == "port" and (m := re.match(r"^\D{0,3}(\d{2,5})\b", plain_cell(cell))) is not None:
            w.add("port", "port", m.group(1), lineno, line, "table", **ctx)
        elif role == "gpu" and (m := GPU_CELL.match(plain_cell(cell))) is not None:
            w.add("gpu", "gpus", ",".join(re.findall(r"\d", m.group(1))), lineno, line, "table", **ctx)
    for i, cell in enumerate(cells):
        if i in (flag_col, value_col) or roles.get(i, "").startswith("profile:"):
            continue
        _inline(w, cell, lineno, flags)
        _generic(w, cell, lineno, "table", row=row_profile)


def _cell_value(cell: str) -> str | None:
    """A flag's value in a table cell: ``true`` for on (``on``, ``✅``), ``false`` for off
    (``❌``, ``désactivé``), else the value as written (None when the cell is empty)."""
    state = state_of(cell)
    if state is not None:
        return state
    return value_of(cell) or None


def _model_cell(cell: str) -> str | None:
    """The model id a Model column's cell holds (Qwen names, any org/name), or None."""
    value = plain_cell(cell).split(" ")[0].strip(".,;")
    if is_model_value(value):
        return value
    mentions = model_mentions(cell)
    return mentions[0][1] if mentions else None


def _feature_row(w: Walker, roles: dict[int, str], cells: list[str], line: str, lineno: int,
                 row_profile: str | None) -> None:
    """``| Prefix caching | ❌ |``: a row whose first cell names a feature, its state per column."""
    flag = feature_flag(plain_cell(cells[0])) if cells else None
    if flag is None or plain_cell(cells[0]).startswith("-") or normalize_flag(plain_cell(cells[0])) == flag:
        return  # `--enable-prefix-caching` itself: a flag row, read as one
    for i, role in roles.items():
        value = state_of(cells[i]) if i else None
        if value is None:
            continue
        if role.startswith("profile:"):
            w.flag(flag, value, lineno, line, "table", column=role[8:])
        elif role == "value":
            w.flag(flag, value, lineno, line, "table", row=row_profile)


def _setting_cell(w: Walker, key: str, cell: str, lineno: int, line: str, column: str) -> None:
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
    for _start, model in model_mentions(cell):
        w.add("model", "model", model, lineno, line, "table", column=column, explicit=False)


def _references(w: Walker, result: DocClaims, line: str, lineno: int) -> None:
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
