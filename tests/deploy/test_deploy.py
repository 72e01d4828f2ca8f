"""`sddd deploy` / `status` / `logs` / `down` on a real Docker engine, through the real CLI.

Test profiles run a busybox httpd image the tests build (tests/fixtures/engine.py); the canonical
profiles, which need GPUs, are checked with --dry-run and by the GPU pre-flight.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from sddd.deploy.docker import compose_command
from tests.fixtures.engine import (  # noqa: F401 (fixtures)
    Project,
    docker_client_fixture,
    free_port,
    project_fixture,
    service_yaml,
    test_image_fixture,
)
from tests.helpers import REPO

FAIL_LINE = "RuntimeError: Failed to infer device type"
GUIDE = """# Troubleshooting vLLM start-up

## Failed to infer device type

`RuntimeError: Failed to infer device type` means the container sees no GPU: the reservation
did not apply. Check `deploy.resources.reservations.devices` and the NVIDIA runtime.

## Port already in use

Another process holds the host port; change VLLM_PORT_MEDIUM in .env.
"""
OTHER_GUIDE = """# Writing reports

## Front matter

Every report starts with a title, a date and a kind.
"""


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def compose_ps(name: str) -> list[dict]:
    argv = compose_command()
    assert argv is not None
    done = subprocess.run([*argv, "-p", name, "ps", "-a", "--format", "json"], capture_output=True,
                          text=True, timeout=60, check=True)
    text = done.stdout.strip()
    if not text:
        return []
    return json.loads(text) if text.startswith("[") else [json.loads(x) for x in text.splitlines()]


def test_deploy_healthy_status_logs_down(project: Project) -> None:
    project.write(service_yaml(project.name))
    done = project.sddd("deploy", "--json", "--timeout", "60")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"] == "healthy" and 0 < result["seconds"] < 60
    assert result["url"] == f"http://127.0.0.1:{project.port}"
    # Compose sees the service (same project), labelled by sddd.
    ps = compose_ps(project.name)
    assert [(c["Service"], c["State"]) for c in ps] == [(project.name, "running")]

    status = json.loads(project.sddd("status", "--json").stdout)
    mine = [s for s in status if s["project"] == project.name]
    assert len(mine) == 1
    assert (mine[0]["profile"], mine[0]["state"], mine[0]["health"], mine[0]["port"]) == \
        (project.name, "running", "healthy", project.port)
    assert mine[0]["image"] == "sddd-test/httpd:1" and mine[0]["uptime_s"] >= 0

    logs = project.sddd("logs", "--tail", "50")
    assert logs.returncode == 0 and "Application startup complete" in logs.stdout
    assert project.api_key not in logs.stdout and "VLLM_API_KEY=" in logs.stdout

    # A second deploy records what ran before it.
    again = project.sddd("deploy", "--json", "--timeout", "60")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["previous"]["config_hash"] == result["config_hash"]

    down = project.sddd("down")
    assert down.returncode == 0 and f"removed {project.name}" in down.stdout
    assert compose_ps(project.name) == []
    history = json.loads(project.sddd("status", "--history", "--json").stdout)
    assert [(e["action"], e["outcome"]) for e in history] == [
        ("deploy", "healthy"), ("deploy", "healthy"), ("down", "removed")]
    assert history[0]["seconds"] > 0
    stored = (project.root / ".sddd" / "deploy-history.json").read_text()
    assert project.api_key not in stored


def test_fatal_log_line_stops_the_wait_with_the_guide(project: Project) -> None:
    (project.root / "docs/guides/troubleshooting.md").write_text(GUIDE)
    (project.root / "docs/guides/reports.md").write_text(OTHER_GUIDE)
    indexed = project.sddd("index", timeout=600)
    assert indexed.returncode == 0, indexed.stderr
    # The container keeps running after the fatal line: only the log watch can stop the wait.
    project.write(service_yaml(project.name, f"echo loading; sleep 1; echo '{FAIL_LINE}'; sleep 600"))
    started = time.monotonic()
    done = project.sddd("deploy", "--timeout", "120")
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert elapsed < 30  # at once, not at the timeout
    assert FAIL_LINE in done.stderr
    assert "troubleshooting: docs/guides/troubleshooting.md#failed-to-infer-device-type" in done.stderr
    assert "no GPU device" in one_error_line(done.stderr)


def test_container_exit_without_index_says_so(project: Project) -> None:
    project.write(service_yaml(project.name, "echo 'booting'; echo 'ValueError: bad model'; exit 3"))
    done = project.sddd("deploy", "--json", "--timeout", "60")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["outcome"] == "failed" and "exited with code 3" in result["message"]
    assert "ValueError: bad model" in result["lines"]
    assert result["hint"] is None and "no troubleshooting hint" in result["hint_note"]


def test_never_healthy_times_out(project: Project) -> None:
    project.write(service_yaml(project.name, "echo 'waiting for weights'; sleep 600"))
    started = time.monotonic()
    done = project.sddd("deploy", "--timeout", "4")
    assert done.returncode == 7, done.stderr
    assert time.monotonic() - started < 30
    line = one_error_line(done.stderr)
    assert "not healthy after 4 s" in line and "waiting for weights" in line


def test_missing_variable_is_one_error(project: Project) -> None:
    (project.root / ".env").write_text("TEST_OTHER=1\n")
    project.write(service_yaml(project.name))
    done = project.sddd("deploy")
    assert done.returncode == 2
    line = one_error_line(done.stderr)
    assert "2 variable(s) not set: TEST_API_KEY, TEST_PORT" in line
    assert compose_ps(project.name) == []


def test_lint_failure_starts_nothing(project: Project) -> None:
    project.write(service_yaml(project.name).replace("sddd-test/httpd:1", "sddd-test/httpd:latest"))
    done = project.sddd("deploy")
    assert done.returncode == 2
    line = one_error_line(done.stderr)
    assert f"profiles/{project.name}.yml:4: error [image-pinned]" in line
    assert compose_ps(project.name) == []


def test_gpu_request_on_an_engine_without_nvidia_runtime(project: Project) -> None:
    gpu = """\
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              device_ids: ['0']
              capabilities: [gpu]
"""
    project.write(service_yaml(project.name, extra=gpu))
    done = project.sddd("deploy")
    assert done.returncode == 5
    line = one_error_line(done.stderr)
    assert "reserves 1 GPU(s)" in line and "no NVIDIA runtime" in line
    assert compose_ps(project.name) == []


def test_port_in_use_is_a_conflict(project: Project) -> None:
    project.write(service_yaml(project.name))
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("0.0.0.0", project.port))
        holder.listen()
        done = project.sddd("deploy")
    assert done.returncode == 6
    assert f"host port {project.port} is already in use" in one_error_line(done.stderr)


def test_unreachable_engine(tmp_path: Path) -> None:
    offline = Project(tmp_path, free_port(), "sk-test-unreachable")
    offline.write(service_yaml(offline.name))
    dead = f"tcp://127.0.0.1:{free_port()}"
    for args in (("deploy",), ("status",), ("down",)):
        done = offline.sddd(*args, env={"DOCKER_HOST": dead})
        assert done.returncode == 5, (args, done.stderr)
        assert f"Docker engine not reachable at {dead}" in one_error_line(done.stderr)


def test_dry_run_of_the_canonical_profiles_touches_nothing(tmp_path: Path) -> None:
    env = tmp_path / "dry.env"
    secret = "hf_" + "Dry7Run8Secret9Value0Abc"
    env.write_text(f"HUGGING_FACE_HUB_TOKEN={secret}\nVLLM_API_KEY_MEDIUM=medium-key-0123456789\n"
                   "VLLM_API_KEY_MINI=x-mini-key-01234\nVLLM_API_KEY_MICRO=x-micro-key-0123\n")
    for name, port in (("micro", 5000), ("mini", 5001), ("medium", 5002)):
        done = subprocess.run(["sddd", "deploy", name, "--dry-run", "--env-file", str(env)], cwd=REPO,
                              capture_output=True, text=True, timeout=60, check=False,
                              env={"PATH": __import__("os").environ["PATH"], "COLUMNS": "200",
                                   "DOCKER_HOST": "tcp://127.0.0.1:9"})  # no engine needed
        assert done.returncode == 0, done.stderr
        assert secret not in done.stdout and "medium-key-0123456789" not in done.stdout
        assert f"docker compose -p vllm-{name} -f profiles/base.yml -f profiles/{name}.yml" in done.stdout
        assert f"{port}->8000/tcp" in done.stdout
        as_json = subprocess.run(["sddd", "deploy", name, "--dry-run", "--json", "--env-file", str(env)],
                                 cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
        plan = json.loads(as_json.stdout)
        assert plan["findings"] == [] and plan["service"]["environment"]["HF_TOKEN"] == "hf_***"


def test_no_wait_returns_once_started(project: Project) -> None:
    project.write(service_yaml(project.name, "echo 'slow start'; sleep 600"))
    done = project.sddd("deploy", "--no-wait", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "started"
    status = json.loads(project.sddd("status", "--json").stdout)
    assert [s["state"] for s in status if s["project"] == project.name] == ["running"]
    history = json.loads(project.sddd("status", "--history", "--json").stdout)
    assert history[-1]["outcome"] == "started" and history[-1]["seconds"] is None


def last_deploy(project: Project) -> dict:
    history = json.loads((project.root / ".sddd" / "deploy-history.json").read_text())["entries"]
    return [e for e in history if e["action"] == "deploy"][-1]


def test_history_never_stays_starting_when_compose_fails(project: Project) -> None:
    # Valid for sddd's resolver and lint; the daemon refuses it once Compose asks.
    project.write(service_yaml(project.name, extra='    network_mode: "container:sddd-no-such"\n'))
    done = project.sddd("deploy", "--timeout", "30")
    assert done.returncode == 5 and "docker compose up failed" in one_error_line(done.stderr)
    entry = last_deploy(project)
    assert entry["outcome"] == "failed" and "docker compose up failed" in entry["message"]


def test_history_never_stays_starting_when_no_container_appears(project: Project) -> None:
    project.write(service_yaml(project.name, extra="    deploy:\n      replicas: 0\n"))
    done = project.sddd("deploy", "--timeout", "30")
    assert done.returncode == 5 and "no container of" in one_error_line(done.stderr)
    assert last_deploy(project)["outcome"] == "failed"


def test_ctrl_c_during_the_wait_is_recorded(project: Project) -> None:
    project.write(service_yaml(project.name, "echo 'waiting for weights'; sleep 600"))
    exe = shutil.which("sddd") or "sddd"
    proc = subprocess.Popen([exe, "deploy", "--timeout", "300"], cwd=project.root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not [c for c in compose_ps(project.name) if c.get("State") == "running"]:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.5)
    assert last_deploy(project)["outcome"] == "starting"  # waiting: exactly what Ctrl-C interrupts
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    entry = last_deploy(project)
    assert entry["outcome"] == "interrupted" and "Ctrl-C" in entry["message"]
