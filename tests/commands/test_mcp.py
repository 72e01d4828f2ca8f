"""`sddd mcp` on the command line: its help, and the flag combinations it refuses in one line."""

from __future__ import annotations

from tests.helpers import REPO, run_sddd


def test_help_names_the_tools_and_the_transports():
    proc = run_sddd("mcp", "--help", cwd=REPO)
    assert proc.returncode == 0
    for word in ("search, check, drift, audit, profile, archive_detect, explain_flag", "--http",
                 "--allow-writes", "sddd://docs/<path>"):
        assert word in proc.stdout


def test_port_without_http_is_a_usage_error():
    proc = run_sddd("mcp", "--port", "9000", cwd=REPO)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "error: --host and --port go with --http"


def test_writes_are_never_offered_beyond_loopback():
    proc = run_sddd("mcp", "--http", "--host", "0.0.0.0", "--allow-writes", cwd=REPO)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: --host 0.0.0.0 is reachable from other machines")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_port_in_use_is_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = run_sddd("mcp", "--http", "--port", str(port), cwd=REPO)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"error: --port cannot listen on 127.0.0.1:{port}")
