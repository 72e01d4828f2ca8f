"""`sddd validate` and `sddd bench` against servers that misbehave (tests/fixtures/fake_servers.py):
real HTTP on localhost, the real CLI. The well-behaved case is the real vLLM server of
test_validate.py and test_loadbench.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sddd.core.errors import EXIT_ENGINE, EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, UsageError
from sddd.endpoint.client import normalize_url
from tests.fixtures.fake_servers import hanging, not_vllm, openai_like
from tests.fixtures.vllm_server import free_port
from tests.helpers import PLANTED_SECRETS, PLANTED_URL_PASSWORD, run_sddd, sddd_here

LOAD = ["--scenario", "load", "--rounds", "4", "--concurrency", "2", "--input-tokens", "16",
        "--output-tokens", "3", "--no-save", "--json"]


@pytest.fixture(autouse=True)
def configured(tmp_path: Path) -> None:
    """Each test runs in a folder with its own sddd.yaml: an endpoint fault must be the one line
    on stderr, without config discovery's warning about a missing sddd.yaml beside it."""
    (tmp_path / "sddd.yaml").write_text("# endpoint tests: the defaults\n")


def one_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.mark.parametrize("cut", ["eof", "chunked"])
def test_a_stream_cut_before_done_is_a_failed_request(tmp_path: Path, cut: str):
    with openai_like(cut=cut) as url:
        proc = sddd_here("bench", "--url", url, *LOAD, cwd=tmp_path)
        report = sddd_here("validate", "--url", url, "--json", "--no-reasoning", "--no-tools",
                          cwd=tmp_path)
    metrics = json.loads(proc.stdout)["metrics"]
    assert proc.returncode == EXIT_FAILED, proc.stderr
    assert (metrics["completed"], metrics["failed"]) == (0, 4)
    assert all("before data: [DONE]" in e or "broke the stream" in e for e in metrics["errors"])
    checks = {c["name"]: c for c in json.loads(report.stdout)["checks"]}
    assert report.returncode == EXIT_FAILED and checks["streaming"]["status"] == "fail"
    assert "stream" in checks["streaming"]["reason"]


def test_the_same_stream_to_its_end_completes(tmp_path: Path):
    """The control: the fake is right when it sends [DONE], so the failures above are the cut."""
    with openai_like(cut=None) as url:
        proc = sddd_here("bench", "--url", url, *LOAD, cwd=tmp_path)
    metrics = json.loads(proc.stdout)["metrics"]
    assert proc.returncode == EXIT_OK and (metrics["completed"], metrics["failed"]) == (4, 0)
    assert metrics["total_output_tokens"] == 12


def test_a_server_that_is_not_vllm(tmp_path: Path):
    """A plain http.server answering 404 with its HTML page: no HTML in the table, no auth pass."""
    empty = tmp_path / "www"
    empty.mkdir()
    with not_vllm(empty) as url:  # http.server logs each request on this process's stderr:
        report = run_sddd("validate", "--url", url, "--json", cwd=tmp_path)  # the CLI's must be apart
        table = run_sddd("validate", "--url", url, cwd=tmp_path)
        bench = run_sddd("bench", "--url", url, cwd=tmp_path)
    checks = {c["name"]: c for c in json.loads(report.stdout)["checks"]}
    assert report.returncode == EXIT_FAILED
    assert checks["health"]["status"] == "fail" and "an HTML page titled 'Error response'" in \
        checks["health"]["reason"]
    assert checks["auth"]["status"] == "fail" and "cannot tell" in checks["auth"]["reason"]
    assert checks["models"]["status"] == "fail"
    assert {checks[n]["status"] for n in ("chat", "streaming")} == {"skip"}
    for text in (report.stdout, table.stdout + table.stderr, bench.stdout + bench.stderr):
        assert "<html" not in text.lower() and "<!doctype" not in text.lower()
    assert bench.returncode == EXIT_ENGINE and "not a vLLM OpenAI server" in one_line(bench)


@pytest.mark.parametrize("command", ["validate", "bench"])
def test_bad_or_empty_url_is_a_usage_error(tmp_path: Path, command: str):
    bad = sddd_here(command, "--url", "not a url", cwd=tmp_path)
    assert bad.returncode == EXIT_USAGE and "--url must look like http://HOST:PORT" in one_line(bad)
    empty = sddd_here(command, "--url", "", cwd=tmp_path)  # not: "check the canonical profile"
    assert empty.returncode == EXIT_USAGE and "--url is empty" in one_line(empty)


@pytest.mark.parametrize("url", ["http://[::1", "http://[zz]:80"])
def test_a_malformed_bracketed_host_is_a_usage_error(url: str):
    """urlsplit raises ValueError on these: it was exit 70, an internal error."""
    with pytest.raises(UsageError, match="must look like http://HOST:PORT"):
        normalize_url(url)


def test_credentials_in_the_url_never_reach_the_error_line(tmp_path: Path):
    url = f"http://u:{PLANTED_URL_PASSWORD}@127.0.0.1:{free_port()}"
    proc = run_sddd("validate", "--url", url, cwd=tmp_path)  # run_sddd fails on the password
    assert proc.returncode == EXIT_ENGINE and "cannot reach http://127.0.0.1:" in one_line(proc)
    shown = run_sddd("validate", "--json", "--url", url, cwd=tmp_path)  # the JSON report too
    assert shown.returncode == EXIT_ENGINE
    bad = run_sddd("validate", "--url", f"ftp://u:{PLANTED_URL_PASSWORD}@host", cwd=tmp_path)
    assert bad.returncode == EXIT_USAGE and "ftp://***@host" in one_line(bad)  # echoed, redacted


def test_a_hanging_server_costs_seconds_not_a_minute(tmp_path: Path):
    with hanging() as url:
        started = time.monotonic()
        validate = sddd_here("validate", "--url", url, cwd=tmp_path)
        bench = sddd_here("bench", "--url", url, "--timeout", "2", cwd=tmp_path)
        waited = time.monotonic() - started
    assert validate.returncode == EXIT_TIMEOUT and "did not answer" in one_line(validate)
    assert bench.returncode == EXIT_TIMEOUT and "within 2 s" in one_line(bench)
    assert waited < 30, waited  # 5 s for the first request (was the 60 s generation timeout)


def test_unreachable_is_exit_5_as_the_readme_says(tmp_path: Path):
    port = free_port()
    for command in ("validate", "bench"):
        proc = sddd_here(command, "--url", f"http://127.0.0.1:{port}", cwd=tmp_path)
        assert proc.returncode == EXIT_ENGINE and "connection refused" in one_line(proc)


def test_api_key_env_given_the_key_itself_never_echoes_it(tmp_path: Path):
    port = free_port()
    for value in (PLANTED_SECRETS[1], "s3cr3tKeyValue0123456789"):  # not a name; a name-like key
        proc = sddd_here("validate", "--url", f"http://127.0.0.1:{port}", "--api-key-env", value,
                        cwd=tmp_path)
        line = one_line(proc)
        assert proc.returncode == EXIT_USAGE and "--api-key-env" in line and value not in line, line
    named = sddd_here("validate", "--url", f"http://127.0.0.1:{port}", "--api-key-env", "SDDD_UNSET_KEY",
                     cwd=tmp_path)
    assert named.returncode == EXIT_USAGE and "SDDD_UNSET_KEY" in one_line(named)  # a name is named
