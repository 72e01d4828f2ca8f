"""`sddd grid run` on the real Docker engine with a real vLLM (CPU) in each variant's container,
through the real CLI: prefix caching on/off x --max-num-seqs 2/8 and one value vLLM refuses.

The run is killed with SIGKILL while its second variant starts, then run again: it must take
that half-started variant down, skip the finished one, measure each variant exactly once and
leave no container, network or process behind. Ctrl-C must take the current variant down. The
report, its page (built by `sddd site build --strict`, read by `sddd drift --all`, found by
`sddd search`) and `sddd grid apply` are checked on the figures measured here.

Each variant is a full vLLM start (about 100 s on 2 free cores, more when they are busy); the
module runs 4 measured variants, one that vLLM refuses (about 30 s), one interrupted start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sddd.compose.profiles import load_profile
from sddd.core.config import load_config
from sddd.deploy.docker import compose_command
from tests.fixtures.engine import docker_client_fixture  # noqa: F401 (fixture)
from tests.fixtures.vllm_compose import image_mounts, make_grid_repo

GRID = """\
# prefix caching on/off x --max-num-seqs 2/8, and one variant vLLM refuses
profile: tiny
axes:
  prefix-caching: {flag: --enable-prefix-caching, values: [true, false]}
  max-num-seqs: {flag: --max-num-seqs, values: [2, 8]}
  dtype: {flag: --dtype}
include:
  - {dtype: float99}     # not a dtype: vLLM exits at once with an argument error
bench:
  prefix: {rounds: 3, prefix_tokens: 384, max_tokens: 2}
  load: {requests: 6, concurrency: 2, input_tokens: 64, output_tokens: 8}
objective:
  metric: prefix.p50_warm_ttft_ms
  caps: {load.output_throughput: {min: 1}}
timeout: 600
"""
ONE = "profile: tiny\nproject: tiny-one\naxes:\n  max-num-seqs: {flag: --max-num-seqs, values: [4]}\n"
RUN_TIMEOUT = 2400  # four vLLM starts on busy cores


def sddd(root: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sddd.cli", *args], cwd=root, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "COLUMNS": "200"}, check=False)


def start(root: Path, *args: str) -> tuple[subprocess.Popen[str], Path]:
    log = root / f"grid-{time.monotonic_ns()}.log"
    handle = open(log, "w", encoding="utf-8")  # noqa: SIM115 - the child writes to it until it ends
    proc = subprocess.Popen([sys.executable, "-m", "sddd.cli", *args], cwd=root, stdout=handle,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "200"})
    return proc, log


def containers(client: Any, project: str) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})


def wait_for(what: str, check: Any, proc: subprocess.Popen[str], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.poll() is not None:
            pytest.fail(f"grid run ended (rc {proc.returncode}) before {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"no {what} after {timeout} s:\n{log.read_text()[-3000:]}")


def processes_naming(*needles: str) -> list[str]:
    """Command lines of live processes that mention any needle (the repository, the project)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(n in cmd for n in needles):
            found.append(f"{entry.name}: {cmd.strip()}")
    return found


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Any:
    root = make_grid_repo(tmp_path_factory.mktemp("grid"), image_mounts(docker_client))
    (root / "grids" / "tiny.yml").write_text(GRID, encoding="utf-8")
    (root / "grids" / "one.yml").write_text(ONE, encoding="utf-8")
    yield root
    argv = compose_command()
    for project in ("tiny-grid", "tiny-one"):
        if argv:
            subprocess.run([*argv, "-p", project, "down", "--remove-orphans", "-t", "5"],
                           capture_output=True, timeout=120, check=False)


def test_ctrl_c_takes_the_current_variant_down(repo: Path, docker_client: Any) -> None:
    proc, log = start(repo, "grid", "run", "grids/one.yml")
    # Running: `compose up` has returned and the runner waits for health (no sleep that guesses).
    wait_for("tiny-one running, in the health wait",
             lambda: any(c.status == "running" for c in containers(docker_client, "tiny-one")),
             proc, log, 300)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130, log.read_text()
    text = log.read_text()
    assert "interrupted: the variant in flight was taken down" in text and "Traceback" not in text
    assert containers(docker_client, "tiny-one") == []
    store = repo / ".sddd" / "grid" / "one"
    assert not (store / "running.json").exists() and list((store / "results").glob("*.json")) == []


@pytest.fixture(scope="module")
def ran(repo: Path, docker_client: Any) -> dict[str, Any]:
    """The grid killed with SIGKILL while its second variant starts, then run to the end."""
    results = repo / ".sddd" / "grid" / "tiny" / "results"
    marker = results.parent / "running.json"

    def second_variant_starting() -> bool:
        done = list(results.glob("*.json")) if results.is_dir() else []
        if len(done) != 1 or not marker.is_file():
            return False
        flight = json.loads(marker.read_text())
        return flight["config_hash"] != done[0].stem and bool(containers(docker_client, "tiny-grid"))

    proc, log = start(repo, "grid", "run", "grids/tiny.yml")
    wait_for("second variant starting", second_variant_starting, proc, log, RUN_TIMEOUT / 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    left = [c.name for c in containers(docker_client, "tiny-grid")]
    killed = json.loads(marker.read_text())
    second = sddd(repo, "grid", "run", "grids/tiny.yml", "--json", timeout=RUN_TIMEOUT)
    assert second.returncode == 0, second.stderr[-4000:]
    records = [json.loads(p.read_text()) for p in sorted(results.glob("*.json"))]
    return {"left": left, "killed": killed, "first_log": log.read_text(), "run": json.loads(second.stdout),
            "stderr": second.stderr, "records": {r["variant"]["label"]: r for r in records}}


def test_a_killed_run_resumes_and_measures_each_variant_once(ran: dict[str, Any], repo: Path,
                                                             docker_client: Any) -> None:
    assert ran["left"], "the kill should have left the second variant's container behind"
    assert f"took down variant {ran['killed']['label']!r}" in ran["stderr"]
    assert "already measured" in ran["stderr"]  # the first variant was not run again
    summary = ran["run"]["run"]
    assert (summary["variants"], summary["skipped"], summary["measured"], summary["rejected"]) == (5, 1, 3, 1)
    records = ran["records"]
    assert sorted(records) == ["dtype=float99", *(f"prefix-caching={c} max-num-seqs={n}"
                                                  for c in ("false", "true") for n in (2, 8))]
    bench_runs = [json.loads(p.read_text()) for p in (repo / ".sddd" / "bench").glob("*.json")]
    for label, record in records.items():
        mine = [r for r in bench_runs if (r.get("profile") or {}).get("config_hash") == record["config_hash"]]
        if label == "dtype=float99":
            assert record["status"] == "rejected" and mine == []
            continue
        assert record["status"] == "measured", record.get("reason")
        assert sorted(r["scenario"] for r in mine) == ["load", "prefix"], label  # measured once
        assert {r["id"] for r in mine} == {r["id"] for r in record["runs"]}
        assert record["versions"]["vllm"] and record["versions"]["sddd"] and record["host"]["cpus"]
        assert record["metrics"]["prefix"]["failed"] == 0 and record["metrics"]["load"]["completed"] == 6
    assert containers(docker_client, "tiny-grid") == []
    assert not docker_client.networks.list(names=["tiny-grid_default"])
    assert processes_naming(str(repo), "tiny-grid") == []


def test_the_refused_value_is_rejected_with_vllms_own_line(ran: dict[str, Any], repo: Path) -> None:
    record = ran["records"]["dtype=float99"]
    assert record["stage"] == "health" and record["reason"].startswith("bad argument:")
    assert any("invalid choice: 'float99'" in line for line in record["excerpt"])
    assert record["seconds"] < 300  # stopped at the argument error, not at a timeout
    assert "invalid choice: 'float99'" in (repo / record["log"]).read_text()


def test_prefix_caching_is_what_the_server_reports(ran: dict[str, Any]) -> None:
    """The flag really reached vLLM: its own counters and cache settings say so."""
    for label, record in ran["records"].items():
        if record["status"] != "measured":
            continue
        prefix = record["metrics"]["prefix"]
        caching = record["server"]["cache_config"].get("enable_prefix_caching")
        if "prefix-caching=true" in label:
            assert caching == "True" and prefix["prefix_cache_hit_tokens"] > 0, label
        else:
            assert caching == "False" and prefix["prefix_cache_hit_tokens"] == 0, label


def test_the_report_names_the_best_measured_variant(ran: dict[str, Any], repo: Path) -> None:
    done = sddd(repo, "grid", "report", "grids/tiny.yml", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    measured = [v for v in report["variants"] if v["status"] == "measured"]
    assert len(measured) == 4 and report["counts"] == {"measured": 4, "rejected": 1}
    best = min(measured, key=lambda v: v["figures"]["prefix.p50_warm_ttft_ms"])
    assert report["champion"]["label"] == best["label"]
    assert report["champion"]["settings"]["prefix-caching"] == "true"  # a cache hit skips the prefill
    assert report["why"][0].startswith("best prefix.p50_warm_ttft_ms (min) of 4 measured variants")
    assert report["vllm"] == ["0.32.0"] and report["stale_results"] == 0


def test_the_report_page_is_indexed_published_and_checked(ran: dict[str, Any], repo: Path) -> None:
    done = sddd(repo, "grid", "report", "grids/tiny.yml", "--write-report", "--json")
    assert done.returncode == 0, done.stderr
    page = json.loads(done.stdout)["page"]
    assert page.startswith("docs/reports/") and page.endswith("-grid-tiny.md")
    text = (repo / page).read_text()
    assert text.startswith("---\ntitle: ") and "\nkind: report\n" in text and "profiles: [tiny]" in text
    assert "invalid choice: 'float99'" in text and "```diff" in text
    built = sddd(repo, "site", "build", "--strict", "--no-related", "--json")
    assert built.returncode == 0, built.stdout + built.stderr
    html = (repo / "site" / "reports" / Path(page).stem / "index.html").read_text()
    assert "Why this champion" in html and json.loads(done.stdout)["champion"]["label"] in html
    drift = sddd(repo, "drift", "--all", "--json")
    findings = [f for f in json.loads(drift.stdout)["findings"] if f["doc_path"] == page]
    assert not [f for f in findings if f["severity"] == "error"], findings
    assert json.loads(drift.stdout)["skipped_reports"] == 0
    assert sddd(repo, "index").returncode == 0
    hits = json.loads(sddd(repo, "search", "grid search champion warm TTFT", "--json").stdout)
    assert hits["results"][0]["path"] == page


def test_apply_shows_the_champion_then_writes_it(ran: dict[str, Any], repo: Path) -> None:
    profile = repo / "profiles" / "tiny.yml"
    before = profile.read_text()
    shown = sddd(repo, "grid", "apply", "grids/tiny.yml", "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert not data["applied"] and profile.read_text() == before
    champion = ran["records"][data["champion"]]
    flags = champion["vllm_args"]
    assert f"+      - --max-num-seqs={flags['--max-num-seqs']}" in data["diff"]
    done = sddd(repo, "grid", "apply", "grids/tiny.yml", "--yes")
    assert done.returncode == 0, done.stderr
    svc = load_profile(load_config(repo / "sddd.yaml"), "tiny").service
    assert {k: v for k, v in svc.vllm.items()} == flags
    assert "# no torch.compile" in profile.read_text()  # the file was edited, not rewritten
