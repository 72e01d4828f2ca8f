"""Helpers shared by the tests: skipping with a reason, writing files, running the real CLI (in a
fresh process, or in this one), waiting for a state, and the secret-shaped tokens tests plant,
which no output of any command may ever hold."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parents[1]

# Tokens shaped as real secrets (sddd.core.secrets' patterns), planted by the tests in headings,
# titles, bodies, compose files and queries. `run_sddd` fails a test whose command printed one.
PLANTED_SECRETS = (
    "hf_PlantedStagingToken0123456789abcd",
    "sk-planted0123456789abcdefXYZ",
    "ghp_Planted0123456789abcdefghijklmn",
)


# A password in a URL's credentials (http://u:PASSWORD@host): no token shape, found by place.
PLANTED_URL_PASSWORD = "PlantedUrlPassw0rd42"


def planted_shapes(token: str) -> list[str]:
    """``token`` touched by what people put next to it: a suffix after ``_``, Markdown emphasis,
    letters, digits and accents glued on, backticks and punctuation. Each must be redacted whole."""
    return [f"{token}_old", f"{token}_v2", f"_{token}_", f"MY{token}", f"é{token}é", f"*{token}*",
            f"`{token}`", f"({token}).", f"**{token}**", f"{token}2"]


def planted_in(text: str | bytes) -> list[str]:
    """The planted tokens that ``text`` holds (bytes: a file's raw content), whole or any part
    past the prefix that a redaction may show (``hf_***``): a half-redacted token is a leak too."""
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    found = [t for t in PLANTED_SECRETS if t.encode() in raw or _body(t).encode() in raw.lower()]
    return found + ([PLANTED_URL_PASSWORD] if PLANTED_URL_PASSWORD.encode() in raw else [])


def _body(token: str) -> str:
    """12 characters of ``token`` after its prefix, lowercased: a slug lowercases what it keeps."""
    return token.split("_", 1)[-1].split("-", 1)[-1][:12].lower() if token else ""


def require(condition: bool, reason: str) -> None:
    """Skip with a visible reason when ``condition`` is false, except in CI, where it fails."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}: .ci/steps should have provided it")
    pytest.skip(reason)


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def run_sddd(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in a fresh process, as a user runs it."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "sddd.cli", *args], cwd=cwd, env=full_env,
        capture_output=True, text=True, timeout=600,
    )
    leaked = planted_in(proc.stdout + proc.stderr)
    assert not leaked, f"`sddd {args[0] if args else ''}` printed planted secrets {[t[:6] for t in leaked]}"
    return proc


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _fresh_consoles() -> None:
    """The output consoles made again at first use, as in a new process: rich reads COLUMNS and
    the stream it writes to when a console is made."""
    from sddd.output import console

    for lazy in (console._out, console._err):
        lazy.__dict__["_console"] = None


def sddd_here(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI's ``main()`` in this process, with what ``run_sddd`` gives: the exit code,
    stdout and stderr apart, COLUMNS=200, ``cwd`` and ``env``, and the planted-secret check.

    For tests where the process itself is not under test: no start-up, no signal, no terminal,
    no crash point (``SDDD_CRASH_AT`` kills the process it runs in), no stdin, and no environment
    variable read at import time. It saves the interpreter and the imports of a fresh process.
    """
    from sddd.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    argv = sys.argv
    with _environment({"COLUMNS": "200", **(env or {})}), contextlib.chdir(cwd), \
            contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        _fresh_consoles()
        sys.argv = ["sddd", *args]
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        finally:
            sys.argv = argv
            _fresh_consoles()
    if not isinstance(code, int):  # sys.exit("text") prints the text and exits 1, as Python does
        stderr.write(f"{code}\n" if code is not None else "")
        code = 0 if code is None else 1
    proc = subprocess.CompletedProcess(["sddd", *args], code, stdout.getvalue(), stderr.getvalue())
    leaked = planted_in(proc.stdout + proc.stderr)
    assert not leaked, f"`sddd {args[0] if args else ''}` printed planted secrets {[t[:6] for t in leaked]}"
    return proc


T = TypeVar("T")


def wait_until(probe: Callable[[], T], *, timeout: float = 30.0, every: float = 0.05,
               what: str = "the condition") -> T:
    """``probe()``'s first true value, asked every ``every`` seconds; fails the test after
    ``timeout`` seconds, saying ``what`` it waited for (instead of a sleep that guesses)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:g} s for {what}")
        time.sleep(every)
