"""The first decisive error of real vLLM logs, and redaction that keeps what explains it.

The logs under tests/fixtures/data/vllm_logs/ are `docker logs` of real failed starts of the
test image (see the README there); tests/grid/test_runner.py produces the same failures live.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sddd.core.secrets import redact
from sddd.deploy.rootcause import exit_meaning, root_cause, strip_prefix
from sddd.deploy.wait import failure

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "vllm_logs"


def log(name: str) -> list[str]:
    return (LOGS / f"{name}.log").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(("name", "kind", "starts"), [
    ("kv0", "no memory for the KV cache", "ValueError: No available memory for the cache blocks."),
    ("dtype", "invalid argument value", "api_server.py: error: argument --dtype: invalid choice: 'float99'"),
    ("nomodel", "model not found", "huggingface_hub.errors.HFValidationError: Repo id must be in the form"),
    ("badcfg", "model not found", "pydantic_core._pydantic_core.ValidationError: 1 validation error for "
     "ModelConfig Value error, Unrecognized model in /models/bad."),
    ("stopped", "interrupted", "KeyboardInterrupt: terminated"),
])
def test_the_decisive_line_not_the_last_one(name: str, kind: str, starts: str) -> None:
    lines = log(name)
    cause = root_cause(lines)
    assert cause is not None
    assert (cause.kind, cause.line[:len(starts)]) == (kind, starts)
    assert cause.excerpt and len(cause.excerpt) <= 7
    assert any(starts.split(" Value error")[0] in line for line in cause.excerpt)


def test_the_engine_cores_error_wins_over_the_api_servers_see_root_cause_above() -> None:
    lines = log("kv0")
    assert "See root cause above" in lines[-1]  # what the wait used to report
    cause = root_cause(lines)
    assert cause is not None and cause.index < len(lines) - 50
    assert "(EngineCore pid=" in cause.excerpt[-1] or "(EngineCore pid=" in cause.excerpt[-3]


def test_exception_names_in_warnings_are_prose() -> None:
    """Every captured log has vLLM's ulimit WARNING naming `OSError: [Errno 24]`; it is never the
    cause, and a log of INFO and WARNING lines only has none."""
    ordinary = [line for line in log("kv0") if strip_prefix(line)[0] in ("INFO", "WARNING")]
    assert any("OSError: [Errno 24]" in line for line in ordinary)
    assert root_cause(ordinary) is None


def test_a_failed_wait_reports_the_cause_and_a_killed_container_its_signal() -> None:
    waited = failure(log("kv0"), 12.0, "engine failed: RuntimeError: Engine core initialization failed",
                     None, state="the container exited with code 1")
    assert waited.message.startswith("no memory for the KV cache: ValueError: No available memory")
    assert waited.message.endswith("(the container exited with code 1)")
    assert waited.cause.startswith("ValueError: No available memory for the cache blocks")
    killed = ["Triton is installed, but doesn't include CPU backend. Disabling Triton."]  # all it logged
    state = f"the container exited with code 137 ({exit_meaning(137)})"
    waited = failure(killed, 20.0, state, None, state=state)
    assert waited.cause == "" and "SIGKILL" in waited.message and waited.lines == killed


def test_redaction_keeps_exception_names_and_their_words() -> None:
    done = subprocess.run([sys.executable, "-c", "{}['model_type']"], capture_output=True, text=True,
                          check=False)
    key_error = done.stderr.strip().splitlines()[-1]
    assert key_error == "KeyError: 'model_type'"  # Python's own line
    assert redact(key_error) == key_error
    interrupt = next(line for line in log("stopped") if line.startswith("KeyboardInterrupt"))
    assert redact(interrupt) == "KeyboardInterrupt: terminated"
    for name in ("kv0", "nomodel", "badcfg"):
        for line in log(name):
            if "Error" in line and "Traceback" not in line:
                assert redact(line) == line, line


def test_secrets_in_vllm_log_lines_still_go() -> None:
    # vLLM logs its non-default arguments as a dict's repr: this is the captured line with the
    # API key the server would have been given, in the same repr.
    line = next(line for line in log("kv0") if "non-default args:" in line)
    key = "sk-" + "Zq8v3LmN0pR4sT6uW9xY2b"
    with_key = line.replace("'served_model_name'", f"'api_key': {[key]!r}, 'served_model_name'")
    assert key in with_key and key not in redact(with_key)
    assert key not in redact(f"VLLM_API_KEY={key[3:]}") and key[3:] not in redact(f"VLLM_API_KEY={key[3:]}")
