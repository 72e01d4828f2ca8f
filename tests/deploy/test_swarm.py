"""`sddd deploy --target swarm` / `status` / `logs` / `down` on a real swarm, through the real CLI.

The swarm is a second dockerd the tests start themselves (tests/fixtures/swarm.py), advertising
two GPUs as the generic resource NVIDIA-GPU; the stand-in profile runs the busybox httpd image
the Compose deploy tests build, with a GPU reservation and a health check. The machine's own
engine is never put into swarm mode.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from tests.fixtures.engine import (  # noqa: F401 (fixtures)
    SERVE,
    Project,
    docker_client_fixture,
    project_fixture,
    service_yaml,
    test_image_fixture,
)
from tests.fixtures.swarm import GPUS, KIND, SwarmEngine, swarm_engine_fixture  # noqa: F401
from tests.helpers import REPO, require

LABEL = "sddd.gpu-host"
STACK = "com.docker.stack.namespace"
FAIL_LINE = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"


def gpu_block(ids: list[str]) -> str:
    quoted = ", ".join(f"'{i}'" for i in ids)
    return f"""\
    ipc: host
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              device_ids: [{quoted}]
              capabilities: [gpu]
"""


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.fixture(name="swarm")
def swarm_project(project: Project, swarm_engine: SwarmEngine):
    """A project whose profile the swarm may place on the test node (labelled for it)."""
    with (project.root / "sddd.yaml").open("a") as config:
        config.write(f"cluster:\n  node_labels:\n    {project.name}: {{{LABEL}: 'yes'}}\n")
    swarm_engine.docker("node", "update", "--label-add", f"{LABEL}=yes", swarm_engine.node_id)
    yield project
    swarm_engine.docker("stack", "rm", project.name, check=False)
    client = swarm_engine.client()
    for _ in range(60):
        if not client.api.containers(all=True, filters={"label": f"{STACK}={project.name}"}):
            break
        time.sleep(0.5)
    swarm_engine.docker("node", "update", "--label-rm", LABEL, swarm_engine.node_id, check=False)


def on_swarm(project: Project, engine: SwarmEngine, *args: str, timeout: int = 180):
    return project.sddd(*args, timeout=timeout, env={"DOCKER_HOST": engine.host})


def service_of(engine: SwarmEngine, project: Project) -> dict:
    client = engine.client()
    found = client.services.list(filters={"name": f"{project.name}_{project.name}"})
    assert len(found) == 1
    return found[0].attrs


def running_task(engine: SwarmEngine, service_id: str) -> dict:
    tasks = engine.client().api.tasks(filters={"service": service_id, "desired-state": "running"})
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_swarm_deploy_placement_health_status_update_down(swarm: Project, swarm_engine: SwarmEngine):
    swarm.write(service_yaml(swarm.name, extra=gpu_block(["0"])))
    done = on_swarm(swarm, swarm_engine, "deploy", "--target", "swarm", "--json", "--timeout", "120")
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)
    assert (first["outcome"], first["target"]) == ("healthy", "swarm")
    assert first["url"] == f"http://127.0.0.1:{swarm.port}"

    spec = service_of(swarm_engine, swarm)["Spec"]
    template = spec["TaskTemplate"]
    assert template["Placement"]["Constraints"] == [f"node.labels.{LABEL} == yes"]
    assert template["Resources"]["Reservations"]["GenericResources"] == [
        {"DiscreteResourceSpec": {"Kind": KIND, "Value": 1}}]
    update = spec["UpdateConfig"]
    assert (update["Order"], update["FailureAction"]) == ("stop-first", "rollback")
    assert {"Type": "tmpfs", "Target": "/dev/shm"}.items() <= template["ContainerSpec"]["Mounts"][0].items()
    task = running_task(swarm_engine, service_of(swarm_engine, swarm)["ID"])
    assert task["NodeID"] == swarm_engine.node_id
    container = swarm_engine.client().containers.get(task["Status"]["ContainerStatus"]["ContainerID"])
    assert container.attrs["State"]["Health"]["Status"] == "healthy"

    status = json.loads(on_swarm(swarm, swarm_engine, "status", "--target", "swarm", "--json").stdout)
    mine = [s for s in status if s["profile"] == swarm.name]
    assert [(s["state"], s["health"], s["port"], s["target"]) for s in mine] == [
        ("running", "healthy", swarm.port, "swarm")]
    assert mine[0]["node"] and mine[0]["config_hash"] == first["config_hash"]

    logs = on_swarm(swarm, swarm_engine, "logs", "--target", "swarm", "--tail", "50")
    assert logs.returncode == 0 and "Application startup complete" in logs.stdout
    assert swarm.api_key not in logs.stdout and "VLLM_API_KEY=" in logs.stdout
    stack_file = (swarm.root / ".sddd" / "deploy" / f"{swarm.name}.stack.yml").read_text()
    assert swarm.api_key not in stack_file and "${TEST_API_KEY}" in stack_file

    # A profile change rolls the service: a new task, healthy, the old one shut down.
    swarm.write(service_yaml(swarm.name, extra=gpu_block(["0"])).replace("MODE: test", "MODE: rolled"))
    again = on_swarm(swarm, swarm_engine, "deploy", "--target", "swarm", "--json", "--timeout", "120")
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["outcome"] == "healthy" and second["config_hash"] != first["config_hash"]
    assert second["previous"]["config_hash"] == first["config_hash"]
    attrs = service_of(swarm_engine, swarm)
    assert "MODE=rolled" in attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    new_task = running_task(swarm_engine, attrs["ID"])
    assert new_task["ID"] != task["ID"]
    old = swarm_engine.client().api.inspect_task(task["ID"])
    assert old["Status"]["State"] == "shutdown"
    for _ in range(40):  # Swarm marks the update done after its monitor period
        state = (service_of(swarm_engine, swarm).get("UpdateStatus") or {}).get("State")
        if state == "completed":
            break
        time.sleep(0.5)
    assert state == "completed"
    # Two tasks now (the old one shut down): --tail counts the service's lines, not each task's.
    tail = on_swarm(swarm, swarm_engine, "logs", "--target", "swarm", "--tail", "3")
    assert tail.returncode == 0 and len(tail.stdout.splitlines()) == 3, tail.stdout

    down = on_swarm(swarm, swarm_engine, "down", "--target", "swarm")
    assert down.returncode == 0 and f"removed {swarm.name}_{swarm.name}" in down.stdout
    client = swarm_engine.client()
    assert client.services.list(filters={"name": f"{swarm.name}_{swarm.name}"}) == []
    assert client.api.containers(all=True, filters={"label": f"{STACK}={swarm.name}"}) == []
    history = json.loads(on_swarm(swarm, swarm_engine, "status", "--history", "--json").stdout)
    assert [(e["action"], e["target"], e["outcome"]) for e in history] == [
        ("deploy", "swarm", "healthy"), ("deploy", "swarm", "healthy"), ("down", "swarm", "removed")]


def test_an_update_waits_while_the_old_task_stops(swarm: Project, swarm_engine: SwarmEngine):
    """The old task ignores SIGTERM, so it holds the port until Swarm kills it after the grace
    period: longer than sddd gives a task Swarm cannot place, yet the update is healthy."""
    slow = gpu_block(["0"]) + "    stop_grace_period: 20s\n"
    swarm.write(service_yaml(swarm.name, f"trap '' TERM; {SERVE}", extra=slow))
    first = on_swarm(swarm, swarm_engine, "deploy", "--target", "swarm", "--json", "--timeout", "120")
    assert first.returncode == 0, first.stderr
    swarm.write(service_yaml(swarm.name, f"trap '' TERM; {SERVE}", extra=slow).replace("MODE: test",
                                                                                        "MODE: rolled"))
    started = time.monotonic()
    again = on_swarm(swarm, swarm_engine, "deploy", "--target", "swarm", "--json", "--timeout", "120")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["outcome"] == "healthy"
    assert time.monotonic() - started > 20, "the old task was not made to hold its port"


def test_more_gpus_than_the_node_advertises(swarm: Project, swarm_engine: SwarmEngine):
    swarm.write(service_yaml(swarm.name, extra=gpu_block(["0", "1", "2"])))
    done = on_swarm(swarm, swarm_engine, "deploy", "--target", "swarm")
    assert done.returncode == 5, done.stderr
    line = one_error_line(done.stderr)
    assert "reserves 3 GPU(s)" in line and f"advertises more than {GPUS} {KIND}" in line
    assert "node-generic-resources" in line and f"profiles/{swarm.name}.yml:" in line
    assert swarm_engine.client().services.list(filters={"name": swarm.name}) == []


def test_a_node_without_the_profiles_labels(project: Project, swarm_engine: SwarmEngine):
    with (project.root / "sddd.yaml").open("a") as config:
        config.write(f"cluster:\n  node_labels:\n    {project.name}: {{sddd.room: 'b'}}\n")
    project.write(service_yaml(project.name, extra=gpu_block(["0"])))
    done = on_swarm(project, swarm_engine, "deploy", "--target", "swarm")
    assert done.returncode == 5, done.stderr
    line = one_error_line(done.stderr)
    assert "sddd.room=b" in line and "docker node update --label-add sddd.room=b NODE" in line


def test_a_fatal_log_line_stops_the_wait_on_a_task(swarm: Project, swarm_engine: SwarmEngine):
    swarm.write(service_yaml(swarm.name, f"echo loading; sleep 1; echo '{FAIL_LINE}'; sleep 600",
                             extra=gpu_block(["0"])))
    started = time.monotonic()
    done = on_swarm(swarm, swarm_engine, "deploy", "--target", "swarm", "--json", "--timeout", "120")
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 60
    result = json.loads(done.stdout)
    assert result["outcome"] == "failed" and result["message"].startswith("out of memory: ")  # its kind
    assert "CUDA out of memory" in result["message"]  # then the decisive log line itself
    assert FAIL_LINE in result["lines"]


def test_an_engine_outside_a_swarm_says_what_to_run(project: Project):
    """The machine's own engine is not in swarm mode (and these tests never change that)."""
    project.write(service_yaml(project.name))
    done = project.sddd("deploy", "--target", "swarm")
    assert done.returncode == 5
    line = one_error_line(done.stderr)
    assert "is not part of a swarm (state: inactive)" in line and "docker swarm init" in line
    assert project.sddd("status", "--target", "swarm").returncode == 5


def test_swarm_dry_run_of_the_canonical_profiles(tmp_path):
    """No engine needed; the stack file is what docker/cli's own loader accepts."""
    env = tmp_path / "dry.env"
    secret = "hf_" + "Swarm7Dry8Secret9Value0Abc"
    env.write_text(f"HUGGING_FACE_HUB_TOKEN={secret}\nVLLM_API_KEY_MEDIUM=medium-key-0123456789\n"
                   "VLLM_API_KEY_MINI=x-mini-key-01234\nVLLM_API_KEY_MICRO=x-micro-key-0123\n")
    for name, gpus in (("micro", 1), ("mini", 1), ("medium", 2)):
        done = subprocess.run(["sddd", "deploy", name, "--target", "swarm", "--dry-run", "--json",
                               "--env-file", str(env)], cwd=REPO, capture_output=True, text=True,
                              timeout=60, check=False,
                              env={**os.environ, "DOCKER_HOST": "tcp://127.0.0.1:9"})  # no engine
        assert done.returncode == 0, done.stderr
        assert secret not in done.stdout and "medium-key-0123456789" not in done.stdout
        plan = json.loads(done.stdout)
        stack = plan["stack"]
        assert stack["gpus"] == gpus and stack["service"] == f"vllm-{name}_vllm-{name}"
        rules = {(f["rule"], f["message"].split(" ")[0]) for f in plan["findings"]}
        assert ("swarm-no-meaning", "device_ids") in rules
        assert (("swarm-no-meaning", "ipc:") in rules) == (name == "medium")
        assert "docker stack deploy --resolve-image never -c .sddd/deploy/" in plan["command"]
        file = stack["file"]["services"][f"vllm-{name}"]
        assert file["environment"]["HF_TOKEN"] == "${HUGGING_FACE_HUB_TOKEN}"
        assert {"type": "tmpfs", "target": "/dev/shm"}.items() <= file["volumes"][-1].items()
        assert "ipc" not in file and "container_name" not in file and "restart" not in file
        _docker_cli_accepts(tmp_path / f"{name}.stack.yml", stack["file"])


def _docker_cli_accepts(path, data) -> None:
    """`docker stack config` (docker CLI 25+) loads and validates a stack file without an engine."""
    import yaml

    docker = shutil.which("docker")
    require(docker is not None, "no docker CLI")
    probe = subprocess.run([docker, "stack", "config", "--help"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:  # Debian's 20.10 CLI has no `stack config`: the deploy tests load it
        return
    path.write_text(yaml.safe_dump(data))
    done = subprocess.run([docker, "stack", "config", "-c", str(path)], capture_output=True, text=True,
                          check=False, env={"PATH": os.environ["PATH"], "DOCKER_HOST": "tcp://127.0.0.1:9",
                                            "HUGGING_FACE_HUB_TOKEN": "x", "VLLM_API_KEY_MEDIUM": "x",
                                            "VLLM_API_KEY_MINI": "x", "VLLM_API_KEY_MICRO": "x"})
    assert done.returncode == 0, done.stderr
