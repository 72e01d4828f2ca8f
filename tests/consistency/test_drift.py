"""`sddd drift` on a repository like the seeds' (every contradiction, with its lines) and on this one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sddd.consistency.drift import run_drift
from sddd.core.config import load_config
from tests.fixtures.seed_repo import CHAMPION_GUIDE, CHAMPION_PATH, FAKE_HF_TOKEN, MEDIUM, build_seed_repo
from tests.helpers import REPO, sddd_here, write

ARCH, PLAN = "docs/docker/ARCHITECTURE.md", "docs/RESTORATION_PLAN_V2.md"
REPORT = "docs/reports/2025-10-16-redeploiement-medium.md"


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    return build_seed_repo(tmp_path_factory.mktemp("seed"))


@pytest.fixture(scope="module")
def report(seed):
    return run_drift(load_config(seed.config_path))


def find(report, type_, path, line, key=None):
    hits = [f for f in report.findings if f.type == type_ and f.doc_path == path and f.doc_line == line
            and (key is None or f.key == key)]
    assert len(hits) == 1, f"{type_} {path}:{line} {key}: " + "; ".join(
        f"{f.type} {f.doc_path}:{f.doc_line} {f.key}" for f in report.findings)
    return hits[0]


def profile_line(seed, profile: str, text: str) -> int:
    return seed.line(f"profiles/{profile}.yml", text)


def test_gpu_memory_095_in_the_guide_against_085_in_the_profile(seed, report):
    f = find(report, "value_mismatch", ARCH, seed.line(ARCH, "| `--gpu-memory-utilization` | 0.95"))
    assert (f.severity, f.key) == ("error", "--gpu-memory-utilization")
    assert (f.doc_value, f.profile_value) == ("0.95", "0.85")
    assert (f.profile, f.profile_path, f.profile_line) == (
        "medium", "profiles/medium.yml", profile_line(seed, "medium", "--gpu-memory-utilization=0.85"))
    assert f.rule == "heading"


def test_port_8002_against_5002(seed, report):
    for text in ("Port: 8002", "curl http://localhost:8002/health"):
        f = find(report, "value_mismatch", ARCH, seed.line(ARCH, text), "port")
        assert (f.doc_value, f.profile) == ("8002", "medium")
        assert f.profile_line == profile_line(seed, "medium", "ports:")


def test_underscored_flag_that_agrees_is_not_drift(seed, report):
    line = seed.line(ARCH, "--kv_cache_dtype")
    assert not [f for f in report.findings if f.doc_path == ARCH and f.doc_line == line]


def test_image_v092_against_v0110(seed, report):
    for text in ("**Image Officielle :**", "image: vllm/vllm-openai:v0.9.2"):
        f = find(report, "value_mismatch", PLAN, seed.line(PLAN, text), "image")
        assert (f.doc_value, f.profile_value) == ("vllm/vllm-openai:v0.9.2", "vllm/vllm-openai:v0.11.0")
        assert f.profile_line == profile_line(seed, "medium", "image:")


def test_model_ids_that_do_not_exist(seed, report):
    f = find(report, "unknown_model", PLAN, seed.line(PLAN, "# 🎯 Qwen2-32B-Instruct-AWQ"))
    assert (f.doc_value, f.profile, f.rule) == ("Qwen2-32B-Instruct-AWQ", "medium", "nearest")
    f = find(report, "unknown_model", PLAN, seed.line(PLAN, '"--model=Qwen/Qwen2-32B-Instruct-AWQ"'))
    assert f.profile_line == profile_line(seed, "medium", "--model=Qwen/Qwen3-32B-AWQ")
    f = find(report, "unknown_model", PLAN, seed.line(PLAN, "Qwen2-1.7B-Instruct-fp8"))
    assert f.profile == "micro"
    # Qwen1.5-0.5B-Chat exists on the Hub, but mini does not serve it.
    f = find(report, "value_mismatch", PLAN, seed.line(PLAN, "Qwen1.5-0.5B-Chat"), "model")
    assert (f.profile, f.profile_value) == ("mini", "Qwen/Qwen3-8B-AWQ")


def test_stale_references(seed, report):
    f = find(report, "stale_reference", PLAN, seed.line(PLAN, "00_MASTER_CONFIGURATION_GUIDE.md"))
    assert "does not exist" in f.message
    line = seed.line(PLAN, "relancer `docker-compose-medium-qwen3-fixed.yml`")
    f = find(report, "stale_reference", PLAN, line)
    assert "archives/docker_configs_20251016/docker-compose-medium-qwen3-fixed.yml" in f.message
    f = find(report, "stale_reference", "docs/qwen3/README.md", 2, "profile")
    assert f.doc_value == "large"
    find(report, "stale_reference", "docs/qwen3/README.md", 7, "link")
    # The table of archived files in the guide is history, not a stale reference.
    assert not [f for f in report.findings if f.doc_path == ARCH and f.type == "stale_reference"]


def test_undocumented_profile_flags(seed, report):
    hits = {(f.profile, f.key): f for f in report.findings if f.type == "undocumented"}
    f = hits[("medium", "--enable-auto-tool-choice")]
    assert (f.severity, f.doc_path, f.profile_line) == (
        "warning", None, profile_line(seed, "medium", "--enable-auto-tool-choice"))
    assert ("medium", "--gpu-memory-utilization") not in hits  # the guide's table explains it


def test_reports_are_history_unless_all(seed, report):
    assert report.skipped_reports == 9
    assert not [f for f in report.findings if f.doc_path == REPORT]
    full = run_drift(load_config(seed.config_path), include_reports=True)
    # The "Qwen3 medium" service that served Qwen2.5, at 0.90.
    line = seed.line(REPORT, "--model Qwen/Qwen2.5-32B-Instruct-AWQ")
    f = find(full, "value_mismatch", REPORT, line, "model")
    assert (f.profile, f.profile_value, f.rule) == ("medium", "Qwen/Qwen3-32B-AWQ", "heading")
    f = find(full, "value_mismatch", REPORT, seed.line(REPORT, "--gpu-memory-utilization 0.90"))
    assert (f.doc_value, f.profile_value) == ("0.90", "0.85")


def test_unknown_flags_and_flags_the_profile_does_not_set(make_repo):
    config = make_repo({
        "profiles/base.yml": "volumes: {}\n",
        "profiles/medium.yml": "services:\n  vllm-medium:\n    image: vllm/vllm-openai:v0.11.0\n"
                               "    command: [--model=Qwen/Qwen3-32B-AWQ, --gpu-memory-utilization=0.85]\n",
        "docs/g.md": "---\nprofiles: [medium]\n---\n\n```bash\nvllm serve Qwen/Qwen3-32B-AWQ \\\n"
                     "  --gpu-memory-utilisation 0.85\n```\n\nNever add `--enforce-eager`.\n",
    }, "docs: ['docs/**/*.md']\ndrift: {severity: {unknown_flag_not_in_profile: warning}}\n")
    report = run_drift(config)
    typo = [f for f in report.findings if f.reason == "not_in_vllm"]
    assert [(f.doc_line, f.key, f.severity) for f in typo] == [(7, "--gpu-memory-utilisation", "error")]
    unset = [f for f in report.findings if f.reason == "not_in_profile"]
    assert [(f.doc_line, f.key, f.severity) for f in unset] == [(10, "--enforce-eager", "warning")]


def test_cli_exit_codes_json_and_github_annotations(seed):
    result = sddd_here("drift", "--json", cwd=seed.root)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["passed"] is False and data["counts"]["error"] >= 8
    result = sddd_here("drift", "--format", "github", cwd=seed.root)
    line = seed.line(ARCH, "| `--gpu-memory-utilization` | 0.95")
    assert f"::error file={ARCH},line={line},title=sddd drift%3A value_mismatch::" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("::notice title=sddd drift::")
    result = sddd_here("drift", cwd=seed.root)
    assert result.returncode == 1 and "profile by heading" in result.stdout
    assert FAKE_HF_TOKEN not in result.stdout + result.stderr
    bad = sddd_here("drift", "--format", "xml", cwd=seed.root)
    assert bad.returncode == 2 and "--format must be one of" in bad.stderr


def test_config_errors_and_severity_overrides(tmp_path: Path):
    seed = build_seed_repo(tmp_path / "repo", git=False)
    text = seed.config_path.read_text()
    write(seed.root, "sddd.yaml", text + "drift:\n  fail_on: fatal\n")
    result = sddd_here("drift", cwd=seed.root)
    assert result.returncode == 2
    # The line of the nested key itself (fail_on, 9), not its section's (drift:, 8).
    assert "sddd.yaml:9:" in result.stderr and "fail_on" in result.stderr and "Traceback" not in result.stderr
    relaxed = ("drift:\n  fail_on: error\n  severity: {value_mismatch: warning, unknown_model: warning, "
               "stale_reference: info}\n")
    write(seed.root, "sddd.yaml", text + relaxed)
    assert sddd_here("drift", cwd=seed.root).returncode == 0


def test_the_projects_own_docs_have_no_drift():
    """The project's CI gate: this repository's guides agree with its profiles."""
    report = run_drift(load_config(REPO / "sddd.yaml"))
    errors = [f.to_json() for f in report.findings if f.severity == "error"]
    assert errors == [] and report.passed, report.failed
    assert report.documents >= 5 and report.claims >= 50
    result = sddd_here("drift", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


# --- vLLM's defaults, flags normalised on both sides -------------------------------------------

def test_prefix_caching_disabled_beside_a_profile_that_leaves_it_out(tmp_path: Path):
    """Seeds 001/004: the champion "without prefix caching" ran on v0.11.0, where the V1 engine
    turns it on: every sentence saying it is off is a value_mismatch error."""
    seed = build_seed_repo(tmp_path / "repo", extra={CHAMPION_PATH: CHAMPION_GUIDE})
    report = run_drift(load_config(seed.config_path))
    command = profile_line(seed, "medium", "command:")
    for text in ("# enable-prefix-caching: false", "**enable-prefix-caching** : ❌ false",
                 "Le prefix caching est désactivé"):
        line = seed.line(CHAMPION_PATH, text)
        f = find(report, "value_mismatch", CHAMPION_PATH, line, "--enable-prefix-caching")
        assert (f.severity, f.doc_value, f.profile_value) == ("error", "false", "true")
        assert (f.profile, f.profile_line) == ("medium", command)
        assert "vLLM 0.11.0 runs it on by default" in f.message and "--no-enable-prefix-caching" in f.message
        assert "_set_default_args_v1" in (f.default_source or "")
    # "Si ... était activé": a hypothesis, not a claim; chunked prefill "true" agrees with the default.
    hypothesis = seed.line(CHAMPION_PATH, "Si le prefix caching")
    quiet = {seed.line(CHAMPION_PATH, t)
             for t in ("--enable-chunked-prefill true", "enable-chunked-prefill**")}
    guide = [f for f in report.findings if f.doc_path == CHAMPION_PATH]
    assert not [f for f in guide if f.doc_line in quiet | {hypothesis}]
    # What agrees with the profile is not drift; the model it "sert" documents --model.
    assert not [f for f in guide if f.key in ("--max-num-seqs", "model")]
    undocumented = {(f.profile, f.key) for f in report.findings if f.type == "undocumented"}
    assert ("medium", "--model") not in undocumented


def test_a_profile_that_turns_prefix_caching_off_is_understood(tmp_path: Path):
    medium = MEDIUM.replace("      - --enable-auto-tool-choice\n",
                            "      - --enable-auto-tool-choice\n      - --no-enable-prefix-caching\n")
    seed = build_seed_repo(tmp_path / "repo", extra={
        CHAMPION_PATH: CHAMPION_GUIDE + "\n## Medium\n\n| Paramètre | Valeur |\n|---|---|\n"
                                        "| `--enable-prefix-caching` | ✅ |\n",
        "profiles/medium.yml": medium})
    report = run_drift(load_config(seed.config_path))
    said_off = [seed.line(CHAMPION_PATH, t) for t in ("# enable-prefix-caching", "Le prefix caching est")]
    assert not [f for f in report.findings if f.doc_path == CHAMPION_PATH and f.doc_line in said_off]
    line = seed.line(CHAMPION_PATH, "| `--enable-prefix-caching` | ✅")
    f = find(report, "value_mismatch", CHAMPION_PATH, line)
    assert "medium turns it off (--no-enable-prefix-caching)" in f.message
    assert f.profile_line == profile_line(seed, "medium", "--no-enable-prefix-caching")
    # Documented by the guide: --no-enable-prefix-caching is the same flag, not an undocumented one.
    assert not [f for f in report.findings if f.type == "undocumented" and "prefix-caching" in (f.key or "")]


def test_underscores_and_equals_are_the_same_flag_on_both_sides(tmp_path: Path):
    """vLLM reads --max_num_seqs=16 as --max-num-seqs 16: a guide's 32 contradicts it."""
    medium = MEDIUM.replace("--max-num-seqs=32", "--max_num_seqs=16")
    seed = build_seed_repo(tmp_path / "repo",
                           extra={CHAMPION_PATH: CHAMPION_GUIDE, "profiles/medium.yml": medium})
    report = run_drift(load_config(seed.config_path))
    for text in ("--max-num-seqs 32", "**max-num-seqs** : 32"):
        f = find(report, "value_mismatch", CHAMPION_PATH, seed.line(CHAMPION_PATH, text), "--max-num-seqs")
        assert (f.doc_value, f.profile_value) == ("32", "16")
        assert f.profile_line == profile_line(seed, "medium", "--max_num_seqs=16")


def test_defaults_follow_the_image_version_and_the_engine(make_repo):
    guide = ("---\nprofiles: [medium]\n---\n\n# Medium\n\nPrefix caching is disabled.\n\n"
             "Run it with `--gpu-memory-utilization 0.95` and `--tensor-parallel-size 1`.\n")

    def drift_on(image: str, env: str = "") -> list:
        config = make_repo({
            "profiles/base.yml": "volumes: {}\n",
            "profiles/medium.yml": f"services:\n  vllm-medium:\n    image: {image}\n{env}"
                                   "    command: [--model=Qwen/Qwen3-32B-AWQ]\n",
            "docs/guide.md": guide})
        found = [f for f in run_drift(config).findings if f.type != "undocumented"]
        messages.extend(f.message for f in found)
        return [(f.doc_line, f.type, f.key, f.profile_value) for f in found]

    messages: list[str] = []
    # A switch said off while vLLM runs it on: an error. A value vLLM picks by itself (0.9) said
    # otherwise: a flag the profile does not set (info), with the default named; 1 agrees.
    prefix = (7, "value_mismatch", "--enable-prefix-caching", "true")
    memory = (9, "unknown_flag", "--gpu-memory-utilization", "0.9")
    assert drift_on("vllm/vllm-openai:v0.11.0") == [prefix, memory]
    assert "(so vLLM 0.11.0 runs it at its default, 0.9)" in messages[1]
    # Before V1 (0.8.0), or with VLLM_USE_V1=0, prefix caching was off unless asked for.
    assert drift_on("vllm/vllm-openai:v0.7.3") == [memory]
    assert drift_on("vllm/vllm-openai:v0.9.2", "    environment: {VLLM_USE_V1: '0'}\n") == [memory]
    # latest names no version: only the defaults every V1 version shares are compared.
    assert drift_on("vllm/vllm-openai:latest") == [
        prefix, (9, "unknown_flag", "--gpu-memory-utilization", None)]


# --- model ids ---------------------------------------------------------------------------------

def test_any_well_formed_model_id_exists_and_prose_claims_are_compared(make_repo):
    config = make_repo({
        "profiles/base.yml": "volumes: {}\n",
        "profiles/llama.yml": "services:\n  vllm-llama:\n    image: vllm/vllm-openai:v0.11.0\n"
                              "    command: [--model=meta-llama/Llama-3.1-8B-Instruct,"
                              " --max-model-len=8192]\n",
        "docs/llama.md": "# Llama service\n\nThe llama service runs meta-llama/Llama-3.1-8B-Instruct.\n\n"
                         "Model: mistralai/Mistral-7B-Instruct-v0.3\n\n"
                         "| Service | Model |\n|---|---|\n| llama | `Qwen/Qwen2-32B-Instruct-AWQ` |\n",
    }, "docs: ['docs/**/*.md']\nprofiles: ['profiles/*.yml']\ncanonical_profile: llama\n")
    report = run_drift(config)
    got = {(f.type, f.doc_line, f.doc_value) for f in report.findings if f.doc_path}
    assert got == {("value_mismatch", 5, "mistralai/Mistral-7B-Instruct-v0.3"),
                   ("unknown_model", 9, "Qwen/Qwen2-32B-Instruct-AWQ")}, report.findings
    assert "Qwen2 was released in" in next(f.message for f in report.findings if f.type == "unknown_model")
    # "runs meta-llama/..." documents --model; --max-model-len is explained nowhere.
    assert [f.key for f in report.findings if f.type == "undocumented"] == ["--max-model-len"]


def test_gpu_ids_from_an_unset_variable_are_not_compared(tmp_path: Path):
    medium = MEDIUM.replace("device_ids: ['0', '1']", "device_ids: ['${CUDA_VISIBLE_DEVICES_MEDIUM}']")
    seed = build_seed_repo(tmp_path / "repo", extra={"profiles/medium.yml": medium})
    report = run_drift(load_config(seed.config_path))
    assert not [f for f in report.findings if f.key == "gpus" and f.profile == "medium"]


def test_an_unreadable_profile_is_skipped_with_a_line_as_index_does(tmp_path: Path):
    """One binary profile stopped drift with exit 4, where `sddd index` skips it with a line."""
    write(tmp_path, "sddd.yaml", "canonical_profile: medium\n")
    write(tmp_path, "profiles/base.yml", "services: {}\n")
    write(tmp_path, "profiles/medium.yml", "services:\n  vllm-medium:\n    image: vllm/vllm-openai:v0.11.0\n"
          "    ports: ['5002:8000']\n")
    (tmp_path / "profiles/broken.yml").write_bytes(b"services:\x00\x01\x02 binary")
    write(tmp_path, "docs/guides/medium.md", "# Medium\n\nThe medium server listens on port 8002.\n")
    report = run_drift(load_config(tmp_path / "sddd.yaml"))
    assert report.profiles == ["medium"]
    assert any(f.type == "value_mismatch" and f.doc_value == "8002" for f in report.findings)
    assert report.problems == ["profiles/broken.yml: binary file, not text (profile broken skipped)"]
    proc = sddd_here("drift", cwd=tmp_path)
    assert proc.returncode == 1 and "profile broken skipped" in proc.stderr, proc.stderr


def test_only_unreadable_profiles_are_named_not_called_missing(tmp_path: Path):
    """Profiles that match `profiles:` but cannot be read are not "matched none": the line says
    to fix them, and says "skipped" once."""
    write(tmp_path, "sddd.yaml", "docs: ['docs/**/*.md']\n")
    write(tmp_path, "profiles/base.yml", "services: {}\n")
    (tmp_path / "profiles/broken.yml").write_bytes(b"services:\x00\x01\x02 binary")
    write(tmp_path, "docs/guide.md", "# Guide\n\nNothing here.\n")
    proc = sddd_here("drift", cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert "matched none" not in proc.stderr and "fix the profiles named above" in proc.stderr, proc.stderr
    assert proc.stderr.count("skipped") == 1, proc.stderr
