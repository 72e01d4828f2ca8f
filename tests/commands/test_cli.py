from __future__ import annotations

import json
import subprocess

from tests.helpers import run_sddd, write


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
    proc = run_sddd("search", "x", cwd=config.root)  # no index: search builds it, as check does
    assert proc.returncode == 4 and "nothing to index" in proc.stderr
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


def test_config_before_or_after_the_command(make_repo, tmp_path):
    config = make_repo({"docs/a.md": "# A\n\ntext\n"}, "docs: ['docs/**/*.md']\ntop_k: 3\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = str(config.root / "sddd.yaml")
    for args in (("--config", path, "index", "--json"), ("index", "--config", path, "--json"),
                 ("index", "--json", f"--config={path}"), ("index", "-c", path, "--json")):
        proc = run_sddd(*args, cwd=elsewhere)
        assert proc.returncode == 0, (args, proc.stderr)
        assert json.loads(proc.stdout)["files"] == 1
    proc = run_sddd("audit", "--config", str(tmp_path / "missing.yaml"), cwd=elsewhere)
    assert proc.returncode == 2 and "config file not found" in proc.stderr and "Usage:" not in proc.stderr
    assert "--config" in run_sddd("drift", "--help", cwd=elsewhere).stdout


def test_no_sddd_yaml_says_so_and_gates_with_nothing_to_check_exit_4(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    sub = tmp_path / "tools" / "x"
    sub.mkdir(parents=True)
    for gate, looked_for in (("drift", "no compose profile"), ("audit", "no compose profile"),
                             ("check", "no target")):
        proc = run_sddd(gate, cwd=sub)
        assert proc.returncode == 4, (gate, proc.stdout, proc.stderr)
        notice, error = proc.stderr.strip().splitlines()
        assert "no sddd.yaml" in notice and str(tmp_path) in notice and "git work tree" in notice
        assert error.startswith(f"error: sddd {gate} has nothing to check: {looked_for}")
        assert "--allow-empty" in error and "passed" not in proc.stdout
        allowed = run_sddd(gate, "--allow-empty", cwd=sub)
        assert allowed.returncode == 0, (gate, allowed.stderr)
    # Only reports: drift says --all would check them.
    write(tmp_path, "docs/reports/2025-10-01.md", "---\nkind: report\n---\n# R\n")
    write(tmp_path, "profiles/base.yml", "volumes: {}\n")
    write(tmp_path, "profiles/medium.yml", "services:\n  vllm-medium:\n    image: vllm/vllm-openai:v0.11.0\n")
    proc = run_sddd("drift", cwd=sub)
    assert proc.returncode == 4 and "all reports" in proc.stderr and "--all" in proc.stderr
