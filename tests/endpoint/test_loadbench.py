"""`sddd bench` against real vLLM servers (CPU, tiny scripted Qwen3): see tests/fixtures/vllm_server.py.

The thresholds are loose on purpose (2 shared cores): with prefix caching a warm request skips
the prefill of ~1,100 of its ~1,200 prompt tokens, so it must be clearly faster than the cold
one; without caching both do the same work.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sddd.endpoint.bench_history import compare
from sddd.endpoint.client import parse_metrics
from sddd.endpoint.loadbench import percentiles
from tests.fixtures.vllm_server import API_KEY, KEY_VAR, make_kb_repo, servers
from tests.helpers import run_sddd

pytestmark = pytest.mark.slow


# --- the arithmetic, on plain data ----------------------------------------------------------------

def test_percentiles_use_vllm_names_and_linear_interpolation():
    out = percentiles([0.010, 0.020, 0.030, 0.040], "ttft")
    assert out == {"mean_ttft_ms": 25.0, "p50_ttft_ms": 25.0, "p95_ttft_ms": 38.5, "p99_ttft_ms": 39.7}
    assert percentiles([], "itl")["p99_itl_ms"] is None


def test_metrics_text_is_summed_by_name_and_info_labels_kept():
    text = ('# HELP x\nvllm:prefix_cache_hits_total{engine="0",model_name="m"} 1152.0\n'
            'vllm:prefix_cache_hits_total{engine="1",model_name="m"} 128.0\n'
            'vllm:cache_config_info{block_size="128",enable_prefix_caching="False"} 1.0\n')
    values, infos = parse_metrics(text)
    assert values["vllm:prefix_cache_hits_total"] == 1280.0
    assert infos["vllm:cache_config_info"] == {"block_size": "128", "enable_prefix_caching": "False"}


def test_compare_puts_the_settings_that_differ_first():
    def run(rid: str, caching: str, flags: dict, speedup: float) -> dict:
        return {"id": rid, "scenario": "prefix", "model": "m", "params": {"rounds": 5},
                "profile": {"name": "p", "config_hash": rid, "vllm_flags": flags},
                "server": {"version": "0.32.0", "cache_config": {"enable_prefix_caching": caching}},
                "metrics": {"speedup_p50": speedup}}

    a = run("a", "True", {"--enable-prefix-caching": None, "--max-num-seqs": "16"}, 5.0)
    b = run("b", "False", {"--no-enable-prefix-caching": None, "--max-num-seqs": "16"}, 1.0)
    rows = compare(a, b).rows
    first = [(r.section, r.key) for r in rows[:4]]
    assert set(first) == {("flags", "--enable-prefix-caching"), ("flags", "--no-enable-prefix-caching"),
                          ("flags", "config_hash"), ("server", "enable_prefix_caching")}
    assert all(r.differs for r in rows[:4])
    assert [r.key for r in rows if r.section == "metrics"] == ["speedup_p50"]
    assert not rows[-1].differs


# --- against the servers --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    full, bare = servers(request, "full", "bare")
    repo = make_kb_repo(tmp_path_factory.mktemp("kb"), full, bare)
    return full, bare, repo


def bench_json(repo: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    proc = run_sddd("bench", *args, "--json", cwd=repo, env=env)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def prefix_runs(live):
    _, _, repo = live
    cached = bench_json(repo, "tiny", "--scenario", "prefix", "--rounds", "4")
    uncached = bench_json(repo, "bare", "--scenario", "prefix", "--rounds", "4", env={KEY_VAR: API_KEY})
    return repo, cached, uncached


def test_prefix_warm_is_much_faster_with_prefix_caching(prefix_runs):
    _, run, _ = prefix_runs
    m = run["metrics"]
    assert m["rounds"] == 4 and m["failed"] == 0
    assert 1000 < m["prompt_tokens"] < 1400  # calibrated with the server's /tokenize
    assert run["server"]["cache_config"]["enable_prefix_caching"] == "True"
    assert m["prefix_cache_hit_tokens"] >= 4 * 1024  # the server took the shared blocks from its cache
    assert m["speedup_p50"] > 2.0, m
    assert m["p50_warm_ttft_ms"] < m["p50_cold_ttft_ms"]


def test_prefix_warm_equals_cold_without_prefix_caching(prefix_runs):
    _, _, run = prefix_runs
    m = run["metrics"]
    assert run["server"]["cache_config"]["enable_prefix_caching"] == "False"
    assert m["prefix_cache_hit_tokens"] == 0
    assert 0.6 < m["speedup_p50"] < 1.6, m


def test_results_are_saved_with_their_profile_and_compared(prefix_runs):
    repo, cached, uncached = prefix_runs
    saved = repo / cached["saved"]
    assert saved.parent == repo / ".sddd" / "bench" and saved.is_file()
    on_disk = json.loads(saved.read_text())
    assert on_disk["profile"]["name"] == "tiny" and on_disk["profile"]["config_hash"]
    assert on_disk["profile"]["vllm_flags"]["--reasoning-parser"] == "qwen3"
    assert on_disk["server"]["version"] == "0.32.0" and on_disk["date"]
    assert on_disk["params"] == {"rounds": 4, "prefix_tokens": 1200, "max_tokens": 4}
    assert API_KEY not in (repo / uncached["saved"]).read_text()
    history = bench_json(repo, "--history")
    assert [r["id"] for r in history] == [cached["id"], uncached["id"]]
    cmp = bench_json(repo, "--compare", cached["id"], "latest")
    differing = [(r["section"], r["key"]) for r in cmp["rows"] if r["differs"]]
    settings = [r for r in cmp["rows"] if r["section"] in ("flags", "server")]
    assert ("flags", "--no-enable-prefix-caching") in differing
    assert ("server", "enable_prefix_caching") in differing
    first = cmp["rows"][: len([r for r in settings if r["differs"]])]
    assert all(r["differs"] and r["section"] in ("flags", "server") for r in first)
    table = run_sddd("bench", "--compare", "-2", "-1", cwd=repo)
    assert table.returncode == 0 and "enable_prefix_caching" in table.stdout
    unknown = run_sddd("bench", "--compare", "nope", "latest", cwd=repo)
    assert unknown.returncode == 2 and "no benchmark run 'nope'" in unknown.stderr


def test_load_scenario_reports_vllm_bench_serve_metrics(live):
    full, _, repo = live
    run = bench_json(repo, "--url", full.url, "--scenario", "load", "--rounds", "8", "--concurrency", "2",
                     "--input-tokens", "128", "--output-tokens", "8", "--no-save")
    m = run["metrics"]
    assert run["saved"] is None
    assert m["completed"] == 8 and m["failed"] == 0
    assert m["total_output_tokens"] == 64  # ignore_eos: every request generates exactly 8 tokens
    for name in ("ttft", "tpot", "itl", "e2el"):
        assert 0 < m[f"p50_{name}_ms"] <= m[f"p95_{name}_ms"] <= m[f"p99_{name}_ms"], name
    assert m["p50_ttft_ms"] < m["p50_e2el_ms"]
    assert m["output_throughput"] > 0 and m["request_throughput"] > 0


def test_bench_refuses_bad_options(live):
    full, _, repo = live
    bad = run_sddd("bench", "--url", full.url, "--scenario", "soak", cwd=repo)
    assert bad.returncode == 2 and "--scenario must be one of prefix, load" in bad.stderr
    bad = run_sddd("bench", "--url", full.url, "--rounds", "0", cwd=repo)
    assert bad.returncode == 2 and "--rounds must be at least 1" in bad.stderr
