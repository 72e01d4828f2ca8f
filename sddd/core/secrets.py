"""Find and redact strings that look like secrets.

Used wherever text is stored or shown: the index (every field of a chunk, through
``redact_fields``), the query cache, deploy plans, audit findings. A value written as a
``${VAR}`` reference is not a secret: it names one. Every pattern runs in time linear in the
text, whatever it holds.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TypeVar

Record = TypeVar("Record")

MASK = "***"

# Token shapes that are secrets wherever they appear. No ``\b`` around them: ``\b`` fails
# between two word characters, so a token touching a letter, ``_``, a digit or an accent
# (``hf_…_old``, ``_hf_…_`` as Markdown emphasis, ``MYhf_…``, ``éhf_…é``) matched nothing and
# stayed in clear. The shape is found anywhere; ``_token_spans`` then takes the whole word
# around it (so no half of it is left), and asks a token glued to a letter or digit in front
# to look like one (a digit and a letter in it), so that ``disk-utilization-threshold`` is no
# ``sk-`` key.
TOKEN_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("Hugging Face token", re.compile(r"hf_[A-Za-z0-9]{16,}+")),
    ("API key (sk-)", re.compile(r"sk-[A-Za-z0-9_\-]{16,}+")),
    ("GitHub token", re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}+")),
    ("AWS access key", re.compile(r"AKIA[0-9A-Z]{16}")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
]
WHOLE_WORD = frozenset({"private key"})  # a marker line, not a word: taken as it is
WORD_TAIL = re.compile(r"[\w\-]*+")  # what still belongs to the token after its shape
# The credentials of a URL (scheme://user:password@host, scheme://token@host): an error line
# echoing `--url http://u:TOKEN@host` must not show them. Found from the literal "://" only, so
# a long run of letters is never tried at every position.
URL_USERINFO = re.compile(r"://(?P<value>[^/\s@?#'\"<>]++)@")

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD", re.IGNORECASE)
# Names that contain those words but hold counts or settings, not secrets.
NOT_SECRET_NAME = re.compile(r"TOKENS|TOKENIZER|KEY_?CACHE|KEYS?_?(DTYPE|SIZE|LEN)", re.IGNORECASE)

# NAME=value, NAME: value, "NAME": "value". The name starts only where a run of name
# characters starts, and is taken whole (possessive): otherwise a long run of letters (a base64
# blob, a minified line) is tried at every position and every length, which took 32 s for 16,000
# letters. A shorter name could never match anyway: what follows it would be a name character.
ASSIGNMENT = re.compile(
    r"""(?<![A-Za-z0-9_\-])(?P<name>[A-Za-z_][A-Za-z0-9_\-]*+)(?P<q1>["']?)"""
    r"""(?P<sep>\s*+[=:]\s*+)(?P<q2>["']?)(?P<value>[^\s"',}\]]++)"""
)
# A command-line flag and its value: --api-key=V, --api-key V, and the same flag as items of
# a Compose command list, ["--api-key", "V"] or a YAML block list (- --api-key / - V). Apart
# from ASSIGNMENT so that prose, where every word is followed by a space and another word, is
# not a candidate at each word.
FLAG = re.compile(
    r"""(?<![A-Za-z0-9_\-])(?P<name>--[A-Za-z][A-Za-z0-9_\-]*+)["']?"""
    r"""(?P<sep>=|\s*+,\s*+|[ \t]*+\n\s*+-\s++|\s++)(?P<q2>["']?)(?P<value>[^\s"',}\]]++)"""
)

PLACEHOLDERS = {"changeme", "<your-token>", "xxx", "none", "null", "true", "false", MASK}


# A Python exception's name before its message (``KeyError: 'model_type'``, ``KeyboardInterrupt:
# terminated``, ``TokenizerError: ...``): the words after it explain a failure, they hold no secret.
EXCEPTION_NAME = re.compile(r"(?:[A-Za-z_]\w*\.)*[A-Z][A-Za-z0-9]*(?:Error|Exception|Interrupt|Warning|Exit)")


def is_secret_name(name: str) -> bool:
    if EXCEPTION_NAME.fullmatch(name):
        return False
    name = name.replace("-", "_")
    return bool(SECRET_NAME.search(name)) and not NOT_SECRET_NAME.search(name)


def _is_placeholder(value: str) -> bool:
    lowered = value.strip("\"'").lower()
    return (
        not lowered
        or lowered.startswith("${")
        or lowered.startswith("$")
        or lowered in PLACEHOLDERS
        or (lowered.startswith("<") and lowered.endswith(">"))
        or set(lowered) <= {"x", "*", "-", "_", "."}
        or len(lowered) < 4
        # a short word is prose ("add API_KEY= with a comment"), not a key
        or (len(lowered) < 8 and lowered.isalpha())
        or re.fullmatch(r"[0-9.]+", lowered) is not None
    )


def _is_url_example(userinfo: str) -> bool:
    """``user:password``, ``u:TOKEN``, ``${USER}:${PASS}``: words that name credentials, as docs
    and help texts write them. A real password or token has digits or is long."""
    parts = userinfo.split(":")
    return all(_is_placeholder(part) or (len(part) <= 12 and re.fullmatch(r"[A-Za-z_-]+", part) is not None)
               for part in parts)


@dataclass
class SecretMatch:
    kind: str
    start: int
    end: int
    value: str

    @property
    def masked(self) -> str:
        return mask_value(self.value)


def mask_value(value: str) -> str:
    """Show at most the first 3 characters: enough to recognise, never enough to use."""
    return value[:3] + MASK if len(value) > 8 else MASK


def _token_spans(text: str) -> list[SecretMatch]:
    """Every token shape in ``text``, widened to the whole word around it. Linear: a widening
    never goes back past the end of the previous token's word."""
    found: list[SecretMatch] = []
    for kind, pattern in TOKEN_PATTERNS:
        floor = 0
        for match in pattern.finditer(text):
            start, end = match.start(), match.end()
            if start < floor:
                continue  # inside the word of the previous token, already taken whole
            if kind not in WHOLE_WORD:
                glued = start > 0 and text[start - 1].isalnum()
                body = match.group(0)
                if glued and not (any(c.isdigit() for c in body) and any(c.isalpha() for c in body[3:])):
                    continue  # a word that happens to hold the prefix ("disk-utilization-…")
                while start > floor and (text[start - 1].isalnum() or text[start - 1] == "_"):
                    start -= 1
                tail = WORD_TAIL.match(text, end)
                end = tail.end() if tail else end
            floor = end
            found.append(SecretMatch(kind, start, end, text[start:end]))
    return found


def find_secrets(text: str) -> list[SecretMatch]:
    """Every secret-looking span in ``text``: token shapes, and values of secret-named keys."""
    found = _token_spans(text)
    for match in URL_USERINFO.finditer(text):
        if not _is_url_example(match.group("value")):
            found.append(SecretMatch("credentials in a URL", match.start("value"), match.end("value"),
                                     match.group("value")))
    for pattern in (ASSIGNMENT, FLAG):
        for match in pattern.finditer(text):
            name, value = match.group("name"), match.group("value")
            if value.startswith("-") or not is_secret_name(name) or _is_placeholder(value):
                continue  # a value starting with "-" is the next flag: the flag had none here
            found.append(SecretMatch(f"value of {name.lstrip('-')}", match.start("value"),
                                     match.end("value"), value))
    found.sort(key=lambda m: m.start)
    merged: list[SecretMatch] = []
    for item in found:
        if merged and item.start < merged[-1].end:
            continue
        merged.append(item)
    return merged


def redact(text: str) -> str:
    """``text`` with every secret-looking value replaced by ``***``."""
    matches = find_secrets(text)
    if not matches:
        return text
    out, last = [], 0
    for match in matches:
        out.append(text[last:match.start])
        out.append(MASK)
        last = match.end
    out.append(text[last:])
    return "".join(out)


def redact_fields(record: Record, *names: str) -> Record:
    """``record`` (a dataclass) with each named text field passed through ``redact``: the one
    pass that every field an index stores, and so shows, goes through."""
    changes = {}
    for name in names:
        value = getattr(record, name)
        if isinstance(value, str) and (clean := redact(value)) != value:
            changes[name] = clean
    return dataclasses.replace(record, **changes) if changes else record  # type: ignore[type-var]
