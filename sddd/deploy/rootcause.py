"""The first decisive error in a vLLM log: what its last line ("See root cause above") points to.

vLLM fails in layers. The engine core process logs ``EngineCore failed to start.`` and the
traceback of the real error (``ValueError: No available memory for the cache blocks``); the
API server then dies with ``RuntimeError: Engine core initialization failed. See root cause
above.``, the line a reader (and a search for a troubleshooting hint) sees last. ``root_cause``
reads the log the way a person does:

1. argparse's ``api_server.py: error: argument --dtype: invalid choice: ...`` (a flag vLLM does
   not have, a value it refuses): nothing runs after it;
2. else the exception line that ends the first traceback whose error is not a wrapper of
   another (``Engine core initialization failed``, ``EngineCore failed to start``, a worker that
   "died unexpectedly", ``SystemExit``), with the lines that continue it (pydantic's detail);
   an interrupt (``KeyboardInterrupt: terminated``) counts only when nothing else failed;
3. else the first ERROR line that is not a wrapper, else a fatal pattern of the health wait,
   else an exception's line printed on its own (``ValueError: bad model``).

Exception names inside WARNING text (``... errors like `OSError: [Errno 24]` ...``) are prose,
not errors: only a line that ends a traceback, or is logged at ERROR, is read as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

EXCERPT_BEFORE = 4  # lines shown before the decisive one (the frame that raised it)
EXCERPT_AFTER = 2

# "(EngineCore pid=27) ERROR 12-06 16:02:10 [core.py:1510] " and "(EngineCore_DP0 pid=27) ".
PREFIX = re.compile(r"^(?:\([\w.-]+ pid=\d+\)\s)?(?:(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) "
                    r"\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \[[^\]]*\] ?)?")
TRACEBACK = "Traceback (most recent call last):"
EXCEPTION = re.compile(r"^(?P<name>(?:[A-Za-z_]\w*\.)*[A-Z]\w*)(?::\s?(?P<text>.*))?$")
ARGPARSE = re.compile(r"^\S+\.py: error: ")
WRAPPER = re.compile(r"See root cause above|Engine core initialization failed|EngineCore failed to start|"
                     r"died unexpectedly|^SystemExit\b|EngineDeadError|Worker failed with error", re.I)
BARE = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception): \S")
INTERRUPT = re.compile(r"^(KeyboardInterrupt|asyncio\.exceptions\.CancelledError|CancelledError)\b")

# What kind of failure a decisive line is: the first pattern that matches names it.
KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("no memory for the KV cache", re.compile(
        r"No available memory for the cache blocks|larger than the available KV cache memory|"
        r"less than requested memory for kv|KV cache is needed", re.I)),
    ("out of memory", re.compile(r"out of memory|OutOfMemoryError|OOMKilled|MemoryError", re.I)),
    ("CUDA error", re.compile(r"CUDA error|cudaError|CUBLAS_STATUS|NCCL error|illegal memory access")),
    ("no GPU device", re.compile(r"No CUDA GPUs are available|Found no NVIDIA driver|"
                                 r"Failed to infer device type|No platform detected|libcuda\.so")),
    ("unknown argument", re.compile(r": error: unrecognized arguments")),
    ("invalid argument value", re.compile(r": error: argument ")),
    ("model not found", re.compile(
        r"Repo id must be|not a valid model identifier|Invalid repository ID|does not appear to have a "
        r"file named|Unrecognized model|LocalEntryNotFoundError|RepositoryNotFoundError|"
        r"\bmodel_type\b|No such file or directory", re.I)),
    ("interrupted", INTERRUPT),
]


@dataclass
class Cause:
    line: str  # the decisive line, without vLLM's process/level/time prefix (what is searched)
    kind: str  # "no memory for the KV cache", "invalid argument value", ..., "error"
    index: int  # its place in the lines given
    excerpt: list[str] = field(default_factory=list)  # the lines around it, as logged

    @property
    def message(self) -> str:
        return f"{self.kind}: {self.line}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "line": self.line, "excerpt": self.excerpt}


def strip_prefix(line: str) -> tuple[str | None, str]:
    """(level or None, the text after vLLM's ``(proc pid=N) LEVEL date [file:line]`` prefix)."""
    match = PREFIX.match(line)
    if match is None or not match.group(0):
        return None, line.rstrip()
    return match.group("level"), line[match.end():].rstrip()


def kind_of(text: str) -> str:
    return next((name for name, pattern in KINDS if pattern.search(text)), "error")


def _continuation(texts: list[str], index: int) -> list[str]:
    """The indented lines that continue an exception's message (pydantic's ``Value error, ...``)."""
    out = []
    for text in texts[index + 1:index + 3]:
        if not text.startswith(" ") or text.lstrip().startswith(("File ", "For further information")):
            break
        out.append(text.strip())
    return out


def _traceback_ends(texts: list[str]) -> list[int]:
    """The index of the exception line that ends each traceback."""
    ends, inside = [], False
    for i, text in enumerate(texts):
        if text.startswith(TRACEBACK):
            inside = True
        elif inside and text and not text[0].isspace():
            inside = False
            if EXCEPTION.match(text):
                ends.append(i)
    return ends


def _pick(texts: list[str], levels: list[str | None]) -> int | None:
    for i, text in enumerate(texts):
        if ARGPARSE.match(text):
            return i
    ends = _traceback_ends(texts)
    firm = [i for i in ends if not WRAPPER.search(texts[i]) and not INTERRUPT.match(texts[i])]
    if firm:
        return firm[0]
    errors = [i for i, level in enumerate(levels) if level in ("ERROR", "CRITICAL") and texts[i].strip()
              and not WRAPPER.search(texts[i])]
    if errors:
        return errors[0]
    from sddd.deploy.wait import fatal_kind  # the wait's own list: a line that ends a deploy

    fatal = [i for i, text in enumerate(texts) if fatal_kind(text) and not WRAPPER.search(text)]
    if fatal:
        return fatal[0]
    bare = [i for i, text in enumerate(texts) if levels[i] is None and BARE.match(text)
            and not WRAPPER.search(text) and not INTERRUPT.match(text)]
    if bare:
        return bare[0]  # an exception's line printed without its traceback
    interrupts = [i for i in ends if INTERRUPT.match(texts[i])]
    return interrupts[0] if interrupts else None


def root_cause(lines: list[str]) -> Cause | None:
    """The first decisive error of a log (its lines in order), or None when it shows none."""
    split = [strip_prefix(line) for line in lines]
    levels, texts = [s[0] for s in split], [s[1] for s in split]
    index = _pick(texts, levels)
    if index is None:
        return None
    text = " ".join([texts[index].strip(), *_continuation(texts, index)])
    start = max(0, index - EXCERPT_BEFORE)
    excerpt = [line.rstrip()[:300] for line in lines[start:index + 1 + EXCERPT_AFTER] if line.strip()]
    return Cause(text[:500], kind_of(text), index, excerpt)


EXIT_SIGNALS = {137: "SIGKILL: `docker kill`, or the kernel's out-of-memory killer",
                143: "SIGTERM: `docker stop` or the engine stopping it", 130: "SIGINT"}


def exit_meaning(code: Any) -> str:
    """What a container's exit code says when its log says nothing (128 + the signal)."""
    try:
        number = int(code)
    except (TypeError, ValueError):
        return ""
    if number in EXIT_SIGNALS:
        return f"killed by {EXIT_SIGNALS[number]}"
    return f"killed by signal {number - 128}" if number > 128 else ""
