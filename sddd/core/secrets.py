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

# Token shapes that are secrets wherever they appear.
TOKEN_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{16,}\b")),
    ("API key (sk-)", re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}\b")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b")),
    ("AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
]

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


def find_secrets(text: str) -> list[SecretMatch]:
    """Every secret-looking span in ``text``: token shapes, and values of secret-named keys."""
    found: list[SecretMatch] = []
    for kind, pattern in TOKEN_PATTERNS:
        for match in pattern.finditer(text):
            found.append(SecretMatch(kind, match.start(), match.end(), match.group(0)))
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
