"""`sddd grid run` on the real Docker engine with a real vLLM (CPU) in each variant's container,
through the real CLI: prefix caching on/off (measured twice each), and three variants vLLM
refuses for three different reasons: a value argparse refuses (--dtype=float99), a model folder
that does not exist, no memory for the KV cache (VLLM_CPU_KVCACHE_SPACE=0).

Two runs over the profile (two grid files) are started together: one is refused at once (exit 6)
and touches nothing. The other is killed with SIGKILL while its second variant starts, then run
again with --confirm: it must take that half-started variant down, skip the finished one,
measure or reject each variant exactly once, deploy the leader again, and leave no container,
network or process behind. Each rejection must carry the first decisive error of vLLM's log
(not "See root cause above") and the hint searched with it. A container killed under a run
(`docker kill`) is rejected with its signal; --retry-rejected runs it again; Ctrl-C takes the
current variant down. The report, its page (built by `sddd site build --strict`, read by `sddd
drift --all`, found by `sddd search`) and `sddd grid apply` are checked on the figures measured.

Each measured variant is a full vLLM start (about 100 s on 2 free cores, more when they are
busy); the module runs 3 (two variants and the confirmation), 3 refused starts (10-60 s each),
one half start killed with the grid, and two short starts of the one-variant grid.
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
# prefix caching on/off, and three variants vLLM refuses, each for its own reason
profile: tiny
axes:
  prefix-caching: {flag: --enable-prefix-caching, values: [true, false]}
  dtype: {flag: --dtype}
  model: {flag: --model}
  kv-cache: {env: VLLM_CPU_KVCACHE_SPACE}
include:
  - {dtype: float99}          # not a dtype: vLLM's argument parser stops at once
  - {model: /models/nope}     # no such model folder
  - {kv-cache: "0"}           # no memory for the KV cache
bench:
  prefix: {rounds: 3, prefix_tokens: 384, max_tokens: 2}
  load: {requests: 6, concurrency: 2, input_tokens: 64, output_tokens: 8}
repetitions: 2
objective:
  metric: prefix.p50_warm_ttft_ms
  caps: {load.output_throughput: {min: 1}}
timeout: 600
"""
ONE = "profile: tiny\nproject: tiny-one\naxes:\n  max-num-seqs: {flag: --max-num-seqs, values: [4]}\n"
RUN_TIMEOUT = 2400  # five vLLM starts on busy cores
LABELS = ["prefix-caching=true", "prefix-caching=false", "dtype=float99", "model=/models/nope",
          "kv-cache=0"]


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
    for name in ("tiny", "twin"):  # two grid files over one profile: one Compose project
        (root / "grids" / f"{name}.yml").write_text(GRID, encoding="utf-8")
    (root / "grids" / "one.yml").write_text(ONE, encoding="utf-8")
    indexed = sddd(root, "index")  # the troubleshooting hints are searched in the index
    assert indexed.returncode == 0, indexed.stderr[-2000:]
    yield root
    argv = compose_command()
    for project in ("tiny-grid", "tiny-one"):
        if argv:
            subprocess.run([*argv, "-p", project, "down", "--remove-orphans", "-t", "5"],
                           capture_output=True, timeout=120, check=False)


def one_result(repo: Path) -> list[dict[str, Any]]:
    folder = repo / ".sddd" / "grid" / "one" / "results"
    return [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.is_dir() else []


def running(client: Any, project: str) -> bool:
    return any(c.status == "running" for c in containers(client, project))


def test_a_killed_container_is_rejected_with_its_signal_and_ctrl_c_leaves_no_container(
        repo: Path, docker_client: Any) -> None:
    proc, log = start(repo, "grid", "run", "grids/one.yml")
    # Running: `compose up` has returned and the runner waits for health (no sleep that guesses).
    wait_for("tiny-one running, in the health wait", lambda: running(docker_client, "tiny-one"),
             proc, log, 300)
    containers(docker_client, "tiny-one")[0].kill()  # SIGKILL, as `docker kill` or the OOM killer
    assert proc.wait(timeout=300) == 1, log.read_text()  # no variant measured: no champion
    (record,) = one_result(repo)
    assert record["status"] == "rejected" and record["stage"] == "health", record
    assert "the container exited with code 137 (killed by SIGKILL" in record["reason"]
    assert containers(docker_client, "tiny-one") == []
    # run again on request; Ctrl-C in its health wait takes it down and keeps the old result
    proc, log = start(repo, "grid", "run", "grids/one.yml", "--retry-rejected")
    wait_for("tiny-one running, in the health wait", lambda: running(docker_client, "tiny-one"),
             proc, log, 300)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130, log.read_text()
    text = log.read_text()
    assert "interrupted: the variant in flight was taken down" in text and "Traceback" not in text
    assert containers(docker_client, "tiny-one") == []
    assert not (repo / ".sddd" / "grid" / "one" / "running.json").exists()
    assert one_result(repo) == [record]


@pytest.fixture(scope="module")
def ran(repo: Path, docker_client: Any) -> dict[str, Any]:
    """Two runs over the profile started together; the one that got the project killed with
    SIGKILL while its second variant starts, then run to the end with --confirm."""
    procs = {name: start(repo, "grid", "run", f"grids/{name}.yml") for name in ("tiny", "twin")}
    deadline = time.monotonic() + 120
    while all(p.poll() is None for p, _ in procs.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    refused = next((n for n, (p, _) in procs.items() if p.poll() is not None), None)
    assert refused is not None, "neither run was refused"
    name = "twin" if refused == "tiny" else "tiny"
    proc, log = procs[name]
    store = repo / ".sddd" / "grid" / name
    results, marker = store / "results", store / "running.json"

    def second_variant_starting() -> bool:
        done = list(results.glob("*.json")) if results.is_dir() else []
        if len(done) != 1 or not marker.is_file():
            return False
        flight = json.loads(marker.read_text())
        return flight["config_hash"] != done[0].stem and bool(containers(docker_client, "tiny-grid"))

    wait_for("second variant starting", second_variant_starting, proc, log, RUN_TIMEOUT / 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    left = [c.name for c in containers(docker_client, "tiny-grid")]
    killed = json.loads(marker.read_text())
    second = sddd(repo, "grid", "run", f"grids/{name}.yml", "--confirm", "--json", timeout=RUN_TIMEOUT)
    assert second.returncode == 0, second.stderr[-4000:]
    records = [json.loads(p.read_text()) for p in sorted(results.glob("*.json"))]
    return {"name": name, "refused": procs[refused], "left": left, "killed": killed,
            "first_log": log.read_text(), "run": json.loads(second.stdout), "stderr": second.stderr,
            "records": {r["variant"]["label"]: r for r in records}}


def test_two_runs_over_one_profile_one_is_refused_and_touches_nothing(ran: dict[str, Any],
                                                                      repo: Path) -> None:
    proc, log = ran["refused"]
    assert proc.returncode == 6
    text = log.read_text().strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    assert "Compose project tiny-grid is in use by another `sddd grid run`" in text
    other = "twin" if ran["name"] == "tiny" else "tiny"
    assert not (repo / ".sddd" / "grid" / other / "results").exists()
    assert "took down" not in ran["first_log"]  # nobody cleaned the winner's project under it
    assert sorted(ran["records"]) == sorted(LABELS)  # no variant lost


def test_a_killed_run_resumes_and_measures_each_variant_once(ran: dict[str, Any], repo: Path,
                                                             docker_client: Any) -> None:
    assert ran["left"], "the kill should have left the second variant's container behind"
    assert f"took down variant {ran['killed']['label']!r}" in ran["stderr"]
    assert "already measured" in ran["stderr"]  # the first variant was not run again
    summary = ran["run"]["run"]
    assert (summary["variants"], summary["skipped"], summary["measured"], summary["rejected"]) == (5, 1, 1, 3)
    assert summary["confirmed"] in (True, False)  # the leader was deployed and measured again
    records = ran["records"]
    assert sorted(records) == sorted(LABELS)
    bench_runs = [json.loads(p.read_text()) for p in (repo / ".sddd" / "bench").glob("*.json")]
    for label, record in records.items():
        mine = [r for r in bench_runs if (r.get("profile") or {}).get("config_hash") == record["config_hash"]]
        if not label.startswith("prefix-caching"):
            assert record["status"] == "rejected" and mine == [], label
            continue
        assert record["status"] == "measured", record.get("reason")
        measured = sorted(r["scenario"] for r in mine if r["id"] in {x["id"] for x in record["runs"]})
        assert measured == ["load", "load", "prefix", "prefix"], label  # two repetitions, once
        assert record["versions"]["vllm"] and record["versions"]["sddd"] and record["host"]["cpus"]
        assert record["metrics"]["prefix"]["failed"] == 0 and record["metrics"]["load"]["completed"] == 6
        assert len(record["spread"]["prefix.p50_warm_ttft_ms"]) == 2
    assert containers(docker_client, "tiny-grid") == []
    assert not docker_client.networks.list(names=["tiny-grid_default"])
    assert processes_naming(str(repo), "tiny-grid") == []


@pytest.mark.parametrize(("label", "kind", "decisive"), [
    ("dtype=float99", "invalid argument value",
     "api_server.py: error: argument --dtype: invalid choice: 'float99'"),
    ("model=/models/nope", "model not found", "huggingface_hub.errors.HFValidationError: Repo id must be"),
    ("kv-cache=0", "no memory for the KV cache", "ValueError: No available memory for the cache blocks."),
])
def test_each_rejection_carries_the_first_decisive_error_and_its_hint(ran: dict[str, Any], repo: Path,
                                                                       label: str, kind: str,
                                                                       decisive: str) -> None:
    record = ran["records"][label]
    assert record["stage"] == "health", record
    assert record["reason"].startswith(f"{kind}: {decisive}"), record["reason"]
    assert "See root cause above" not in record["reason"]
    assert record["cause"]["line"].startswith(decisive) and decisive in "\n".join(record["excerpt"])
    assert record["hint"]["query"] == record["cause"]["line"][:300]  # searched with THAT line
    assert decisive in (repo / record["log"]).read_text()


def test_no_memory_for_the_kv_cache_gets_the_out_of_memory_hint(ran: dict[str, Any]) -> None:
    """The issue's case: "See root cause above" searched gave "GPU not detected" (see
    tests/deploy/test_rootcause.py); the decisive line finds the out-of-memory section."""
    hint = ran["records"]["kv-cache=0"]["hint"]
    assert hint["ref"].startswith("docs/guides/troubleshooting.md#") and "out of memory" in hint["heading"]


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


def report_of(ran: dict[str, Any], repo: Path, *extra: str) -> dict[str, Any]:
    done = sddd(repo, "grid", "report", f"grids/{ran['name']}.yml", "--json", *extra)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_the_report_says_whether_the_lead_is_beyond_the_noise(ran: dict[str, Any], repo: Path) -> None:
    report = report_of(ran, repo)
    measured = [v for v in report["variants"] if v["status"] == "measured"]
    assert len(measured) == 2 and report["counts"] == {"measured": 2, "rejected": 3}
    best = min(measured, key=lambda v: v["figures"]["prefix.p50_warm_ttft_ms"])
    assert report["champion"]["label"] == best["label"]
    other = next(v for v in measured if v is not best)
    ours, theirs = best["objective_runs"], other["objective_runs"]
    assert len(ours) == len(theirs) == 2
    apart = max(ours) < min(theirs)  # lower is better: apart when even its worst run beats theirs
    assert report["verdict"] == ("decisive" if apart else "within noise")
    assert other["vs_leader"]["verdict"] == report["verdict"]
    confirmation = report["confirmation"]
    assert confirmation["value"] is not None and confirmation["first"] == best["objective"]
    assert report["crowned"] == (apart and confirmation["confirmed"])
    assert report["tied"] == ([] if apart else [best["label"], other["label"]])
    assert report["why"][0].startswith("best prefix.p50_warm_ttft_ms (min) of 2 measured variants")
    assert " ms, " in report["why"][0] and "tok/s" in report["why"][0]  # absolute figures beside it
    assert report["why"][1].startswith(("confirmed: deployed and measured again",
                                        "NOT confirmed: deployed and measured again"))
    assert report["vllm"] == ["0.32.0"] and report["stale_results"] == 0
    table = sddd(repo, "grid", "report", f"grids/{ran['name']}.yml").stdout
    assert ("★ champion" in table) == report["crowned"] and ("= tie" in table) == bool(report["tied"])


def test_the_report_page_is_indexed_published_and_checked(ran: dict[str, Any], repo: Path) -> None:
    report = report_of(ran, repo, "--write-report")
    page = report["page"]
    assert page.startswith("docs/reports/") and page.endswith(f"-grid-{ran['name']}.md")
    text = (repo / page).read_text()
    assert text.startswith("---\ntitle: ") and "\nkind: report\n" in text and "profiles: [tiny]" in text
    assert "invalid choice: 'float99'" in text and "No available memory for the cache blocks" in text
    kv = ran["records"]["kv-cache=0"]["hint"]
    assert f"`{kv['ref'].split('#')[0]}`, section {kv['heading']}" in text  # the hint, by its section
    assert "## Confirmation" in text and ("(champion)" in text) == report["crowned"]
    assert ("(tie" in text) == bool(report["tied"])
    built = sddd(repo, "site", "build", "--strict", "--no-related", "--json")
    assert built.returncode == 0, built.stdout + built.stderr
    html = (repo / "site" / "reports" / Path(page).stem / "index.html").read_text()
    assert "Why this" in html and report["champion"]["label"] in html
    drift = sddd(repo, "drift", "--all", "--json")
    findings = [f for f in json.loads(drift.stdout)["findings"] if f["doc_path"] == page]
    assert not [f for f in findings if f["severity"] == "error"], findings
    assert json.loads(drift.stdout)["skipped_reports"] == 0
    assert sddd(repo, "index").returncode == 0
    hits = json.loads(sddd(repo, "search", "grid search champion warm TTFT", "--json").stdout)
    assert hits["results"][0]["path"] == page


def test_apply_refuses_a_tie_and_writes_a_champion(ran: dict[str, Any], repo: Path) -> None:
    profile = repo / "profiles" / "tiny.yml"
    before = profile.read_text()
    grid = f"grids/{ran['name']}.yml"
    crowned = report_of(ran, repo)["crowned"]
    shown = sddd(repo, "grid", "apply", grid, "--json")
    if not crowned:
        assert shown.returncode == 1 and "no clear champion" in shown.stderr and "--force" in shown.stderr
        shown = sddd(repo, "grid", "apply", grid, "--json", "--force")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert not data["applied"] and profile.read_text() == before
    champion = ran["records"][data["champion"]]
    done = sddd(repo, "grid", "apply", grid, "--yes", *([] if crowned else ["--force"]))
    assert done.returncode == 0, done.stderr
    svc = load_profile(load_config(repo / "sddd.yaml"), "tiny").service
    assert dict(svc.vllm.items()) == champion["vllm_args"]
    assert "# no torch.compile" in profile.read_text()  # the file was edited, not rewritten


def test_grid_deploys_stay_out_of_the_deploy_history(ran: dict[str, Any], repo: Path) -> None:
    shown = json.loads(sddd(repo, "status", "--history", "--json").stdout)
    assert shown == []  # only grid variants were deployed here
    every = json.loads(sddd(repo, "status", "--history", "--grids", "--json").stdout)
    assert every and {e["grid"] for e in every} <= {ran["name"], "one"}
    assert "starting" not in {e["outcome"] for e in every}  # the SIGKILLed run's record was closed
    assert "abandoned" in {e["outcome"] for e in every}
