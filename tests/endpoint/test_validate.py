"""`sddd validate` against real vLLM servers (CPU, tiny scripted Qwen3): see tests/fixtures/vllm_server.py.

"full" is configured like the team's profiles (qwen3 reasoning parser, hermes tool parser with
auto tool choice, prefix caching on); "bare" has no parser, prefix caching off and an API key.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sddd.core.errors import EndpointUnreachable, UsageError
from sddd.endpoint.client import normalize_url, resolve_endpoint
from tests.fixtures.vllm_server import API_KEY, KEY_VAR, SERVED_NAME, free_port, make_kb_repo, servers
from tests.helpers import run_sddd

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    full, bare = servers(request, "full", "bare")
    repo = make_kb_repo(tmp_path_factory.mktemp("kb"), full, bare)
    return full, bare, repo


def validate_json(repo: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    proc = run_sddd("validate", *args, "--json", cwd=repo, env=env)
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stdout + proc.stderr


def by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


# --- without a server -----------------------------------------------------------------------------

def test_url_forms_are_normalised_and_bad_ones_refused():
    assert normalize_url("127.0.0.1:5002") == "http://127.0.0.1:5002"
    assert normalize_url("http://gpu-host:5002/v1/") == "http://gpu-host:5002"
    with pytest.raises(UsageError, match="url: must look like"):
        normalize_url("ftp://host:1")
    with pytest.raises(UsageError, match="bad port"):
        normalize_url("http://host:99999")


def test_unreachable_url_exits_5_with_one_line(tmp_path: Path):
    (tmp_path / "sddd.yaml").write_text("")  # else a first line says no sddd.yaml was found
    port = free_port()  # bound then released: nothing listens there
    for command in ("validate", "bench"):
        proc = run_sddd(command, "--url", f"http://127.0.0.1:{port}", cwd=tmp_path)
        assert proc.returncode == 5, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot reach" in lines[0] and "connection refused" in lines[0], lines
        assert "Traceback" not in proc.stderr
    with pytest.raises(EndpointUnreachable):
        resolve_endpoint(f"127.0.0.1:{port}").get("/health")


def test_an_unset_key_variable_is_a_usage_error(tmp_path: Path):
    proc = run_sddd("validate", "--url", "http://127.0.0.1:9", "--api-key-env", "SDDD_NO_SUCH_VAR",
                    cwd=tmp_path, env={"SDDD_NO_SUCH_VAR": ""})
    assert proc.returncode == 2
    assert "SDDD_NO_SUCH_VAR" in proc.stderr and "not set" in proc.stderr


# --- against the servers --------------------------------------------------------------------------

def test_validate_passes_on_a_correctly_configured_server(live):
    full, _, repo = live
    code, report, _ = validate_json(repo, "tiny")  # the profile gives the port and the checks
    checks = by_name(report)
    assert code == 0, report
    assert report["passed"] and report["endpoint"] == full.url
    assert report["profile"]["name"] == "tiny" and report["profile"]["config_hash"]
    assert [c["status"] for c in report["checks"]] == ["pass"] * 7
    assert "empty body" in checks["health"]["reason"]
    assert report["model"] == SERVED_NAME and report["version"] == "0.32.0"
    assert checks["reasoning"]["detail"]["field"] in ("reasoning", "reasoning_content")
    call = checks["tools"]["detail"]["tool_calls"][0]["function"]
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Paris"}
    assert 0 < checks["streaming"]["detail"]["ttft_s"] < 10


def test_a_bare_url_finds_its_profile_by_the_model_it_serves(live):
    full, _, repo = live
    code, report, _ = validate_json(repo, "--url", f"{full.url}/v1")
    assert code == 0
    assert report["profile"]["name"] == "tiny" and report["profile"]["inferred"] is True


@pytest.fixture(scope="module")
def bare_report(live):
    _, bare, repo = live
    # The bare server serves the same model as "tiny": name the profile whose checks to apply.
    return validate_json(repo, "tiny", "--url", bare.url, "--api-key-env", KEY_VAR,
                         env={KEY_VAR: API_KEY})


def test_tool_check_fails_with_the_usual_causes_and_a_hint(bare_report):
    code, report, _ = bare_report
    tools = by_name(report)["tools"]
    assert code == 1 and not report["passed"]
    assert tools["status"] == "fail"
    assert "--enable-auto-tool-choice" in tools["reason"] and "hermes" in tools["reason"]
    assert tools["hint"]["path"] == "docs/guides/troubleshooting.md", tools
    assert "tool" in tools["hint"]["heading"].lower()


def test_reasoning_check_fails_without_the_reasoning_parser(bare_report):
    _, report, _ = bare_report
    checks = by_name(report)
    assert checks["reasoning"]["status"] == "fail"
    assert "--reasoning-parser" in checks["reasoning"]["reason"]
    assert "<think>" in checks["reasoning"]["reason"]  # the tags were seen in the content
    assert checks["auth"]["status"] == "pass" and KEY_VAR in checks["auth"]["reason"]
    assert checks["chat"]["status"] == "pass" and checks["streaming"]["status"] == "pass"


def test_a_wrong_api_key_is_reported_as_401_and_never_printed(live):
    _, bare, repo = live
    wrong = "wrong-key-5b1e0d9a"
    code, report, text = validate_json(repo, "--url", bare.url, "--api-key-env", KEY_VAR,
                                       env={KEY_VAR: wrong})
    checks = by_name(report)
    assert code == 1
    assert checks["health"]["status"] == "pass"  # /health needs no key
    assert checks["auth"]["status"] == "fail" and "401" in checks["auth"]["reason"]
    assert "not this server's" in checks["auth"]["reason"]
    assert checks["auth"]["hint"]["anchor"].startswith("401")
    assert {checks[n]["status"] for n in ("models", "chat", "tools", "streaming")} == {"skip"}
    assert wrong not in text and API_KEY not in text
    # No key at all: the same 401, with what to do about it.
    code, report, _ = validate_json(repo, "--url", bare.url)
    assert code == 1 and "--api-key-env" in by_name(report)["auth"]["reason"]


def test_the_profile_supplies_the_key_variable(live):
    _, _, repo = live
    code, report, text = validate_json(repo, "bare", env={KEY_VAR: API_KEY})
    checks = by_name(report)
    assert checks["auth"]["status"] == "pass" and KEY_VAR in checks["auth"]["reason"]
    # The bare profile sets no parser: those checks are skipped, not failed.
    assert checks["reasoning"]["status"] == "skip" and checks["tools"]["status"] == "skip"
    assert code == 0 and API_KEY not in text


def test_junit_and_table_reports(live):
    _, bare, repo = live
    proc = run_sddd("validate", "tiny", "--url", bare.url, "--api-key-env", KEY_VAR, "--format", "junit",
                    cwd=repo, env={KEY_VAR: API_KEY})
    suite = ET.fromstring(proc.stdout.split("?>", 1)[1])
    failed = {case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None}
    assert proc.returncode == 1 and failed == {"reasoning", "tools"}
    assert suite.get("tests") == "7" and suite.get("failures") == "2"
    table = run_sddd("validate", "tiny", cwd=repo)
    assert table.returncode == 0 and "all checks passed" in table.stdout
    bad = run_sddd("validate", "tiny", "--format", "yaml", cwd=repo)
    assert bad.returncode == 2 and "--format must be one of" in bad.stderr


def test_plain_lines_through_a_pipe(live, bare_report):
    """Piped (a CI log), one whole line per check, a failure with the guide that explains it."""
    _, bare, repo = live
    _, report, _ = bare_report
    proc = run_sddd("validate", "tiny", "--url", bare.url, "--api-key-env", KEY_VAR, cwd=repo,
                    env={KEY_VAR: API_KEY, "COLUMNS": "80"})
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1 and len(lines) == len(report["checks"]) + 1, proc.stdout
    for check in report["checks"]:  # another run: timings differ, verdicts and failures do not
        severity = {"pass": "pass", "fail": "error", "skip": "skip"}[check["status"]]
        head = f"{severity}: {check['name']}: "
        if check["status"] == "fail":
            head += " ".join(check["reason"].split())
        assert any(" ".join(line.split()).startswith(head) for line in lines), head
    tools = next(line for line in lines if line.startswith("error: tools: "))
    assert "see docs/guides/troubleshooting.md#" in tools
    assert lines[-1].startswith(f"sddd validate {bare.url}") and "2 check(s) failed" in lines[-1]
    assert API_KEY not in proc.stdout
