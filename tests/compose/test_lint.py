"""sddd.lint: each rule fires on the mistake it names (with file:line and a fix) and stays quiet on
the canonical profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from sddd.compose.lint import RULES, LintFailed, lint_service, parse_size
from sddd.compose.profiles import load_all_profiles, load_profile
from sddd.core.config import load_config
from tests.helpers import REPO

GOOD = """\
services:
  one:
    image: vllm/vllm-openai:v0.11.0
    command:
      - --model=Qwen/Qwen3-32B-AWQ
      - --tensor-parallel-size=2
      - --enable-auto-tool-choice
      - --tool-call-parser=hermes
    ipc: host
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              device_ids: ['0', '1']
              capabilities: [gpu]
    healthcheck:
      test: [CMD, curl, -fsS, http://localhost:8000/health]
"""


def lint(tmp_path: Path, text: str, env: str = "", strict: bool = True) -> list:
    (tmp_path / "profiles").mkdir(exist_ok=True)
    (tmp_path / "sddd.yaml").write_text("profiles: ['profiles/*.yml']\nbase_profile: profiles/base.yml\n")
    (tmp_path / "profiles/base.yml").write_text("networks: {n: {}}\n")
    (tmp_path / "profiles/one.yml").write_text(text)
    (tmp_path / "t.env").write_text(env)
    config = load_config(tmp_path / "sddd.yaml")
    return lint_service(load_profile(config, "one", env_file=tmp_path / "t.env", strict=strict).service)


def line_of(tmp_path: Path, needle: str) -> int:
    lines = (tmp_path / "profiles/one.yml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_rules_are_data_with_ids_and_severities() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)) == 7
    assert all(r.severity in ("error", "warning") and r.summary for r in RULES)


def test_good_service_and_canonical_profiles_are_clean(tmp_path: Path) -> None:
    assert lint(tmp_path, GOOD) == []
    config = load_config(REPO / "sddd.yaml")
    for profile in load_all_profiles(config, env_file=tmp_path / "t.env"):
        assert [str(f) for s in profile.services for f in lint_service(s)] == []


def test_one_gpu_id_per_entry_catches_the_seed_mistake(tmp_path: Path) -> None:
    text = GOOD.replace("device_ids: ['0', '1']", "device_ids: ['${CUDA_VISIBLE_DEVICES_MEDIUM}']")
    findings = lint(tmp_path, text, env="CUDA_VISIBLE_DEVICES_MEDIUM=0,1\n")
    assert [f.rule for f in findings] == ["gpu-one-id-per-entry"]
    finding = findings[0]
    assert "is a variable" in finding.message and "ONE id" in finding.message
    assert "device_ids: ['0', '1']" in finding.message and "'0,1'" in finding.message
    assert (finding.path, finding.line) == ("profiles/one.yml", line_of(tmp_path, "device_ids"))
    # Unset, the variable is still the mistake (the seed's "fix" blamed the deploy: syntax).
    findings = lint(tmp_path, text, env="OTHER=1\n", strict=False)  # as audit loads profiles
    assert "gpu-one-id-per-entry" in [f.rule for f in findings]
    assert "is unset here" in next(f for f in findings if f.rule == "gpu-one-id-per-entry").message


def test_a_literal_comma_in_one_device_id(tmp_path: Path) -> None:
    findings = lint(tmp_path, GOOD.replace("device_ids: ['0', '1']", "device_ids: ['0,1']"))
    assert [f.rule for f in findings] == ["gpu-one-id-per-entry"]
    assert "'0,1' is ONE id, not 2" in findings[0].message and "device_ids: ['0', '1']" in findings[0].message


def test_runtime_nvidia_beside_a_device_reservation(tmp_path: Path) -> None:
    findings = lint(tmp_path, GOOD.replace("    deploy:", "    runtime: nvidia\n    deploy:"))
    assert [f.rule for f in findings] == ["gpu-reservation"]
    assert findings[0].line == line_of(tmp_path, "runtime: nvidia")
    message = findings[0].message
    assert "beside the GPU reservation" in message and "remove runtime: nvidia" in message


@pytest.mark.parametrize(("old", "new", "rule", "needle"), [
    ("--tensor-parallel-size=2", "--tensor-parallel-size=4", "tensor-parallel-gpus", "--tensor-parallel"),
    ("    ipc: host\n", "", "tensor-parallel-shm", "one:"),
    ("    ipc: host\n", "    shm_size: 64m\n", "tensor-parallel-shm", "shm_size"),
    ("      - --enable-auto-tool-choice\n", "", "tool-choice", "--tool-call-parser"),
    ("v0.11.0", "latest", "image-pinned", "image:"),
    (":v0.11.0", "", "image-pinned", "image:"),
    ("    healthcheck:\n      test: [CMD, curl, -fsS, http://localhost:8000/health]\n", "",
     "healthcheck", "one:"),
    ("              capabilities: [gpu]\n", "", "gpu-reservation", "devices:"),
    ("    deploy:", "    runtime: nvidia\n    x-deploy:", "gpu-reservation", "runtime:"),
])
def test_each_rule_fires_with_its_line(tmp_path: Path, old: str, new: str, rule: str,
                                       needle: str) -> None:
    text = GOOD.replace(old, new)
    assert text != GOOD
    findings = lint(tmp_path, text)
    assert rule in [f.rule for f in findings], findings
    finding = next(f for f in findings if f.rule == rule)
    assert finding.path == "profiles/one.yml"
    assert finding.line == line_of(tmp_path, needle)
    assert ";" in finding.message or ":" in finding.message  # the fix follows the problem


def test_large_shm_size_is_enough(tmp_path: Path) -> None:
    assert lint(tmp_path, GOOD.replace("    ipc: host\n", "    shm_size: 16gb\n")) == []
    assert parse_size("2gb") == 2 << 30 and parse_size("512m") == 512 << 20 and parse_size(64) == 64


def test_vllm_without_gpu_reservation(tmp_path: Path) -> None:
    text = GOOD.split("    deploy:")[0] + "    healthcheck: {test: [CMD, 'true']}\n"
    text = text.replace("--tensor-parallel-size=2", "--tensor-parallel-size=1")
    findings = lint(tmp_path, text)
    assert [f.rule for f in findings] == ["gpu-reservation"]
    assert "Failed to infer device type" in findings[0].message


def test_lint_failed_is_one_line_exit_2(tmp_path: Path) -> None:
    findings = lint(tmp_path, GOOD.replace("v0.11.0", "latest").replace("=2", "=3"))
    error = LintFailed(findings)
    assert error.exit_code == 2 and "\n" not in str(error)
    assert str(error).startswith("profiles/one.yml:") and "(and 1 more)" in str(error)


CPU = """\
services:
  one:
    image: sddd-test/vllm-cpu:local
    x-sddd: {device: cpu}
    command: [--model=/models/tiny-qwen3, --port=8000]
    healthcheck: {test: [CMD, busybox, wget, -q, -O, /dev/null, http://127.0.0.1:8000/health]}
"""


def test_a_cpu_service_says_so_and_needs_no_gpu(tmp_path: Path) -> None:
    assert lint(tmp_path, CPU) == []
    findings = lint(tmp_path, CPU.replace("    x-sddd: {device: cpu}\n", ""))
    assert [f.rule for f in findings] == ["gpu-reservation"]
    assert "x-sddd: {device: cpu}" in findings[0].message
    typo = lint(tmp_path, CPU.replace("device: cpu", "device: cpux"))
    assert [f.rule for f in typo] == ["gpu-reservation"] * 2 and "must be cpu or gpu" in typo[0].message
    both = lint(tmp_path, GOOD.replace("    ipc: host\n", "    ipc: host\n    x-sddd: {device: cpu}\n"))
    assert [f.rule for f in both] == ["gpu-reservation"]
    assert both[0].line == line_of(tmp_path, "x-sddd") and "reserves GPUs" in both[0].message
