from __future__ import annotations

import json

from tests.helpers import run_sddd


def test_version_and_help(tmp_path):
    proc = run_sddd("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("sddd ")
    for command in ([], ["index"], ["search"]):
        proc = run_sddd(*command, "--help", cwd=tmp_path)
        assert proc.returncode == 0 and "Usage: sddd" in proc.stdout


def test_index_json_summary(make_repo):
    config = make_repo({"docs/a.md": "# A\n\n## Section\n\ntext about ports\n"})
    proc = run_sddd("index", "--json", cwd=config.root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["files"] == 1 and data["chunks"] == data["embedded"] == 1
    assert {"reused", "pruned", "skipped", "seconds"} <= set(data)


def test_errors_are_one_line_with_exit_codes(make_repo, tmp_path):
    config = make_repo({})
    proc = run_sddd("index", cwd=config.root)
    assert proc.returncode == 4 and "nothing to index" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = run_sddd("search", "x", cwd=config.root)
    assert proc.returncode == 3 and "run `sddd index`" in proc.stderr
    (config.root / "sddd.yaml").write_text("docs: [\n")
    proc = run_sddd("index", cwd=config.root)
    assert proc.returncode == 2 and "sddd.yaml:" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_sddd("--config", str(tmp_path / "missing.yaml"), "index", cwd=config.root)
    assert proc.returncode == 2 and "config file not found" in proc.stderr


def test_framework_usage_errors_are_one_line_with_exit_2(tmp_path):
    """Unknown options, missing arguments, bad values: click's errors, as one line naming the
    command, not typer's five-line box."""
    cases = [(["index", "--bogus"], "sddd index: No such option: --bogus"),
             (["search"], "sddd search: Missing argument"),
             (["search", "-k", "many", "q"], "Invalid value for '-k'"),
             (["bench", "--compare", "only-one"], "'--compare' requires 2 arguments"),
             (["no-such-command"], "No such command 'no-such-command'")]
    for args, expected in cases:
        proc = run_sddd(*args, cwd=tmp_path)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(lines) == 1 and expected in lines[0] and "--help` lists the options" in lines[0], lines
        assert "╭" not in proc.stderr and "Traceback" not in proc.stderr
    bare = run_sddd(cwd=tmp_path)  # no command at all: the help, as a user expects
    assert bare.returncode == 2 and "Usage: sddd" in bare.stdout + bare.stderr
