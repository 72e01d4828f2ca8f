"""`sddd export kubernetes`: every profile's manifests and Helm values, validated offline.

Manifests against the Kubernetes OpenAPI schemas of the stated version (kubernetes-validate,
strict), Helm values against vLLM's production-stack chart schema (tests/fixtures/kubernetes.py).
Expected values come from the public profile loader, never from the exporter itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sddd.compose.profiles import load_profile, profile_names
from sddd.core.config import load_config
from tests.fixtures.kubernetes import (
    KUBERNETES_VERSION,
    copy_profiles,
    helm_validator,
    validate_manifest,
)
from tests.helpers import PLANTED_SECRETS, REPO, planted_in, sddd_here

PROFILES = profile_names(load_config(REPO / "sddd.yaml"))


def export(root: Path, *args: str) -> dict:
    done = sddd_here("export", "kubernetes", *args, "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def by_kind(documents: list[dict]) -> dict[str, dict]:
    return {d["kind"]: d for d in documents}


def test_the_repository_has_the_three_sizes():
    assert set(PROFILES) >= {"micro", "mini", "medium"}


@pytest.mark.parametrize("name", PROFILES)
def test_each_sizes_manifests_validate(name: str):
    result = export(REPO, name)
    assert result["kubernetes_version"] == KUBERNETES_VERSION
    for document in result["documents"]:
        assert validate_manifest(document) == KUBERNETES_VERSION, document["kind"]
    docs = by_kind(result["documents"])
    assert set(docs) == {"Deployment", "Service", "PersistentVolumeClaim"}
    svc = load_profile(load_config(REPO / "sddd.yaml"), name, strict=False).service
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == svc.image
    assert container["resources"]["limits"]["nvidia.com/gpu"] == svc.gpu.gpus
    assert f"--model={svc.model}" in container["args"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    assert container["livenessProbe"]["periodSeconds"] == int(svc.healthcheck.interval.rstrip("s"))
    start = int(svc.healthcheck.start_period.rstrip("s"))
    startup = container["startupProbe"]
    assert startup["failureThreshold"] * startup["periodSeconds"] >= start
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["dshm"] == "/dev/shm"
    shm = next(v for v in pod["volumes"] if v["name"] == "dshm")["emptyDir"]
    assert shm["medium"] == "Memory"
    claim = next(v for v in pod["volumes"] if "persistentVolumeClaim" in v)
    assert claim["persistentVolumeClaim"]["claimName"] == docs["PersistentVolumeClaim"]["metadata"]["name"]
    assert mounts[claim["name"]] == "/root/.cache/huggingface"
    env = {e["name"]: e for e in container["env"]}
    for key in ("HF_TOKEN", "VLLM_API_KEY"):
        assert "value" not in env[key]
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": result["secret"], "key": key}
    port = next(p.host for p in svc.ports if p.container == 8000)
    assert docs["Service"]["spec"]["ports"][0]["port"] == port


@pytest.mark.parametrize("name", PROFILES)
def test_each_sizes_helm_values_validate(name: str):
    result = export(REPO, name, "--format", "helm-values")
    values = result["documents"][0]
    errors = sorted(helm_validator().iter_errors(values), key=str)
    assert not errors, [f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors]
    svc = load_profile(load_config(REPO / "sddd.yaml"), name, strict=False).service
    model = values["servingEngineSpec"]["modelSpec"][0]
    assert f"{model['repository']}:{model['tag']}" == svc.image and model["modelURL"] == svc.model
    assert model["requestGPU"] == svc.gpu.gpus
    assert model["vllmConfig"]["maxModelLen"] == int(svc.vllm["--max-model-len"])
    assert model["vllmConfig"]["gpuMemoryUtilization"] == float(svc.vllm["--gpu-memory-utilization"])
    assert "--tool-call-parser=hermes" in model["vllmConfig"]["extraArgs"]
    assert model["hf_token"] == {"secretName": result["secret"], "secretKey": "HF_TOKEN"}
    assert values["servingEngineSpec"]["vllmApiKey"] == {"secretName": result["secret"],
                                                         "secretKey": "VLLM_API_KEY"}


def test_the_validators_catch_a_wrong_field():
    """Sanity of the two validators: a misplaced field fails each of them."""
    deployment = by_kind(export(REPO, "micro")["documents"])["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["gpus"] = 1
    with pytest.raises(Exception, match="gpus"):
        validate_manifest(deployment)
    values = export(REPO, "micro", "--format", "helm-values")["documents"][0]
    values["servingEngineSpec"]["modelSpec"][0]["gpuCount"] = 1
    assert list(helm_validator().iter_errors(values))


def test_a_profile_change_shows_in_the_export(tmp_path: Path):
    root = copy_profiles(tmp_path / "repo")
    medium = root / "profiles" / "medium.yml"
    svc = load_profile(load_config(root / "sddd.yaml"), "medium", strict=False).service
    old = svc.vllm["--max-model-len"]
    before = export(root, "medium", "--format", "helm-values")["documents"][0]
    medium.write_text(medium.read_text().replace(f"--max-model-len={old}", "--max-model-len=65536")
                      .replace("device_ids: ['0', '1']", "device_ids: ['0', '1', '2', '3']")
                      .replace("--tensor-parallel-size=2", "--tensor-parallel-size=4"))
    after = export(root, "medium")
    container = by_kind(after["documents"])["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert "--max-model-len=65536" in container["args"] and f"--max-model-len={old}" not in container["args"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 4
    values = export(root, "medium", "--format", "helm-values")["documents"][0]
    spec, was = values["servingEngineSpec"]["modelSpec"][0], before["servingEngineSpec"]["modelSpec"][0]
    assert (was["vllmConfig"]["maxModelLen"], spec["vllmConfig"]["maxModelLen"]) == (int(old), 65536)
    assert (was["requestGPU"], spec["requestGPU"]) == (2, 4)


def test_a_planted_secret_is_absent(tmp_path: Path):
    """From the env file and written into the profile itself: references only, never values."""
    root = copy_profiles(tmp_path / "repo")
    hf, key, literal = PLANTED_SECRETS
    (root / ".env").write_text(f"HUGGING_FACE_HUB_TOKEN={hf}\nVLLM_API_KEY_MEDIUM={key}\n")
    mini = root / "profiles" / "mini.yml"
    text = mini.read_text().replace("VLLM_API_KEY: ${VLLM_API_KEY_MINI}", f"VLLM_API_KEY: {literal}")
    extra = f"--reasoning-parser=qwen3\n      - --api-key={literal}"
    mini.write_text(text.replace("--reasoning-parser=qwen3", extra))
    out = tmp_path / "k8s"
    out.mkdir()
    for name in ("medium", "mini"):
        for fmt in ("manifests", "helm-values"):
            shown = sddd_here("export", "kubernetes", name, "--format", fmt, cwd=root)  # fails on a leak
            assert shown.returncode == 0, shown.stderr
            written = sddd_here("export", "kubernetes", name, "--format", fmt, "--output", str(out), cwd=root)
            assert written.returncode == 0, written.stderr
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["medium.values.yaml", "medium.yaml", "mini.values.yaml", "mini.yaml"]
    for path in files:
        assert not planted_in(path.read_bytes()), path.name
    mini_manifest = by_kind(export(root, "mini")["documents"])["Deployment"]
    container = mini_manifest["spec"]["template"]["spec"]["containers"][0]
    assert "--api-key=$(API_KEY)" in container["args"]
    referred = {e["name"] for e in container["env"] if "valueFrom" in e}
    assert referred >= {"API_KEY", "VLLM_API_KEY", "HF_TOKEN"}
    for document in export(root, "mini")["documents"]:
        validate_manifest(document)


def test_an_unset_variable_outside_the_secrets_is_an_error(tmp_path: Path):
    root = copy_profiles(tmp_path / "repo")
    micro = root / "profiles" / "micro.yml"
    micro.write_text(micro.read_text().replace("${VLLM_PORT_MICRO:-5000}", "${VLLM_PORT_MICRO}"))
    out = tmp_path / "micro.yaml"
    done = sddd_here("export", "kubernetes", "micro", "--output", str(out), cwd=root)
    assert done.returncode == 2
    assert "1 variable(s) not set: VLLM_PORT_MICRO" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_help_says_applying_is_the_users_step():
    done = sddd_here("export", "--help", cwd=REPO)
    assert done.returncode == 0 and "kubectl or helm" in done.stdout
